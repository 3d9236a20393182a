"""Uncertainty: bootstrap CIs over parallel groups, paired tests between two runs on the same queries, a test
across training seeds with its power (the smallest gap it detects, the seeds a gap needs), and Holm's adjustment
for a family of tests.

The unit of resampling is the parallel group (the query's relevance ``key``): translations of one question
are not independent observations, so they are drawn together (a cluster bootstrap). Every statistic is the
macro mean over (query language, target) cells of per-cell means, the number the tables report. Those
describe the uncertainty from the evaluation queries; `seed_test` describes the one from training (another
seed, another run).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def _cell_matrix(rows: pd.DataFrame, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """(values, present): (n_keys, n_cells) per-query values with NaN filled by 0, and where they exist."""
    table = rows.pivot_table(index="key", columns=["lang", "target"], values=metric, aggfunc="mean")
    present = table.notna().to_numpy()
    return np.nan_to_num(table.to_numpy(dtype=float)), present


def _macro(values: np.ndarray, present: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Macro mean over cells of weighted cell means; weights (n_draws, n_keys) -> (n_draws,)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        cell_means = (weights @ values) / (weights @ present)
    return np.nanmean(cell_means, axis=1)


def bootstrap_ci(rows: pd.DataFrame, metric: str, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> list[float]:
    """Percentile CI of the macro mean of `metric`, resampling parallel groups with replacement.

    Args:
        rows: per-query rows (`evaluation.per_query_scores`) of one setting, with columns key, lang, target, metric.
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
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(len(values), np.full(len(values), 1 / len(values)), size=n_boot).astype(float)
    draws = _macro(values, present, counts)
    tail = (1 - level) / 2
    return [float(np.quantile(draws, tail)), float(np.quantile(draws, 1 - tail))]


def paired_test(a: pd.DataFrame, b: pd.DataFrame, metric: str, *, n_perm: int = 10000, seed: int = 0) -> dict[str, float]:
    """Sign-flip permutation test of mean(a) - mean(b) on the same queries, flipping whole parallel groups.

    Under the null (the two runs are exchangeable), each group's difference is as likely to have either
    sign. The statistic is the macro mean difference, so it matches the tables.

    Args:
        a: per-query rows of one setting for run (or seed-averaged strategy) A, as in `bootstrap_ci`.
        b: the same for B; rows are paired on (key, lang, target).
        metric: the column compared, e.g. ``"map"``.
        n_perm: random sign flips drawn for the null distribution.
        seed: the flips' and the bootstrap's seed.

    Returns:
        {"diff": observed difference, "p": two-sided p-value, "ci95_low"/"ci95_high": bootstrap CI of the difference}.
    """
    merged = a.merge(b, on=["key", "lang", "target"], suffixes=("_a", "_b"))
    if merged.empty:
        raise ValueError("the two runs share no (query, target) rows; compare runs on the same dataset")
    merged["diff"] = merged[f"{metric}_a"] - merged[f"{metric}_b"]
    values, present = _cell_matrix(merged, "diff")
    # the statistic is linear in the per-key differences: sum_k w_k = macro mean over cells
    n_cells = present.sum(axis=0)
    per_key = (values / np.where(n_cells > 0, n_cells, 1)).sum(axis=1) / max(int((n_cells > 0).sum()), 1)
    observed = float(per_key.sum())
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=(n_perm, len(per_key)))
    null = signs @ per_key
    p = (1 + int((np.abs(null) >= abs(observed) - 1e-12).sum())) / (1 + n_perm)
    low, high = bootstrap_ci(merged, "diff", seed=seed)
    return {"diff": observed, "p": p, "ci95_low": low, "ci95_high": high}


