"""Result files -> summary.csv -> Markdown tables. Reads only what evaluation wrote; computes no new scores.

- `collect` walks ``results/<profile>/eval/**/metrics.json`` (with each one's config.json) into one row per
  (dataset, model, strategy, seed).
- `mean_sd_table` gives mean ± sd over seeds per strategy; `significance_table` compares a reference
  strategy with every other one by a paired sign-flip test on per-query values averaged over seeds (how sure
  the evaluation queries make the gap); `seed_table` compares the same pairs by Welch's t-test over the
  seeds' macro means (whether another training seed would keep it).
- `per_language` reads every run's per-language values; `language_table` shows one metric per query language,
  with the languages no strategy trained on marked and averaged apart. On those languages alone,
  `significance_table` (given their names) and `seed_table` (given `unseen_summary`'s frame) compare the strategies.
- `claims_table` checks the paper's claims about hybrid (`CLAIMS`) on every (dataset, model), from the same
  comparisons; `holm_table` adjusts their p-values for the number of claims (`stats.holm`), and `power_table`
  gives the smallest gap each test across seeds could detect beside the paper's gap (`PAPER_XLMR`); `loss_table`
  reads the "keeps" claims as non-inferiority (the largest loss each CI leaves possible). `write_tables` writes the
  four to ``tables/claims.md``, and every comparison to ``tables/comparisons.csv`` (`comparisons_frame`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
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

# The paper's claims about hybrid, each the sign it reports for hybrid − another strategy on one `COMPARED`
# column (on XLM-R, XQuAD-R: every sign as listed, Mul against X-Y a tie at .593): (column, other, sign, wording)
CLAIMS = (
    ("mono_map", "xx-mono", +1, "Mo mAP ≥ xx-mono's (keeps X-X's monolingual strength)"),
    ("mono_map", "xy", +1, "Mo mAP > xy's"),
    ("cross_map", "xy", +1, "Cr mAP ≥ xy's (keeps X-Y's cross-lingual strength)"),
    ("cross_map", "xx-mono", +1, "Cr mAP > xx-mono's"),
    ("multi_map", "xy", +1, "Mul mAP ≥ xy's (keeps X-Y's multilingual strength)"),
    ("multi_map", "xx-mono", +1, "Mul mAP > xx-mono's"),
    ("rank_distance", "xy", -1, "rank distance ≤ xy's (less language bias)"),
    ("rank_distance", "xx-mono", -1, "rank distance < xx-mono's"),
)

# The paper's XLM-R numbers (mAP, mean rank distance; README "Reproduce the paper") on the two datasets it reports,
# to set our across-seed tests' power against the gaps it found: dataset -> strategy -> `COMPARED` column -> value
PAPER_XLMR = {
    "xquad-r": {"xx-mono": {"mono_map": .792, "cross_map": .674, "multi_map": .547, "rank_distance": 410.2},
                "xy": {"mono_map": .755, "cross_map": .700, "multi_map": .593, "rank_distance": 295.4},
                "hybrid-0.5": {"mono_map": .798, "cross_map": .705, "multi_map": .593, "rank_distance": 286.6}},
    "mlqa-r": {"xx-mono": {"mono_map": .648, "cross_map": .584, "multi_map": .473, "rank_distance": 287.5},
               "xy": {"mono_map": .626, "cross_map": .620, "multi_map": .508, "rank_distance": 226.7},
               "hybrid-0.5": {"mono_map": .648, "cross_map": .623, "multi_map": .512, "rank_distance": 227.1}},
}


def paper_gap(dataset: str, column: str, other: str) -> float | None:
    """The paper's XLM-R hybrid − `other` on one `COMPARED` column (`PAPER_XLMR`); None where it has no such number.

    Args:
        dataset: the evaluation dataset (the paper reports xquad-r and mlqa-r).
        column: a `COMPARED` column, e.g. ``"cross_map"``.
        other: the strategy hybrid is compared with (``"xx-mono"`` or ``"xy"``).
    """
    paper = PAPER_XLMR.get(dataset, {})
    if other not in paper:
        return None
    return paper["hybrid-0.5"][column] - paper[other][column]


# the per-language tables' columns: the comparisons', then own-language first (ours; not compared)
LANGUAGE_COLUMNS = (*COMPARED, ("multi_own_first", "multi", "own_first"))
LANGUAGE_TABLE_TITLES = {"mono_map": "Mo mAP (X→X)", "cross_map": "Cr mAP (X→Y, mean over Y)", "multi_map": "Mul mAP (X→all)",
                         "rank_distance": "rank distance (lower is better)",
                         "multi_own_first": "own-language first in the Mul pool (ours; chance under the mean ± sd table)"}


def _digits(column: str) -> int:
    """Decimals every table prints a summary column with: rank distance 1, the rest (mAP, recall, ...) 3."""
    return 1 if column == "rank_distance" else 3


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
        for column, (setting, metric) in SUMMARY_METRICS.items():
            entry = (result[setting] or {}).get(metric)  # None: the task has no such setting
            row[column] = entry["mean"] if entry else float("nan")
            if column in HEADLINE:
                row[f"{column}_ci_low"], row[f"{column}_ci_high"] = entry["ci95"] if entry else (float("nan"),) * 2
        row["path"] = str(metrics_path.parent.relative_to(results_dir))
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        raise FileNotFoundError(f"{results_dir}: no metrics.json found; run notebook 03 (evaluation) first")
    frame["_order"] = frame["strategy"].map(strategy_sort_key)
    return frame.sort_values(["dataset", "model", "_order", "seed"]).drop(columns="_order").reset_index(drop=True)


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
    stacked = pd.concat(frames)
    if languages is not None:
        stacked = stacked[stacked["lang"].isin(languages)]
    keys = ["query_id", "key", "lang", "target", "setting"]
    return stacked.groupby(keys, as_index=False).mean(numeric_only=True)


def _read_per_query(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
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


def seed_comparisons(summary: pd.DataFrame, dataset: str, model: str, reference: str) -> pd.DataFrame:
    """`reference` minus each other strategy across training seeds, by `stats.seed_test` on the seeds' macro means.

    Args:
        summary: `collect`'s frame, or any frame with its id columns and `COMPARED` columns (`unseen_summary`).
        dataset: the evaluation dataset.
        model: the model.
        reference: the strategy compared with every other one.

    Returns:
        One row per (strategy, `COMPARED` column) with ``diff``, ``low``, ``high``, ``p``, ``seeds`` ('3 vs 3'),
        the two sides' seed sds (``sd_reference``, ``sd_other``) and ``detectable``, the smallest difference
        the test would detect with 80 % power (`stats.detectable_difference`).
    """
    part = summary[(summary["dataset"] == dataset) & (summary["model"] == model)]
    ref = part[part["strategy"] == reference]
    rows = []
    for other in _others(summary, dataset, model, reference):
        alt = part[part["strategy"] == other]
        for column, _, _ in COMPARED:
            a, b = ref[column].dropna(), alt[column].dropna()
            test = stats.seed_test(a, b) if len(a) and len(b) else {}
            sd_a, sd_b = (x.std(ddof=1) if len(x) > 1 else 0.0 for x in (a, b))
            detectable = stats.detectable_difference(sd_a, len(a), sd_b, len(b)) if len(a) and len(b) else float("nan")
            rows.append({"strategy": other, "column": column, "seeds": f"{len(ref)} vs {len(alt)}", **_numbers(test),
                         "sd_reference": sd_a, "sd_other": sd_b, "detectable": detectable})
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
    """`seed_comparisons` as a table (difference of seed means, Welch 95 % CI and p).

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
    """One row per compared strategy, one cell per column: '+diff [low, high] p=…', '+diff (no spread)' or '–'."""
    table = {}
    for r in rows.itertuples(index=False):
        row = table.setdefault(r.strategy, {"comparison": f"{reference} − {r.strategy}"})
        if "seeds" in rows.columns:
            row["seeds"] = r.seeds
        row[r.column] = _comparison_cell(r._asdict())
    return pd.DataFrame(list(table.values())).set_index("comparison")


