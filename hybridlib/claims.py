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


# the Mul pools the paper's rank distances were measured in: full XQuAD-R and MLQA-R (every candidate)
PAPER_POOL = {"xquad-r": 13014, "mlqa-r": 20534}


def paper_gap(dataset: str, column: str, other: str, pool: float | None = None) -> float | None:
    """The paper's XLM-R hybrid − `other` on one `COMPARED` column (`PAPER_XLMR`); None where it has no such number.
    Rank distance grows with the pool, so with `pool` its gap is rescaled to a pool of that size (per 1,000
    candidates, times the pool): a subset's rank distances are never compared with the paper's raw ones.

    Args:
        dataset: the evaluation dataset (the paper reports xquad-r and mlqa-r).
        column: a `COMPARED` column, e.g. ``"cross_map"``.
        other: the strategy hybrid is compared with (``"xx-mono"`` or ``"xy"``).
        pool: the Mul pool size of our results on `dataset`; None: the paper's own units.
    """
    paper = PAPER_XLMR.get(dataset, {})
    if other not in paper:
        return None
    gap = paper["hybrid-0.5"][column] - paper[other][column]
    if column == "rank_distance" and pool is not None and not math.isnan(pool):
        gap = gap / PAPER_POOL[dataset] * pool
    return gap


TESTS = ("queries", "seeds", "both")  # over the evaluation queries; across seeds (paired); both noises at once


def claims_table(compared: list[dict], part: str = "all") -> pd.DataFrame:
    """The paper's claims (`CLAIMS`) checked on each (dataset, model): a row per claim, a column per (dataset,
    model), each cell hybrid − the other strategy (the difference of the two cells of main.md), its 95 % interval
    with both noises (`results.combined_comparisons`; across seeds where a caller gives no such test) and a mark:
    ✓ the interval lies on the side of zero the paper reports, ✗ on the other side, ~ it holds zero, · no
    interval; '–' where a strategy or the setting is missing. Marks are per comparison; `verdict_table` applies
    Holm's correction and the non-inferiority margins.

    Args:
        compared: one dict per (dataset, model) as `write_tables` builds them: ``dataset``, ``model``,
            ``reference`` and, per part, a tuple of `TESTS` frames (`query_comparisons`, `seed_comparisons`,
            `combined_comparisons`; the last may be missing).
        part: ``"all"`` (every query language) or ``"unseen"`` (the unseen languages' queries only); a (dataset,
            model) without the part has no column.
    """
    columns = {}
    for c in compared:
        if part not in c:
            continue
        frames = [frame.set_index(["strategy", "column"]) for frame in c[part]]
        headline = frames[2] if len(frames) > 2 else frames[1]
        cells = [_claim_cell(frames[0], headline, other, column, sign) for column, other, sign, _ in CLAIMS]
        columns[claims_column(c["dataset"], c["model"], c["reference"])] = cells
    return pd.DataFrame(columns, index=pd.Index([wording for *_, wording in CLAIMS], name="hybrid's …"))