def seed_test(a: np.ndarray | list[float], b: np.ndarray | list[float], *, level: float = 0.95) -> dict[str, float]:
    """Welch's t-test of mean(a) - mean(b) over training seeds: the seed-to-seed variation `paired_test` leaves out.

    `paired_test` averages each query over seeds first, so its p and CI describe the evaluation queries, not
    another training run. This test takes one number per seed (a run's macro mean, as in summary.csv), so a
    gap smaller than the seeds' spread gets a large p. With 3 seeds a side it has few degrees of freedom and
    little power. Computed by `scipy.stats.ttest_ind(a, b, equal_var=False)`.

    Args:
        a: one value per seed of strategy A.
        b: the same for strategy B. A single value is taken as fixed (off-the-shelf has no seed), which makes
            it a one-sample test of `a` against it (`scipy.stats.ttest_1samp`).
        level: the CI's coverage.

    Returns:
        {"diff", "p", "ci95_low", "ci95_high", "df"}: the difference of seed means, the two-sided p, the CI of
        the difference and Welch's degrees of freedom; p, CI and df are nan when neither side has two seeds
        or every seed gave the same value.
    """
    from scipy import stats as scipy_stats

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if not len(a) or not len(b):
        raise ValueError(f"seed_test needs a value per seed on both sides, got {len(a)} and {len(b)}")
    out = {"diff": float(a.mean() - b.mean()), "p": float("nan"), "ci95_low": float("nan"), "ci95_high": float("nan"), "df": float("nan")}
    spread = [x for x in (a, b) if len(x) > 1]
    if not spread or all(np.ptp(x) == 0 for x in spread):
        return out
    if len(a) > 1 and len(b) > 1:
        result, shift = scipy_stats.ttest_ind(a, b, equal_var=False), 0.0
    elif len(b) == 1:
        result, shift = scipy_stats.ttest_1samp(a, b[0]), b[0]
    else:  # a is the fixed one: test b against it and turn the sign around
        result, shift = scipy_stats.ttest_1samp(-b, -a[0]), -a[0]
    ci = result.confidence_interval(level)
    out.update(p=float(result.pvalue), ci95_low=float(ci.low - shift), ci95_high=float(ci.high - shift), df=float(result.df))
    return out


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


def detectable_difference(sd_a: float, n_a: int, sd_b: float, n_b: int, *, power: float = 0.8, level: float = 0.95) -> float:
    """The smallest |mean(a) - mean(b)| that `seed_test` detects with probability `power` at two-sided `level`,
    for seeds of these spreads and counts: the noncentral-t power of Welch's test with the Welch–Satterthwaite
    degrees of freedom. It takes the df as known, so with 3 seeds a side Welch's real power at this difference is
    lower (about 70 % for equal spreads, 75–80 % for unequal ones; 78 % at 5 seeds, 80 % at 10): a lower bound on
    the gap 3 seeds can see.

    Args:
        sd_a: the seeds' sample sd of strategy A.
        n_a: its number of seeds; 1 is a fixed value (no spread), as in `seed_test`.
        sd_b: the same for B.
        n_b: the same for B.
        power: the chance of detecting the difference.
        level: the test's confidence level (0.95: p < 0.05).

    Returns:
        The difference, in the metric's units; nan when neither side has a spread.
    """
    from scipy import optimize
    from scipy import stats as scipy_stats

    sides = [(sd**2 / n, n) for sd, n in ((sd_a, n_a), (sd_b, n_b)) if n > 1]  # (variance of the mean, seeds)
    var = sum(v for v, _ in sides)
    if not var > 0:
        return float("nan")
    df = var**2 / sum(v**2 / (n - 1) for v, n in sides if v > 0)
    crit = scipy_stats.t.ppf((1 + level) / 2, df)
    shift = optimize.brentq(lambda nc: scipy_stats.nct.sf(crit, df, nc) - power, 0, crit + 20)
    return float(shift * np.sqrt(var))


def seeds_needed(sd_a: float, sd_b: float, gap: float, *, power: float = 0.8, level: float = 0.95, most: int = 100) -> int | None:
    """The fewest seeds a side (n ≥ 2, the same on both) at which `detectable_difference` reaches |gap|, for
    seeds spread as `sd_a` and `sd_b`; None when `most` are not enough, the gap is 0 or there is no spread.

    Args:
        sd_a: the seeds' sample sd of strategy A.
        sd_b: the same for B.
        gap: the difference to detect.
        power: as in `detectable_difference`.
        level: as in `detectable_difference`.
        most: the most seeds tried.
    """
    def enough(n: int) -> bool:
        return detectable_difference(sd_a, n, sd_b, n, power=power, level=level) <= abs(gap)

    if gap == 0 or np.isnan(detectable_difference(sd_a, 2, sd_b, 2)) or not enough(most):
        return None
    low, high = 1, most  # enough(high); not enough(low) as n = 1 has no test
    while high - low > 1:  # the detectable difference falls as n grows
        mid = (low + high) // 2
        low, high = (low, mid) if enough(mid) else (mid, high)
    return high