def _comparison_cell(test: dict) -> str:
    """'+diff [low, high] p=…' (rank distance to 1 decimal, the rest to 3); '–' where the task lacks the setting
    (mtop-parallel has no Mo), no CI or p where there is no spread to test against."""
    digits = _digits(test["column"])
    if math.isnan(test["diff"]):
        return "–"
    if math.isnan(test["p"]):
        return f"{test['diff']:+.{digits}f} (no spread)"
    return f"{test['diff']:+.{digits}f} [{test['low']:+.{digits}f}, {test['high']:+.{digits}f}] p={test['p']:.3g}"


# the main table's columns: the paper's four numbers per dataset
MAIN_COLUMNS = {"mono_map": "Mo mAP", "cross_map": "Cr mAP", "multi_map": "Mul mAP", "rank_distance": "RD"}


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
    agg = part.groupby(["model", "strategy"])[list(MAIN_COLUMNS)].agg(["mean", "std", "count"])
    agg = agg.rename(columns={"std": "sd", "count": "n"}, level=1)
    order = sorted(agg.index, key=lambda key: (key[0], strategy_sort_key(key[1])))
    agg = agg.loc[order]
    for column in MAIN_COLUMNS:
        means = agg[(column, "mean")].round(_digits(column))  # best as printed
        best = means.groupby(level="model").transform("min" if column == "rank_distance" else "max")
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
    id at its revision, or a local folder's weights file and sha256), read from the runs' config.json files."""
    results_dir = Path(results_dir)
    models = {}
    for rel in summary.drop_duplicates("model")["path"]:
        config = storage.read_json(results_dir / rel / "config.json")
        model, weights = config["model"], config.get("weights")
        where = (f"weights `{weights['file']}` sha256 `{weights['sha256'][:16]}…` from a local folder" if weights
                 else f"`{model['source']}`" + (f" at revision `{model['revision'][:12]}`" if model.get("revision") else ""))
        models[model["name"]] = where
    split = []
    if config.get("held_out_every"):
        k = config["held_out_every"]
        split.append(f"XQuAD-R articles 0, {k}, {2 * k}, … held out for evaluation, the others trained on")
    if config.get("passage_context") is False:
        split.append("passages are the sentence alone (no paragraph)")
    if config.get("mtop_source"):
        items = config.get("mtop_max_items")
        split.append(f"MTOP from {config['mtop_source']}" + (f", first {items} items per split" if items else ""))
    return (f"Data: trained on `{config['train_source']}` in {', '.join(config['train_languages'])}"
            + "".join(f"; {part}" for part in split) + ". Models: "
            + "; ".join(f"{name}: {where}" for name, where in models.items()) + ".")


def _write_main(tables_dir: Path, summary: pd.DataFrame, profile_name: str) -> list[Path]:
    """``main.md`` and ``main.tex``: `main_table` for every dataset, in Markdown and as LaTeX tabulars (booktabs)."""
    source = f"results/{profile_name}/summary.csv"
    made_by = provenance_text(tables_dir.parent, summary)
    md = [f"# Main results · profile `{profile_name}`", "",
          f"Generated from `{source}`. mAP (higher is better) and rank distance (RD, lower is better), mean ± sd over "
          "training seeds; in bold, each model's best mean per column. The per-dataset tables give the CIs and tests.",
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


def write_tables(results_dir: str | Path, profile_name: str) -> list[Path]:
    """Markdown tables per (dataset, model): mean ± sd over seeds; the hybrid run against every other strategy,
    paired over the evaluation queries and across training seeds; per query language, and the same comparisons
    on the unseen languages alone. Then ``claims.md``: the paper's claims about hybrid, checked on every
    (dataset, model) from the same comparisons (`claims_table`).

    Args:
        results_dir: the profile's results folder, holding ``summary.csv``.
        profile_name: the profile's name, for the headings.

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
            comparisons = _comparisons(results_dir, summary, per_lang, dataset, model, reference, unseen)
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
        written += _write_claims(results_dir / "tables", compared, profile_name)
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
                 reference: str, unseen: list[str]) -> dict:
    """`reference` against each strategy, over the queries and across seeds, on all languages and (when the task
    has any) on the unseen ones: {"dataset", "model", "reference", "all": (query, seeds), "unseen": (query, seeds)}."""
    out = {"dataset": dataset, "model": model, "reference": reference,
           "all": (query_comparisons(results_dir, summary, dataset, model, reference), seed_comparisons(summary, dataset, model, reference))}
    if unseen:
        out["unseen"] = (query_comparisons(results_dir, summary, dataset, model, reference, unseen),
                         seed_comparisons(unseen_summary(per_lang, dataset, model), dataset, model, reference))
    return out


