"""Coverage of the comparison intervals and size of the seed-paired test, in simulation (`hybridlib.simulate`).

For each design (one relevance key per item, as XQuAD-R; labels shared by many items, as MTOP intents) and each
size of the training-seed noise, draws comparisons whose true difference is 0 and counts how often each 95 %
interval holds it: the interval with both noises (`stats.combined_test`), the items-only CI (bootstrap over parallel
items of the seed-averaged difference) and the seed-paired t CI (`stats.seed_test`), and how often the seed-paired
test rejects at p < 0.05. Prints a table and writes the figure that docs/protocol.md shows.

    .venv/bin/python scripts/simulate_coverage.py --reps 200 --out docs/img/coverage.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from hybridlib import simulate


SEED_SDS = (0.0, 0.0025, 0.005, 0.01, 0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--out", default="docs/img/coverage.png")
    parser.add_argument("--table", help="a CSV this script wrote: draw the figure from it instead of simulating again")
    args = parser.parse_args()
    out = Path(args.out)
    if args.table:
        table = pd.read_csv(args.table)
    else:
        rows = []
        for name, labels in (("one key per item (XQuAD-R-like)", 0), ("labels shared by items (MTOP-intent-like)", 30)):
            for sd_seed in SEED_SDS:
                design = simulate.Design(n_items=150, sd_seed=sd_seed, n_labels=labels)
                result = simulate.coverage(design, args.reps, seed=int(sd_seed * 1e4) + labels)
                rows.append({"design": name, "seed sd": sd_seed, **result})
                print(rows[-1], flush=True)
        table = pd.DataFrame(rows)
        out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(out.with_suffix(".csv"), index=False)
    print(table.to_markdown(index=False, floatfmt=".3f"))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
    for ax, (name, part) in zip(axes, table.groupby("design", sort=False)):
        for column, style in (("both noises", "o-"), ("items only", "s--"), ("seeds only (paired t)", "^:")):
            ax.plot(part["seed sd"], part[column], style, label=column)
        ax.plot(part["seed sd"], part["paired test size"], "x-", color="0.4", label="paired test: rejections at p < 0.05")
        ax.axhline(0.95, color="0.6", lw=0.8)
        ax.axhline(0.05, color="0.6", lw=0.8)
        ax.set_title(name, fontsize=9)
        ax.set_xticks(SEED_SDS, [f"{x:g}" for x in SEED_SDS], fontsize=8)
        ax.set_xlabel("sd of the training-seed effect on the difference (items' sd 0.04, per query 0.05)", fontsize=7)
    axes[0].set_ylabel("share of 95 % intervals holding the truth")
    axes[1].legend(fontsize=7, loc="lower left")
    fig.suptitle(f"Coverage in simulation: 150 parallel items × 3 languages, 3 paired seeds, {args.reps} draws a point "
                 "(hybridlib.simulate)", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=120, bbox_inches="tight")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
