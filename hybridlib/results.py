"""Result files -> summary.csv -> the comparisons the tables report. Reads only what evaluation wrote; computes no
new scores.

- `collect` walks ``results/<profile>/eval/**/metrics.json`` (with each one's config.json) into one row per
  (dataset, model, strategy, seed).
- `mean_sd_table` gives mean ± sd over seeds per strategy. A reference strategy is compared with every other
  one three ways: `combined_comparisons`, with one interval carrying both the training seeds' and the evaluation
  items' noise (the one the claims and the README read); `seed_comparisons` / `seed_table`, the seed-paired
  t-test over the seeds' macro means (training noise only); `query_comparisons` / `significance_table`, a paired
  sign-flip test over parallel items on per-query values averaged over seeds (item noise only). None of their
  intervals is a prediction for another seed: `combined_comparisons` gives that apart (``pred_low``, ``pred_high``).
- `per_language` reads every run's per-language values; `language_table` shows one metric per query language,
  with the languages no strategy trained on marked and averaged apart.

`claims` checks the paper's claims from these comparisons; `tables` writes them all as Markdown.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from pathlib import Path

import pandas as pd

from hybridlib import stats, storage

# summary column -> (setting, metric) in metrics.json
SUMMARY_METRICS = {
    "mono_map": ("mono", "map"),
    "cross_map": ("cross", "map"),
    "multi_map": ("multi", "map"),
    "mono_r1": ("mono", "recall@1"),
    "cross_r1": ("cross", "recall@1"),
    "multi_r10": ("multi", "recall@10"),
    "rank_distance": ("multi", "rank_distance"),
    "mono_mrr10": ("mono", "mrr@10"),
    "cross_mrr10": ("cross", "mrr@10"),
    "multi_mrr10": ("multi", "mrr@10"),
    "mono_acc1": ("mono", "accuracy@1"),
    "cross_acc1": ("cross", "accuracy@1"),
    "multi_acc1": ("multi", "accuracy@1"),
    "multi_own_first": ("multi", "own_first"),  # ours: language preference (`metrics.own_language_first`)
    "multi_own_share": ("multi", "own_share"),  # its chance level
}


HEADLINE = ("mono_map", "cross_map", "multi_map", "mono_r1", "cross_r1", "multi_r10", "rank_distance")


STRATEGY_ORDER = ("off-the-shelf", "en", "xx-mixed", "xx-mono", "xy")


# the comparisons' columns: summary column, setting, metric
COMPARED = (
    ("mono_map", "mono", "map"),
    ("cross_map", "cross", "map"),
    ("multi_map", "multi", "map"),
    ("rank_distance", "multi", "rank_distance"),
)


# the per-language tables' columns: the comparisons', then own-language first (ours; not compared)
LANGUAGE_COLUMNS = (*COMPARED, ("multi_own_first", "multi", "own_first"))


LANGUAGE_TABLE_TITLES = {"mono_map": "Mo mAP (X→X)", "cross_map": "Cr mAP (X→Y, mean over Y)", "multi_map": "Mul mAP (X→all)",
                         "rank_distance": "rank distance (lower is better)",
                         "multi_own_first": "own-language first in the Mul pool (ours; chance under the mean ± sd table)"}


def _digits(column: str) -> int:
    """Decimals every table prints a summary column with: rank distance 1, the rest (mAP, recall, ...) 3."""
    return 1 if column.startswith("rank_distance") else 3


def strategy_sort_key(label: str) -> tuple[int, float]:
    """Tables' and figures' strategy order: the baselines as in `STRATEGY_ORDER`, then hybrid runs by α."""
    if label in STRATEGY_ORDER:
        return (STRATEGY_ORDER.index(label), 0.0)
    return (len(STRATEGY_ORDER), float(label.split("-", 1)[1]) if "-" in label else 0.0)


def headline(result: dict) -> str:
    """One line of a metrics.json's macro means, for progress messages."""
    parts = []
    for label, setting, metric, digits in (("Mo", "mono", "map", 3), ("Cr", "cross", "map", 3), ("Mul", "multi", "map", 3), ("RD", "multi", "rank_distance", 1)):
        if result.get(setting):
            parts.append(f"{label} {result[setting][metric]['mean']:.{digits}f}")
    skipped = {k: v for k, v in result.get("skipped", {}).items() if v}
    if skipped:  # MLQA-R: (query, target language) settings without a relevant candidate
        parts.append("skipped " + ", ".join(f"{k} {v}" for k, v in skipped.items()))
    return " ".join(parts)