def claims_table(compared: list[dict], part: str = "all") -> pd.DataFrame:
    """The paper's claims (`CLAIMS`) checked on each (dataset, model): a row per claim, a column per (dataset,
    model), each cell hybrid − the other strategy with two marks, for its 95 % CI over the evaluation queries and
    across training seeds: ✓ the CI lies on the side of zero the paper reports, ✗ on the other side, ~ it holds
    zero, · no CI (a single run a side); '–' where a strategy or the setting is missing.

    Args:
        compared: one dict per (dataset, model) as `write_tables` builds them: ``dataset``, ``model``,
            ``reference`` and, per part, a (`query_comparisons`, `seed_comparisons`) pair of frames.
        part: ``"all"`` (every query language) or ``"unseen"`` (the unseen languages' queries only); a (dataset,
            model) without the part has no column.
    """
    columns = {}
    for c in compared:
        if part not in c:
            continue
        query, seeds = (frame.set_index(["strategy", "column"]) for frame in c[part])
        cells = [_claim_cell(query, seeds, other, column, sign) for column, other, sign, _ in CLAIMS]
        columns[claims_column(c["dataset"], c["model"], c["reference"])] = cells
    return pd.DataFrame(columns, index=pd.Index([wording for *_, wording in CLAIMS], name="hybrid's …"))


