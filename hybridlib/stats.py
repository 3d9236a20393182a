"""Uncertainty: bootstrap CIs over parallel items, paired tests between two runs on the same queries, a seed-paired
test across training seeds with its power, one interval that carries both noises (`combined_test`), and Holm's
adjustment for a family of tests.

The unit of resampling is the **parallel item** (`parallel_item`): one question or utterance in all its languages,
drawn together (a cluster bootstrap), because translations of one item are not independent observations. It is
never a label that many items share (MTOP intents): each item counts once, as in the tables. Every statistic is
the macro mean over (query language, target) cells of per-cell means, the number the tables report.
`bootstrap_ci` and `paired_test` describe the noise of the evaluation queries; `seed_test` the noise of training
(another seed, another run); `combined_test` both at once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

# what metrics.json's CIs resample (``ci_unit``); files without it are recomputed from per_query.csv.gz (`results.collect`)
CI_UNIT = "parallel item"


def parallel_item(rows: pd.DataFrame) -> pd.Series:
    """The parallel item of each per-query row: its ``query_id`` without the ``<lang>-`` prefix every hybridlib task
    gives it (``de-56be4db0`` -> ``56be4db0``; a ``-<lang>`` suffix is stripped too), or its ``item`` column where it
    has one; an id with neither is its own item. Rows without query ids (hand-built frames) fall back to ``key``."""
    if "item" in rows.columns:
        return rows["item"].astype(str)
    if "query_id" not in rows.columns:
        return rows["key"].astype(str)
    ids, langs = rows["query_id"].astype(str).tolist(), rows["lang"].astype(str).tolist()
    return pd.Series([q[len(x) + 1:] if q.startswith(x + "-") else q[:-len(x) - 1] if q.endswith("-" + x) else q
                      for q, x in zip(ids, langs)], index=rows.index)


def _cell_matrix(rows: pd.DataFrame, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """(values, present): (n_items, n_cells) per-query values with NaN filled by 0, and where they exist."""
    frame = pd.DataFrame({"item": parallel_item(rows), "lang": rows["lang"], "target": rows["target"], "v": rows[metric]})
    table = frame.pivot_table(index="item", columns=["lang", "target"], values="v", aggfunc="mean")
    present = table.notna().to_numpy()
    return np.nan_to_num(table.to_numpy(dtype=float)), present


def _macro(values: np.ndarray, present: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Macro mean over cells of weighted cell means; weights (n_draws, n_items) -> (n_draws,)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        cell_means = (weights @ values) / (weights @ present)
    return np.nanmean(cell_means, axis=1)


def _item_draws(values: np.ndarray, present: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """`n_boot` bootstrap draws of the macro mean, resampling items (rows) with replacement."""
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(len(values), np.full(len(values), 1 / len(values)), size=n_boot).astype(float)
    return _macro(values, present, counts)


def bootstrap_ci(rows: pd.DataFrame, metric: str, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> list[float]:
    """Percentile CI of the macro mean of `metric`, resampling parallel items (`parallel_item`) with replacement.

    Args:
        rows: per-query rows (`evaluation.per_query_scores`) of one setting, with columns query_id, lang, target,
            metric (or key instead of query_id).
        metric: the column to average, e.g. ``"map"``.
        n_boot: bootstrap draws.
        seed: the draws' seed (same seed, same CI).
        level: the CI's coverage.

    Returns:
        [low, high]; [nan, nan] when `rows` is empty.
    """
    if rows.empty or rows[metric].isna().all():
        return [float("nan"), float("nan")]
    values, present = _cell_matrix(rows, metric)
    draws = _item_draws(values, present, n_boot, seed)
    tail = (1 - level) / 2
    return [float(np.quantile(draws, tail)), float(np.quantile(draws, 1 - tail))]


def paired_test(a: pd.DataFrame, b: pd.DataFrame, metric: str, *, n_perm: int = 10000, seed: int = 0) -> dict[str, float]:
    """Sign-flip permutation test of mean(a) - mean(b) on the same queries, flipping whole parallel items.

    Under the null (the two runs are exchangeable), each item's difference is as likely to have either
    sign. The statistic is the macro mean difference, so it matches the tables.

    Args:
        a: per-query rows of one setting for run (or seed-averaged strategy) A, as in `bootstrap_ci`.
        b: the same for B; rows are paired on (query_id, target), or (key, lang, target) without query ids.
        metric: the column compared, e.g. ``"map"``.
        n_perm: random sign flips drawn for the null distribution.
        seed: the flips' and the bootstrap's seed.

    Returns:
        {"diff": observed difference, "p": two-sided p-value, "ci95_low"/"ci95_high": bootstrap CI of the difference}.
    """
    on = ["query_id", "lang", "target"] if "query_id" in a.columns and "query_id" in b.columns else ["key", "lang", "target"]
    merged = a[[*on, *(["key"] if "key" in a.columns and "key" not in on else []), metric]].merge(
        b[[*on, metric]], on=on, suffixes=("_a", "_b"), validate="one_to_one")
    if merged.empty:
        raise ValueError("the two runs share no (query, target) rows; compare runs on the same dataset")
    merged["diff"] = merged[f"{metric}_a"] - merged[f"{metric}_b"]
    values, present = _cell_matrix(merged, "diff")
    # the statistic is linear in the per-item differences: sum_k w_k = macro mean over cells
    n_cells = present.sum(axis=0)
    per_key = (values / np.where(n_cells > 0, n_cells, 1)).sum(axis=1) / max(int((n_cells > 0).sum()), 1)
    observed = float(per_key.sum())
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=(n_perm, len(per_key)))
    null = signs @ per_key
    p = (1 + int((np.abs(null) >= abs(observed) - 1e-12).sum())) / (1 + n_perm)
    low, high = bootstrap_ci(merged, "diff", seed=seed)
    return {"diff": observed, "p": p, "ci95_low": low, "ci95_high": high}


def seed_test(a: np.ndarray | list[float], b: np.ndarray | list[float], *, level: float = 0.95,
              single_run: bool = False) -> dict[str, float]:
    """The seed-paired t-test of mean(a - b) across training seeds: the seed-to-seed noise `paired_test` leaves out.

    Seeds are paired by design: with the same seed every strategy draws the same group stream (hybrid's first
    batch is xy's), shares the initial state of its loss head and data order, so the test is on the per-seed
    differences a[i] - b[i] (`scipy.stats.ttest_rel`), not Welch's unpaired test on the two sides' means.

    Args:
        a: one value per seed of strategy A (a run's macro mean, as in summary.csv), in seed order.
        b: the same for strategy B, on the same seeds; a single value is taken as fixed (off-the-shelf has no
            seed): a one-sample test of a - b.
        level: the CI's coverage.
        single_run: `b` is one run of a strategy that trains (one seed of a baseline): its training noise is not
            fixed but unknown, and is taken to equal `a`'s seed sd, so the standard error is sd · sqrt(1/n + 1).

    Returns:
        {"diff", "p", "ci95_low", "ci95_high", "df", "sd_diff"}: the mean difference, the two-sided p, the CI, the
        degrees of freedom (seeds - 1) and the sd of the per-seed differences; p, CI and df are nan with one
        pair or when every seed gave the same difference.
    """
    from scipy import stats as scipy_stats

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if not len(a) or not len(b):
        raise ValueError(f"seed_test needs a value per seed on both sides, got {len(a)} and {len(b)}")
    if len(b) == 1:
        d = a - b[0]
    elif len(a) == 1:
        d = a[0] - b
    elif len(a) == len(b):
        d = a - b
    else:
        raise ValueError(f"seed_test pairs seeds: got {len(a)} and {len(b)} values; give both sides the same seeds")
    nan = float("nan")
    out = {"diff": float(d.mean()), "p": nan, "ci95_low": nan, "ci95_high": nan, "df": nan,
           "sd_diff": float(d.std(ddof=1)) if len(d) > 1 else nan}
    if len(d) < 2 or np.ptp(d) == 0:
        return out
    n, df = len(d), len(d) - 1
    se = d.std(ddof=1) * np.sqrt(1 / n + (1 if single_run and len(b) == 1 else 0))
    half = scipy_stats.t.ppf((1 + level) / 2, df) * se
    p = 2 * scipy_stats.t.sf(abs(d.mean()) / se, df)
    out.update(p=float(p), ci95_low=float(d.mean() - half), ci95_high=float(d.mean() + half), df=float(df))
    return out


def combined_test(a_runs: Sequence[pd.DataFrame], b_runs: Sequence[pd.DataFrame], metric: str, *, n_boot: int = 1000,
                  seed: int = 0, level: float = 0.95, margin: float | None = None, sign: int = 1,
                  single_run: bool = False) -> dict[str, float]:
    """hybrid − other with one interval that carries both noises: the training seeds' and the evaluation items'.

    The model: the per-seed difference of macro means is d_s = μ + τ_s + ε_s, with τ_s the training noise (a new
    seed) and ε_s the noise of which parallel items were drawn. Its mean over S paired seeds, the number the tables
    print, has variance Var(τ)/S + Var(items), estimated by the per-seed differences' variance / S (which also holds
    the items × seed interaction) plus the variance of a bootstrap over parallel items of the seed-averaged
    difference (the item noise common to all seeds; the items × seed interaction is in both parts, counted twice).
    The interval is diff ± t · SE with Welch–Satterthwaite's degrees of freedom (the item part counted as known),
    so with 3 seeds it is wide where the seeds disagree; with 2 df those df are themselves uncertain, and in
    simulation it covered 91–95.5 % (`docs/protocol.md`).
    Assumptions: seed and item effects additive and independent, the seeds' mean difference roughly normal, items
    exchangeable. Its coverage was checked in simulation (`docs/protocol.md`, `tests/test_evaluation.py`).

    Args:
        a_runs: per-query rows (`evaluation.per_query_scores`, one setting) of hybrid, one frame per seed.
        b_runs: the other strategy's, on the same seeds in the same order; one frame with several on the other
            side is taken as fixed (off-the-shelf), a difference of single runs when `a_runs` has one too.
        metric: the column compared.
        n_boot: bootstrap draws over items.
        seed: the draws' seed.
        level: the interval's coverage.
        margin: a non-inferiority margin δ (> 0, the metric's units): also test whether sign × (a − b) > −δ.
        sign: the claimed direction: +1 for a ≥ b (mAP), −1 for a ≤ b (rank distance).
        single_run: `b_runs` is one run of a strategy that trains (a baseline given one seed): its training noise
            is unknown and taken to equal `a_runs`' seed-to-seed sd, which adds that variance once to the mean's.

    Returns:
        {"diff", "low", "high", "p", "df", "se", "se_seeds", "se_items", "seeds", "p_margin", "p_beyond",
        "pred_low", "pred_high"}: ``p`` two-sided against 0; ``p_margin`` one-sided against "hybrid loses δ or
        more" and ``p_beyond`` against "it loses δ or less" (nan without a margin); ``pred_low``/``pred_high`` a 95 %
        prediction interval for the difference a new training seed would give on these items, from the seeds'
        spread only (nan with fewer than 2 seeds); ``seeds`` the number of paired differences. With one run a side
        (a single seed) there is no training noise to estimate: diff only, every interval and p nan.
    """
    from scipy import stats as scipy_stats

    if len(b_runs) == 1 and len(a_runs) >= 1:
        b_runs = list(b_runs) * len(a_runs)
    if len(a_runs) != len(b_runs) or not a_runs:
        raise ValueError(f"combined_test pairs seeds: got {len(a_runs)} and {len(b_runs)} runs; give both sides the same seeds")
    on = ["query_id", "lang", "target"]
    diffs = []
    for s, (a, b) in enumerate(zip(a_runs, b_runs)):
        merged = a[[*on, metric]].merge(b[[*on, metric]], on=on, suffixes=("_a", "_b"), validate="one_to_one")
        diffs.append(merged.assign(seed=s, d=merged[f"{metric}_a"] - merged[f"{metric}_b"])[[*on, "seed", "d"]])
    stacked = pd.concat(diffs, ignore_index=True)
    n_seeds = len(a_runs)
    per_seed = np.array([_macro_of(part, "d") for _, part in stacked.groupby("seed")])
    averaged = stacked.groupby(on, as_index=False)["d"].mean()
    values, present = _cell_matrix(averaged, "d")
    diff = float(_macro(values, present, np.ones((1, len(values))))[0])
    se_items = float(np.std(_item_draws(values, present, n_boot, seed), ddof=1))
    nan = float("nan")
    sd = float(np.std(per_seed, ddof=1)) if n_seeds > 1 else nan
    se_seeds = sd * np.sqrt(1 / n_seeds + (1 if single_run else 0)) if n_seeds > 1 else 0.0
    se = float(np.hypot(se_seeds, se_items))
    df = float(se**4 / (se_seeds**4 / (n_seeds - 1))) if n_seeds > 1 and se_seeds > 0 else float("inf")
    crit = scipy_stats.t.ppf((1 + level) / 2, df)
    low, high = (diff - crit * se, diff + crit * se) if se > 0 else (nan, nan)  # no spread: no interval, as seed_test
    out = {"diff": diff, "low": low, "high": high, "df": df, "se": se, "se_seeds": se_seeds,
           "se_items": se_items, "seeds": n_seeds, "p": float(2 * scipy_stats.t.sf(abs(diff) / se, df)) if se > 0 else nan,
           "p_margin": nan, "p_beyond": nan, "pred_low": nan, "pred_high": nan}
    if n_seeds < 2:  # one run a side: no training noise to estimate, so no interval carries both noises
        out.update(low=nan, high=nan, p=nan)
        return out
    if margin is not None and se > 0:
        out["p_margin"] = float(scipy_stats.t.sf((sign * diff + margin) / se, df))  # H0: the loss is ≥ δ
        out["p_beyond"] = float(scipy_stats.t.sf((-sign * diff - margin) / se, df))  # H0: the loss is ≤ δ
    if n_seeds > 1:
        half = scipy_stats.t.ppf((1 + level) / 2, n_seeds - 1) * sd * np.sqrt(1 + 1 / n_seeds + (1 if single_run else 0))
        out.update(pred_low=diff - half, pred_high=diff + half)
    return out


def mean_interval(values: Sequence[float], ci_low: Sequence[float], ci_high: Sequence[float], *,
                  level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the mean of a strategy's per-seed values and an interval of that mean with both noises,
    from summary.csv alone: the seeds' variance / n plus the item noise, read from each run's 95 % bootstrap CI
    over parallel items (its half-width / 1.96, averaged over the seeds: the items are the same for every seed, so
    their noise does not shrink with more seeds); t with Welch–Satterthwaite df, as `combined_test`. A single
    run gives its own CI back.

    Args:
        values: one value per seed (summary.csv's column).
        ci_low: each run's 95 % CI over items, low end.
        ci_high: the same, high end.
        level: the interval's coverage.
    """
    from scipy import stats as scipy_stats

    values, low, high = (np.asarray(x, dtype=float) for x in (values, ci_low, ci_high))
    mean = float(values.mean())
    if len(values) == 1:
        return mean, float(low[0]), float(high[0])
    se_items = float(np.mean((high - low) / 2 / scipy_stats.norm.ppf(0.975)))
    se_seeds = float(values.std(ddof=1) / np.sqrt(len(values)))
    se = float(np.hypot(se_seeds, se_items))
    df = se**4 / (se_seeds**4 / (len(values) - 1)) if se_seeds > 0 else float("inf")
    half = scipy_stats.t.ppf((1 + level) / 2, df) * se
    return mean, mean - half, mean + half


def _macro_of(rows: pd.DataFrame, metric: str) -> float:
    """The macro mean of `metric` over (lang, target) cells: the tables' number."""
    return float(rows.groupby(["lang", "target"])[metric].mean().mean())


def holm(p: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (family-wise error rate): the i-th smallest of m is
    multiplied by m - i + 1, then made non-decreasing in that order and capped at 1. NaN entries stay NaN and
    do not count in m. Rejecting where the adjusted p < 0.05 keeps the chance of any false rejection in the
    family at or below 5 %, whatever the dependence between the tests."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    present = np.flatnonzero(~np.isnan(p))
    order = present[np.argsort(p[present], kind="stable")]
    scaled = p[order] * (len(order) - np.arange(len(order)))
    out[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return out


def detectable_difference(sd_diff: float, n: int, *, power: float = 0.8, level: float = 0.95) -> float:
    """The smallest |mean difference| that `seed_test` (paired over `n` seeds) detects with probability `power` at
    two-sided `level`, for per-seed differences of sd `sd_diff`: the noncentral t power of the one-sample t-test
    with n - 1 degrees of freedom (exact for normal differences).

    Args:
        sd_diff: the sd of the per-seed differences (for a fixed other side, the seeds' sd).
        n: the number of paired seeds.
        power: the chance of detecting the difference.
        level: the test's confidence level (0.95: p < 0.05).

    Returns:
        The difference, in the metric's units; nan with fewer than 2 seeds or no spread.
    """
    from scipy import optimize
    from scipy import stats as scipy_stats

    if n < 2 or not sd_diff > 0:
        return float("nan")
    df = n - 1
    crit = scipy_stats.t.ppf((1 + level) / 2, df)
    def reached(nc: float) -> float:  # both tails; the far one vanishes (and is NaN in scipy) for a large shift
        return scipy_stats.nct.sf(crit, df, nc) + np.nan_to_num(scipy_stats.nct.cdf(-crit, df, nc)) - power

    shift = optimize.brentq(reached, 0, 4 * crit + 20)
    return float(shift * sd_diff / np.sqrt(n))


def seeds_needed(sd_diff: float, gap: float, *, power: float = 0.8, level: float = 0.95, most: int = 100) -> int | None:
    """The fewest paired seeds (n ≥ 2) at which `detectable_difference` reaches |gap| for per-seed differences of
    sd `sd_diff`; None when `most` are not enough, the gap is 0 or there is no spread.

    Args:
        sd_diff: the sd of the per-seed differences.
        gap: the difference to detect.
        power: as in `detectable_difference`.
        level: as in `detectable_difference`.
        most: the most seeds tried.
    """
    def enough(n: int) -> bool:
        return detectable_difference(sd_diff, n, power=power, level=level) <= abs(gap)

    if gap == 0 or np.isnan(detectable_difference(sd_diff, 2)) or not enough(most):
        return None
    low, high = 1, most  # enough(high); not enough(low) as n = 1 has no test
    while high - low > 1:  # the detectable difference falls as n grows
        mid = (low + high) // 2
        low, high = (low, mid) if enough(mid) else (mid, high)
    return high
