"""The claims' verdicts of a snapshot, as it printed them and as the current statistics give them, from its files
alone (``summary.csv``, ``tables/comparisons.csv``); the snapshot is only read.

The new verdict is `claims.verdict` on `stats.combined_test`'s interval (each part with its own degrees of
freedom, `stats.both_noises`) and one deciding test per claim in each Holm family (`claims.deciding_p`). Its parts
come from the files: the seeds' sd of the per-seed differences (the seed-paired rows, checked against
summary.csv's per-seed values) and the items' standard error recovered from the old interval with both noises
(`power.variances`). Old runs' per-query rows name no article, so items are resampled singly here, as before: on
XQuAD-R and MLQA-R, resampling whole articles would widen the intervals further.

    .venv/bin/python scripts/reverdict.py snapshots/small-budgets-2026-12-07
"""

from __future__ import annotations

import argparse
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from hybridlib import claims, power, stats

SIGNS = {text: sign for _, _, sign, text in claims.CLAIMS}


def old_verdict(row: pd.Series) -> str:
    """The verdict as the snapshot's claims.md gave it: Holm over 16 tests a column (two-sided and both margin
    directions), the "keeps" claims decided by their margin tests."""
    if math.isnan(row["p_holm"]):
        return "cannot tell"
    if claims.keeps_claim(row["claim"]):
        if row["p_margin_holm"] < 0.05:
            return "holds"
        return "does not hold" if row["p_beyond_holm"] < 0.05 else "cannot tell"
    if row["p_holm"] < 0.05:
        return "holds" if SIGNS[row["claim"]] * row["diff"] > 0 else "does not hold"
    return "cannot tell"


def new_tests(parts: pd.DataFrame) -> pd.DataFrame:
    """`power.variances`' rows with the current test: ``p``, ``p_margin``, ``p_beyond``, ``p_claim``, ``p_holm``."""
    parts = parts.copy()
    se_seeds = parts["sd_seeds"] / np.sqrt(parts["seeds"])
    for i, r in parts.iterrows():
        dfs = (se_seeds[i], r["seeds"] - 1, r["se_items"], np.inf)  # old runs: items, hundreds of them (normal)
        sign = SIGNS[r["claim"]]
        parts.loc[i, "p"] = min(1.0, 2 * stats.one_sided_p(abs(r["diff"]), *dfs))
        parts.loc[i, "p_margin"] = stats.one_sided_p(sign * r["diff"] + r["margin"], *dfs)
        parts.loc[i, "p_beyond"] = stats.one_sided_p(-sign * r["diff"] - r["margin"], *dfs)
        parts.loc[i, "half"] = stats.both_noises(0.025, *dfs)
    parts["p_claim"] = [claims.deciding_p(r, claims.keeps_claim(r["claim"])) for _, r in parts.iterrows()]
    parts["p_holm"] = parts.groupby(["dataset", "model"])["p_claim"].transform(lambda p: stats.holm(p.to_numpy()))
    return parts


def check_seeds(folder: Path, parts: pd.DataFrame) -> None:
    """The seed-paired sd of every claim over all languages equals summary.csv's per-seed differences' sd."""
    summary = pd.read_csv(folder / "summary.csv")
    for r in parts.itertuples(index=False):
        runs = summary[(summary["dataset"] == r.dataset) & (summary["model"] == r.model)]
        other = next(o for c, o, _, text in claims.CLAIMS if text == r.claim)
        a, b = (runs[runs["strategy"] == s].set_index("seed")[r.column] for s in ("hybrid-0.5", other))
        sd = (a - b.reindex(a.index)).std(ddof=1)
        if not math.isclose(sd, r.sd_seeds, rel_tol=1e-6):
            raise ValueError(f"{r.dataset} · {r.model} · {r.claim}: summary.csv's seed sd {sd} ≠ comparisons.csv's {r.sd_seeds}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default="snapshots/small-budgets-2026-12-07")
    args = parser.parse_args()
    folder = Path(args.folder)
    frame = pd.read_csv(folder / "tables" / "comparisons.csv", keep_default_na=False, na_values=[""])
    rows = []
    for languages in ("all", "unseen"):
        parts = power.variances(folder, languages)
        if languages == "all":
            check_seeds(folder, parts)
        new = new_tests(parts)
        old = frame[(frame["test"] == "both") & (frame["languages"] == languages)].set_index(["dataset", "model", "claim"], drop=False)
        for _, r in new.iterrows():
            before = old.loc[(r["dataset"], r["model"], r["claim"])]
            old_half = (before["high"] - before["low"]) / 2
            rows.append({"languages": languages, "dataset": r["dataset"], "model": r["model"], "claim": r["claim"],
                         "old": old_verdict(before), "new": claims.verdict(r, SIGNS[r["claim"]], claims.keeps_claim(r["claim"])),
                         "old ±": old_half, "new ±": r["half"], "old df": before["df"], "new p_holm": r["p_holm"]})
    table = pd.DataFrame(rows)
    print(table.to_markdown(index=False, floatfmt=".4g"))
    for languages, part in table.groupby("languages", sort=False):
        tally = Counter(zip(part["old"], part["new"]))
        print(f"\n{languages} languages: " + "; ".join(f"{o} → {n}: {k}" for (o, n), k in sorted(tally.items())))
        print(f"  intervals narrower than before: {(part['new ±'] < part['old ±']).sum()} of {len(part)}")


if __name__ == "__main__":
    main()
