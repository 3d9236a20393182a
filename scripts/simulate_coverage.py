"""Coverage of the comparison intervals and size of the seed-paired test, in simulation (`hybridlib.simulate`).

For each design (one relevance key per item, as XQuAD-R; labels shared by many items, as MTOP intents; items in
12 articles that share an effect, as XQuAD-R's held-out articles) and each size of the training-seed noise, draws
comparisons whose true difference is μ = −δ (δ = 0.007) and counts how often each 95 % interval holds it: the
interval with both noises (`stats.combined_test`), the same parts joined by the earlier Welch–Satterthwaite rule,
the items-only CI and the seed-paired t CI; and in the tail, how often the non-inferiority test wrongly says
"holds" at one-sided 2.5 % and at Holm's first step on 8 claims (0.05 / 16). Prints a table and writes the figure
that docs/protocol.md shows.

    .venv/bin/python scripts/simulate_coverage.py --reps 2000 --out docs/img/coverage.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from hybridlib import simulate


SEED_SDS = (0.0, 0.0025, 0.005, 0.01, 0.02)
DESIGNS = {"one key per item (XQuAD-R-like)": {}, "labels shared by items (MTOP-intent-like)": {"n_labels": 30},
           "items in 12 articles (XQuAD-R held-out)": {"n_articles": 12, "sd_article": 0.01}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--out", default="docs/img/coverage.png")
    parser.add_argument("--table", help="a CSV this script wrote: draw the figure from it instead of simulating again")
    args = parser.parse_args()
    out = Path(args.out)
    if args.table:
        table = pd.read_csv(args.table)
    else:
        rows = []
        for name, extra in DESIGNS.items():
            for sd_seed in SEED_SDS:
                design = simulate.Design(n_items=150, sd_seed=sd_seed, mu=-0.007, **extra)
                result = simulate.coverage(design, args.reps, seed=int(sd_seed * 1e4) + len(extra))
                rows.append({"design": name, "seed sd": sd_seed, **result})
                print(rows[-1], flush=True)
        table = pd.DataFrame(rows)
        out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(out.with_suffix(".csv"), index=False)
    print(table.to_markdown(index=False, floatfmt=".3f"))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(DESIGNS), figsize=(4.2 * len(DESIGNS), 6.4), sharex=True)
    tail = f"tail α={simulate.HOLM_FIRST_STEP:g}"
    for (top, bottom), (name, part) in zip(axes.T, table.groupby("design", sort=False)):
        for column, style in (("both noises", "o-"), ("both noises (Welch–Satterthwaite)", "v--"), ("items only", "s--"),
                              ("seeds only (paired t)", "^:")):
            top.plot(part["seed sd"], part[column], style, label=column)
        top.axhline(0.95, color="0.6", lw=0.8)
        top.set_title(name, fontsize=9)
        for column, style in ((tail, "o-"), (f"{tail} (Welch–Satterthwaite)", "v--")):
            bottom.plot(part["seed sd"], part[column], style, label=column.replace("tail ", "wrong 'holds' at "))
        bottom.axhline(simulate.HOLM_FIRST_STEP, color="0.6", lw=0.8)
        bottom.set_xticks(SEED_SDS, [f"{x:g}" for x in SEED_SDS], fontsize=8)
        bottom.set_xlabel("sd of the training-seed effect on the difference", fontsize=7)
    axes[0, 0].set_ylabel("share of 95 % intervals holding the truth")
    axes[1, 0].set_ylabel("wrong 'holds' at Holm's first step\n(true loss = δ; grey: nominal 0.003125)")
    axes[0, -1].legend(fontsize=7, loc="lower left")
    axes[1, -1].legend(fontsize=7, loc="upper right")
    fig.suptitle(f"Coverage and tail in simulation: 150 parallel items × 3 languages, 3 paired seeds, true difference −δ, "
                 f"{args.reps} draws a point (hybridlib.simulate)", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=120, bbox_inches="tight")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