def comparisons_frame(compared: list[dict]) -> pd.DataFrame:
    """Every comparison behind the tables in one long frame (``tables/comparisons.csv``), with the paper's claims
    named and their p-values adjusted by Holm's method over each family: the claims of one (dataset, model), query
    languages and test. For the test with both noises, which decides the verdicts, each claim brings the one test
    that decides it (``p_claim``, `deciding_p`) and nothing else, so a column's family holds at most its 8 claims:
    a "beats" claim's two-sided test against 0, a "keeps" claim's two-sided test against −δ (its two one-sided
    tests, ``p_margin`` and ``p_beyond``, at 2.5 % each: the ends of one 95 % interval, doubled into one p).
    Over the queries and across seeds, the claims' two-sided p are corrected the same way; they decide nothing.

    Args:
        compared: as in `claims_table`.

    Returns:
        One row per (dataset, model, ``languages`` ("all" or "unseen"), ``test`` (`TESTS`: "queries", paired over
        the evaluation queries; "seeds", paired across training seeds; "both", `results.combined_comparisons`),
        strategy, `COMPARED` column) with ``reference``, ``diff``, ``low``, ``high``, ``p``, the test's own columns
        (``seeds``, ``sd_diff``, ``detectable``; ``df``, ``df_items``, ``se_seeds``, ``se_items``, ``margin``, ``p_margin``, ``p_beyond``,
        ``pred_low``, ``pred_high``, ``pool``), ``claim`` (the `CLAIMS` wording, empty if the row is not a claim),
        ``p_claim`` (the deciding test's p: "both" rows of claims) and ``p_holm`` (Holm-adjusted: of ``p_claim``
        for "both", of ``p`` for the others; NaN where not a claim or no such test).
    """
    wording = {(other, column): text for column, other, _, text in CLAIMS}
    frames = []
    for c in compared:
        for languages in ("all", "unseen"):
            for test, frame in zip(TESTS, c.get(languages, ())):
                rows = frame.assign(
                    dataset=c["dataset"], model=c["model"], reference=c["reference"], languages=languages, test=test)
                rows["claim"] = [wording.get(key, "") for key in zip(rows["strategy"], rows["column"])]
                is_claim = (rows["claim"] != "").to_numpy()
                rows["p_claim"] = rows["p_holm"] = float("nan")
                if test == "both":
                    rows.loc[is_claim, "p_claim"] = [deciding_p(row, keeps_claim(row["claim"])) for _, row in rows[is_claim].iterrows()]
                    rows.loc[is_claim, "p_holm"] = stats.holm(rows.loc[is_claim, "p_claim"].to_numpy(dtype=float))
                else:
                    rows.loc[is_claim, "p_holm"] = stats.holm(rows.loc[is_claim, "p"].to_numpy(dtype=float))
                frames.append(rows)
    order = ["dataset", "model", "reference", "languages", "test", "strategy", "column", "diff", "low", "high", "p",
             "seeds", "sd_diff", "detectable", "df", "df_items", "se_seeds", "se_items", "margin", "p_margin", "p_beyond", "pred_low",
             "pred_high", "pool", "claim", "p_claim", "p_holm"]
    return pd.concat(frames, ignore_index=True).reindex(columns=order) if frames else pd.DataFrame(columns=order)


def deciding_p(row: pd.Series, keeps: bool) -> float:
    """The p of the one test that decides a claim (`verdict`), from its row with both noises: a "beats" claim's
    two-sided p against 0; a "keeps" claim's two-sided p against −δ, 2 × the smaller of its one-sided ``p_margin``
    (the loss is below δ) and ``p_beyond`` (above), capped at 1; NaN without a margin or a test.

    Args:
        row: the claim's "both" row (``p``, ``p_margin``, ``p_beyond``).
        keeps: whether the claim is a "keeps" claim (`keeps_claim`).
    """
    if not keeps:
        return float(row["p"])
    below, above = row.get("p_margin", float("nan")), row.get("p_beyond", float("nan"))
    if math.isnan(below) or math.isnan(above):
        return float("nan")
    return float(min(1.0, 2 * min(below, above)))


def verdict(row: pd.Series, sign: int, keeps: bool) -> str:
    """A claim's verdict from its test with both noises after Holm's correction (`comparisons_frame`'s row):
    where the deciding test's Holm-adjusted p (``p_holm``, of `deciding_p`) is < 0.05, the side of its boundary
    the difference lies on decides, otherwise **cannot tell**:

    - "keeps" claims (≥, ≤): **holds** where hybrid's loss is below the margin δ (sign × diff > −δ: the 95 %
      interval's end at the corrected level lies above −δ), **does not hold** where it is above δ.
    - "beats" claims (>, <): **holds** where the difference is on the paper's side of 0, **does not hold** where
      it is on the other.

    A single run a side has no interval with both noises: **cannot tell**.

    Args:
        row: the claim's "both" row of `comparisons_frame` (``diff``, ``margin``, ``p_holm``).
        sign: the paper's side: +1 where hybrid should be higher (mAP), −1 lower (rank distance).
        keeps: whether the claim is a "keeps" claim (`keeps_claim`).
    """
    if math.isnan(row["diff"]):
        return "–"
    if math.isnan(row["p_holm"]) or row["p_holm"] >= 0.05:
        return "cannot tell"
    boundary = -row["margin"] if keeps else 0.0
    return "holds" if sign * row["diff"] > boundary else "does not hold"


def verdict_table(frame: pd.DataFrame, languages: str = "all") -> pd.DataFrame:
    """Each claim's `verdict` per (dataset, model), shaped as `claims_table`, from the test with both noises; each
    cell 'holds (p 0.012)' with the Holm-adjusted p of the test that decides it (`deciding_p`)."""
    def _cell(tests: pd.DataFrame, claim: tuple, dataset: str, reference: str) -> str:
        column, _, sign, text = claim
        if (text, "both") not in tests.index:
            return "·"
        row = tests.loc[(text, "both")]
        word = verdict(row, sign, keeps_claim(text))
        if word == "–":
            return word
        if math.isnan(row["p_holm"]):
            return f"{word} (one run a side)"
        return f"{word} (p {_p_text(row['p_holm'])})"

    return _claims_shaped(frame, languages, _cell, CLAIMS)


