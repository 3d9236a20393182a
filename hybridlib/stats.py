"""Uncertainty: bootstrap CIs over parallel items, paired tests between two runs on the same queries, a seed-paired
test across training seeds with its power, one interval that carries both noises (`combined_test`), and Holm's
adjustment for a family of tests.

The unit of resampling is the **parallel item** (`parallel_item`): one question or utterance in all its languages,
drawn together (a cluster bootstrap), because translations of one item are not independent observations. It is
never a label that many items share (MTOP intents): each item counts once, as in the tables. Every statistic is
the macro mean over (query language, target) cells of per-cell means, the number the tables report.
`bootstrap_ci` and `paired_test` describe the noise of the evaluation queries; `seed_test` the noise of training
(another seed, another run); `combined_test` both at once, each part with its own degrees of freedom (`both_noises`)
and, where items share a candidate pool, whole articles resampled (`article_of`).
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


def article_of(rows: pd.DataFrame) -> pd.Series | None:
    """Each per-query row's article: the cluster of items that share a candidate pool (XQuAD-R's and MLQA-R's
    questions of one article rank the same paragraphs' sentences), from the ``article`` column that evaluation
    writes for LAReQA tasks; None where the rows have none (MTOP; runs evaluated before the column existed)."""
    if "article" not in rows.columns or rows["article"].isna().all():
        return None
    return rows["article"].astype(str)


def _cell_matrix(rows: pd.DataFrame, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """(values, present): (n_items, n_cells) per-query values with NaN filled by 0, and where they exist."""
    values, present, _ = _cell_matrix_clusters(rows, metric)
    return values, present


def _cell_matrix_clusters(rows: pd.DataFrame, metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_cell_matrix` and each item's cluster, (n_items,) codes 0..G-1: its article (`article_of`), else itself."""
    items = parallel_item(rows)
    frame = pd.DataFrame({"item": items, "lang": rows["lang"], "target": rows["target"], "v": rows[metric]})
    table = frame.pivot_table(index="item", columns=["lang", "target"], values="v", aggfunc="mean")
    present = table.notna().to_numpy()
    article = article_of(rows)
    if article is None:
        clusters = np.arange(len(table))
    else:
        of_item = pd.Series(article.to_numpy(), index=items.to_numpy()).groupby(level=0).first()
        clusters = pd.factorize(of_item.reindex(table.index).to_numpy())[0]
    return np.nan_to_num(table.to_numpy(dtype=float)), present, clusters


