"""The paper's claims about hybrid (`CLAIMS`), checked on every (dataset, model) from `results`' comparisons.

`claims_table` marks each claim over the queries and across seeds; `holm_table` adjusts their p-values for the
number of claims (`stats.holm`); `power_table` gives the smallest gap each test across seeds could detect beside the
paper's gap (`PAPER_XLMR`); `loss_table` reads the "keeps" claims as non-inferiority (the largest loss each CI
leaves possible). `write_claims` writes the four to ``tables/claims.md`` and every comparison to
``tables/comparisons.csv`` (`comparisons_frame`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from hybridlib import stats, storage
from hybridlib.results import _digits

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


# The paper's XLM-R numbers (mAP, mean rank distance; docs/reproduce.md) on the two datasets it reports,
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


def write_claims(tables_dir: Path, compared: list[dict], profile_name: str) -> list[Path]:
    """``claims.md`` (`claims_table`, `holm_table`, `power_table` and `loss_table`, over every query language and
    over the unseen ones) and ``comparisons.csv`` (`comparisons_frame`) in `tables_dir`.

    Args:
        tables_dir: the profile's tables folder.
        compared: one dict per (dataset, model), as `tables.write_tables` builds them (`claims_table`).
        profile_name: the profile's name, for the heading.

    Returns:
        The two files' paths.
    """
    frame = comparisons_frame(compared)
    lines = [
        f"# The paper's claims about hybrid · profile `{profile_name}`",
        "",
        f"Generated from the result files under `results/{profile_name}/eval/` ({len(compared)} (dataset, model) pair{'' if len(compared) == 1 else 's'}). "
        "Each claim is the sign the paper reports for hybrid (α = 0.5) minus another strategy (XLM-R, XQuAD-R; "
        "docs/reproduce.md). Each cell: our difference (per-query values averaged over seeds), then a mark for its "
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


def _tally(cells: pd.Series) -> str:
    """How many of a claim's cells have each mark across seeds (their last character): '3 ✓, 1 ✗, 4 ~'; '–' if none."""
    marks = [cell[-1] for cell in cells]
    if not any(mark in marks for mark in "✓✗~"):
        return "–"
    return ", ".join(f"{marks.count(mark)} {mark}" for mark in "✓✗~")