def holm_table(frame: pd.DataFrame, languages: str = "all") -> pd.DataFrame:
    """`comparisons_frame`'s Holm-adjusted p of each claim, shaped as `claims_table`: a cell per (claim, dataset ·
    model) with 'over queries / across seeds / both'; '·' where a test has no p, '–' where `claims_table` has '–'.

    Args:
        frame: `comparisons_frame`'s frame.
        languages: ``"all"`` or ``"unseen"``, as `claims_table`'s ``part``.
    """
    def _cell(tests: pd.DataFrame, claim: tuple, dataset: str, reference: str) -> str:
        return " / ".join(_p_text(tests.loc[(claim[3], test), "p_holm"]) for test in TESTS if (claim[3], test) in tests.index)

    return _claims_shaped(frame, languages, _cell, CLAIMS)


def power_table(frame: pd.DataFrame, languages: str = "all") -> pd.DataFrame:
    """How small a gap each claim's seed-paired test could see, shaped as `claims_table`: per cell the smallest
    difference it detects with 80 % power at p < 0.05 (`stats.detectable_difference`, from the sd of the per-seed
    differences); where the paper reports the dataset and the reference is hybrid-0.5, then the paper's XLM-R gap
    (rank distance rescaled to our pool, `paper_gap`) and the seeds that would detect it (`stats.seeds_needed`),
    e.g. '0.012 · paper +0.006 → 12 seeds'.

    Args:
        frame: `comparisons_frame`'s frame.
        languages: ``"all"`` or ``"unseen"``; the paper's gaps are over every language, so only ``"all"``
            cells show them.
    """
    def _cell(tests: pd.DataFrame, claim: tuple, dataset: str, reference: str) -> str:
        column, other, _, text = claim
        with_paper = languages == "all" and reference == "hybrid-0.5"
        row = tests.loc[(text, "seeds")]
        pool = tests.loc[(text, "both"), "pool"] if (text, "both") in tests.index else None
        return _power_cell(row, column, paper_gap(dataset, column, other, pool) if with_paper else None)

    return _claims_shaped(frame, languages, _cell, CLAIMS)


def keeps_claim(wording: str) -> bool:
    """Whether a `CLAIMS` row says hybrid keeps the other strategy's strength (≥ or ≤: not worse), as opposed to
    beating it (> or <)."""
    return "≥" in wording or "≤" in wording


def loss_table(frame: pd.DataFrame, languages: str = "all") -> pd.DataFrame:
    """The "keeps" claims (`keeps_claim`) read as non-inferiority against the profile's margin δ: per cell the
    largest loss of hybrid against the other strategy that the 95 % interval with both noises leaves possible
    (its end on the wrong side of zero; 'none' where it lies wholly on the paper's side), then δ, e.g.
    '0.004 · δ 0.010'. The claim holds where that loss is below δ after Holm's correction (`verdict_table`).

    Args:
        frame: `comparisons_frame`'s frame.
        languages: ``"all"`` or ``"unseen"``, as `claims_table`'s ``part``.
    """
    def _cell(tests: pd.DataFrame, claim: tuple, dataset: str, reference: str) -> str:
        column, _, sign, text = claim
        test = "both" if (text, "both") in tests.index else "seeds"
        row = tests.loc[(text, test)]
        margin = row.get("margin", float("nan"))
        delta = "" if margin is None or math.isnan(margin) else f" · δ {margin:.{_digits(column)}f}"
        return _loss_text(row, column, sign) + delta

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
    n = stats.seeds_needed(row["sd_diff"], gap) if not math.isnan(row["sd_diff"]) else None
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


def _claim_cell(query: pd.DataFrame, headline: pd.DataFrame, other: str, column: str, sign: int) -> str:
    if (other, column) not in headline.index or math.isnan(headline.loc[(other, column), "diff"]):
        return "–"
    test = headline.loc[(other, column)]
    digits = _digits(column)
    interval = "" if math.isnan(test["low"]) else f" [{test['low']:+.{digits}f}, {test['high']:+.{digits}f}]"
    return f"{test['diff']:+.{digits}f}{interval} {_mark(test, sign)}"


