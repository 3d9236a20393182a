"""Simulated evaluations with known truth, to check the intervals and tests of `stats` (coverage and size).

A simulated comparison has `n_items` parallel items in `langs` languages, scored by two strategies over `seeds`
paired training seeds. The per-query difference hybrid − other is

    d(item, lang, seed) = μ + u(item) + τ(seed) + e(item, lang, seed)

with u the item's effect (shared by its translations; sd `sd_item`), τ the training seed's (sd `sd_seed`) and e the
rest (sd `sd_noise`). With `n_labels`, items carry one of that many labels of unequal frequency, the frequent ones
scoring higher (an intent-like task: the label is the query's relevance key), so a
bootstrap over labels would estimate a label-weighted mean, not the item-weighted one the tables print.
`scripts/simulate_coverage.py` runs it for docs/protocol.md; the tests run a few hundred reps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Design:
    n_items: int = 120
    langs: int = 3
    seeds: int = 3
    sd_item: float = 0.04
    sd_seed: float = 0.005
    sd_noise: float = 0.05
    n_labels: int = 0  # > 0: intent-like, items share labels of unequal size and level
    mu: float = 0.0


def draw(design: Design, rng: np.random.Generator) -> tuple[list[pd.DataFrame], list[pd.DataFrame], float]:
    """(hybrid's per-seed frames, the other's, the true μ): frames with query_id, key, lang, target, map."""
    n, langs = design.n_items, [f"l{j}" for j in range(design.langs)]
    item_effect = rng.normal(0, design.sd_item, n)
    if design.n_labels:
        sizes = rng.dirichlet(np.full(design.n_labels, 0.5))  # unequal label frequencies
        label = rng.choice(design.n_labels, size=n, p=sizes)
        level = np.empty(design.n_labels)
        level[np.argsort(sizes)] = np.linspace(-0.1, 0.1, design.n_labels)  # the frequent labels score higher
        # centred on the population's item mean, so μ stays the item-weighted truth
        item_effect += level[label] - level @ sizes
        keys = np.array([f"label{k}" for k in label])
    else:
        keys = np.array([f"item{i}" for i in range(n)])
    base = rng.uniform(0.3, 0.9, n)
    ids = np.arange(n)
    a_runs, b_runs = [], []
    for _ in range(design.seeds):
        tau = rng.normal(0, design.sd_seed)
        a_parts, b_parts = [], []
        for lang in langs:
            frame = pd.DataFrame({"query_id": [f"{lang}-q{i}" for i in ids], "key": keys, "lang": lang, "target": "all"})
            b = base + rng.normal(0, 0.02, n)
            a = b + design.mu + item_effect + tau + rng.normal(0, design.sd_noise, n)
            a_parts.append(frame.assign(map=a))
            b_parts.append(frame.assign(map=b))
        a_runs.append(pd.concat(a_parts, ignore_index=True))
        b_runs.append(pd.concat(b_parts, ignore_index=True))
    return a_runs, b_runs, design.mu


def coverage(design: Design, reps: int, seed: int, n_boot: int = 300) -> dict[str, float]:
    """Over `reps` draws of `design` (true difference μ), how often each 95 % interval holds μ: the interval with
    both noises (`stats.combined_test`), the items-only CI (bootstrap over items of the seed-averaged difference)
    and the seed-paired t CI (`stats.seed_test`); and how often the seed-paired test rejects at p < 0.05.

    Args:
        design: the simulated comparison.
        reps: draws.
        seed: the draws' seed.
        n_boot: bootstrap draws per interval.
    """
    from hybridlib import stats

    rng = np.random.default_rng(seed)
    hits = {"both noises": 0, "items only": 0, "seeds only (paired t)": 0}
    rejected = 0
    for rep in range(reps):
        a, b, mu = draw(design, rng)
        both = stats.combined_test(a, b, "map", n_boot=n_boot, seed=rep)
        hits["both noises"] += both["low"] <= mu <= both["high"]
        keys = ["query_id", "key", "lang", "target"]
        mean_a, mean_b = (pd.concat(x).groupby(keys, as_index=False)["map"].mean() for x in (a, b))
        low, high = stats.bootstrap_ci(mean_a.assign(map=mean_a["map"] - mean_b["map"]), "map", n_boot=n_boot, seed=rep)
        hits["items only"] += low <= mu <= high
        per_seed = [stats._macro_of(x, "map") - stats._macro_of(y, "map") for x, y in zip(a, b)]
        paired = stats.seed_test(per_seed, [0.0] * len(per_seed))
        hits["seeds only (paired t)"] += paired["ci95_low"] <= mu <= paired["ci95_high"]
        rejected += paired["p"] < 0.05
    return {**{k: v / reps for k, v in hits.items()}, "paired test size": rejected / reps}
