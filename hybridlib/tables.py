"""The Markdown (and LaTeX) tables of a profile, from summary.csv and the per-query files: per (dataset, model)
`write_tables` writes mean ± sd, hybrid against every strategy, per query language and on the unseen languages;
``main.md`` / ``main.tex`` (`main_table`), and ``claims.md`` through `claims.write_claims`. Each table names the
profile, the data split and the weights that produced it (`provenance_text`).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from hybridlib import stats, storage
from hybridlib.claims import write_claims
from hybridlib.results import (
    COMPARED,
    HEADLINE,
    LANGUAGE_COLUMNS,
    LANGUAGE_TABLE_TITLES,
    _comparison_table,
    _digits,
    combined_comparisons,
    language_table,
    mean_sd_table,
    per_language,
    query_comparisons,
    read_summary,
    reference_strategy,
    seed_comparisons,
    strategy_sort_key,
)

# the main table's columns: the paper's four numbers per dataset
MAIN_COLUMNS = {"mono_map": "Mo mAP", "cross_map": "Cr mAP", "multi_map": "Mul mAP", "rank_distance": "RD",
                "rank_distance_per1k": "RD/1k"}


def main_table(summary: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """The paper's view of one dataset: per (model, strategy), each `MAIN_COLUMNS` metric's mean and sd over seeds
    and its seed count, and ``best``: whether the mean, as printed (3 decimals, rank distance 1), is the model's best
    in that column (highest mAP, lowest rank distance; ties all best).

    Args:
        summary: `collect`'s frame.
        dataset: the evaluation dataset.

    Returns:
        Index (model, strategy) in `strategy_sort_key` order; columns (metric, ``mean`` | ``sd`` | ``n`` | ``best``).
    """
    part = summary[summary["dataset"] == dataset]
    part = part.assign(**{c: float("nan") for c in MAIN_COLUMNS if c not in part.columns})  # a summary from before RD/1k
    agg = part.groupby(["model", "strategy"])[list(MAIN_COLUMNS)].agg(["mean", "std", "count"])
    agg = agg.rename(columns={"std": "sd", "count": "n"}, level=1)
    order = sorted(agg.index, key=lambda key: (key[0], strategy_sort_key(key[1])))
    agg = agg.loc[order]
    for column in MAIN_COLUMNS:
        means = agg[(column, "mean")].round(_digits(column))  # best as printed
        best = means.groupby(level="model").transform("min" if column.startswith("rank_distance") else "max")
        agg[(column, "best")] = means.notna() & (means == best)
    return agg.sort_index(axis=1, level=0, sort_remaining=False)


def _main_cells(table: pd.DataFrame, bold: tuple[str, str], pm: str) -> pd.DataFrame:
    """`main_table` as text: 'mean ± sd' ('mean' for a single run, '–' where undefined), the best ones in `bold`."""
    cells = {}
    for column, label in MAIN_COLUMNS.items():
        digits = _digits(column)
        values = []
        for mean, sd, n, best in table[[(column, k) for k in ("mean", "sd", "n", "best")]].itertuples(index=False):
            if math.isnan(mean):
                values.append("–")
                continue
            text = f"{mean:.{digits}f}" + (f"{pm}{sd:.{digits}f}" if n > 1 else "")
            values.append(f"{bold[0]}{text}{bold[1]}" if best else text)
        cells[label] = values
    return pd.DataFrame(cells, index=table.index)


def _latex(text: str) -> str:
    return "".join("\\" + c if c in "&%$#_{}" else c for c in text)


def provenance_text(results_dir: str | Path, summary: pd.DataFrame) -> str:
    """One paragraph on what produced the results: the training data and its split, and each model's weights (hub
    id at its revision, or a local folder's weights file and sha256), read from the runs' config.json files; empty
    where the summary names no result folders."""
    results_dir = Path(results_dir)
    if "path" not in summary.columns or summary.empty:
        return ""
    models, config = {}, {}
    for rel in summary.drop_duplicates("model")["path"]:
        config = storage.read_json(results_dir / rel / "config.json")
        model, weights = config.get("model", {}), config.get("weights")
        if weights:
            models[model.get("name")] = f"weights `{weights['file']}` sha256 `{weights['sha256'][:16]}…` from a local folder"
        elif model.get("source"):
            models[model.get("name")] = f"`{model['source']}`" + (f" at revision `{model['revision'][:12]}`" if model.get("revision") else "")
    parts = [f"trained on `{config['train_source']}` in {', '.join(config['train_languages'])}"] if "train_source" in config else []
    if config.get("held_out_every"):
        k = config["held_out_every"]
        parts.append(f"XQuAD-R articles 0, {k}, {2 * k}, … held out for evaluation, the others trained on")
    if config.get("passage_context") is False:
        parts.append("passages are the sentence alone (no paragraph)")
    if config.get("mtop_source"):
        items = config.get("mtop_max_items")
        parts.append(f"MTOP from {config['mtop_source']}" + (f", first {items} items per split" if items else ""))
    text = f"Data: {'; '.join(parts)}." if parts else ""
    if models:
        text += " Models: " + "; ".join(f"{name}: {where}" for name, where in models.items()) + "."
    return text.strip()


def _write_main(tables_dir: Path, summary: pd.DataFrame, profile_name: str) -> list[Path]:
    """``main.md`` and ``main.tex``: `main_table` for every dataset, in Markdown and as LaTeX tabulars (booktabs)."""
    source = f"results/{profile_name}/summary.csv"
    made_by = provenance_text(tables_dir.parent, summary)
    md = [f"# Main results · profile `{profile_name}`", "",
          f"Generated from `{source}`. mAP (higher is better) and rank distance (RD, lower is better), mean ± sd over "
          "training seeds; in bold, each model's best mean per column. RD grows with the size of the pool; RD/1k is "
          "RD per 1,000 candidates of the Mul pool, the one to set beside another pool's (the paper's full sets). "
          "The per-dataset tables and claims.md give the intervals and tests.",
          "", made_by]
    tex = [f"% Main results, profile {profile_name}; generated from {source} by hybridlib.results.write_tables.",
           "% mean $\\pm$ sd over training seeds; bold: each model's best mean per column. Needs \\usepackage{booktabs}.",
           f"% {made_by}"]
    for dataset in sorted(summary["dataset"].unique()):
        table = main_table(summary, dataset)
        cells = _main_cells(table, ("**", "**"), " ± ")
        md += ["", f"## {dataset}", "", cells.reset_index().to_markdown(index=False, disable_numparse=True)]
        latex = _main_cells(table, ("\\textbf{", "}"), " $\\pm$ ")
        tex += ["", f"% {dataset}", "\\begin{tabular}{ll" + "r" * len(MAIN_COLUMNS) + "}", "\\toprule",
                f"\\multicolumn{{2}}{{l}}{{{_latex(dataset)}}} & " + " & ".join(MAIN_COLUMNS.values()) + " \\\\", "\\midrule"]
        previous = None
        for (model, strategy), row in latex.iterrows():
            if previous is not None and model != previous:
                tex.append("\\midrule")
            tex.append(" & ".join([_latex(model) if model != previous else "", _latex(strategy), *row]) + " \\\\")
            previous = model
        tex += ["\\bottomrule", "\\end{tabular}"]
    storage.write_text(tables_dir / "main.md", "\n".join(md) + "\n")
    storage.write_text(tables_dir / "main.tex", "\n".join(tex) + "\n")
    return [tables_dir / "main.md", tables_dir / "main.tex"]


def write_tables(results_dir: str | Path, profile_name: str, margins: dict[str, float] | None = None) -> list[Path]:
    """Markdown tables per (dataset, model): mean ± sd over seeds; the hybrid run against every other strategy,
    paired over the evaluation queries and across training seeds; per query language, and the same comparisons
    on the unseen languages alone. Then ``claims.md``: the paper's claims about hybrid, checked on every
    (dataset, model) from the same comparisons (`claims_table`).

    Args:
        results_dir: the profile's results folder, holding ``summary.csv``.
        profile_name: the profile's name, for the headings.
        margins: the profile's non-inferiority margins (`config.Profile.margins`); None: no "keeps" claim can hold.

    Returns:
        The written files' paths, ``tables/<dataset>__<model>.md``, then ``tables/claims.md`` and
        ``tables/comparisons.csv`` (every comparison in long form, `comparisons_frame`).
    """
    results_dir = Path(results_dir)
    summary = read_summary(results_dir)
    written, compared = [], []
    for (dataset, model), part in summary.groupby(["dataset", "model"]):
        lines = [
            f"# {dataset} · {model} · profile `{profile_name}`",
            "",
            f"Generated from {len(part)} result files under `results/{profile_name}/eval/{dataset}/{model}/`. "
            + provenance_text(results_dir, part),
            "Mean ± sd over seeds (n = seeds); mAP is sklearn's average precision over the full pool; rank distance: lower is better.",
            "",
            mean_sd_table(summary, dataset, model, HEADLINE + ("multi_own_first",)).to_markdown(),
        ]
        lines += _own_first_note(part)
        reference = reference_strategy(set(part["strategy"]))
        per_lang = per_language(results_dir, summary, dataset, model)
        unseen = sorted(per_lang.loc[per_lang["unseen"], "lang"].unique())
        if reference:
            comparisons = _comparisons(results_dir, summary, per_lang, dataset, model, reference, unseen, margins)
            compared.append(comparisons)
            lines += _comparison_section(comparisons["all"], reference)
        lines += _language_section(per_lang, unseen)
        if reference and unseen:
            lines += _unseen_section(comparisons["unseen"], reference, unseen)
        path = results_dir / "tables" / f"{dataset}__{model}.md"
        storage.write_text(path, "\n".join(lines) + "\n")
        written.append(path)
    written += _write_main(results_dir / "tables", summary, profile_name)
    if compared:
        written += write_claims(results_dir / "tables", compared, profile_name, margins)
    return written


def unseen_summary(per_lang: pd.DataFrame, dataset: str, model: str) -> pd.DataFrame:
    """`per_language`'s frame reduced to one row per run, like `collect`'s: per `COMPARED` column the macro mean
    over the unseen languages (NaN where the task lacks it), for `seed_table`.

    Args:
        per_lang: `per_language`'s frame for (dataset, model).
        dataset: the dataset, for the id columns.
        model: the model, for the id columns.
    """
    unseen = per_lang[per_lang["unseen"]]
    columns = [column for column, _, _ in COMPARED]
    wide = unseen.groupby(["strategy", "seed", "column"])["value"].mean().unstack("column").reindex(columns=columns)
    return wide.reset_index().assign(dataset=dataset, model=model)


def _comparisons(results_dir: Path, summary: pd.DataFrame, per_lang: pd.DataFrame, dataset: str, model: str,
                 reference: str, unseen: list[str], margins: dict[str, float] | None = None) -> dict:
    """`reference` against each strategy over the queries, across seeds and with both noises, on all languages and
    (when the task has any) on the unseen ones: {"dataset", "model", "reference", "all": (query, seeds, both),
    "unseen": (query, seeds, both)}."""
    out = {"dataset": dataset, "model": model, "reference": reference,
           "all": (query_comparisons(results_dir, summary, dataset, model, reference),
                   seed_comparisons(summary, dataset, model, reference),
                   combined_comparisons(results_dir, summary, dataset, model, reference, margins=margins))}
    if unseen:
        out["unseen"] = (query_comparisons(results_dir, summary, dataset, model, reference, unseen),
                         seed_comparisons(unseen_summary(per_lang, dataset, model), dataset, model, reference),
                         combined_comparisons(results_dir, summary, dataset, model, reference, unseen, margins))
    return out


def _own_first_note(part: pd.DataFrame) -> list[str]:
    """The sentence under the mean ± sd table that says what ``multi_own_first`` is and its chance level."""
    if part["multi_own_first"].isna().all():
        return ["", "multi_own_first (ours): not defined on this task, whose Mul pool leaves the query's language out."]
    return ["", "multi_own_first (ours, not the paper's): the share of queries whose best-ranked answer in the Mul pool "
            "is in their own language, the direction of the language bias that rank distance measures the size of. "
            f"A ranking blind to language gives {part['multi_own_share'].mean():.3f} (the own-language share of each "
            "query's answers); above it, answers in the query's language come first more often than chance."]


BOTH_TEXT = ("Difference of the two strategies' means (as in the mean ± sd table), its 95 % interval with both noises "
             "(training seeds, paired by seed, with seeds − 1 df; evaluation items, resampled as whole articles where "
             "the run's per-query rows name them, else as parallel items; `stats.combined_test`) and its two-sided p; "
             "against a baseline trained with one seed, the interval alone. Per comparison: claims.md corrects the "
             "claims for their number.")
SEEDS_TEXT = ("Across training seeds only: the mean per-seed difference of macro means, with the 95 % CI and two-sided "
              "p of the seed-paired t-test (same seed, same group stream; against off-the-shelf, one run, a one-sample "
              "test; against a baseline trained with one seed, its training noise taken as the reference's: an "
              "interval under that assumption, no p).")
QUERIES_TEXT = ("Over the evaluation items only (training noise left out): per-query values averaged over seeds, 95 % "
                "bootstrap CI over parallel items and the p of a paired sign-flip test over them.")


def _comparison_section(tests: tuple[pd.DataFrame, ...], reference: str) -> list[str]:
    query, seeds, both = tests
    return [
        "", f"## {reference} against each strategy", "", BOTH_TEXT, "", _comparison_table(both, reference).to_markdown(),
        "", f"### {reference} against each strategy, across training seeds only", "", SEEDS_TEXT, "",
        _comparison_table(seeds, reference).to_markdown(),
        "", f"### {reference} against each strategy, over the evaluation items only", "", QUERIES_TEXT, "",
        _comparison_table(query, reference).to_markdown(),
    ]


def _language_section(per_lang: pd.DataFrame, unseen: list[str]) -> list[str]:
    """The tables' per-language part: one `language_table` per `LANGUAGE_COLUMNS` column the task has."""
    lines = [
        "",
        "## Per query language",
        "",
        "Mean over seeds of each query language's value (Cr: its mean over the target languages), then the macro "
        "means over the training languages and over the others. "
        + (f"`*`: not a training language of the profile, so no strategy trained on it ({', '.join(unseen)})." if unseen else
           "Every language of this task is a training language of the profile."),
    ]
    for column, _, _ in LANGUAGE_COLUMNS:
        table = language_table(per_lang, column)
        if not table.empty:
            lines += ["", f"### {LANGUAGE_TABLE_TITLES[column]}", "", table.to_markdown(disable_numparse=True, colalign=("left",) + ("right",) * table.shape[1])]
    return lines