def comparisons_frame(compared: list[dict]) -> pd.DataFrame:
    """Every comparison behind the tables in one long frame (``tables/comparisons.csv``), with the paper's
    claims named and their p-values adjusted by Holm's method over each family: the claims of one (dataset,
    model), query languages and test.

    Args:
        compared: as in `claims_table`.

    Returns:
        One row per (dataset, model, ``languages`` ("all" or "unseen"), ``test`` ("queries": paired over the
        evaluation queries; "seeds": Welch across training seeds), strategy, `COMPARED` column) with ``reference``,
        ``diff``, ``low``, ``high``, ``p``; across seeds also ``seeds`` ('3 vs 3'), ``sd_reference``,
        ``sd_other`` and ``detectable`` (`seed_comparisons`); ``claim`` (the `CLAIMS` wording, empty if the row
        is not a claim) and ``p_holm`` (NaN if it is not).
    """
    wording = {(other, column): text for column, other, _, text in CLAIMS}
    frames = []
    for c in compared:
        for languages in ("all", "unseen"):
            for test, frame in zip(("queries", "seeds"), c.get(languages, ())):
                rows = frame.assign(
                    dataset=c["dataset"], model=c["model"], reference=c["reference"], languages=languages, test=test)
                rows["claim"] = [wording.get(key, "") for key in zip(rows["strategy"], rows["column"])]
                is_claim = (rows["claim"] != "").to_numpy()
                rows["p_holm"] = float("nan")
                rows.loc[is_claim, "p_holm"] = stats.holm(rows.loc[is_claim, "p"])
                frames.append(rows)
    order = ["dataset", "model", "reference", "languages", "test", "strategy", "column", "diff", "low", "high", "p",
             "seeds", "sd_reference", "sd_other", "detectable", "claim", "p_holm"]
    return pd.concat(frames, ignore_index=True).reindex(columns=order) if frames else pd.DataFrame(columns=order)


def holm_table(frame: pd.DataFrame, languages: str = "all") -> pd.DataFrame:
    """`comparisons_frame`'s Holm-adjusted p of each claim, shaped as `claims_table`: a cell per (claim, dataset ·
    model) with 'over queries / across seeds'; '·' where a test has no p, '–' where `claims_table` has '–'.

    Args:
        frame: `comparisons_frame`'s frame.
        languages: ``"all"`` or ``"unseen"``, as `claims_table`'s ``part``.
    """
    def _cell(tests: pd.DataFrame, claim: tuple, dataset: str, reference: str) -> str:
        return " / ".join(_p_text(tests.loc[(claim[3], test), "p_holm"]) for test in ("queries", "seeds"))

    return _claims_shaped(frame, languages, _cell, CLAIMS)


