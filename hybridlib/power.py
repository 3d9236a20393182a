"""The power planner: how many training seeds and evaluation items a confirmatory test of each claim needs.

A claim's deciding test (`claims.deciding_p`) is `stats.combined_test`'s. Its difference of means over S paired
seeds and N evaluation items has variance

    sd_seeds² / S + sd_items² / N

with sd_seeds the sd of the per-seed differences (training noise and the items × seed interaction) and sd_items
the per-item sd of the seed-averaged difference (``se_items`` · √N of the runs at hand; more items of the same kind
shrink that part as 1/N). Power is the noncentral t's with S − 1 degrees of freedom over the whole standard error:
the seeds' df, which `stats.both_noises` gives the seed part alone, so the plan errs towards more seeds and items.

- **Level**: each claim at Holm's worst case, its first step: the family's two-sided 5 % split over its m claims
  (Bonferroni), so one-sided 0.05 / (2m): 0.003125 for a column's 8 claims.
- **Effect**: the distance between the truth the study is planned for and the null's boundary, δ by default: a
  "keeps" claim planned at no true loss against the margin −δ; a "beats" claim at a true gain of δ against 0 (the
  smallest difference worth finding).

`variances` reads the two standard-error parts from a folder with ``summary.csv`` and ``tables/comparisons.csv``
(a results folder after its tables, or a snapshot); `plan` turns them into seeds and items; ``hybridlib plan
--power FOLDER`` prints it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from hybridlib.claims import CLAIMS

TARGET = 0.8


def power(effect: float, sd_seeds: float, sd_items: float, seeds: int, items: float, alpha: float) -> float:
    """The chance that the one-sided test at `alpha` rejects when the truth lies `effect` beyond the null's
    boundary: noncentral t with seeds − 1 df and noncentrality effect / SE, SE² = sd_seeds² / seeds + sd_items² /
    items.

    Args:
        effect: the distance from the truth to the boundary (> 0), in the metric's units.
        sd_seeds: the sd of the per-seed differences.
        sd_items: the per-item sd of the seed-averaged difference (``se_items`` × √items of the runs at hand).
        seeds: paired training seeds (≥ 2).
        items: evaluation items (or, with `sd_items` per current set, multiples of the current set).
        alpha: the one-sided level.
    """
    from scipy import stats as scipy_stats

    if seeds < 2:
        return 0.0
    se = math.sqrt(sd_seeds**2 / seeds + sd_items**2 / items)
    df = seeds - 1
    return float(scipy_stats.nct.sf(scipy_stats.t.isf(alpha, df), df, effect / se)) if se > 0 else 1.0


def seeds_for(effect: float, sd_seeds: float, sd_items: float, items: float, alpha: float, *, target: float = TARGET,
              most: int = 200) -> int | None:
    """The fewest paired seeds (≥ 2) at which `power` reaches `target` with `items` items; None when `most` are not
    enough (the items' part alone can keep the power below target: then only more items help).

    Args:
        effect: as in `power`.
        sd_seeds: as in `power`.
        sd_items: as in `power`.
        items: as in `power`.
        alpha: as in `power`.
        target: the power wanted.
        most: the most seeds tried.
    """
    return _fewest(lambda n: power(effect, sd_seeds, sd_items, n, items, alpha) >= target, 2, most)


def items_for(effect: float, sd_seeds: float, sd_items: float, seeds: int, alpha: float, *, target: float = TARGET,
              most: int = 10**7) -> int | None:
    """The fewest items at which `power` reaches `target` with `seeds` seeds; None when `most` are not enough (the
    seeds' part alone keeps the power below target: then only more seeds help).

    Args:
        effect: as in `power`.
        sd_seeds: as in `power`.
        sd_items: as in `power`.
        seeds: as in `power`.
        alpha: as in `power`.
        target: the power wanted.
        most: the most items tried.
    """
    return _fewest(lambda n: power(effect, sd_seeds, sd_items, seeds, n, alpha) >= target, 1, most)


def _fewest(enough: Callable[[int], bool], low: int, high: int) -> int | None:
    """The smallest n in [low, high] with enough(n), for enough monotone in n; None if not enough(high)."""
    if not enough(high):
        return None
    if enough(low):
        return low
    while high - low > 1:  # not enough(low), enough(high)
        mid = (low + high) // 2
        low, high = (low, mid) if enough(mid) else (mid, high)
    return high


def variances(folder: str | Path, languages: str = "all") -> pd.DataFrame:
    """Each claim's two standard-error parts from a folder's ``summary.csv`` and ``tables/comparisons.csv``.

    ``sd_seeds`` is the seed-paired row's ``sd_diff``; ``se_items`` the row with both noises' own where it has one,
    else (tables written before that column) recovered from its interval: (high − low) / 2 is t_{df} · SE, SE² =
    sd_seeds² / S + se_items². ``items`` is the number of clusters resampled (``df_items`` + 1) where the file says,
    else NaN (then `plan` counts items in multiples of the current set).

    Args:
        folder: the results folder (after its tables) or snapshot.
        languages: ``"all"`` or ``"unseen"``.

    Returns:
        One row per claim with a difference: dataset, model, pairs (hybrid-0.5's training budget), claim, column,
        diff, margin, seeds, sd_seeds, se_items, items, family (the claims of its (dataset, model)).
    """
    from scipy import stats as scipy_stats

    folder = Path(folder)
    path = folder / "tables" / "comparisons.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing; write the tables first (notebook 04 / hybridlib.tables.write_tables)")
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    summary = pd.read_csv(folder / "summary.csv")
    claims = frame[frame["claim"].notna() & (frame["languages"] == languages)]
    keys = ["dataset", "model", "strategy", "column"]
    seeds = claims[claims["test"] == "seeds"].set_index(keys)["sd_diff"]
    both = claims[(claims["test"] == "both") & claims["diff"].notna()].copy()
    both["sd_seeds"] = [seeds.get(tuple(k), np.nan) for k in both[keys].itertuples(index=False)]
    both["n_seeds"] = both["seeds"].str.split().str[0].astype(int)
    if "se_items" not in both.columns or both["se_items"].isna().all():
        half = (both["high"] - both["low"]) / 2 / scipy_stats.t.isf(0.025, both["df"])
        both["se_items"] = np.sqrt(np.maximum(half**2 - both["sd_seeds"] ** 2 / both["n_seeds"], 0))
    both["items"] = both["df_items"] + 1 if "df_items" in both.columns else np.nan
    pairs = summary[summary["strategy"] == "hybrid-0.5"].groupby(["dataset", "model"])["pairs"].first()
    both["pairs"] = [pairs.get((d, m), np.nan) for d, m in zip(both["dataset"], both["model"])]
    both["family"] = both.groupby(["dataset", "model"])["claim"].transform("size")
    return both.drop(columns="seeds").rename(columns={"n_seeds": "seeds"})[
        ["dataset", "model", "pairs", "claim", "column", "diff", "margin", "seeds", "sd_seeds", "se_items", "items", "family"]
    ].reset_index(drop=True)


def plan(rows: pd.DataFrame, *, items: dict[str, int] | None = None, seeds_grid: tuple[int, ...] = (3, 5, 10, 20),
         target: float = TARGET, level: float = 0.05, effect: str = "margin") -> pd.DataFrame:
    """Per claim (`variances`' rows): its level, the power now, the seeds needed at the current items and the items
    needed at each of `seeds_grid` seeds, for `target` power.

    Args:
        rows: `variances`' frame.
        items: the current number of evaluation items per dataset, where `rows` do not say (e.g. {"xquad-r": 354});
            without either, items are counted in multiples of the current set ("×").
        seeds_grid: the seed counts to size the items for.
        target: the power wanted.
        level: the family's two-sided level (Holm's first step tests each claim at level / m, two-sided).
        effect: ``"margin"``: plan for δ (module docstring); ``"observed"``: for the observed distance from the
            boundary (sign × diff + δ for "keeps", sign × diff for "beats"; nothing to plan where it is on the
            null's side).

    Returns:
        One row per claim: dataset, model, pairs, claim, alpha (one-sided), effect, sd_seeds, se_items, items (now),
        power (now), "seeds now" (the seeds needed at the current items), then "items at S seeds" per S.
    """
    from hybridlib.claims import keeps_claim

    signs = {text: sign for _, _, sign, text in CLAIMS}
    out = []
    for r in rows.itertuples(index=False):
        n_items = r.items if not (isinstance(r.items, float) and math.isnan(r.items)) else (items or {}).get(r.dataset, np.nan)
        scale = 1.0 if math.isnan(n_items) else float(n_items)  # items, or multiples of the current set
        sd_items = r.se_items * math.sqrt(scale)
        alpha = level / r.family / 2
        keeps = keeps_claim(r.claim)
        distance = r.margin if effect == "margin" else signs[r.claim] * r.diff + (r.margin if keeps else 0.0)
        row = {"dataset": r.dataset, "model": r.model, "pairs": r.pairs, "claim": r.claim, "alpha": alpha,
               "effect": distance, "sd_seeds": r.sd_seeds, "se_items": r.se_items,
               "items": n_items, "power": power(distance, r.sd_seeds, sd_items, r.seeds, scale, alpha) if distance > 0 else np.nan}
        unit = 1 if not math.isnan(n_items) else None
        row["seeds now"] = seeds_for(distance, r.sd_seeds, sd_items, scale, alpha, target=target) if distance > 0 else None
        for s in seeds_grid:
            needed = items_for(distance, r.sd_seeds, sd_items, s, alpha, target=target) if unit and distance > 0 else None
            if not unit and distance > 0:  # in multiples of the current set, to two decimals
                hundredths = items_for(distance, r.sd_seeds, sd_items * 10, s, alpha, target=target)
                needed = None if hundredths is None else hundredths / 100
            row[f"items at {s} seeds"] = needed
        out.append(row)
    return pd.DataFrame(out)


def plan_text(table: pd.DataFrame) -> str:
    """`plan`'s frame as Markdown, a table per (dataset, model): 'never' where no number of seeds (or items) up to
    the planner's limit reaches the power, items as '×k' of the current set where their number is unknown."""
    parts = []
    for (dataset, model), part in table.groupby(["dataset", "model"], sort=False):
        pairs = part["pairs"].iloc[0]
        shown = part.drop(columns=["dataset", "model", "pairs"]).set_index("claim")
        for column in shown.columns:
            if column.startswith("items at") or column == "seeds now":
                relative = [math.isnan(n) and column != "seeds now" for n in part["items"]]
                shown[column] = [_count(v, rel) for v, rel in zip(shown[column], relative)]
        shown["alpha"] = shown["alpha"].map(lambda a: f"{a:.4f}")
        for column in ("effect", "sd_seeds", "se_items"):
            shown[column] = shown[column].map(lambda v: f"{v:.4g}")
        shown["power"] = shown["power"].map(lambda v: "·" if math.isnan(v) else f"{v:.2f}")
        shown["items"] = shown["items"].map(lambda v: "?" if math.isnan(v) else f"{v:.0f}")
        budget = "" if math.isnan(pairs) else f" · {pairs:,.0f} pairs"
        parts += [f"### {dataset} · {model}{budget}", "", shown.to_markdown(), ""]
    return "\n".join(parts)


def _count(value: object, relative: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "never"
    return f"×{value:g}" if relative else f"{value:,.0f}"
