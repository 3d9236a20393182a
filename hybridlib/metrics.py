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
    """Per query: AP and the 1-based ranks of its relevant candidates (ascending).

    Attributes:
        ap: (n_queries,) average precision; NaN where the query has no relevant candidate.
        ranks: n_queries arrays of ranks, each sorted ascending (empty where nothing is relevant).
    """

    ap: np.ndarray
    ranks: list[np.ndarray]


def rank_relevant(scores: np.ndarray, relevant: np.ndarray, chunk: int = 512) -> RankedRelevant:
    """AP and relevant ranks of every query over its whole pool.

    AP = (1/|R|) * sum over relevant r of |{r' in R : s_r' >= s_r}| / |{c : s_c >= s_r}|, which equals
    sklearn's step-wise sum over distinct thresholds (tied scores form one threshold).

    Args:
        scores: (n_queries, n_candidates) similarity; higher is better.
        relevant: (n_queries, n_candidates) bool.
        chunk: queries per block (bounds memory at chunk * n_candidates floats).
    """
    if scores.shape != relevant.shape:
        raise ValueError(f"scores {scores.shape} and relevant {relevant.shape} differ in shape")
    n_q, n = scores.shape
    ap = np.full(n_q, np.nan)
    ranks: list[np.ndarray] = [np.zeros(0, np.int64)] * n_q
    for start in range(0, n_q, chunk):
        s = torch.from_numpy(np.ascontiguousarray(scores[start : start + chunk]))
        rel = relevant[start : start + chunk]
        n_rel = rel.sum(axis=1)
        width = max(int(n_rel.max()), 1) if len(n_rel) else 1
        # (q, width) relevant candidates' positions, padded with the first position (masked below)
        pos = np.zeros((len(rel), width), dtype=np.int64)
        mask = np.arange(width)[None, :] < n_rel[:, None]
        pos[mask] = np.nonzero(rel)[1]
        pos_t = torch.from_numpy(pos)
        rel_s = torch.gather(s, 1, pos_t)  # (q, width) relevant scores
        sorted_s = torch.sort(s, dim=1).values  # ascending
        n_ge = n - torch.searchsorted(sorted_s, rel_s, right=False)  # candidates scoring >= s_r
        n_gt = n - torch.searchsorted(sorted_s, rel_s, right=True)  # candidates scoring > s_r
        m = torch.from_numpy(mask)
        # relevant candidates scoring >= s_r: search the query's relevant scores (padding = -inf, never counted)
        padded = torch.where(m, rel_s, torch.full((), -torch.inf, dtype=rel_s.dtype))
        rel_ge = width - torch.searchsorted(torch.sort(padded, dim=1).values, rel_s, right=False)
        prec = torch.where(m, rel_ge.double() / n_ge.double(), torch.zeros((), dtype=torch.float64))
        with np.errstate(invalid="ignore", divide="ignore"):
            ap[start : start + len(rel)] = prec.sum(1).numpy() / n_rel
        rank = (n_gt + 1).numpy()
        for qi, ri in zip(*np.nonzero(mask & ((n_ge - n_gt) > 1).numpy())):  # ties: earlier candidates first
            row, j = scores[start + qi], pos[qi, ri]
            rank[qi, ri] += int((row[:j] == row[j]).sum())
        for qi in range(len(rel)):
            ranks[start + qi] = np.sort(rank[qi, : n_rel[qi]])
    return RankedRelevant(ap=ap, ranks=ranks)


def _per_query(ranks: list[np.ndarray], fn) -> np.ndarray:
    return np.array([fn(r) if len(r) else np.nan for r in ranks], dtype=float)


def recall_at_k(ranks: list[np.ndarray], k: int) -> np.ndarray:
    """R@k = |relevant with rank <= k| / |relevant|, per query (matches ir-measures R@k on tie-free runs)."""
    return _per_query(ranks, lambda r: float((r <= k).sum()) / len(r))


def accuracy_at_1(ranks: list[np.ndarray]) -> np.ndarray:
    """1 if the top-ranked candidate is relevant, else 0 (= Success@1)."""
    return _per_query(ranks, lambda r: float(r[0] == 1))


def mrr_at_k(ranks: list[np.ndarray], k: int = 10) -> np.ndarray:
    """Reciprocal rank of the first relevant candidate, 0 if it ranks below k (ir-measures RR@k)."""
    return _per_query(ranks, lambda r: 1.0 / r[0] if r[0] <= k else 0.0)


def ndcg_at_k(ranks: list[np.ndarray], k: int = 10) -> np.ndarray:
    """Binary-gain nDCG@k: sum over relevant with rank <= k of 1/log2(rank+1), over the ideal DCG@k."""

    def one(r: np.ndarray) -> float:
        dcg = float((1.0 / np.log2(r[r <= k] + 1)).sum())
        ideal = float((1.0 / np.log2(np.arange(1, min(len(r), k) + 1) + 1)).sum())
        return dcg / ideal

    return _per_query(ranks, one)


def rank_distance(ranks: list[np.ndarray]) -> np.ndarray:
    """Language bias (Huang et al., SIGIR 2023): max - min rank of the query's relevant candidates.

    Computed in the multilingual pool, where a query has one relevant candidate per language. Its minimum
    is |relevant| - 1 (all relevant candidates consecutive); 0 with a single relevant candidate.
    """
    return _per_query(ranks, lambda r: float(r[-1] - r[0]))
