"""Retrieval metrics over a query's full ranking, each specified exactly (formula, cutoff, ties, reference).

All metrics start from `rank_relevant`, which scores every candidate of the pool (no top-k truncation), so
AP and rank distance see the whole ranking.

Tie rules:

- **AP** treats tied scores as one threshold, exactly as ``sklearn.metrics.average_precision_score``.
- **Ranks** (R@k, MRR@k, nDCG@k, accuracy@1, rank distance) break ties by candidate order in the pool,
  earlier first: the rank of candidate j is its position in ``np.argsort(-scores, kind="stable")`` plus 1.
  The tests cross-check both rules against those references, ties included.

Queries with no relevant candidate in the pool have no value (NaN) and are left out of every mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class RankedRelevant:
    """Per query: AP and the 1-based ranks of its relevant candidates.

    Attributes:
        ap: (n_queries,) average precision; NaN where the query has no relevant candidate.
        ranks: (n_queries, max relevant) ranks, ascending per row, padded with +inf.
    """

    ap: np.ndarray
    ranks: np.ndarray

    @property
    def n_relevant(self) -> np.ndarray:
        return np.isfinite(self.ranks).sum(axis=1)


# Up to this many relevant candidates per query, counting by comparison beats sorting the pool.
_COMPARE_MAX = 16


def rank_relevant(scores: np.ndarray, relevant: np.ndarray, chunk: int = 512) -> RankedRelevant:
    """AP and relevant ranks of every query over its whole pool.

    AP = (1/|R|) * sum over relevant r of |{r' in R : s_r' >= s_r}| / |{c : s_c >= s_r}|, which equals
    sklearn's step-wise sum over distinct thresholds (tied scores form one threshold).
    Rank of relevant r = |{c : s_c > s_r}| + |{c before r in the pool : s_c = s_r}| + 1 (stable sort order).

    Args:
        scores: (n_queries, n_candidates) similarity; higher is better.
        relevant: (n_queries, n_candidates) bool.
        chunk: queries per block (bounds memory at chunk * n_candidates floats).
    """
    if scores.shape != relevant.shape:
        raise ValueError(f"scores {scores.shape} and relevant {relevant.shape} differ in shape")
    n_q = scores.shape[0]
    n_rel_all = relevant.sum(axis=1)
    width = max(int(n_rel_all.max()) if n_q else 0, 1)
    ap = np.full(n_q, np.nan)
    ranks = np.full((n_q, width), np.inf)
    for start in range(0, n_q, chunk):
        block, rel = scores[start : start + chunk], relevant[start : start + chunk]
        n_rel = n_rel_all[start : start + chunk]
        mask = np.arange(width)[None, :] < n_rel[:, None]  # (q, width) real entries
        pos = np.zeros((len(rel), width), dtype=np.int64)  # positions of relevant candidates (padding: 0)
        pos[mask] = np.nonzero(rel)[1]
        rel_s = np.take_along_axis(block, pos, axis=1)  # (q, width) their scores
        n_gt, n_ge = _count_above(block, rel_s)
        rel_ge = _count_relevant_above(rel_s, mask)
        with np.errstate(invalid="ignore", divide="ignore"):
            ap[start : start + len(rel)] = np.where(mask, rel_ge / n_ge, 0.0).sum(axis=1) / n_rel
        rank = (n_gt + 1).astype(np.float64)
        for qi, ri in zip(*np.nonzero(mask & (n_ge - n_gt > 1))):  # ties: earlier candidates first
            row, j = block[qi], pos[qi, ri]
            rank[qi, ri] += int((row[:j] == row[j]).sum())
        ranks[start : start + len(rel)] = np.sort(np.where(mask, rank, np.inf), axis=1)
    return RankedRelevant(ap=ap, ranks=ranks)


def _count_above(block: np.ndarray, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(# candidates scoring > t, # scoring >= t) per (query, threshold); thresholds (q, w)."""
    if thresholds.shape[1] <= _COMPARE_MAX:
        gt = np.stack([(block > thresholds[:, [k]]).sum(axis=1) for k in range(thresholds.shape[1])], axis=1)
        ge = np.stack([(block >= thresholds[:, [k]]).sum(axis=1) for k in range(thresholds.shape[1])], axis=1)
        return gt, ge
    s = torch.sort(torch.from_numpy(np.ascontiguousarray(block)), dim=1).values  # ascending
    t = torch.from_numpy(np.ascontiguousarray(thresholds))
    n = block.shape[1]
    return (n - torch.searchsorted(s, t, right=True)).numpy(), (n - torch.searchsorted(s, t, right=False)).numpy()


