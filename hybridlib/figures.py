"""Figures, built only from result files (summary.csv, metrics.json) and the samplers' batch plans.

Every figure's title names the profile, the dataset and the model it shows, so a PNG found on its own still
says what produced it. The plotting functions take the summary frame (``summary.csv``, one row per dataset,
model, strategy and seed), the dataset and model to show, and the profile's name for the title, and
return the figure for `save`.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from hybridlib import storage  # noqa: E402
from hybridlib.claims import CLAIMS, claims_column, claims_table, comparisons_frame, paper_gap  # noqa: E402
from hybridlib.results import (  # noqa: E402
    COMPARED,
    combined_comparisons,
    per_language,
    query_comparisons,
    read_summary,
    reference_strategy,
    seed_comparisons,
    strategy_sort_key,
)

SETTING_LABELS = {"mono_map": "Mo (X→X)", "cross_map": "Cr (X→Y)", "multi_map": "Mul (X→all)"}
COMPARISON_LABELS = {**{k: f"{v} mAP" for k, v in SETTING_LABELS.items()}, "rank_distance": "rank distance (lower is better)"}


def save(fig: Figure, path: str | Path) -> Path:
    """Save a figure as PNG atomically and close it."""
    path = Path(path)
    try:
        with storage.atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=130, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def _subset(summary: pd.DataFrame, dataset: str, model: str) -> tuple[pd.DataFrame, list[str]]:
    part = summary[(summary["dataset"] == dataset) & (summary["model"] == model)]
    return part, sorted(part["strategy"].unique(), key=strategy_sort_key)


def map_by_strategy(summary: pd.DataFrame, dataset: str, model: str, profile: str) -> Figure:
    """Grouped bars: Mo / Cr / Mul mAP per strategy (mean over seeds, sd as error bar, seeds as dots).

    Args:
        summary: `results.collect`'s frame (``summary.csv``).
        dataset: the evaluation dataset shown.
        model: the model shown.
        profile: the profile's name, for the title.
    """
    part, order = _subset(summary, dataset, model)
    long = part.melt(id_vars=["strategy", "seed"], value_vars=list(SETTING_LABELS), var_name="setting", value_name="mAP")
    long["setting"] = long["setting"].map(SETTING_LABELS)
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(order)), 3.8))
    sns.barplot(data=long, x="strategy", y="mAP", hue="setting", order=order, errorbar="sd", ax=ax, alpha=0.85)
    sns.stripplot(data=long, x="strategy", y="mAP", hue="setting", order=order, dodge=True, ax=ax, palette="dark:k", size=3, legend=False)
    ax.set_title(f"mAP by batching strategy · {dataset} · {model} · profile {profile} (bars: mean ± sd over seeds)", fontsize=9)
    ax.set_ylim(0, 1)
    ax.legend(title=None, fontsize=8)
    return fig


def rank_distance_by_strategy(summary: pd.DataFrame, dataset: str, model: str, profile: str) -> Figure:
    """Bars: mean rank distance per strategy (lower = less language bias), seeds as dots.

    Args:
        summary: `results.collect`'s frame (``summary.csv``).
        dataset: the evaluation dataset shown.
        model: the model shown.
        profile: the profile's name, for the title.
    """
    part, order = _subset(summary, dataset, model)
    fig, ax = plt.subplots(figsize=(max(5, 1.1 * len(order)), 3.4))
    sns.barplot(data=part, x="strategy", y="rank_distance", order=order, errorbar="sd", ax=ax, color="tab:purple", alpha=0.8)
    sns.stripplot(data=part, x="strategy", y="rank_distance", order=order, ax=ax, color="k", size=3)
    ax.set_ylabel("rank distance (max − min rank)")
    ax.set_title(f"Language bias in the multilingual pool · {dataset} · {model} · profile {profile} (lower is better)", fontsize=9)
    return fig


def language_pair_matrix(results_dir: str | Path, summary: pd.DataFrame, dataset: str, model: str, strategy: str) -> pd.DataFrame:
    """(query language x target language) mAP averaged over seeds; the diagonal is Mo, the rest Cr.

    Args:
        results_dir: the profile's results folder (``summary``'s paths are relative to it).
        summary: `results.collect`'s frame.
        dataset: the evaluation dataset.
        model: the model.
        strategy: the strategy whose runs' metrics.json are read.
    """
    part = summary[(summary["dataset"] == dataset) & (summary["model"] == model) & (summary["strategy"] == strategy)]
    mats = []
    for rel in part["path"]:
        result = storage.read_json(Path(results_dir) / rel / "metrics.json")
        mat = pd.DataFrame(result["cross"]["map"]["matrix"]).T
        for lang, value in (result["mono"]["map"]["per_lang"] if result["mono"] else {}).items():
            mat.loc[lang, lang] = value
        mats.append(mat.sort_index().sort_index(axis=1))
    return sum(mats) / len(mats)


def language_pair_heatmaps(results_dir: str | Path, summary: pd.DataFrame, dataset: str, model: str, profile: str) -> Figure:
    """One heatmap per strategy of query-language x target-language mAP (`language_pair_matrix`).

    Args:
        results_dir: the profile's results folder.
        summary: `results.collect`'s frame (``summary.csv``).
        dataset: the evaluation dataset shown.
        model: the model shown.
        profile: the profile's name, for the title.
    """
    _, order = _subset(summary, dataset, model)
    cols = min(3, len(order))
    rows = int(np.ceil(len(order) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.6 * rows), squeeze=False)
    for ax, strategy in zip(axes.flat, order):
        mat = language_pair_matrix(results_dir, summary, dataset, model, strategy)
        sns.heatmap(mat, vmin=0, vmax=1, cmap="viridis", annot=len(mat) <= 8, fmt=".2f", annot_kws={"size": 7}, cbar=False, ax=ax, square=True)
        ax.set_title(strategy, fontsize=9)
        ax.set_xlabel("target language")
        ax.set_ylabel("query language")
    for ax in list(axes.flat)[len(order):]:
        ax.axis("off")
    fig.suptitle(f"mAP per language pair (diagonal: Mo) · {dataset} · {model} · profile {profile}", fontsize=10)
    fig.tight_layout()
    return fig


def language_pair_differences(results_dir: str | Path, summary: pd.DataFrame, dataset: str, model: str,
                              profile: str) -> Figure | None:
    """Where hybrid gains and loses: a heatmap per baseline (xx-mono, xy) of the reference strategy's
    (`results.reference_strategy`) mAP minus the baseline's, per query language x target language
    (`language_pair_matrix`, means over seeds; blue: the reference higher). The CIs are in the tables.

    Args:
        results_dir: the profile's results folder.
        summary: `results.collect`'s frame (``summary.csv``).
        dataset: the evaluation dataset shown.
        model: the model shown.
        profile: the profile's name, for the title.

    Returns:
        The figure, or None without a reference strategy or without xx-mono and xy runs.
    """
    _, order = _subset(summary, dataset, model)
    reference = reference_strategy(set(order))
    others = [other for other in ("xx-mono", "xy") if other in order]
    if reference is None or not others:
        return None
    mine = language_pair_matrix(results_dir, summary, dataset, model, reference)
    diffs = {other: mine - language_pair_matrix(results_dir, summary, dataset, model, other) for other in others}
    limit = max(float(np.nanmax(np.abs(diff.to_numpy(dtype=float)))) for diff in diffs.values()) or 1.0  # 0 in the middle
    fig, axes = plt.subplots(1, len(diffs), figsize=(4.6 * len(diffs), 3.8), squeeze=False)
    for ax, (other, diff) in zip(axes.flat, diffs.items()):
        sns.heatmap(diff, vmin=-limit, vmax=limit, cmap="RdBu", annot=len(diff) <= 8, fmt="+.2f",
                    annot_kws={"size": 7}, ax=ax, square=True, cbar_kws={"shrink": 0.8})
        ax.set_title(f"{reference} − {other}", fontsize=9)
        ax.set_xlabel("target language")
        ax.set_ylabel("query language")
    fig.suptitle(f"mAP difference per language pair (diagonal: Mo; blue: {reference} higher; means over seeds) · "
                 f"{dataset} · {model} · profile {profile}", fontsize=9)
    fig.tight_layout()
    return fig


def per_language_points(per_lang: pd.DataFrame, dataset: str, model: str, profile: str) -> Figure:
    """One panel per metric the task has (Mo / Cr / Mul mAP, rank distance): each query language's value per
    strategy, mean ± sd over seeds; the training languages first, then the unseen ones, marked ``*``.

    Args:
        per_lang: `results.per_language`'s frame for (dataset, model).
        dataset: the evaluation dataset, for the title.
        model: the model, for the title.
        profile: the profile's name, for the title.
    """
    frame = per_lang.assign(lang=[f"{lang}*" if unseen else lang for lang, unseen in zip(per_lang["lang"], per_lang["unseen"])])
    langs = sorted(frame["lang"].unique(), key=lambda lang: (lang.endswith("*"), lang))
    order = sorted(frame["strategy"].unique(), key=strategy_sort_key)
    columns = [column for column, _, _ in COMPARED if (frame["column"] == column).any()]
    fig, axes = plt.subplots(len(columns), 1, figsize=(max(6.0, 0.8 * len(langs) + 2), 2.2 * len(columns)), sharex=True, squeeze=False)
    for i, (ax, column) in enumerate(zip(axes.flat, columns)):
        sns.pointplot(data=frame[frame["column"] == column], x="lang", y="value", hue="strategy", order=langs, hue_order=order,
                      errorbar="sd", dodge=0.6 if len(order) > 1 else False, linestyle="none", markersize=3, err_kws={"linewidth": 1}, ax=ax, legend=i == 0)
        ax.set_ylabel(COMPARISON_LABELS[column].replace(" (lower is better)", "\n(lower is better)"), fontsize=8)
        ax.set_xlabel("")
        ax.grid(axis="y", color="0.9")
    axes.flat[-1].set_xlabel("query language (* not a training language)")
    sns.move_legend(axes.flat[0], "lower left", bbox_to_anchor=(0, 1.02), ncol=len(order), fontsize=8, title=None, frameon=False)
    fig.suptitle(f"Per query language (mean ± sd over seeds) · {dataset} · {model} · profile {profile}", fontsize=10)
    fig.tight_layout()
    return fig


def batch_composition(counts: dict[str, np.ndarray], languages: tuple[str, ...], title: str) -> Figure:
    """One heatmap per strategy: how many training pairs had each (query language, passage language).

    Args:
        counts: {strategy label: (n_languages, n_languages) pair counts}, rows the query language
            (`samplers.composition`).
        languages: the languages of the counts' rows and columns.
        title: the figure's title (it names the profile).
    """
    n = len(counts)
    cols = min(3, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.8 * cols, 3.4 * rows), squeeze=False)
    for ax, (label, mat) in zip(axes.flat, counts.items()):
        frame = pd.DataFrame(mat, index=languages, columns=languages)
        sns.heatmap(frame, cmap="mako", annot=len(languages) <= 9, fmt="d", annot_kws={"size": 6}, cbar=False, ax=ax, square=True)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("passage language")
        ax.set_ylabel("query language")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def alpha_points(summary: pd.DataFrame, dataset: str, model: str) -> pd.DataFrame:
    """Runs of the α sweep with their α: hybrid(α), plus xy as α = 0 and xx-mono as α = 1 (the same batches).

    Args:
        summary: `results.collect`'s frame.
        dataset: the evaluation dataset.
        model: the model.
    """
    part = summary[(summary["dataset"] == dataset) & (summary["model"] == model)].copy()
    alias = {"xy": 0.0, "xx-mono": 1.0}
    part["alpha"] = [alias.get(s, a) for s, a in zip(part["strategy"], part["alpha"])]
    return part[part["strategy"].str.startswith("hybrid") | part["strategy"].isin(list(alias))]


def alpha_sweep(summary: pd.DataFrame, dataset: str, model: str, profile: str) -> Figure | None:
    """mAP (Mo/Cr/Mul), rank distance and, where defined, own-language first (with its chance level) against α
    (`alpha_points`), mean ± sd over seeds.

    Args:
        summary: `results.collect`'s frame (``summary.csv``).
        dataset: the evaluation dataset shown.
        model: the model shown.
        profile: the profile's name, for the title.

    Returns:
        The figure, or None when the runs span fewer than 3 α values.
    """
    points = alpha_points(summary, dataset, model)
    if points["alpha"].nunique() < 3:
        return None
    own_first = "multi_own_first" in points and points["multi_own_first"].notna().any()
    fig, axes = plt.subplots(1, 3 if own_first else 2, figsize=(13.5 if own_first else 9, 3.4))
    left, right = axes[:2]

    def against_alpha(ax: plt.Axes, column: str, **style: str) -> None:  # mean ± sd over seeds at each α
        stats = points.groupby("alpha")[column].agg(["mean", "std"])
        ax.errorbar(stats.index, stats["mean"], yerr=stats["std"].fillna(0), marker="o", capsize=3, **style)

    for col, label in SETTING_LABELS.items():
        against_alpha(left, col, label=label)
    left.set_xlabel("α (share of xx-mono batches)")
    left.set_ylabel("mAP")
    left.legend(fontsize=8)
    against_alpha(right, "rank_distance", color="tab:purple")
    right.set_xlabel("α")
    right.set_ylabel("rank distance (lower is better)")
    if own_first:  # ours: which language comes first, against a ranking blind to language
        against_alpha(axes[2], "multi_own_first", color="tab:brown")
        axes[2].axhline(points["multi_own_share"].mean(), color="0.5", ls="--", lw=1, label="chance")
        axes[2].set_xlabel("α")
        axes[2].set_ylabel("own-language first (Mul)")
        axes[2].legend(fontsize=8)
    fig.suptitle(f"α sweep (α = 0 is xy, α = 1 is xx-mono) · {dataset} · {model} · profile {profile}", fontsize=10)
    fig.tight_layout()
    return fig


BUDGET_PANELS = {**{k: f"{v} mAP" for k, v in SETTING_LABELS.items()}, "rank_distance_per1k": "rank distance per 1,000 candidates"}


def budget_figure(summary: pd.DataFrame, dataset: str, profile: str) -> Figure | None:
    """Each metric against the training pairs a run saw, one line per strategy through its means at each budget
    (off-the-shelf, 0 pairs, is every line's start), every seed a dot: whether the strategies separate with more
    training.

    Args:
        summary: `results.collect`'s frame (``summary.csv``).
        dataset: the evaluation dataset shown.
        profile: the profile's name, for the title.

    Returns:
        The figure, or None when the runs of `dataset` have fewer than two training budgets.
    """
    part = summary[summary["dataset"] == dataset]
    if "pairs" not in part.columns or part.loc[part["pairs"] > 0, "pairs"].nunique() < 2:
        return None
    start = part[part["strategy"] == "off-the-shelf"]
    trained = part[part["pairs"] > 0]
    strategies = [s for s in sorted(trained["strategy"].unique(), key=strategy_sort_key)
                  if trained.loc[trained["strategy"] == s, "pairs"].nunique() > 1]
    panels = [c for c in BUDGET_PANELS if part[c].notna().any()]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.3))
    colours = dict(zip(strategies, sns.color_palette("deep", len(strategies))))
    budgets = sorted(trained["pairs"].unique())
    for ax, column in zip(np.atleast_1d(axes), panels):
        for i, strategy in enumerate(strategies):
            runs = pd.concat([start, trained[trained["strategy"] == strategy]])
            means = runs.groupby("pairs")[column].mean()
            ax.plot(means.index, means.to_numpy(), marker="o", color=colours[strategy], label=strategy, lw=1.2, ms=4)
            dots = trained[trained["strategy"] == strategy]
            jitter = (i - (len(strategies) - 1) / 2) * 0.012 * budgets[-1]
            ax.scatter(dots["pairs"] + jitter, dots[column], color=colours[strategy], s=10, alpha=0.6, edgecolor="none")
        ax.set_title(BUDGET_PANELS[column], fontsize=9)
        ax.set_xticks([0, *budgets])
        ax.set_xlabel("training pairs (steps × batch)", fontsize=8)
        ax.tick_params(labelsize=7)
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.suptitle(f"The strategies by training budget · {dataset} · profile {profile}\n"
                 "lines: means over seeds (0 pairs: off-the-shelf); dots: each seed", fontsize=9)
    fig.tight_layout()
    return fig


# the two trade-offs the paper is about: (x, y) per panel; each axis oriented so that up and right is better
TRADEOFF_PANELS = (("mono_map", "cross_map"), ("rank_distance", "multi_map"))


def tradeoff(summary: pd.DataFrame, dataset: str, model: str, profile: str) -> Figure:
    """Each strategy placed on the two trade-offs the paper is about: Mo against Cr mAP, and rank distance against
    Mul mAP; its seeds as dots, their mean ± sd as a cross, and the α path (xy = α 0, hybrid in α order, xx-mono =
    α 1; `alpha_points`) joined by a dashed line. Rank distance's axis is reversed, so in both panels the upper
    right is better: "the best of both" is the upper right corner.

    Args:
        summary: `results.collect`'s frame (``summary.csv``).
        dataset: the evaluation dataset shown.
        model: the model shown.
        profile: the profile's name, for the title.
    """
    part, order = _subset(summary, dataset, model)
    colours = dict(zip(order, sns.color_palette("tab10", len(order))))
    path = alpha_points(summary, dataset, model)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for ax, (x, y) in zip(axes, TRADEOFF_PANELS):
        ax.set_xlabel(COMPARISON_LABELS.get(x, x))
        ax.set_ylabel(COMPARISON_LABELS.get(y, y))
        if x == "rank_distance":
            ax.invert_xaxis()
            ax.set_xlabel("rank distance (axis reversed: right is lower, better)")
        if part[[x, y]].isna().all().any():
            ax.text(0.5, 0.5, "not defined\nfor this task", ha="center", va="center", transform=ax.transAxes, fontsize=8)
            continue
        if path["alpha"].nunique() >= 2:
            means = path.groupby("alpha")[[x, y]].mean()  # groupby sorts by α
            ax.plot(means[x], means[y], "--", color="0.6", lw=1, zorder=1)
        for strategy in order:
            runs = part[part["strategy"] == strategy]
            mean, sd = runs[[x, y]].mean(), runs[[x, y]].std().fillna(0)
            ax.scatter(runs[x], runs[y], s=9, color=colours[strategy], alpha=0.5, zorder=2)
            ax.errorbar(mean[x], mean[y], xerr=sd[x], yerr=sd[y], fmt="o", color=colours[strategy], capsize=2,
                        markersize=6, label=strategy, zorder=3)
    fig.legend(*axes[1].get_legend_handles_labels(), loc="center right", fontsize=8, frameon=False)  # Mul: every task
    fig.suptitle(f"The trade-offs · {dataset} · {model} · profile {profile}\nup and right is better in both panels; "
                 "crosses: mean ± sd over seeds, dots: seeds, dashed: xy → hybrid by α → xx-mono", fontsize=9)
    fig.tight_layout(rect=(0, 0, 0.86, 1))
    return fig


def comparison_forest(
    query: pd.DataFrame, seeds: pd.DataFrame, reference: str, dataset: str, model: str, profile: str
) -> Figure:
    """`reference` minus each other strategy, one panel per compared metric: the difference, its 95 % CI over the
    evaluation items only (thick) and its interval with both noises, training seeds and items (thin), and zero.
    A gap is settled only where the thin bar stays off zero (per comparison; claims.md corrects for their number).

    Args:
        query: `results.query_comparisons`' frame.
        seeds: `results.combined_comparisons`' frame (or `results.seed_comparisons`'), for the same strategies.
        reference: the strategy compared with the others (`results.reference_strategy`).
        dataset: the evaluation dataset, for the title.
        model: the model, for the title.
        profile: the profile's name, for the title.
    """
    others = list(dict.fromkeys(query["strategy"]))
    y = np.arange(len(others))
    columns = [column for column, _, _ in COMPARED]
    fig, axes = plt.subplots(1, len(columns), figsize=(3.1 * len(columns), 1.7 + 0.45 * len(others)), sharey=True)
    for ax, column in zip(axes, columns):
        q = query[query["column"] == column].set_index("strategy").reindex(others)
        s = seeds[seeds["column"] == column].set_index("strategy").reindex(others)
        ax.set_title(COMPARISON_LABELS[column], fontsize=9)
        ax.axvline(0, color="0.6", lw=0.8)
        if q["diff"].isna().all():
            ax.text(0.5, 0.5, "not defined\nfor this task", ha="center", va="center", transform=ax.transAxes, fontsize=8)
            continue
        _ci_bars(ax, q, s, y)
    axes[0].set_yticks(y, [f"− {other}" for other in others])
    axes[0].invert_yaxis()
    fig.suptitle(f"{reference} minus each strategy · {dataset} · {model} · profile {profile}\n"
                 "thick: 95 % CI over the evaluation items only; thin: 95 % interval with both noises (seeds and items)", fontsize=9)
    fig.tight_layout()
    return fig


def _ci_bars(ax: plt.Axes, query: pd.DataFrame, seeds: pd.DataFrame, y: np.ndarray, sign: int = 1) -> None:
    """Each row's difference at height y with its 95 % CI over the queries (thick) and across seeds (thin),
    multiplied by `sign`; rows of NaN draw nothing."""
    for frame, style in ((seeds, {"fmt": "none", "ecolor": "0.35", "elinewidth": 0.9, "capsize": 3}),
                         (query, {"fmt": "o", "color": "tab:blue", "elinewidth": 3.5, "markersize": 4})):
        diff, low, high = (sign * frame[c].to_numpy(dtype=float) for c in ("diff", "low", "high"))
        low, high = np.minimum(low, high), np.maximum(low, high)
        ax.errorbar(diff, y, xerr=[diff - low, high - diff], **style)


def claims_forest(frame: pd.DataFrame, profile: str) -> Figure:
    """The paper's claims as effect sizes: a panel per claim (`claims.CLAIMS`), a row per (dataset, model), each
    hybrid − the other strategy signed so that right is the side the paper reports, with its 95 % CI over the
    queries (thick) and across seeds (thin), zero, and the paper's own XLM-R gap (red ×) where it reports the
    dataset (`claims.paper_gap`).

    Args:
        frame: `claims.comparisons_frame`'s frame.
        profile: the profile's name, for the title.
    """
    claims = frame[(frame["claim"] != "") & (frame["languages"] == "all")]
    pairs = list(dict.fromkeys(zip(claims["dataset"], claims["model"], claims["reference"])))
    y = np.arange(len(pairs))
    fig, axes = plt.subplots(2, 4, figsize=(13, 2.2 + 0.5 * len(pairs)), sharey=True)
    for ax, (column, other, sign, wording) in zip(axes.T.ravel(), CLAIMS):
        rows = {test: claims[(claims["column"] == column) & (claims["strategy"] == other) & (claims["test"] == test)]
                .set_index(["dataset", "model", "reference"]).reindex(pairs) for test in ("queries", "seeds", "both")}
        if rows["both"]["diff"].notna().any():
            rows["seeds"] = rows["both"]
        ax.set_title(f"hybrid's {wording.split(' (')[0]}", fontsize=9)  # the claim without its gloss
        ax.tick_params(labelsize=7)
        ax.axvline(0, color="0.6", lw=0.8)
        _ci_bars(ax, rows["queries"], rows["seeds"], y, sign)
        for i, (dataset, _, reference) in enumerate(pairs):
            pool = rows["both"]["pool"].iloc[i] if "pool" in rows["both"].columns else None
            gap = paper_gap(dataset, column, other, pool)
            if gap is not None and reference == "hybrid-0.5" and not np.isnan(rows["queries"]["diff"].iloc[i]):
                ax.plot(sign * gap, i, "x", color="tab:red", markersize=7)
        ax.set_xlabel("← against the claim · for it →", fontsize=7)
    axes[0, 0].set_yticks(y, [claims_column(*pair) for pair in pairs])
    axes[0, 0].invert_yaxis()
    fig.suptitle(f"The paper's claims as effect sizes · profile {profile}\nhybrid − other, signed so that right is "
                 "the paper's side; thick: 95 % CI over the items only, thin: with both noises (seeds and items); red ×: the "
                 "paper's XLM-R gap (rank distance rescaled to our pool)", fontsize=9)
    fig.tight_layout()
    return fig


def claims_grid(claims: pd.DataFrame, profile: str) -> Figure:
    """`claims.claims_table` as a grid: a row per claim, a column per (dataset, model), each cell coloured by
    where the interval with both noises lies (green: the paper's side of zero, red: the other side, grey: it holds
    zero or there is none) and labelled with the difference, the interval and its mark.

    Args:
        claims: `claims.claims_table`'s frame.
        profile: the profile's name, for the title.
    """
    codes = {"✓": 1.0, "✗": -1.0, "~": 0.0, "·": 0.0}
    colour = claims.map(lambda cell: codes.get(cell[-1], np.nan))  # the mark of the interval with both noises
    fig, ax = plt.subplots(figsize=(5.5 + 1.5 * claims.shape[1], 0.9 + 0.42 * len(claims)))  # room for the claims
    sns.heatmap(colour, cmap=sns.color_palette(["#e8a0a0", "#e6e6e6", "#9fd39f"], as_cmap=True), vmin=-1.5, vmax=1.5,
                annot=claims.to_numpy(), fmt="", annot_kws={"size": 7}, cbar=False, linewidths=0.5, linecolor="white", ax=ax)
    ax.set_xticklabels([label.get_text().replace(" · ", "\n") for label in ax.get_xticklabels()], rotation=0, fontsize=8)
    ax.set_yticklabels([f"hybrid's {label.get_text()}" for label in ax.get_yticklabels()], rotation=0, fontsize=8)
    ax.set_xlabel("")
    ax.set_ylabel("")
    fig.suptitle(f"The paper's claims about hybrid · profile {profile}\n"
                 "cell: hybrid − other, its 95 % interval with both noises (per comparison) and ✓ / ✗ / ~ for where it lies", fontsize=9)
    fig.tight_layout()
    return fig


def write_all(results_dir: str | Path, figures_dir: str | Path, profile: str, margins: dict[str, float] | None = None) -> list[Path]:
    """Every result figure of a profile, one set per (dataset, model), written as PNG.

    Args:
        results_dir: the profile's results folder (``summary.csv`` and the result files under it).
        figures_dir: where the PNGs are written (``figures/<profile>``).
        profile: the profile's name, for the titles.
        margins: the profile's non-inferiority margins, as `tables.write_tables`.

    Returns:
        The written files' paths.
    """
    results_dir, figures_dir = Path(results_dir), Path(figures_dir)
    summary = read_summary(results_dir)
    written, compared = [], []
    for dataset, model in summary[["dataset", "model"]].drop_duplicates().itertuples(index=False):
        stem = f"{dataset}__{model}"
        written.append(save(map_by_strategy(summary, dataset, model, profile), figures_dir / f"{stem}__map.png"))
        written.append(save(rank_distance_by_strategy(summary, dataset, model, profile), figures_dir / f"{stem}__rank_distance.png"))
        written.append(save(language_pair_heatmaps(results_dir, summary, dataset, model, profile), figures_dir / f"{stem}__language_pairs.png"))
        differences = language_pair_differences(results_dir, summary, dataset, model, profile)
        if differences is not None:
            written.append(save(differences, figures_dir / f"{stem}__language_pair_differences.png"))
        per_lang = per_language(results_dir, summary, dataset, model)
        written.append(save(per_language_points(per_lang, dataset, model, profile), figures_dir / f"{stem}__languages.png"))
        sweep = alpha_sweep(summary, dataset, model, profile)
        if sweep is not None:
            written.append(save(sweep, figures_dir / f"{stem}__alpha_sweep.png"))
        written.append(save(tradeoff(summary, dataset, model, profile), figures_dir / f"{stem}__tradeoff.png"))
        part = summary[(summary["dataset"] == dataset) & (summary["model"] == model)]
        reference = reference_strategy(set(part["strategy"]))
        if reference:
            query = query_comparisons(results_dir, summary, dataset, model, reference)
            seeds = seed_comparisons(summary, dataset, model, reference)
            both = combined_comparisons(results_dir, summary, dataset, model, reference, margins=margins)
            forest = comparison_forest(query, both, reference, dataset, model, profile)
            written.append(save(forest, figures_dir / f"{stem}__comparisons.png"))
            compared.append({"dataset": dataset, "model": model, "reference": reference, "all": (query, seeds, both)})
        else:
            print(f"{dataset} · {model}: no hybrid run beside another strategy, so no comparison figure", flush=True)
    for dataset in sorted(summary["dataset"].unique()):
        budgets = budget_figure(summary, dataset, profile)
        if budgets is not None:
            written.append(save(budgets, figures_dir / f"{dataset}__budgets.png"))
    if compared:
        written.append(save(claims_grid(claims_table(compared), profile), figures_dir / "claims.png"))
        written.append(save(claims_forest(comparisons_frame(compared), profile), figures_dir / "claims_forest.png"))
    return written
