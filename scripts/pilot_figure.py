"""The pilot behind small-budgets' second budget: xx-mono and xy on XQuAD-R against the training pairs.

Joins the pilot's runs (profile small-pilot: 160 and 480 steps, seed 0) with small-budgets' (80 and 240 steps,
seeds 0-2), prints each budget's means and the gap xy - xx-mono beside the seeds' spread, and draws
`figures.budget_figure` over all of them (lines through the means, every seed a dot).

    .venv/bin/python scripts/pilot_figure.py --pilot snapshots/small-pilot-2026-12-07/summary.csv \
        --budgets snapshots/small-budgets-2026-12-07/summary.csv --out docs/img/pilot.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from hybridlib import figures

METRICS = {"mono_map": "Mo mAP", "cross_map": "Cr mAP", "multi_map": "Mul mAP", "rank_distance_per1k": "RD/1k"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pilot", required=True, help="the small-pilot profile's summary.csv")
    parser.add_argument("--budgets", required=True, help="the small-budgets profile's summary.csv")
    parser.add_argument("--out", default="docs/img/pilot.png")
    args = parser.parse_args()
    frames = []
    for path in (args.pilot, args.budgets):
        frame = pd.read_csv(path)
        frames.append(frame[(frame["dataset"] == "xquad-r") & frame["strategy"].isin(["off-the-shelf", "xx-mono", "xy"])])
    runs = pd.concat(frames, ignore_index=True).drop_duplicates(["model", "strategy", "seed", "pairs"])
    trained = runs[runs["pairs"] > 0]
    means = trained.groupby(["pairs", "strategy"])[list(METRICS)].agg(["mean", "std", "count"])
    rows = []
    for pairs in sorted(trained["pairs"].unique()):
        row = {"pairs": pairs, "seeds": int(means.loc[(pairs, "xy"), ("mono_map", "count")])}
        for column, label in METRICS.items():
            mono, xy = means.loc[(pairs, "xx-mono"), column], means.loc[(pairs, "xy"), column]
            row[f"{label} xx-mono"], row[f"{label} xy"] = mono["mean"], xy["mean"]
            row[f"{label} xy - xx-mono"] = xy["mean"] - mono["mean"]
            row[f"{label} seed sd"] = max(mono["std"], xy["std"]) if row["seeds"] > 1 else float("nan")
        rows.append(row)
    table = pd.DataFrame(rows)
    print(table.T.to_markdown(floatfmt=".3f"))
    fig = figures.budget_figure(runs, "xquad-r", "small-pilot + small-budgets")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