def _count_relevant_above(rel_s: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """# relevant candidates of the same query scoring >= each relevant score; (q, w)."""
    padded = np.where(mask, rel_s, -np.inf)
    if rel_s.shape[1] <= _COMPARE_MAX:
        return (padded[:, None, :] >= rel_s[:, :, None]).sum(axis=2)
    s = torch.sort(torch.from_numpy(padded), dim=1).values
    return rel_s.shape[1] - torch.searchsorted(s, torch.from_numpy(np.ascontiguousarray(rel_s)), right=False).numpy()


def _no_relevant(ranks: np.ndarray) -> np.ndarray:
    return ~np.isfinite(ranks[:, 0])


def recall_at_k(ranks: np.ndarray, k: int) -> np.ndarray:
    """R@k = |relevant with rank <= k| / |relevant|, per query (ir-measures R@k on tie-free runs)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ranks <= k).sum(axis=1) / np.isfinite(ranks).sum(axis=1)


def accuracy_at_1(ranks: np.ndarray) -> np.ndarray:
    """1 if the top-ranked candidate is relevant, else 0 (= Success@1)."""
    return np.where(_no_relevant(ranks), np.nan, (ranks[:, 0] == 1).astype(float))


def mrr_at_k(ranks: np.ndarray, k: int = 10) -> np.ndarray:
    """Reciprocal rank of the first relevant candidate, 0 if it ranks below k (ir-measures RR@k)."""
    first = ranks[:, 0]
    return np.where(_no_relevant(ranks), np.nan, np.where(first <= k, 1.0 / first, 0.0))


def ndcg_at_k(ranks: np.ndarray, k: int = 10) -> np.ndarray:
    """Binary-gain nDCG@k: sum over relevant with rank <= k of 1/log2(rank+1), over the ideal DCG@k."""
    gains = np.where(ranks <= k, 1.0 / np.log2(np.minimum(ranks, k) + 1), 0.0).sum(axis=1)
    ideal_prefix = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(1, k + 1) + 1))])
    n_ideal = np.minimum(np.isfinite(ranks).sum(axis=1), k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_ideal > 0, gains / ideal_prefix[n_ideal], np.nan)


def rank_distance(ranks: np.ndarray) -> np.ndarray:
    """Language bias (Huang et al., SIGIR 2023): max - min rank of the query's relevant candidates.

    Computed in the multilingual pool, where a query has one relevant candidate per language. Its minimum
    is |relevant| - 1 (all relevant candidates consecutive); 0 with a single relevant candidate.
    """
    n = np.isfinite(ranks).sum(axis=1)
    last = ranks[np.arange(len(ranks)), np.maximum(n - 1, 0)]
    with np.errstate(invalid="ignore"):
        return np.where(n > 0, last - ranks[:, 0], np.nan)


def own_language_first(scores: np.ndarray, relevant: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Language preference (ours, not the paper's): 1 if the best-ranked relevant candidate is in the query's own
    language, else 0; ranks as above (ties broken by pool order). Rank distance says how far apart a query's
    answers in different languages rank; this says which language comes first.

    NaN unless the query has relevant candidates both in its language and in another, so that either answer was
    possible. A ranking blind to language puts an own-language answer first with probability `own_language_share`.

    Args:
        scores: (n_queries, n_candidates) similarity over the multilingual pool.
        relevant: (n_queries, n_candidates) bool.
        own: (n_candidates,) bool: the candidate is in the queries' language.
    """
    best = np.where(relevant, scores, -np.inf).argmax(axis=1)  # the first maximum: pool order breaks ties
    defined = (relevant & own).any(axis=1) & (relevant & ~own).any(axis=1)
    return np.where(defined, own[best].astype(float), np.nan)


def own_language_share(relevant: np.ndarray, own: np.ndarray) -> np.ndarray:
    """`own_language_first`'s chance level: the share of a query's relevant candidates in its own language (1/L
    with one answer per language); NaN where `own_language_first` is.

    Args:
        relevant: (n_queries, n_candidates) bool.
        own: (n_candidates,) bool: the candidate is in the queries' language.
    """
    n_own, n_other = (relevant & own).sum(axis=1), (relevant & ~own).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((n_own > 0) & (n_other > 0), n_own / (n_own + n_other), np.nan)