def power_table(frame: pd.DataFrame, languages: str = "all") -> pd.DataFrame:
    """How small a gap each claim's test across seeds could see, shaped as `claims_table`: per cell the smallest
    difference it detects with 80 % power at p < 0.05 (`stats.detectable_difference`, from the seeds' sds); where
    the paper reports the dataset (`PAPER_XLMR`) and the reference is hybrid-0.5, then the paper's XLM-R gap and
    the seeds a side that would detect it (`stats.seeds_needed`), e.g. '0.012 · paper +0.006 → 12 seeds'.

    Args:
        frame: `comparisons_frame`'s frame.
        languages: ``"all"`` or ``"unseen"``; the paper's gaps are over every language, so only ``"all"``
            cells show them.
    """
    def _cell(tests: pd.DataFrame, claim: tuple, dataset: str, reference: str) -> str:
        column, other, _, text = claim
        with_paper = languages == "all" and reference == "hybrid-0.5"
        return _power_cell(tests.loc[(text, "seeds")], column, paper_gap(dataset, column, other) if with_paper else None)

    return _claims_shaped(frame, languages, _cell, CLAIMS)


def keeps_claim(wording: str) -> bool:
    """Whether a `CLAIMS` row says hybrid keeps the other strategy's strength (≥ or ≤: not worse), as opposed to
    beating it (> or <)."""
    return "≥" in wording or "≤" in wording


def loss_table(frame: pd.DataFrame, languages: str = "all") -> pd.DataFrame:
    """The "keeps" claims (`keeps_claim`) read as non-inferiority: per cell the largest loss of hybrid against the
    other strategy that its 95 % CI leaves possible, 'over queries / across seeds' (the CI's end on the wrong side
    of zero, in the metric's units: a one-sided 97.5 % bound; 'none' where the CI lies wholly on the paper's side).
    The claim holds at a margin δ, chosen by the reader, where the across-seeds value is below δ.

    Args:
        frame: `comparisons_frame`'s frame.
        languages: ``"all"`` or ``"unseen"``, as `claims_table`'s ``part``.
    """
    def _cell(tests: pd.DataFrame, claim: tuple, dataset: str, reference: str) -> str:
        column, _, sign, text = claim
        return " / ".join(_loss_text(tests.loc[(text, test)], column, sign) for test in ("queries", "seeds"))

    return _claims_shaped(frame, languages, _cell, [claim for claim in CLAIMS if keeps_claim(claim[3])])


def _claims_shaped(frame: pd.DataFrame, languages: str, cell: Callable[..., str], claims: Sequence[tuple]) -> pd.DataFrame:
    """A table shaped as `claims_table`, from `comparisons_frame`'s claim rows on `languages`: a row per claim of
    `claims` (`CLAIMS` rows), a column per (dataset, model); each cell ``cell(tests, claim, dataset, reference)``,
    `tests` being that column's claim rows indexed by (claim, test), or '–' where `claims_table` has none."""
    rows = frame[(frame["claim"] != "") & (frame["languages"] == languages)]
    columns = {}
    for (dataset, model, reference), part in rows.groupby(["dataset", "model", "reference"], sort=False):
        tests = part.set_index(["claim", "test"])
        columns[claims_column(dataset, model, reference)] = [
            cell(tests, claim, dataset, reference) if _has_claim(tests, claim[3]) else "–" for claim in claims]
    return pd.DataFrame(columns, index=pd.Index([claim[3] for claim in claims], name="hybrid's …"))


def _loss_text(test: pd.Series, column: str, sign: int) -> str:
    """The largest loss (−sign × the CI's end on the wrong side) a CI leaves possible, as `loss_table` prints it."""
    loss = -min(sign * test["low"], sign * test["high"])
    if math.isnan(loss):
        return "·"
    return "none" if loss <= 0 else f"{loss:.{_digits(column)}f}"


def _power_cell(row: pd.Series, column: str, gap: float | None) -> str:
    digits = _digits(column)
    cell = "·" if math.isnan(row["detectable"]) else f"{row['detectable']:.{digits}f}"
    if gap is None:
        return cell
    gap = round(gap, digits)
    if gap == 0:
        return f"{cell} · paper ±{0:.{digits}f}"
    n = stats.seeds_needed(row["sd_reference"], row["sd_other"], gap)
    return f"{cell} · paper {gap:+.{digits}f} → {'>100' if n is None else n} seeds"


def _has_claim(tests: pd.DataFrame, claim: str) -> bool:
    """Whether `claims_table` has a value for `claim`: `comparisons_frame`'s rows indexed by (claim, test)."""
    return (claim, "queries") in tests.index and not math.isnan(tests.loc[(claim, "queries"), "diff"])