def collect(results_dir: str | Path) -> pd.DataFrame:
    """One row per evaluated run: ids, every `SUMMARY_METRICS` column, and the CI of each headline column."""
    rows = []
    for metrics_path in sorted(Path(results_dir).glob("eval/*/*/*/seed*/metrics.json")):
        config = storage.read_json(metrics_path.parent / "config.json")
        result = storage.read_json(metrics_path)
        row = {
            "dataset": config["dataset"],
            "model": config["model"]["name"],
            "strategy": config["strategy"],
            "alpha": config["alpha"],
            "seed": config["seed"],
        }
        stale = result.get("ci_unit") != stats.CI_UNIT  # written before the CIs resampled parallel items
        per_query = _read_per_query(metrics_path.parent / "per_query.csv.gz") if stale else None
        for column, (setting, metric) in SUMMARY_METRICS.items():
            entry = (result[setting] or {}).get(metric)  # None: the task has no such setting
            row[column] = entry["mean"] if entry else float("nan")
            if column in HEADLINE:
                ci = entry["ci95"] if entry else (float("nan"),) * 2
                if entry and stale:
                    rows_ = per_query[(per_query["setting"] == setting) & (per_query["n_relevant"] > 0)]
                    ci = stats.bootstrap_ci(rows_, metric, n_boot=int(config.get("n_boot", 1000)))
                row[f"{column}_ci_low"], row[f"{column}_ci_high"] = ci
        train = config.get("train") or {}
        trains = config["strategy"] != "off-the-shelf"
        row["pairs"] = train.get("steps", 0) * train.get("batch_size", 0) if trains else 0  # the training budget
        row["multi_pool"] = multi_pool(result)
        scale = 1000 / row["multi_pool"]
        row["rank_distance_per1k"] = row["rank_distance"] * scale
        row["rank_distance_per1k_ci_low"] = row["rank_distance_ci_low"] * scale
        row["rank_distance_per1k_ci_high"] = row["rank_distance_ci_high"] * scale
        row["path"] = str(metrics_path.parent.relative_to(results_dir))
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        raise FileNotFoundError(f"{results_dir}: no metrics.json found; run notebook 03 (evaluation) first")
    frame["_order"] = frame["strategy"].map(strategy_sort_key)
    return frame.sort_values(["dataset", "model", "_order", "seed"]).drop(columns="_order").reset_index(drop=True)


def multi_pool(result: dict) -> float:
    """The size of a query's Mul pool in a metrics.json's task: every candidate, or on tasks whose Mul pool leaves
    the query's language out (mtop-parallel, the same count in every language) all but one language's share.
    Rank distance grows with it, so ``rank_distance_per1k`` divides by it: rank distance per 1,000 candidates."""
    if "multi_pool" in result:
        return float(result["multi_pool"])
    if "n_candidates" not in result:
        return float("nan")
    n, languages = result["n_candidates"], len(result["languages"])
    return n * (languages - 1) / languages if result["dataset"] == "mtop-parallel" else float(n)


def write_summary(results_dir: str | Path) -> pd.DataFrame:
    """`collect`'s frame, written to ``summary.csv`` in `results_dir` (atomically) and returned."""
    summary = collect(results_dir)
    storage.write_text(Path(results_dir) / "summary.csv", summary.to_csv(index=False))
    return summary