def _macro(values: np.ndarray, present: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Macro mean over cells of weighted cell means; weights (n_draws, n_items) -> (n_draws,)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        cell_means = (weights @ values) / (weights @ present)
    return np.nanmean(cell_means, axis=1)


def _item_draws(values: np.ndarray, present: np.ndarray, n_boot: int, seed: int,
                clusters: np.ndarray | None = None) -> np.ndarray:
    """`n_boot` bootstrap draws of the macro mean, resampling items (rows) with replacement, or whole clusters of
    them (`clusters`: (n_items,) codes 0..G-1) where items share a candidate pool."""
    rng = np.random.default_rng(seed)
    n = len(values) if clusters is None else int(clusters.max()) + 1
    counts = rng.multinomial(n, np.full(n, 1 / n), size=n_boot).astype(float)
    return _macro(values, present, counts if clusters is None else counts[:, clusters])


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
            That is an assumption, not an estimate: the interval is given, the p-value is not (nan).

    Returns:
        {"diff", "p", "ci95_low", "ci95_high", "df", "sd_diff"}: the mean difference, the two-sided p, the CI, the
        degrees of freedom (seeds - 1) and the sd of the per-seed differences; p, CI and df are nan with one
        pair or when every seed gave the same difference, p also against a single run.
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
    p = 2 * scipy_stats.t.sf(abs(d.mean()) / se, df) if not (single_run and len(b) == 1) else nan
    out.update(p=float(p), ci95_low=float(d.mean() - half), ci95_high=float(d.mean() + half), df=float(df))
    return out


def combined_test(a_runs: Sequence[pd.DataFrame], b_runs: Sequence[pd.DataFrame], metric: str, *, n_boot: int = 1000,
                  seed: int = 0, level: float = 0.95, margin: float | None = None, sign: int = 1,
                  single_run: bool = False) -> dict[str, float]:
    """hybrid − other with one interval that carries both noises: the training seeds' and the evaluation items'.

    The model: the per-seed difference of macro means is d_s = μ + τ_s + ε_s, with τ_s the training noise (a new
    seed) and ε_s the noise of which items were drawn. Its mean over S paired seeds, the number the tables print,
    has variance Var(τ)/S + Var(items), estimated by two parts: ``se_seeds``, the per-seed differences' sd / √S
    (which also holds the items × seed interaction), with S − 1 degrees of freedom; and ``se_items``, the sd of a
    bootstrap of the seed-averaged difference over G clusters (whole articles where items share a candidate
    pool, `article_of`; parallel items otherwise), times √(G / (G − 1)), with G − 1 degrees of freedom (the
    interaction is in both parts: counted twice, which errs wide). The interval (`both_noises`) is

        diff ± √((t_{S−1} · se_seeds)² + (t_{G−1} · se_items)²)

    Banerjee's interval for a sum of two variances estimated apart, which holds its level whatever their ratio
    (Banerjee 1961; in simulation: docs/protocol.md). Each part keeps its own degrees of freedom, so the interval is
    never narrower than the seeds-only t-interval of the same difference (`seed_test`), nor than the items' own.
    Assumptions: seed and item effects additive and independent, the seeds' differences normal, clusters
    exchangeable. Tests (``p``, ``p_margin``) are the same interval's duals (`one_sided_p`).

    Args:
        a_runs: per-query rows (`evaluation.per_query_scores`, one setting) of hybrid, one frame per seed.
        b_runs: the other strategy's, on the same seeds in the same order; one frame with several on the other
            side is taken as fixed (off-the-shelf), a difference of single runs when `a_runs` has one too.
        metric: the column compared.
        n_boot: bootstrap draws over clusters.
        seed: the draws' seed.
        level: the interval's coverage.
        margin: a non-inferiority margin δ (> 0, the metric's units): also test whether sign × (a − b) > −δ.
        sign: the claimed direction: +1 for a ≥ b (mAP), −1 for a ≤ b (rank distance).
        single_run: `b_runs` is one run of a strategy that trains (a baseline given one seed): its training noise
            is unknown and taken to equal `a_runs`' seed-to-seed sd, which adds that variance once to the mean's.
            An assumption, not an estimate: the interval is given, every p is nan.

    Returns:
        {"diff", "low", "high", "p", "df", "df_items", "clusters", "se", "se_seeds", "se_items", "seeds", "p_margin",
        "p_beyond", "pred_low", "pred_high"}: ``p`` two-sided against 0; ``p_margin`` one-sided against "hybrid
        loses δ or more" and ``p_beyond`` against "it loses δ or less" (nan without a margin); ``df`` the seeds'
        degrees of freedom (S − 1), ``df_items`` the clusters' (G − 1); ``pred_low``/``pred_high`` a 95 %
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
    keep = ["article"] if all("article" in f.columns for f in a_runs) else []
    diffs = []
    for s, (a, b) in enumerate(zip(a_runs, b_runs)):
        merged = a[[*on, *keep, metric]].merge(b[[*on, metric]], on=on, suffixes=("_a", "_b"), validate="one_to_one")
        diffs.append(merged.assign(seed=s, d=merged[f"{metric}_a"] - merged[f"{metric}_b"])[[*on, *keep, "seed", "d"]])
    stacked = pd.concat(diffs, ignore_index=True)
    per_seed = np.array([_macro_of(part, "d") for _, part in stacked.groupby("seed")])
    averaged = stacked.groupby([*on, *keep], as_index=False, dropna=False)["d"].mean()
    values, present, clusters = _cell_matrix_clusters(averaged, "d")
    diff = float(_macro(values, present, np.ones((1, len(values))))[0])
    out = combined_parts(diff, per_seed, _item_draws(values, present, n_boot, seed, clusters), int(clusters.max()) + 1,
                         level=level, margin=margin, sign=sign, single_run=single_run)
    if len(per_seed) > 1:
        sd = float(np.std(per_seed, ddof=1))
        half = scipy_stats.t.ppf((1 + level) / 2, len(per_seed) - 1) * sd * np.sqrt(1 + 1 / len(per_seed) + single_run)
        out.update(pred_low=diff - half, pred_high=diff + half)
    return out


def combined_parts(diff: float, per_seed: np.ndarray, item_draws: np.ndarray, n_clusters: int | None, *,
                   level: float = 0.95, margin: float | None = None, sign: int = 1,
                   single_run: bool = False) -> dict[str, float]:
    """`combined_test` from its parts: the difference, the per-seed differences (S,), the bootstrap draws over
    clusters of the seed-averaged difference (n_boot,) or, as a number, their sd, and the number of
    clusters G (None: unknown, as many as the normal approximation needs). The simulation and `power` use it.

    Args:
        diff: the seed-averaged difference (the tables' number).
        per_seed: the per-seed differences of macro means.
        item_draws: bootstrap draws of the seed-averaged difference over clusters, or their sd as a float.
        n_clusters: the clusters resampled (articles or items).
        level: the interval's coverage.
        margin: a non-inferiority margin δ, as in `combined_test`.
        sign: the claimed direction, as in `combined_test`.
        single_run: as in `combined_test`.

    Returns:
        As `combined_test`, without the prediction interval (nan).
    """
    nan = float("nan")
    per_seed = np.asarray(per_seed, dtype=float)
    n_seeds = len(per_seed)
    g = n_clusters if n_clusters is not None else np.inf
    se_items = cluster_se(item_draws, g)
    df_items = g - 1 if g > 1 else np.inf
    sd = float(np.std(per_seed, ddof=1)) if n_seeds > 1 else nan
    se_seeds = sd * np.sqrt(1 / n_seeds + (1 if single_run else 0)) if n_seeds > 1 else 0.0
    df = float(n_seeds - 1) if n_seeds > 1 else nan
    out = {"diff": diff, "low": nan, "high": nan, "p": nan, "df": df, "df_items": float(df_items), "clusters": float(g),
           "se": float(np.hypot(se_seeds, se_items)), "se_seeds": se_seeds, "se_items": se_items, "seeds": n_seeds,
           "p_margin": nan, "p_beyond": nan, "pred_low": nan, "pred_high": nan}
    if n_seeds < 2 or not out["se"] > 0:  # one run a side: no training noise to estimate; no spread: no interval
        return out
    parts = (se_seeds, df, se_items, df_items)
    half = both_noises((1 - level) / 2, *parts)
    out.update(low=float(diff - half), high=float(diff + half))
    if single_run:  # the other side's training noise is assumed, not estimated: no p-value
        return out
    out["p"] = min(1.0, 2 * one_sided_p(abs(diff), *parts))
    if margin is not None:
        out["p_margin"] = one_sided_p(sign * diff + margin, *parts)  # H0: the loss is ≥ δ
        out["p_beyond"] = one_sided_p(-sign * diff - margin, *parts)  # H0: the loss is ≤ δ
    return out


def cluster_se(item_draws: np.ndarray | float, n_clusters: float) -> float:
    """The item part's standard error from bootstrap draws over G clusters (or their sd, a number): their sd times
    √(G / (G − 1)), as the bootstrap's variance of a mean divides by G where the t with G − 1 df wants G − 1;
    unchanged with G unknown (inf) or 1."""
    sd = float(np.std(item_draws, ddof=1)) if np.ndim(item_draws) else float(item_draws)
    return sd * float(np.sqrt(n_clusters / (n_clusters - 1))) if np.isfinite(n_clusters) and n_clusters > 1 else sd


def both_noises(alpha: float, se_seeds: float | np.ndarray, df_seeds: float, se_items: float | np.ndarray,
                df_items: float) -> float | np.ndarray:
    """The half-width of `combined_test`'s interval whose each end leaves out `alpha` (0.025: the 95 % interval):
    √((t_{1−α}(df_seeds) · se_seeds)² + (t_{1−α}(df_items) · se_items)²), Banerjee's (1961) sum of the two parts'
    own t half-widths; never below either part's own. Broadcasts over arrays of standard errors.

    Args:
        alpha: the one-sided tail.
        se_seeds: the seeds' part of the standard error.
        df_seeds: its degrees of freedom (seeds − 1).
        se_items: the items' (clusters') part.
        df_items: its degrees of freedom (clusters − 1; inf: normal).
    """
    from scipy import stats as scipy_stats

    seeds = scipy_stats.t.isf(alpha, df_seeds) * se_seeds if df_seeds > 0 else 0.0 * se_seeds
    items = (scipy_stats.t.isf(alpha, df_items) if np.isfinite(df_items) else scipy_stats.norm.isf(alpha)) * se_items
    return np.hypot(seeds, items)


def one_sided_p(gap: float, se_seeds: float, df_seeds: float, se_items: float, df_items: float) -> float:
    """The one-sided p of `both_noises`' interval for an estimate `gap` above the null's boundary (estimate −
    boundary): the α at which the one-sided bound just reaches the boundary (0.5 at gap 0, above 0.5 where the
    estimate is on the null's side).

    Args:
        gap: the estimate minus the null's boundary, signed so that positive is against the null.
        se_seeds: as in `both_noises`.
        df_seeds: as in `both_noises`.
        se_items: as in `both_noises`.
        df_items: as in `both_noises`.
    """
    from scipy import optimize

    if gap < 0:
        return 1 - one_sided_p(-gap, se_seeds, df_seeds, se_items, df_items)
    if gap == 0:
        return 0.5

    def excess(log_p: float) -> float:  # the bound's half-width at α = 10**log_p, minus the gap; falls with α
        return float(both_noises(10**log_p, se_seeds, df_seeds, se_items, df_items)) - gap

    if excess(-300) < 0:
        return 0.0
    return float(10 ** optimize.brentq(excess, -300, np.log10(0.5), xtol=1e-10))


def mean_interval(values: Sequence[float], ci_low: Sequence[float], ci_high: Sequence[float], *,
                  level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the mean of a strategy's per-seed values and an interval of that mean with both noises,
    from summary.csv alone: the seeds' sd / √n (n − 1 df) and the item noise, read from each run's 95 % bootstrap
    CI over parallel items (its half-width / 1.96, averaged over the seeds: the items are the same for every seed,
    so their noise does not shrink with more seeds; normal), joined as `combined_test` joins them (`both_noises`),
    so never narrower than the seeds' own t-interval. A single run gives its own CI back.

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
    half = float(both_noises((1 - level) / 2, se_seeds, len(values) - 1, se_items, np.inf))
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