def _p_text(p: float) -> str:
    return "·" if math.isnan(p) else "<0.001" if p < 0.001 else f"{p:.3f}"


def claims_column(dataset: str, model: str, reference: str) -> str:
    """A claims table's column name (and `figures.claims_forest`'s row label): 'dataset · model', with the
    reference named when it is not hybrid-0.5.

    Args:
        dataset: the evaluation dataset.
        model: the model.
        reference: the strategy compared with the others (`reference_strategy`).
    """
    return f"{dataset} · {model}" + ("" if reference == "hybrid-0.5" else f" ({reference})")


def _claim_cell(query: pd.DataFrame, seeds: pd.DataFrame, other: str, column: str, sign: int) -> str:
    if (other, column) not in query.index or math.isnan(query.loc[(other, column), "diff"]):
        return "–"
    over_queries, across_seeds = query.loc[(other, column)], seeds.loc[(other, column)]
    digits = _digits(column)
    return f"{over_queries['diff']:+.{digits}f} {_mark(over_queries, sign)} {_mark(across_seeds, sign)}"


def _mark(test: pd.Series, sign: int) -> str:
    """✓ / ✗ / ~ / ·: where the CI [low, high] of hybrid − other lies against the claimed sign."""
    low, high = sorted((sign * test["low"], sign * test["high"]))
    if math.isnan(low):
        return "·"
    return "✓" if low > 0 else "✗" if high < 0 else "~"


def _write_claims(tables_dir: Path, compared: list[dict], profile_name: str) -> list[Path]:
    """``claims.md`` (`claims_table`, `holm_table`, `power_table` and `loss_table`, over every query language and
    over the unseen ones) and ``comparisons.csv`` (`comparisons_frame`) in `tables_dir`."""
    frame = comparisons_frame(compared)
    lines = [
        f"# The paper's claims about hybrid · profile `{profile_name}`",
        "",
        f"Generated from the result files under `results/{profile_name}/eval/` ({len(compared)} (dataset, model) pair{'' if len(compared) == 1 else 's'}). "
        "Each claim is the sign the paper reports for hybrid (α = 0.5) minus another strategy (XLM-R, XQuAD-R; README "
        "\"Reproduce the paper\"). Each cell: our difference (per-query values averaged over seeds), then a mark for its "
        "95 % CI over the evaluation queries (paired, bootstrap over parallel groups) and one for its 95 % CI across "
        "training seeds (Welch), both from the per-dataset tables: ✓ the CI lies on the paper's side of zero, ✗ on the "
        "other side, ~ it holds zero (for a ≥ claim: no difference shown either way), · no CI. A claim holds where "
        "the second mark is ✓. Each CI is per comparison: below each table, the claims' p-values adjusted for their "
        "number (Holm), then the smallest gap the seeds could detect. Every number here is also in `comparisons.csv`.",
    ]
    for languages, heading in (("all", "Every query language"),
                               ("unseen", "The unseen query languages only (no strategy trained on them; Cr: from them to every other language)")):
        claims = claims_table(compared, languages)
        if claims.empty:
            continue
        if claims.shape[1] > 1:
            claims["across seeds, over the columns"] = claims.apply(_tally, axis=1)
        lines += [
            "", f"## {heading}", "", claims.to_markdown(), "",
            "Holm-adjusted p (two-sided; over queries / across seeds), each test's family being a column's claims: a "
            "mark whose adjusted p is below 0.05 would survive testing all the claims at a family-wise 5 %.",
            "", holm_table(frame, languages).to_markdown(), "",
            "The smallest difference the test across seeds detects with 80 % power at p < 0.05, from each side's "
            "seed sd (noncentral t with Welch's df: with 3 seeds a side the real power there is nearer 70 %, so "
            "this is a lower bound); where the paper reports the dataset, its XLM-R gap (hybrid − the other, every "
            "query language) and the seeds a side (both sides, these sds) that would detect that gap. A claim "
            "whose mark is ~ and whose gap is below this size was not testable with these seeds.",
            "", power_table(frame, languages).to_markdown(disable_numparse=True), "",
            "The \"keeps\" claims (≥, ≤) as non-inferiority: the largest loss against the other strategy that each "
            "95 % CI leaves possible (over queries / across seeds, in the metric's units: the CI's end, a one-sided "
            "97.5 % bound; none: the CI lies wholly on the paper's side). Hybrid keeps the other's strength within "
            "a margin δ, chosen before looking, where the across-seeds value is below δ; a ~ above with a small "
            "value here is a tie within that value.",
            "", loss_table(frame, languages).to_markdown(disable_numparse=True),
        ]
    storage.write_text(tables_dir / "claims.md", "\n".join(lines) + "\n")
    storage.write_text(tables_dir / "comparisons.csv", frame.to_csv(index=False))
    return [tables_dir / "claims.md", tables_dir / "comparisons.csv"]


