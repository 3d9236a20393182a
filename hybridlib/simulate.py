"""Simulated evaluations with known truth, to check the intervals and tests of `stats` (coverage, size and the tail).

A simulated comparison has `n_items` parallel items in `langs` languages, scored by two strategies over `seeds`
paired training seeds. The per-query difference hybrid − other is

    d(item, lang, seed) = μ + a(article) + u(item) + τ(seed) + e(item, lang, seed)

with u the item's effect (shared by its translations; sd `sd_item`), τ the training seed's (sd `sd_seed`), e the
rest (sd `sd_noise`; it differs between seeds, so it is also the items × seed interaction) and, with
`n_articles`, a the effect of the article the item sits in (sd `sd_article`: XQuAD-R's questions of one article
share its candidate pool). With `n_labels`, items carry one of that many labels of unequal frequency, the frequent
ones scoring higher (an intent-like task: the label is the query's relevance key), so a bootstrap over labels would
estimate a label-weighted mean, not the item-weighted one the tables print.
`scripts/simulate_coverage.py` runs it for docs/protocol.md; the tests run a few thousand reps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# Holm's first step on a column's claims (8 tests, two-sided 5 %): each end of its interval leaves out 0.05 / 16
HOLM_FIRST_STEP = 0.05 / 8 / 2


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
    n_articles: int = 0  # > 0: items sit in this many articles of equal size (item i in article i * n_articles // n_items)
    sd_article: float = 0.0  # the articles' effect on the difference


def _item_effects(design: Design, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(effect, key, article), each (n_items,): the item's effect on the difference, its relevance key and its
    article (0 .. n_articles − 1; each item its own without articles)."""
    n = design.n_items
    effect = rng.normal(0, design.sd_item, n)
    if design.n_labels:
        sizes = rng.dirichlet(np.full(design.n_labels, 0.5))  # unequal label frequencies
        label = rng.choice(design.n_labels, size=n, p=sizes)
        level = np.empty(design.n_labels)
        level[np.argsort(sizes)] = np.linspace(-0.1, 0.1, design.n_labels)  # the frequent labels score higher
        # centred on the population's item mean, so μ stays the item-weighted truth
        effect += level[label] - level @ sizes
        keys = np.array([f"label{k}" for k in label])
    else:
        keys = np.array([f"item{i}" for i in range(n)])
    article = np.arange(n) * design.n_articles // n if design.n_articles else np.arange(n)
    if design.n_articles:
        effect += rng.normal(0, design.sd_article, design.n_articles)[article]
    return effect, keys, article