def read_summary(results_dir: str | Path) -> pd.DataFrame:
    """``summary.csv`` of a profile's results folder, as `write_summary` wrote it."""
    path = Path(results_dir) / "summary.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing; run notebook 03 (evaluation) first, it writes summary.csv")
    summary = pd.read_csv(path)
    missing = [column for column in SUMMARY_METRICS if column not in summary.columns]
    if missing:
        raise ValueError(f"{path}: written by an earlier hybridlib, without {', '.join(missing)}; rerun notebook 03, "
                         "which evaluates the runs again for the new metrics and rewrites summary.csv")
    return summary


def mean_sd_table(summary: pd.DataFrame, dataset: str, model: str, columns: tuple[str, ...] = HEADLINE) -> pd.DataFrame:
    """Per strategy: 'mean ± sd' over seeds of each column, and n (seeds); sd is '–' for a single run.

    Args:
        summary: `collect`'s frame.
        dataset: the evaluation dataset.
        model: the model.
        columns: the summary columns shown (rank distance to 1 decimal, the rest to 3).
    """
    part = summary[(summary["dataset"] == dataset) & (summary["model"] == model)]
    out = []
    for strategy, group in sorted(part.groupby("strategy"), key=lambda kv: strategy_sort_key(kv[0])):
        row = {"strategy": strategy, "n": len(group)}
        for col in columns:
            digits = _digits(col)
            mean, sd = group[col].mean(), group[col].std(ddof=1)
            if group[col].isna().all():
                row[col] = "–"  # the task has no such setting (mtop-parallel has no Mo)
            else:
                row[col] = f"{mean:.{digits}f} ± {sd:.{digits}f}" if len(group) > 1 else f"{mean:.{digits}f} ± –"
        out.append(row)
    return pd.DataFrame(out).set_index("strategy")


_PER_QUERY: dict[tuple[str, int], pd.DataFrame] = {}


def per_query_mean(results_dir: str | Path, summary: pd.DataFrame, dataset: str, model: str, strategy: str,
                   languages: Collection[str] | None = None) -> pd.DataFrame:
    """Per-query values of one strategy, averaged over its seeds (one value per query and target).

    Args:
        results_dir: the profile's results folder (``summary``'s paths are relative to it).
        summary: `collect`'s frame.
        dataset: the evaluation dataset.
        model: the model.
        strategy: the strategy whose runs' ``per_query.csv.gz`` are read.
        languages: only the queries in these languages; None: all.
    """
    part = summary[(summary["dataset"] == dataset) & (summary["model"] == model) & (summary["strategy"] == strategy)]
    frames = [_read_per_query(Path(results_dir) / p / "per_query.csv.gz") for p in part["path"]]
    if not frames:
        raise ValueError(f"no results for {dataset}/{model}/{strategy}")
    if not all("article" in f.columns for f in frames):  # runs evaluated before the column existed: items only
        frames = [f.drop(columns="article", errors="ignore") for f in frames]
    stacked = pd.concat(frames)
    if languages is not None:
        stacked = stacked[stacked["lang"].isin(languages)]
    keys = ["query_id", "key", "lang", "target", "setting", *(["article"] if "article" in stacked.columns else [])]
    return stacked.groupby(keys, as_index=False, dropna=False).mean(numeric_only=True)