def _mark(test: pd.Series, sign: int) -> str:
    """✓ / ✗ / ~ / ·: where the CI [low, high] of hybrid − other lies against the claimed sign."""
    low, high = sorted((sign * test["low"], sign * test["high"]))
    if math.isnan(low):
        return "·"
    return "✓" if low > 0 else "✗" if high < 0 else "~"


def write_claims(tables_dir: Path, compared: list[dict], profile_name: str, margins: dict[str, float] | None = None) -> list[Path]:
    """``claims.md`` (`verdict_table`, `claims_table`, `holm_table`, `loss_table` and `power_table`, over every query
    language and over the unseen ones) and ``comparisons.csv`` (`comparisons_frame`) in `tables_dir`.

    Args:
        tables_dir: the profile's tables folder.
        compared: one dict per (dataset, model), as `tables.write_tables` builds them (`claims_table`).
        profile_name: the profile's name, for the heading.
        margins: the profile's non-inferiority margins (`config.Profile.margins`), named in the text.

    Returns:
        The two files' paths.
    """
    frame = comparisons_frame(compared)
    margin_text = ("no non-inferiority margin is set in this profile, so no \"keeps\" claim can hold" if not margins else
                   "the profile's margins (`margins:`; when each was fixed: docs/decisions.md): " + ", ".join(
                       f"δ = {value:g} " + ("rank distance per 1,000 candidates" if key == "rank_distance_per1k" else "mAP")
                       for key, value in margins.items()))
    lines = [
        f"# The paper's claims about hybrid · profile `{profile_name}`",
        "",
        f"Generated from the result files under `results/{profile_name}/eval/` ({len(compared)} (dataset, model) pair{'' if len(compared) == 1 else 's'}). "
        "Each claim is the sign the paper reports for hybrid (α = 0.5) minus another strategy (XLM-R, XQuAD-R; "
        "docs/reproduce.md). The **verdicts** come first: each from the test that carries both noises (training seeds, "
        "paired, and evaluation items; `stats.combined_test`), one test per claim (a \"beats\" claim's against 0, a "
        "\"keeps\" claim's against −δ), Holm-corrected over each column's claims. A \"keeps\" claim (≥, ≤) holds where "
        f"hybrid loses less than the margin δ; {margin_text}. \"cannot tell\": the seeds and items do not settle it "
        "either way. Comparisons with a strategy trained on one seed have an interval but no p: its training noise is "
        "assumed, not estimated. "
        "Every number here is also in `comparisons.csv`, whose differences equal those of `main.md`'s cells.",
    ]
    for languages, heading in (("all", "Every query language"),
                               ("unseen", "The unseen query languages only (no strategy trained on them; Cr: from them to every other language)")):
        claims = claims_table(compared, languages)
        if claims.empty:
            continue
        if claims.shape[1] > 1:
            claims["over the columns"] = claims.apply(_tally, axis=1)
        lines += [
            "", f"## {heading}", "",
            "Verdicts (Holm-adjusted p of the deciding test):", "",
            verdict_table(frame, languages).to_markdown(disable_numparse=True), "",
            "Each comparison: hybrid − the other (the difference of the two cells of `main.md`), its 95 % interval "
            "with both noises, and where it lies: ✓ on the paper's side of zero, ✗ on the other, ~ holding zero. "
            "These intervals are per comparison, not adjusted for the number of claims.", "",
            claims.to_markdown(), "",
            "Holm-adjusted p (over queries / across seeds / both noises), each test's family being a column's claims: "
            "two-sided against 0, but with both noises each claim's deciding test (a \"keeps\" claim's against −δ).",
            "", holm_table(frame, languages).to_markdown(), "",
            "The \"keeps\" claims as non-inferiority: the largest loss against the other strategy that the 95 % "
            "interval with both noises leaves possible (none: it lies wholly on the paper's side), then the margin δ "
            "in the same units (rank distance: δ per 1,000 candidates times this pool).",
            "", loss_table(frame, languages).to_markdown(disable_numparse=True), "",
            "The smallest difference the seed-paired test detects with 80 % power at p < 0.05, from the sd of the "
            "per-seed differences (noncentral t, seeds − 1 df); where the paper reports the dataset, its XLM-R gap "
            "(rank distance rescaled to this pool) and the paired seeds that would detect that gap.",
            "", power_table(frame, languages).to_markdown(disable_numparse=True),
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