def _differences(design: Design, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(d, key, article): the per-query differences (seeds, n_items, langs) of one draw, each item's key and article."""
    effect, keys, article = _item_effects(design, rng)
    tau = rng.normal(0, design.sd_seed, design.seeds)
    noise = rng.normal(0, design.sd_noise, (design.seeds, design.n_items, design.langs))
    return design.mu + effect[None, :, None] + tau[:, None, None] + noise, keys, article


def draw(design: Design, rng: np.random.Generator) -> tuple[list[pd.DataFrame], list[pd.DataFrame], float]:
    """(hybrid's per-seed frames, the other's, the true μ): frames with query_id, key, lang, target, map (and
    article, with `n_articles`)."""
    d, keys, article = _differences(design, rng)
    n, langs = design.n_items, [f"l{j}" for j in range(design.langs)]
    base = rng.uniform(0.3, 0.9, n)
    a_runs, b_runs = [], []
    for s in range(design.seeds):
        a_parts, b_parts = [], []
        for j, lang in enumerate(langs):
            frame = pd.DataFrame({"query_id": [f"{lang}-q{i}" for i in range(n)], "key": keys, "lang": lang, "target": "all"})
            if design.n_articles:
                frame["article"] = [f"a{k}" for k in article]
            b = base + rng.normal(0, 0.02, n)
            a_parts.append(frame.assign(map=b + d[s, :, j]))
            b_parts.append(frame.assign(map=b))
        a_runs.append(pd.concat(a_parts, ignore_index=True))
        b_runs.append(pd.concat(b_parts, ignore_index=True))
    return a_runs, b_runs, design.mu


def coverage(design: Design, reps: int, seed: int, n_boot: int = 300,
             alphas: tuple[float, ...] = (0.025, HOLM_FIRST_STEP)) -> dict[str, float]:
    """Over `reps` draws of `design` (true difference μ), how often each 95 % interval holds μ: the interval with
    both noises (`stats.combined_parts`, clusters = articles with `n_articles`), the same parts joined by the
    earlier rule (Welch–Satterthwaite df, the item part taken as known, items resampled singly), the items-only
    CI (percentile bootstrap over items of the seed-averaged difference) and the seed-paired t CI
    (`stats.seed_test`); and in the tail, for each one-sided α of `alphas`, how often the interval's lower end at
    1 − α lies above μ: the rate at which a test of "the difference is μ or less" wrongly rejects when it is μ,
    e.g. a non-inferiority test at a true loss of exactly δ (μ = −δ). Nominal: α; below α is conservative.
    The draws come from `_differences` (the frames of `draw` hold the same numbers).

    Args:
        design: the simulated comparison.
        reps: draws.
        seed: the draws' seed.
        n_boot: bootstrap draws per interval.
        alphas: one-sided levels for the tail (Holm's first step on 8 claims: `HOLM_FIRST_STEP`).

    Returns:
        {"both noises", "both noises (Welch–Satterthwaite)", "items only", "seeds only (paired t)", then per α
        "tail α=…" and "tail α=… (Welch–Satterthwaite)", "reps"}: shares of the draws.
    """
    from scipy import stats as scipy_stats

    from hybridlib import stats

    rng = np.random.default_rng(seed)
    s, n = design.seeds, design.n_items
    diff, se_seeds, se_items, se_single, low_items, high_items = (np.empty(reps) for _ in range(6))
    for rep in range(reps):
        d, _, article = _differences(design, rng)
        averaged, present = d.mean(axis=0), np.ones((n, design.langs), dtype=bool)  # (n_items, langs): every cell
        clusters = article if design.n_articles else None
        draws = stats._item_draws(averaged, present, n_boot, rep, clusters)
        single = stats._item_draws(averaged, present, n_boot, rep) if design.n_articles else draws
        diff[rep] = averaged.mean()
        se_seeds[rep] = d.mean(axis=(1, 2)).std(ddof=1) / np.sqrt(s)
        se_items[rep] = stats.cluster_se(draws, design.n_articles or n)
        se_single[rep] = single.std(ddof=1)
        low_items[rep], high_items[rep] = np.quantile(single, [0.025, 0.975])
    mu, g = design.mu, design.n_articles or n
    out = {}
    half = stats.both_noises(0.025, se_seeds, s - 1, se_items, g - 1)
    out["both noises"] = np.mean(np.abs(diff - mu) <= half)
    se_old = np.hypot(se_seeds, se_single)
    df_old = np.where(se_seeds > 0, se_old**4 / np.maximum(se_seeds, 1e-300)**4 * (s - 1), np.inf)
    out["both noises (Welch–Satterthwaite)"] = np.mean(np.abs(diff - mu) <= scipy_stats.t.isf(0.025, df_old) * se_old)
    out["items only"] = np.mean((low_items <= mu) & (mu <= high_items))
    out["seeds only (paired t)"] = np.mean(np.abs(diff - mu) <= scipy_stats.t.isf(0.025, s - 1) * se_seeds)
    for alpha in alphas:
        out[f"tail α={alpha:g}"] = np.mean(diff - stats.both_noises(alpha, se_seeds, s - 1, se_items, g - 1) > mu)
        out[f"tail α={alpha:g} (Welch–Satterthwaite)"] = np.mean(diff - scipy_stats.t.isf(alpha, df_old) * se_old > mu)
    return {**{k: float(v) for k, v in out.items()}, "reps": reps}


def binomial_se(rate: float, reps: int) -> float:
    """The binomial standard error of a share estimated from `reps` draws whose true rate is `rate`:
    √(rate · (1 − rate) / reps); e.g. 95 % coverage over 200 draws: 0.0154."""
    return float(np.sqrt(rate * (1 - rate) / reps))
