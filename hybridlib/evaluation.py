"""The LAReQA evaluation protocol: Mo (X -> X), Cr (X -> Y, X != Y) and Mul (X -> every language).

Given query and candidate embeddings of a `RetrievalTask`, every setting ranks the whole pool by cosine
similarity and scores each query with `metrics`. Reported, as the paper does:

- **Mo**: mAP and R@1 per language, macro mean over languages.
- **Cr**: mAP and R@1 per (query language, target language) pair (the matrix); per query language the mean
  over its targets; macro mean over all ordered pairs X != Y.
- **Mul**: mAP, R@10 and rank distance per query language over the pool of all languages; macro mean.
- Every block also has MRR@10, nDCG@10 and accuracy@1 (the MTOP task reports these), and a 95 % bootstrap
  CI of the macro mean over parallel groups (`stats.bootstrap_ci`).

A (query, target language) setting where the query has no relevant candidate (MLQA-R: a question missing
in that language) is skipped and counted under ``skipped``. A task where nothing is relevant is refused; the
languages the macro means treat unevenly (fewer than `FEW_QUERIES` queries, no candidates, no relevant candidate)
are named under ``warnings`` (`language_warnings`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from hybridlib import metrics, stats
from hybridlib.records import RetrievalTask, passage_input

if TYPE_CHECKING:  # heavy import, for annotations only
    from sentence_transformers import SentenceTransformer

SETTINGS = ("mono", "cross", "multi")
FEW_QUERIES = 5  # a query language with fewer scored queries is named: the macro means give it a full language's weight


def _query_metrics(scores: np.ndarray, relevant: np.ndarray) -> dict[str, np.ndarray]:
    ranked = metrics.rank_relevant(scores, relevant)
    return {
        "map": ranked.ap,
        "recall@1": metrics.recall_at_k(ranked.ranks, 1),
        "recall@10": metrics.recall_at_k(ranked.ranks, 10),
        "accuracy@1": metrics.accuracy_at_1(ranked.ranks),
        "mrr@10": metrics.mrr_at_k(ranked.ranks, 10),
        "ndcg@10": metrics.ndcg_at_k(ranked.ranks, 10),
        "rank_distance": metrics.rank_distance(ranked.ranks),
    }


def _as_slice(index: np.ndarray) -> slice | np.ndarray:
    if len(index) and index[-1] - index[0] + 1 == len(index):
        return slice(int(index[0]), int(index[-1]) + 1)
    return index


def unit_rows(emb: np.ndarray) -> np.ndarray:
    """`emb` with every row scaled to unit length (rows that already are stay as they are, to the bit)."""
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    if np.allclose(norms, 1.0, atol=1e-6):
        return emb
    with np.errstate(invalid="ignore"):
        return emb / np.where(norms > 0, norms, 1)


def check_embeddings(task: RetrievalTask, q_emb: np.ndarray, c_emb: np.ndarray) -> None:
    """Raise ValueError, in one line, where embeddings cannot be scored: not a 2-D float array, a row count other
    than the task's, dimensions that differ, a NaN or inf, or an all-zero row (no direction to compare).

    Args:
        task: the task the embeddings were made for.
        q_emb: (n_queries, dim), in task order.
        c_emb: (n_candidates, dim), in task order.
    """
    for kind, emb, n in (("query", q_emb, len(task.queries)), ("candidate", c_emb, len(task.candidates))):
        if not isinstance(emb, np.ndarray) or emb.ndim != 2 or emb.dtype.kind != "f":
            shape = getattr(emb, "shape", None)
            raise ValueError(f"{kind} embeddings must be a 2-D float array (n, dim), got {type(emb).__name__} "
                             f"{getattr(emb, 'dtype', '')} of shape {shape}; save them as float32 (n, dim)")
        if len(emb) != n:
            plural = {"query": "queries", "candidate": "candidates"}[kind]
            raise ValueError(f"{len(emb)} {kind} embeddings, but task {task.name} has {n} {plural}; encode every one, in export order")
        bad = np.flatnonzero(~np.isfinite(emb).all(axis=1))
        if len(bad):
            raise ValueError(f"{len(bad)} {kind} embeddings hold NaN or inf (first: row {bad[0]}); the encoder diverged or the "
                             "file is damaged: encode again")
        zero = np.flatnonzero(~emb.any(axis=1))
        if len(zero):
            raise ValueError(f"{len(zero)} {kind} embeddings are all zeros (first: row {zero[0]}); a zero vector has no "
                             "cosine similarity: encode again")
    if q_emb.shape[1] != c_emb.shape[1]:
        raise ValueError(f"query embeddings have {q_emb.shape[1]} dimensions, candidate embeddings {c_emb.shape[1]}; "
                         "encode both with the same model")


def check_relevance(task: RetrievalTask) -> None:
    """Raise ValueError, in one line, where no query's key is among the candidates' keys: nothing is relevant and
    every metric would be skipped (a key spelled otherwise on one side)."""
    q_keys = {q.key for q in task.queries}
    c_keys = {k for c in task.candidates for k in c.keys}
    if task.queries and not q_keys & c_keys:
        raise ValueError(f"task {task.name}: no query's key is among the candidates' keys (queries: {sorted(q_keys)[:3]}, "
                         f"candidates: {sorted(c_keys)[:3]}), so nothing is relevant; a query is relevant to the candidates "
                         "whose keys hold its key: give both sides the same keys")


def language_warnings(task: RetrievalTask, per_query: pd.DataFrame) -> list[str]:
    """One line per language that the macro means over languages treat unevenly: a query language with fewer than
    `FEW_QUERIES` queries that have a relevant candidate (it weighs as much as any other) or with none, a language
    with queries but no candidates or the reverse, and a candidate language where no candidate is relevant to any
    query (its keys may be misspelled).

    Args:
        task: the task scored.
        per_query: `per_query_scores`' frame for it.
    """
    q_langs, c_langs = {q.lang for q in task.queries}, {c.lang for c in task.candidates}
    scored = per_query[per_query["n_relevant"] > 0]
    out = []
    for lang in task.languages:
        if lang not in c_langs:
            out.append(f"{lang}: queries but no candidates, so no Mo for it and no Cr into it")
        elif lang not in q_langs:
            out.append(f"{lang}: candidates but no queries (a Cr target and Mul distractors only)")
        elif not (scored["target"] == lang).any():
            out.append(f"{lang}: no candidate is relevant to any query (check its keys), so no Mo for it and no Cr into it")
        if lang in q_langs:
            n = scored.loc[scored["lang"] == lang, "query_id"].nunique()
            if n < FEW_QUERIES:
                out.append(f"{lang}: {n} quer{'y' if n == 1 else 'ies'} with a relevant candidate, fewer than {FEW_QUERIES}" +
                           (", so it is left out of the means" if not n else ", yet a full language's weight in the macro means"))
            # queries with a relevant candidate in other languages but none in their own (Mo), while others of the
            # language have one: a misspelled key leaves its query out of Mo and turns its candidate into a distractor
            mono = per_query[(per_query["setting"] == "mono") & (per_query["lang"] == lang)]
            elsewhere = set(per_query.loc[(per_query["setting"] != "mono") & (per_query["n_relevant"] > 0), "query_id"])
            missing = int(((mono["n_relevant"] == 0) & mono["query_id"].isin(elsewhere)).sum())  # relevant only in other languages
            if missing and missing < len(mono):
                out.append(f"{lang}: {missing} of {len(mono)} queries have no relevant candidate in {lang} (left out of Mo; "
                           "check their keys)")
    for setting in ("mono", "cross", "multi"):
        rows = per_query[per_query["setting"] == setting]
        if setting in task.settings and len(rows) and not (rows["n_relevant"] > 0).any():
            out.append(f"{setting}: no query has a relevant candidate in this setting, so it has no score" +
                       ("; for LAReQA's Cr, relevance must link each query to its translations' candidates" if setting == "cross" else ""))
    if "item" not in per_query and "article" not in per_query:
        out += _item_warnings(task)
    return out


def _item_warnings(task: RetrievalTask) -> list[str]:
    """The intervals resample parallel items (`stats.parallel_item`: a query id without its ``<lang>-``): a line when
    ids do not name their item, so each query would be resampled alone."""
    from hybridlib.stats import parallel_item

    ids, langs, keys = [q.id for q in task.queries], [q.lang for q in task.queries], [q.key for q in task.queries]
    unnamed = [q for q, x in zip(ids, langs) if not (q.startswith(x + "-") or q.endswith("-" + x))]
    if unnamed:
        return [f"{len(unnamed)} query ids do not start with '<lang>-' (e.g. {unnamed[0]!r}): the intervals then resample "
                "each query alone, not its parallel item; name them '<lang>-<item>'"]
    frame = pd.DataFrame({"query_id": ids, "lang": langs, "key": keys})
    frame["item"] = parallel_item(frame).to_numpy()
    one_each = not frame.duplicated(["key", "lang"]).any()  # a key per parallel group (LAReQA, MTOP parallel), not a label
    split = frame.groupby("key")["item"].nunique()
    if one_each and (split > 1).any():
        key = split[split > 1].index[0]
        return [f"{int((split > 1).sum())} keys are shared by translations whose ids name other items (e.g. key {key!r}: "
                f"{sorted(frame.loc[frame['key'] == key, 'query_id'])[:3]}): the intervals resample them as separate items; "
                "give translations one item, '<lang>-<item>'"]
    return []


def per_query_scores(task: RetrievalTask, q_emb: np.ndarray, c_emb: np.ndarray) -> pd.DataFrame:
    """One row per (query, setting) with every metric; ``target`` is the pool's language ('all' for Mul).

    Args:
        task: the queries, the candidates and which candidates are relevant to each query.
        q_emb: (n_queries, dim), in task order; scored by cosine similarity (rows are normalised here).
        c_emb: (n_candidates, dim), in task order.

    Returns:
        Columns ``query_id``, ``key`` (parallel group), ``lang``, ``target``, ``setting``, ``n_relevant``, one
        per metric of `_query_metrics`, and ``own_first`` / ``own_share`` (Mul rows; NaN elsewhere and where the
        Mul pool leaves the query's language out); a row per query and pool of the task's settings (each target
        language, and 'all' for Mul). Tasks whose queries name their article (LAReQA: `records.Query.article`)
        add ``article``, the cluster `stats.combined_test` resamples.
    """
    check_embeddings(task, q_emb, c_emb)
    check_relevance(task)
    q_emb, c_emb = unit_rows(q_emb), unit_rows(c_emb)  # cosine similarity, as `load_embeddings`: one rule for both paths
    q_lang = np.array([q.lang for q in task.queries])
    c_lang = np.array([c.lang for c in task.candidates])
    with_articles = any(q.article for q in task.queries)
    frames = []
    for x in task.languages:
        qi = np.flatnonzero(q_lang == x)
        if not len(qi):
            continue
        scores = q_emb[qi] @ c_emb.T  # (n_queries_x, n_candidates) cosine
        relevant = task.relevance(qi)
        multi_pool = np.flatnonzero(c_lang != x) if task.multi_excludes_query_language else np.arange(len(c_lang))
        pools = [(y, np.flatnonzero(c_lang == y)) for y in task.languages] + [("all", multi_pool)]
        for target, ci in pools:
            setting = "multi" if target == "all" else ("mono" if target == x else "cross")
            if not len(ci) or setting not in task.settings:
                continue
            cols = _as_slice(ci)  # candidates are stored by language: a view instead of a copy
            values = _query_metrics(scores[:, cols], relevant[:, cols])
            own = c_lang[ci] == x
            defined = setting == "multi" and own.any()  # mtop-parallel's Mul pool leaves the query's language out
            nan = np.full(len(qi), np.nan)
            values["own_first"] = metrics.own_language_first(scores[:, cols], relevant[:, cols], own) if defined else nan
            values["own_share"] = metrics.own_language_share(relevant[:, cols], own) if defined else nan
            frame = pd.DataFrame(values)
            frame.insert(0, "query_id", [task.queries[i].id for i in qi])
            frame.insert(1, "key", [task.queries[i].key for i in qi])
            frame.insert(2, "lang", x)
            frame.insert(3, "target", target)
            frame.insert(4, "setting", setting)
            frame.insert(5, "n_relevant", relevant[:, cols].sum(axis=1))
            if with_articles:
                frame["article"] = [task.queries[i].article for i in qi]
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


# Which metrics each setting reports: the paper's, MRR@10, nDCG@10 and accuracy@1, and in Mul our language
# preference, own_first, with its chance level own_share (`metrics.own_language_first`); a metric the task
# leaves undefined is left out.
REPORTED = {
    "mono": ("map", "recall@1", "accuracy@1", "mrr@10", "ndcg@10"),
    "cross": ("map", "recall@1", "accuracy@1", "mrr@10", "ndcg@10"),
    "multi": ("map", "recall@10", "accuracy@1", "mrr@10", "ndcg@10", "rank_distance", "own_first", "own_share"),
}


def summarize(per_query: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0) -> dict:
    """The metrics.json blocks: per setting and metric, the macro mean, per-language values and a 95 % CI.

    Args:
        per_query: `per_query_scores`' frame.
        n_boot: bootstrap draws per CI.
        seed: the bootstrap's seed.

    Returns:
        ``{"skipped": {setting: n}, "mono" | "cross" | "multi": {metric: {"mean", "per_lang", "ci95"[, "matrix"]}}}``;
        a setting the task does not define is None.
    """
    scored = per_query[per_query["n_relevant"] > 0]
    out: dict = {"ci_unit": stats.CI_UNIT, "skipped": {s: int(((per_query["setting"] == s) & (per_query["n_relevant"] == 0)).sum()) for s in SETTINGS}}
    for setting in SETTINGS:
        rows = scored[scored["setting"] == setting]
        if rows.empty:
            out[setting] = None  # the task does not define this setting (MTOP parallel: no Mo)
            continue
        block = {}
        for metric in REPORTED[setting]:
            if rows[metric].isna().all():
                continue  # not defined on this task (own_first where the Mul pool leaves the query's language out)
            # per (lang, target) mean, then per lang mean over targets, then macro mean over langs
            cell = rows.groupby(["lang", "target"])[metric].mean()
            per_lang = cell.groupby(level="lang").mean()
            entry = {"mean": float(cell.mean()), "per_lang": {k: float(v) for k, v in per_lang.items()}}
            entry["ci95"] = stats.bootstrap_ci(rows, metric, n_boot=n_boot, seed=seed)
            if setting == "cross":
                entry["matrix"] = {x: {y: float(v) for (xx, y), v in cell.items() if xx == x} for x in per_lang.index}
            block[metric] = entry
        out[setting] = block
    return out


def evaluate_embeddings(task: RetrievalTask, q_emb: np.ndarray, c_emb: np.ndarray, *, n_boot: int = 1000) -> tuple[dict, pd.DataFrame]:
    """Every metric of a task, from its embeddings.

    Args:
        task: the queries, candidates and relevance.
        q_emb: (n_queries, dim), in task order; scored by cosine similarity (normalised in `per_query_scores`).
        c_emb: (n_candidates, dim), in task order.
        n_boot: bootstrap draws per CI (`stats.bootstrap_ci`).

    Returns:
        (metrics dict, per-query frame): `summarize`'s blocks with the task's name, languages and sizes (what
        ``metrics.json`` holds, ``warnings`` from `language_warnings`), and `per_query_scores`' frame
        (``per_query.csv.gz``).
    """
    per_query = per_query_scores(task, q_emb, c_emb)
    c_lang = pd.Series([c.lang for c in task.candidates])
    pools = [len(c_lang) - int((c_lang == x).sum()) if task.multi_excludes_query_language else len(c_lang)
             for x in {q.lang for q in task.queries}]
    result = {"dataset": task.name, "languages": task.languages, "n_queries": len(task.queries),
              "n_candidates": len(task.candidates), "multi_pool": float(np.mean(pools)), **summarize(per_query, n_boot=n_boot),
              "warnings": language_warnings(task, per_query)}
    return result, per_query


def encode_task(
    model: SentenceTransformer, task: RetrievalTask, *, batch_size: int = 64, precision: str = "auto", cache: dict | None = None,
    prefixes: bool = True, chunk: int = 0, multiple: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """(query, candidate) embeddings of a task, L2-normalised float32 in task order: queries alone, candidates
    with their context (`records.passage_input`).

    Args:
        model: a `load_encoder` model.
        task: the queries and candidates to embed.
        batch_size: texts per forward pass, as in `encoder.encode`.
        precision: as in `encoder.encode`.
        cache: where the task's texts are kept tokenized (`encoder.tokenize`), keyed by the task, the kind, the
            model's `encoder.tokenizer_fingerprint` and the batch size: pass the same dict for every run and each
            dataset is tokenized once per tokenizer. None tokenizes while encoding.
        prefixes: False: without prompts (`encoder.prompts_for`; the ``evaluate`` command's ``--no-prefixes``).
        chunk: texts per forward pass within a batch, as in `encoder.encode`.
        multiple: each forward pass's length rounded up to a multiple of this, as in `encoder.encode`.
    """
    from hybridlib.encoder import encode, prompts_for, tokenize, tokenizer_fingerprint

    texts = {"query": [q.text for q in task.queries], "passage": [passage_input(c.text, c.context) for c in task.candidates]}
    if cache is not None:
        fingerprint = tokenizer_fingerprint(model)
        for kind in texts:
            key = (task.name, kind, fingerprint, prompts_for(model, prefixes)[kind], batch_size)
            if key not in cache:
                cache[key] = tokenize(model, texts[kind], kind=kind, batch_size=batch_size, prefixes=prefixes)
            texts[kind] = cache[key]
    shape = {"batch_size": batch_size, "precision": precision, "prefixes": prefixes, "chunk": chunk, "multiple": multiple}
    q_emb = encode(model, texts["query"], kind="query", **shape)
    c_emb = encode(model, texts["passage"], kind="passage", **shape)
    return q_emb, c_emb


def save_embeddings(out_dir: str | Path, q_emb: np.ndarray, c_emb: np.ndarray) -> None:
    """Write `queries.npy` / `candidates.npy` (float32, export order), the `evaluate --embeddings` input.

    Args:
        out_dir: the folder to write them in.
        q_emb: (n_queries, dim), in the task's export order.
        c_emb: (n_candidates, dim), in the same order.
    """
    from hybridlib import storage

    storage.write_npy(Path(out_dir) / "queries.npy", q_emb.astype(np.float32))
    storage.write_npy(Path(out_dir) / "candidates.npy", c_emb.astype(np.float32))


def load_embeddings(in_dir: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(queries, candidates) from `save_embeddings`' files (or any encoder's), L2-normalised float32."""
    in_dir = Path(in_dir)
    arrays = []
    for name in ("queries", "candidates"):
        path = in_dir / f"{name}.npy"
        if not path.exists():
            raise FileNotFoundError(f"{path}: missing; an embeddings folder holds queries.npy and candidates.npy (float32, export order)")
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise ValueError(f"{path}: not a readable .npy file ({e}); write it again with numpy.save") from e
        if arr.dtype.kind != "f":
            raise ValueError(f"{path}: dtype {arr.dtype}, not floating point; save the embeddings as float32")
        arrays.append(unit_rows(arr.astype(np.float32)))  # cosine similarity, whatever the encoder wrote; inf rows turn NaN, which check_embeddings names
    return arrays[0], arrays[1]
