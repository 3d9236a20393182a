"""What the notebooks show a reader: one parallel group, what is held out, a decoded batch of each strategy, the
batch composition, each run's loss curve, per-language results and what a model retrieves.

Each function reads the prepared data or the result files of a profile and returns a frame or writes a figure;
the stages themselves are in `pipeline`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hybridlib import records, storage
from hybridlib.config import Profile, RunSpec
from hybridlib.layout import Paths
from hybridlib.pipeline import model_source
from hybridlib.results import read_summary


def example_group(paths: Paths, index: int = 0) -> pd.DataFrame:
    """The rows of one parallel group of the training set (every language), for display."""
    import pyarrow.compute as pc

    rows = records.load_training_set(paths.data / "train")
    pair_ids = rows.with_format("arrow")["pair_id"]
    match = pc.equal(pair_ids, pair_ids[index])  # an Arrow scan: no Python pass over the rows
    group = rows.select(pc.indices_nonzero(match).to_pylist()).to_pandas()
    return group[["pair_id", "lang", "query", "passage"]].set_index(["pair_id", "lang"])



def best_run(profile: Profile, paths: Paths, dataset: str) -> RunSpec:
    """The trained run with the highest Mul mAP on `dataset` (off-the-shelf if nothing is trained).

    Args:
        profile: the profile whose runs are searched.
        paths: where ``summary.csv`` is read.
        dataset: the evaluation dataset ranked on.
    """
    summary = read_summary(paths.results)
    part = summary[summary["dataset"] == dataset].sort_values("multi_map", ascending=False)
    top = part.iloc[0]
    return next(r for r in profile.runs() if (r.model.name, r.strategy.label, r.seed) == (top["model"], top["strategy"], top["seed"]))



def show_top_k(profile: Profile, paths: Paths, *, n_queries: int = 3, k: int = 5) -> pd.DataFrame:
    """Top-k candidates from the multilingual pool for a few queries of the first dataset (faiss search), by
    `best_run`'s model.

    Args:
        profile: the profile; its first evaluation dataset is searched.
        paths: where the dataset, ``summary.csv`` and the model are read.
        n_queries: queries shown, spread evenly over the dataset.
        k: candidates shown per query.

    Returns:
        One row per (query, rank): score, candidate and whether it is relevant.
    """
    import faiss

    from hybridlib.encoder import load_encoder
    from hybridlib.evaluation import encode_task

    dataset = profile.eval_datasets[0]
    task = records.RetrievalTask.read(paths.data / "eval" / dataset)
    run = best_run(profile, paths, dataset)
    weights = paths.run_dir(run) / "model" if run.strategy.trains else model_source(run, paths)
    step = max(1, len(task.queries) // n_queries)
    task.queries = task.queries[::step][:n_queries]
    model = load_encoder(weights, max_seq_length=profile.train.max_seq_length)
    q_emb, c_emb = encode_task(model, task, batch_size=profile.eval_batch_size, precision=profile.eval_precision, chunk=profile.eval_chunk, multiple=profile.eval_pad_multiple)
    index = faiss.IndexFlatIP(c_emb.shape[1])  # exact inner product = cosine on normalised embeddings
    index.add(c_emb)
    scores, ids = index.search(q_emb, k)
    rows = []
    for q, score_row, id_row in zip(task.queries, scores, ids):
        for rank, (score, j) in enumerate(zip(score_row, id_row), start=1):
            c = task.candidates[j]
            rows.append({"query": f"[{q.lang}] {q.text}", "rank": rank, "score": round(float(score), 3),
                         "candidate": f"[{c.lang}] {c.text}", "relevant": q.key in c.keys})
    print(f"model: {run.key}")
    return pd.DataFrame(rows).set_index(["query", "rank"])



def show_figure(path: Path | None) -> None:
    """Display a figure file in the notebook; None (a figure the profile has nothing for, said where it was made):
    nothing."""
    from IPython.display import Image, display

    if path is not None:
        display(Image(filename=str(path)))


def _trains_nothing(profile: Profile, what: str) -> bool:
    """Whether no strategy of the profile trains (off-the-shelf alone), saying that there is no `what` to show."""
    if any(s.trains for s in profile.strategies):
        return False
    print(f"profile {profile.name} trains no strategy (off-the-shelf only): no {what}", flush=True)
    return True


def batch_composition_figure(profile: Profile, paths: Paths) -> Path | None:
    """figures/<profile>/batch_composition.png: pairs per (query, passage) language for each strategy; None, with a
    line saying so, for a profile that trains nothing."""
    from hybridlib import figures
    from hybridlib.samplers import BatchPlan, composition, index_from_pair_dataset
    from hybridlib.training import pair_dataset

    if _trains_nothing(profile, "batches to count"):
        return None
    pairs = pair_dataset(records.load_training_set(paths.data / "train"), profile.train_languages, hard_negatives=False)
    index = index_from_pair_dataset(pairs)
    counts = {}
    for strategy in profile.strategies:
        if strategy.trains:
            plan = BatchPlan(index, strategy, profile.train.batch_size, seed=0)
            counts[strategy.label] = composition(plan, profile.train.steps)
    title = (f"Training pairs per (query, passage) language over {profile.train.steps} steps of "
             f"{profile.train.batch_size} · profile {profile.name} · data {profile.train_source}")
    return figures.save(figures.batch_composition(counts, profile.train_languages, title), paths.figures / "batch_composition.png")


def held_out(profile: Profile, paths: Paths) -> pd.DataFrame:
    """Per evaluation dataset: its query languages, those no strategy trains on, and what keeps it apart from the
    training data (read from the prepared tasks)."""
    rows = []
    for dataset in profile.eval_datasets:
        task = records.RetrievalTask.read(paths.data / "eval" / dataset)
        if dataset == "xquad-r" and profile.held_out_every:
            k = profile.held_out_every
            apart = (f"articles 0, {k}, {2 * k}, ... of the 48 (in file order) are evaluated; training uses only the other "
                     "articles, so no question, sentence or paragraph is in both")
        elif dataset == "synthetic":
            apart = "evaluation paragraphs are disjoint from the training ones (the vocabulary is shared)"
        else:
            apart = "never trained on: training uses other data"
        unseen = sorted(set(task.languages) - set(profile.train_languages))
        rows.append({"dataset": dataset, "queries": len(task.queries), "candidates": len(task.candidates),
                     "languages": " ".join(task.languages), "unseen at training": " ".join(unseen) or "–", "kept apart": apart})
    return pd.DataFrame(rows).set_index("dataset")


def example_batches(profile: Profile, paths: Paths, *, rows: int = 4, width: int = 48) -> pd.DataFrame:
    """The first training batch of each strategy (seed 0), decoded: per row, its query and passage languages and
    texts (cut to `width` characters), drawn by the samplers training uses; empty, with a line saying so, for a
    profile that trains nothing.

    Args:
        profile: the profile (strategies, languages, batch size).
        paths: where the training set is read.
        rows: rows shown per batch.
        width: characters kept of each text.
    """
    from hybridlib.samplers import BatchPlan, index_from_pair_dataset
    from hybridlib.training import pair_dataset

    if _trains_nothing(profile, "batches to show"):
        return pd.DataFrame()
    pairs = pair_dataset(records.load_training_set(paths.data / "train"), profile.train_languages, hard_negatives=False)
    index = index_from_pair_dataset(pairs)
    out = []
    for strategy in profile.strategies:
        if not strategy.trains:
            continue
        batch = next(iter(BatchPlan(index, strategy, profile.train.batch_size, seed=0).epoch(0)))
        picked = index.pair_row(batch.groups, batch.query_lang, batch.passage_lang)[:rows]
        texts = pairs[picked.tolist()]  # the ids resolved to texts, as the trainer reads them
        for i, (q, p) in enumerate(zip(batch.query_lang[:rows], batch.passage_lang[:rows])):
            out.append({"strategy": strategy.label, "batch kind": batch.kind, "row": i, "query lang": index.languages[q],
                        "passage lang": index.languages[p], "query": texts["query"][i][:width],
                        "passage": texts["positive"][i][:width]})
    return pd.DataFrame(out).set_index(["strategy", "row"])


def loss_curve_figure(profile: Profile, paths: Paths) -> Path | None:
    """figures/<profile>/loss_curves.png: the training loss of every trained run against its step, a panel per
    strategy (seeds as lines), read from each run's train_log.json; None, with a line saying so, for a profile
    that trains nothing."""
    import matplotlib.pyplot as plt

    from hybridlib import figures

    if _trains_nothing(profile, "loss curves"):
        return None
    curves = {}
    for run in profile.runs():
        log = paths.run_dir(run) / "train_log.json"
        if run.strategy.trains and log.exists():
            points = [(e["step"], e["loss"]) for e in storage.read_json(log) if "loss" in e and "step" in e]
            curves.setdefault(run.strategy.label, []).append((run.seed, points))
    if not curves:
        raise FileNotFoundError(f"{paths.results / 'runs'}: no train_log.json; run notebook 02 (training) first")
    fig, axes = plt.subplots(1, len(curves), figsize=(2.6 * len(curves), 2.6), sharey=True, squeeze=False)
    for ax, (label, runs) in zip(axes.flat, curves.items()):
        for seed, points in runs:
            steps, losses = zip(*points)
            ax.plot(steps, losses, marker=".", lw=1, label=f"seed {seed}")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("step")
        ax.grid(color="0.9")
    axes.flat[0].set_ylabel("training loss (InfoNCE)")
    axes.flat[0].legend(fontsize=7, frameon=False)
    fig.suptitle(f"Training loss per strategy · profile {profile.name}", fontsize=10)
    fig.tight_layout()
    return figures.save(fig, paths.figures / "loss_curves.png")


def language_heatmap_figure(profile: Profile, paths: Paths, dataset: str, column: str = "multi_map") -> Path:
    """figures/<profile>/<dataset>__language_heatmap.png: `column` per query language (columns) and (model,
    strategy) (rows), mean over seeds; languages no strategy trained on are marked ``*``.

    Args:
        profile: the profile, for the title.
        paths: where the result files are read and the figure written.
        dataset: the evaluation dataset.
        column: a per-language metric of `results.per_language` (``mono_map``, ``cross_map``, ``multi_map``, ``rank_distance``).
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    from hybridlib import figures
    from hybridlib.results import per_language, strategy_sort_key

    summary = read_summary(paths.results)
    frames = []
    for model in sorted(summary.loc[summary["dataset"] == dataset, "model"].unique()):
        per_lang = per_language(paths.results, summary, dataset, model)  # long form: one row per (run, lang, column)
        per_lang = per_lang[per_lang["column"] == column].copy()
        per_lang["lang"] = np.where(per_lang["unseen"], per_lang["lang"] + "*", per_lang["lang"])
        frames.append(per_lang.assign(row=model + " · " + per_lang["strategy"]))
    data = pd.concat(frames)
    if data.empty:
        raise ValueError(f"{dataset}: no per-language {column} in the results; choose another column")
    order = sorted(data["row"].unique(), key=lambda r: (r.split(" · ")[0], strategy_sort_key(r.split(" · ")[1])))
    table = data.groupby(["row", "lang"])["value"].mean().unstack("lang").loc[order]
    fig, ax = plt.subplots(figsize=(0.55 * table.shape[1] + 2.5, 0.4 * table.shape[0] + 1.2))
    sns.heatmap(table, annot=True, fmt=".0f" if column == "rank_distance" else ".2f", annot_kws={"size": 7},
                cmap="mako_r" if column == "rank_distance" else "mako", cbar=False, ax=ax)
    ax.set_xlabel("query language (* not a training language)")
    ax.set_ylabel("")
    fig.suptitle(f"{figures.COMPARISON_LABELS.get(column, column)} per query language (mean over seeds) · {dataset} · "
                 f"profile {profile.name}", fontsize=9)
    fig.tight_layout()
    return figures.save(fig, paths.figures / f"{dataset}__language_heatmap.png")