def _own_first_note(part: pd.DataFrame) -> list[str]:
    """The sentence under the mean ± sd table that says what ``multi_own_first`` is and its chance level."""
    if part["multi_own_first"].isna().all():
        return ["", "multi_own_first (ours): not defined on this task, whose Mul pool leaves the query's language out."]
    return ["", "multi_own_first (ours, not the paper's): the share of queries whose best-ranked answer in the Mul pool "
            "is in their own language, the direction of the language bias that rank distance measures the size of. "
            f"A ranking blind to language gives {part['multi_own_share'].mean():.3f} (the own-language share of each "
            "query's answers); above it, answers in the query's language come first more often than chance."]


def _tally(cells: pd.Series) -> str:
    """How many of a claim's cells have each mark across seeds (their last character): '3 ✓, 1 ✗, 4 ~'; '–' if none."""
    marks = [cell[-1] for cell in cells]
    if not any(mark in marks for mark in "✓✗~"):
        return "–"
    return ", ".join(f"{marks.count(mark)} {mark}" for mark in "✓✗~")


def _comparison_section(pair: tuple[pd.DataFrame, pd.DataFrame], reference: str) -> list[str]:
    query, seeds = pair
    return [
        "",
        f"## {reference} against each strategy",
        "",
        "Difference of macro means (per-query values averaged over seeds), 95 % bootstrap CI over parallel groups, "
        "and the two-sided p of a paired sign-flip test over parallel groups (10,000 permutations).",
        "",
        _comparison_table(query, reference).to_markdown(),
        "",
        f"## {reference} against each strategy, across training seeds",
        "",
        "Difference of the seeds' mean macro means, with the 95 % CI and two-sided p of Welch's t-test over "
        "seeds (a one-sample test against a strategy with a single run, such as off-the-shelf). The paired "
        "test above averages seeds before testing, so it leaves this seed-to-seed variation out; a gap that "
        "another training seed might reverse shows here as a wide CI.",
        "",
        _comparison_table(seeds, reference).to_markdown(),
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


def _unseen_section(pair: tuple[pd.DataFrame, pd.DataFrame], reference: str, unseen: list[str]) -> list[str]:
    query, seeds = pair
    return [
        "",
        f"### {reference} against each strategy on the unseen languages ({', '.join(unseen)})",
        "",
        "As the two comparisons above, on the unseen languages' queries only (Cr: from them to every other "
        "language). Over the evaluation queries (paired sign-flip test over parallel groups):",
        "",
        _comparison_table(query, reference).to_markdown(),
        "",
        "Across training seeds (Welch's t-test on each seed's macro mean over the unseen languages):",
        "",
        _comparison_table(seeds, reference).to_markdown(),
    ]


def ci_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Headline metrics as 'mean [CI low, CI high]' per (dataset, model, strategy): mean over seeds, the CI of seed 0's run."""
    out = []
    for (dataset, model, strategy), group in summary.groupby(["dataset", "model", "strategy"]):
        first = group.sort_values("seed").iloc[0]
        row = {"dataset": dataset, "model": model, "strategy": strategy, "n": len(group)}
        for col in HEADLINE:
            digits = _digits(col)
            low, high = first[col + "_ci_low"], first[col + "_ci_high"]
            row[col] = "–" if group[col].isna().all() else f"{group[col].mean():.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"
        out.append(row)
    frame = pd.DataFrame(out)
    frame["_order"] = frame["strategy"].map(strategy_sort_key)
    return frame.sort_values(["dataset", "model", "_order"]).drop(columns="_order").set_index(["dataset", "model", "strategy"])