def _unseen_section(tests: tuple[pd.DataFrame, ...], reference: str, unseen: list[str]) -> list[str]:
    query, seeds, both = tests
    return [
        "", f"### {reference} against each strategy on the unseen languages ({', '.join(unseen)})", "",
        "As above, on the unseen languages' queries only (Cr: from them to every other language). " + BOTH_TEXT, "",
        _comparison_table(both, reference).to_markdown(), "", SEEDS_TEXT, "", _comparison_table(seeds, reference).to_markdown(),
        "", QUERIES_TEXT, "", _comparison_table(query, reference).to_markdown(),
    ]


def ci_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Headline metrics as 'mean [low, high]' per (dataset, model, strategy): the mean over seeds and a 95 % interval
    of that mean with both noises (`stats.mean_interval`: the seeds' spread and each run's bootstrap over parallel
    items); for a single run, its bootstrap CI over items alone (marked with n = 1)."""
    out = []
    for (dataset, model, strategy), group in summary.groupby(["dataset", "model", "strategy"]):
        row = {"dataset": dataset, "model": model, "strategy": strategy, "n": len(group)}
        for col in HEADLINE:
            digits = _digits(col)
            if group[col].isna().all():
                row[col] = "–"
                continue
            mean, low, high = stats.mean_interval(group[col], group[col + "_ci_low"], group[col + "_ci_high"])
            row[col] = f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"
        out.append(row)
    frame = pd.DataFrame(out)
    frame["_order"] = frame["strategy"].map(strategy_sort_key)
    return frame.sort_values(["dataset", "model", "_order"]).drop(columns="_order").set_index(["dataset", "model", "strategy"])