def _read_per_query(path: Path) -> pd.DataFrame:
    """A run's per_query.csv.gz, read once per version of the file (the comparisons read each run many times)."""
    path = Path(path)
    try:
        key = (str(path.resolve()), path.stat().st_mtime_ns)
        if key not in _PER_QUERY:
            if len(_PER_QUERY) > 256:
                _PER_QUERY.clear()
            _PER_QUERY[key] = pd.read_csv(path)
        return _PER_QUERY[key]
    except (OSError, EOFError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise ValueError(f"{path}: unreadable ({e}); delete the metrics.json beside it and rerun notebook 03 to redo this run's evaluation") from e


def query_comparisons(results_dir: str | Path, summary: pd.DataFrame, dataset: str, model: str, reference: str,
                      languages: Collection[str] | None = None) -> pd.DataFrame:
    """`reference` minus each other strategy over the evaluation queries, by `stats.paired_test` on per-query
    values averaged over seeds.

    Args:
        results_dir: the profile's results folder (``summary``'s paths are relative to it).
        summary: `collect`'s frame.
        dataset: the evaluation dataset.
        model: the model.
        reference: the strategy compared with every other one.
        languages: only the queries in these languages take part (Cr: from them to every other language);
            None: all.

    Returns:
        One row per (strategy, `COMPARED` column) with ``diff``, ``low``, ``high`` (95 % bootstrap CI) and
        ``p``; NaN where the task lacks the setting (mtop-parallel has no Mo).
    """
    ref = per_query_mean(results_dir, summary, dataset, model, reference, languages)
    rows = []
    for other in _others(summary, dataset, model, reference):
        alt = per_query_mean(results_dir, summary, dataset, model, other, languages)
        for column, setting, metric in COMPARED:
            a, b = ref[ref["setting"] == setting], alt[alt["setting"] == setting]
            test = stats.paired_test(a, b, metric) if len(a) and len(b) else {}
            rows.append({"strategy": other, "column": column, **_numbers(test)})
    return pd.DataFrame(rows)


def _seeds_of(part: pd.DataFrame, strategy: str) -> pd.DataFrame:
    return part[part["strategy"] == strategy].sort_values("seed")


def pairing(ref: pd.DataFrame, alt: pd.DataFrame) -> tuple[list[int], list[int], str]:
    """Which seeds of the reference and of the other strategy a comparison uses, and its label: every common seed,
    paired ('3 paired'); against a strategy that does not train (off-the-shelf: one run, no training noise) every
    reference seed ('3 vs fixed'); against a strategy trained with one seed (a baseline of the `one_seed` list)
    every reference seed and that run, whose training noise is taken to be the reference's ('3 vs 1 run': see
    `stats.combined_test`'s ``single_run``).

    Args:
        ref: the reference strategy's summary rows (``seed``, ``strategy`` ...), one per seed.
        alt: the other strategy's.
    """
    from hybridlib.samplers import Strategy  # sentence-transformers: only where a comparison is made

    if len(alt) == 1:
        kind = "1 run" if Strategy.parse(alt.iloc[0]["strategy"]).trains else "fixed"
        return list(ref["seed"]), list(alt["seed"]), f"{len(ref)} vs {kind}"
    common = sorted(set(ref["seed"]) & set(alt["seed"]))
    return common, common, f"{len(common)} paired"


def seed_comparisons(summary: pd.DataFrame, dataset: str, model: str, reference: str) -> pd.DataFrame:
    """`reference` minus each other strategy across training seeds, by `stats.seed_test` (paired by seed) on the
    seeds' macro means.

    Args:
        summary: `collect`'s frame, or any frame with its id columns and `COMPARED` columns (`unseen_summary`).
        dataset: the evaluation dataset.
        model: the model.
        reference: the strategy compared with every other one.

    Returns:
        One row per (strategy, `COMPARED` column) with ``diff``, ``low``, ``high``, ``p``, ``seeds`` (`pairing`'s
        label), ``sd_diff`` (the per-seed differences' sd) and ``detectable``, the smallest difference the test
        would detect with 80 % power (`stats.detectable_difference`).
    """
    part = summary[(summary["dataset"] == dataset) & (summary["model"] == model)]
    ref = _seeds_of(part, reference)
    rows = []
    for other in _others(summary, dataset, model, reference):
        alt = _seeds_of(part, other)
        ref_seeds, alt_seeds, label = pairing(ref, alt)
        for column, _, _ in COMPARED:
            a = ref.set_index("seed").loc[ref_seeds, column].dropna()
            b = alt.set_index("seed").loc[alt_seeds, column].dropna()
            test = stats.seed_test(a, b, single_run=label.endswith("1 run")) if len(a) and len(b) else {}
            sd_diff, n = test.get("sd_diff", float("nan")), len(a)
            detectable = stats.detectable_difference(sd_diff, n) if n > 1 and not math.isnan(sd_diff) else float("nan")
            rows.append({"strategy": other, "column": column, "seeds": label, **_numbers(test),
                         "sd_diff": sd_diff, "detectable": detectable})
    return pd.DataFrame(rows)


def run_frames(results_dir: str | Path, summary: pd.DataFrame, dataset: str, model: str, strategy: str,
               seeds: list[int], setting: str, languages: Collection[str] | None = None) -> list[pd.DataFrame]:
    """Per-query rows of one setting for each of `seeds` of a strategy, in that order (`stats.combined_test`'s input).

    Args:
        results_dir: the profile's results folder (``summary``'s paths are relative to it).
        summary: `collect`'s frame.
        dataset: the evaluation dataset.
        model: the model.
        strategy: the strategy.
        seeds: its seeds to read.
        setting: ``mono``, ``cross`` or ``multi``.
        languages: only the queries in these languages; None: all.
    """
    part = summary[(summary["dataset"] == dataset) & (summary["model"] == model) & (summary["strategy"] == strategy)]
    frames = []
    for seed in seeds:
        path = part.loc[part["seed"] == seed, "path"].iloc[0]
        rows = _read_per_query(Path(results_dir) / path / "per_query.csv.gz")
        rows = rows[(rows["setting"] == setting) & (rows["n_relevant"] > 0)]
        frames.append(rows[rows["lang"].isin(languages)] if languages is not None else rows)
    return frames


def combined_comparisons(results_dir: str | Path, summary: pd.DataFrame, dataset: str, model: str, reference: str,
                         languages: Collection[str] | None = None, margins: dict[str, float] | None = None) -> pd.DataFrame:
    """`reference` minus each other strategy with one interval that carries the training seeds' and the evaluation
    items' noise (`stats.combined_test`), seeds paired as `pairing` says: the comparison the claims and the README
    read.

    Args:
        results_dir: the profile's results folder.
        summary: `collect`'s frame.
        dataset: the evaluation dataset.
        model: the model.
        reference: the strategy compared with every other one.
        languages: only the queries in these languages; None: all.
        margins: the profile's non-inferiority margins δ (`config.Profile.margins`: ``map`` for the mAP columns,
            ``rank_distance_per1k`` for rank distance, converted here to the dataset's pool); None: no margin test.

    Returns:
        One row per (strategy, `COMPARED` column): ``diff`` (the table's difference of means), ``low``/``high``
        (95 %), ``p`` (nan against one run), ``df`` (seeds − 1), ``df_items`` (clusters − 1), ``se_seeds`` and
        ``se_items`` (the two parts of the standard error, `power` reads them), ``p_margin``, ``p_beyond``, ``margin`` (δ in the column's units), ``pred_low``/``pred_high`` (a
        new seed's difference), ``seeds`` (`pairing`'s label) and ``pool`` (the Mul pool's size).
    """
    part = summary[(summary["dataset"] == dataset) & (summary["model"] == model)]
    ref = _seeds_of(part, reference)
    pool = float(part["multi_pool"].iloc[0]) if "multi_pool" in part.columns else float("nan")
    rows = []
    for other in _others(summary, dataset, model, reference):
        ref_seeds, alt_seeds, label = pairing(ref, _seeds_of(part, other))
        if not ref_seeds or not alt_seeds:  # no common seed: nothing to pair
            ref_seeds = alt_seeds = []
        for column, setting, metric in COMPARED:
            sign = -1 if column == "rank_distance" else 1
            margin = (margins or {}).get("rank_distance_per1k" if column == "rank_distance" else "map")
            if margin is not None and column == "rank_distance":
                margin = margin * pool / 1000
            a = run_frames(results_dir, summary, dataset, model, reference, ref_seeds, setting, languages)
            b = run_frames(results_dir, summary, dataset, model, other, alt_seeds, setting, languages)
            single = label.endswith("1 run")
            usable = a and b and all(len(f) for f in a + b)
            test = stats.combined_test(a, b, metric, margin=margin, sign=sign, single_run=single) if usable else {}
            nan = float("nan")
            rows.append({"strategy": other, "column": column, "seeds": label, "diff": test.get("diff", nan),
                         "low": test.get("low", nan), "high": test.get("high", nan), "p": test.get("p", nan),
                         "df": test.get("df", nan), "df_items": test.get("df_items", nan),
                         "se_seeds": test.get("se_seeds", nan), "se_items": test.get("se_items", nan),
                         "margin": nan if margin is None else margin,
                         "p_margin": test.get("p_margin", nan), "p_beyond": test.get("p_beyond", nan),
                         "pred_low": test.get("pred_low", nan),
                         "pred_high": test.get("pred_high", nan), "pool": pool})
    return pd.DataFrame(rows)


def significance_table(results_dir: str | Path, summary: pd.DataFrame, dataset: str, model: str, reference: str,
                       languages: Collection[str] | None = None) -> pd.DataFrame:
    """`query_comparisons` as a table: a row per compared strategy, a cell per `COMPARED` column with the
    difference, its 95 % bootstrap CI and the paired test's p.

    Args:
        results_dir: as in `query_comparisons`.
        summary: as in `query_comparisons`.
        dataset: as in `query_comparisons`.
        model: as in `query_comparisons`.
        reference: as in `query_comparisons`.
        languages: as in `query_comparisons`.
    """
    return _comparison_table(query_comparisons(results_dir, summary, dataset, model, reference, languages), reference)


def seed_table(summary: pd.DataFrame, dataset: str, model: str, reference: str) -> pd.DataFrame:
    """`seed_comparisons` as a table (mean seed-paired difference, its 95 % CI and p).

    Args:
        summary: as in `seed_comparisons`.
        dataset: as in `seed_comparisons`.
        model: as in `seed_comparisons`.
        reference: as in `seed_comparisons`.
    """
    return _comparison_table(seed_comparisons(summary, dataset, model, reference), reference)


def per_language(results_dir: str | Path, summary: pd.DataFrame, dataset: str, model: str) -> pd.DataFrame:
    """Per query language values of every run of (dataset, model), from each metrics.json's ``per_lang``.

    Args:
        results_dir: the profile's results folder (``summary``'s paths are relative to it).
        summary: `collect`'s frame.
        dataset: the evaluation dataset.
        model: the model name.

    Returns:
        One row per (strategy, seed, query language, `LANGUAGE_COLUMNS` column): ``strategy``, ``seed``, ``lang``,
        ``unseen`` (True when the language is not among the run's training languages, so that no strategy
        trained on it), ``column`` and ``value``. Cr is the query language's mean over its target languages;
        a setting the task lacks (mtop-parallel's Mo) has no rows.
    """
    part = summary[(summary["dataset"] == dataset) & (summary["model"] == model)]
    rows = []
    for run in part.itertuples(index=False):
        folder = Path(results_dir) / run.path
        result, config = storage.read_json(folder / "metrics.json"), storage.read_json(folder / "config.json")
        for column, setting, metric in LANGUAGE_COLUMNS:
            for lang, value in ((result[setting] or {}).get(metric) or {}).get("per_lang", {}).items():
                rows.append({"strategy": run.strategy, "seed": run.seed, "lang": lang,
                             "unseen": lang not in config["train_languages"], "column": column, "value": value})
    return pd.DataFrame(rows, columns=["strategy", "seed", "lang", "unseen", "column", "value"])


def language_table(per_lang: pd.DataFrame, column: str) -> pd.DataFrame:
    """One `LANGUAGE_COLUMNS` column of `per_language`'s frame as a table: a row per query language (``*`` marks an
    unseen one), then the macro means over the seen and over the unseen languages; a column per strategy;
    each cell the mean over seeds (rank distance to 1 decimal, mAP to 3). Empty when the task lacks the column."""
    rows = per_lang[per_lang["column"] == column]
    if rows.empty:
        return pd.DataFrame()
    order = sorted(rows["strategy"].unique(), key=strategy_sort_key)
    means = rows.groupby(["lang", "unseen", "strategy"])["value"].mean().unstack("strategy")[order]  # mean over seeds
    table = means.droplevel("unseen")
    table.index = [f"{lang}*" if unseen else lang for lang, unseen in means.index]
    for unseen, label in ((False, "seen (mean)"), (True, "unseen* (mean)")):
        group = means[means.index.get_level_values("unseen") == unseen]
        if len(group):
            table.loc[label] = group.mean()
    digits = _digits(column)
    return table.map(lambda v: f"{v:.{digits}f}").rename_axis("query language")


def reference_strategy(strategies: set[str]) -> str | None:
    """The strategy the tables and the comparison figure compare with the others: hybrid-0.5, else the first
    hybrid; None without a hybrid run or with nothing to compare it with."""
    hybrids = sorted((s for s in strategies if s.startswith("hybrid")), key=strategy_sort_key)
    if not hybrids or len(strategies) < 2:
        return None
    return "hybrid-0.5" if "hybrid-0.5" in hybrids else hybrids[0]


def _others(summary: pd.DataFrame, dataset: str, model: str, reference: str) -> list[str]:
    part = summary[(summary["dataset"] == dataset) & (summary["model"] == model)]
    return sorted(set(part["strategy"]) - {reference}, key=strategy_sort_key)


def _numbers(test: dict[str, float]) -> dict[str, float]:
    nan = float("nan")
    return {"diff": test.get("diff", nan), "low": test.get("ci95_low", nan), "high": test.get("ci95_high", nan), "p": test.get("p", nan)}


def _comparison_table(rows: pd.DataFrame, reference: str) -> pd.DataFrame:
    """One row per compared strategy, one cell per column: '+diff [low, high] p=…', '+diff [low, high] (one run: no
    p)', '+diff (no spread)' or '–'."""
    table = {}
    for r in rows.itertuples(index=False):
        row = table.setdefault(r.strategy, {"comparison": f"{reference} − {r.strategy}"})
        if "seeds" in rows.columns:
            row["seeds"] = r.seeds
        row[r.column] = _comparison_cell(r._asdict())
    return pd.DataFrame(list(table.values())).set_index("comparison")


def _comparison_cell(test: dict) -> str:
    """'+diff [low, high] p=…' (rank distance to 1 decimal, the rest to 3); '–' where the task lacks the setting
    (mtop-parallel has no Mo), no CI or p where there is no spread to test against, no p against one run of a
    trained baseline (its training noise is assumed, `stats.seed_test`)."""
    digits = _digits(test["column"])
    if math.isnan(test["diff"]):
        return "–"
    if math.isnan(test["p"]) and not math.isnan(test["low"]):  # against one run of a trained baseline: no p
        return f"{test['diff']:+.{digits}f} [{test['low']:+.{digits}f}, {test['high']:+.{digits}f}] (one run: no p)"
    if math.isnan(test["p"]):
        return f"{test['diff']:+.{digits}f} (no spread)"
    return f"{test['diff']:+.{digits}f} [{test['low']:+.{digits}f}, {test['high']:+.{digits}f}] p={test['p']:.3g}"
