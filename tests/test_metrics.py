"""Metrics on hand-computed cases, and cross-checked against their references (sklearn AP; a stable sort) with ties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import average_precision_score

from hybridlib import metrics


def one(scores, relevant):
    r = metrics.rank_relevant(np.array([scores], dtype=np.float32), np.array([relevant], dtype=bool))
    return r.ap[0], r.ranks[0][np.isfinite(r.ranks[0])]


def test_hand_computed_ap_and_ranks():
    # ranking: c0 (rel), c1, c2 (rel), c3 -> AP = (1/1 + 2/3) / 2
    ap, ranks = one([0.9, 0.8, 0.7, 0.1], [1, 0, 1, 0])
    assert ap == pytest.approx((1 + 2 / 3) / 2)
    assert ranks.tolist() == [1, 3]


def test_ties_form_one_threshold_for_ap_and_break_by_position_for_ranks():
    # c1 (relevant) ties with c0 and c2: sklearn counts all three at that threshold -> precision 1/3
    ap, ranks = one([0.5, 0.5, 0.5, 0.1], [0, 1, 0, 0])
    assert ap == pytest.approx(1 / 3)
    assert ap == pytest.approx(average_precision_score([0, 1, 0, 0], [0.5, 0.5, 0.5, 0.1]))
    assert ranks.tolist() == [2], "stable tie rule: the earlier tied candidate ranks first"


def test_rank_based_metrics_by_hand():
    inf = np.inf
    ranks = np.array([[2, 5, 11], [1, inf, inf], [inf, inf, inf]])
    np.testing.assert_allclose(metrics.recall_at_k(ranks, 1), [0, 1, np.nan])
    np.testing.assert_allclose(metrics.recall_at_k(ranks, 10), [2 / 3, 1, np.nan])
    np.testing.assert_allclose(metrics.accuracy_at_1(ranks), [0, 1, np.nan])
    np.testing.assert_allclose(metrics.mrr_at_k(ranks, 10), [0.5, 1, np.nan])
    np.testing.assert_allclose(metrics.mrr_at_k(np.array([[11.0]]), 10), [0.0])
    ideal = 1 + 1 / np.log2(3) + 1 / np.log2(4)
    np.testing.assert_allclose(metrics.ndcg_at_k(ranks, 10)[:2], [(1 / np.log2(3) + 1 / np.log2(6)) / ideal, 1.0])
    np.testing.assert_allclose(metrics.rank_distance(ranks), [9, 0, np.nan])


def test_no_relevant_candidate_gives_nan():
    ap, ranks = one([0.3, 0.2], [0, 0])
    assert np.isnan(ap) and len(ranks) == 0


def stable_ranks(scores: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    order = np.argsort(-scores, kind="stable")
    rank = np.empty(len(scores), dtype=int)
    rank[order] = np.arange(1, len(scores) + 1)
    return np.sort(rank[relevant])


@settings(max_examples=200, deadline=None)
@given(
    arrays(np.float32, st.tuples(st.integers(1, 6), st.integers(1, 40)), elements=st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0, -1.0])),
    st.integers(0, 2**31 - 1),
)
def test_matches_sklearn_and_stable_sort_with_heavy_ties(scores, seed):
    rng = np.random.default_rng(seed)
    relevant = rng.random(scores.shape) < rng.uniform(0.05, 0.9)
    result = metrics.rank_relevant(scores, relevant, chunk=4)
    for i in range(len(scores)):
        if not relevant[i].any():
            assert np.isnan(result.ap[i])
            continue
        assert result.ap[i] == pytest.approx(average_precision_score(relevant[i], scores[i]), abs=1e-9)
        got = result.ranks[i][np.isfinite(result.ranks[i])]
        np.testing.assert_array_equal(got, stable_ranks(scores[i], relevant[i]))


def test_random_float_scores_match_sklearn():
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((50, 300)).astype(np.float32)
    relevant = rng.random((50, 300)) < 0.03
    relevant[:, 0] = True
    result = metrics.rank_relevant(scores, relevant, chunk=7)
    ref = [average_precision_score(relevant[i], scores[i]) for i in range(50)]
    np.testing.assert_allclose(result.ap, ref, atol=1e-9)
    k = 10
    np.testing.assert_allclose(metrics.recall_at_k(result.ranks, k), [(stable_ranks(scores[i], relevant[i]) <= k).mean() for i in range(50)])


def test_many_relevant_candidates_take_the_sorting_path():
    rng = np.random.default_rng(1)
    scores = rng.integers(0, 5, size=(20, 200)).astype(np.float32)  # ties everywhere
    relevant = rng.random((20, 200)) < 0.4  # ~80 relevant per query, past the comparison path
    result = metrics.rank_relevant(scores, relevant, chunk=6)
    for i in range(20):
        assert result.ap[i] == pytest.approx(average_precision_score(relevant[i], scores[i]), abs=1e-9)
        np.testing.assert_array_equal(result.ranks[i][np.isfinite(result.ranks[i])], stable_ranks(scores[i], relevant[i]))
    ranks = result.ranks
    manual = [(1.0 / np.log2(r[r <= 10] + 1)).sum() / (1.0 / np.log2(np.arange(1, min(len(r), 10) + 1) + 1)).sum() for r in (stable_ranks(scores[i], relevant[i]) for i in range(20))]
    np.testing.assert_allclose(metrics.ndcg_at_k(ranks, 10), manual)


def test_own_language_first_by_hand():
    own = np.array([True, True, False, False, False])  # candidates 0-1 in the query's language
    scores = np.array([[0.2, 0.9, 0.9, 0.1, 0.0],   # relevant 0 and 2: 2 (other) outranks 0
                       [0.5, 0.9, 0.5, 0.1, 0.0],   # relevant 0 and 2 tie: the earlier in the pool, 0 (own), first
                       [0.5, 0.9, 0.7, 0.1, 0.0],   # only own-language answers: undefined
                       [0.1, 0.2, 0.3, 0.4, 0.5]])  # no answer: undefined
    relevant = np.array([[1, 0, 1, 0, 0], [1, 0, 1, 0, 0], [1, 1, 0, 0, 0], [0, 0, 0, 0, 0]], dtype=bool)
    np.testing.assert_array_equal(metrics.own_language_first(scores, relevant, own), [0, 1, np.nan, np.nan])
    both = np.array([[1, 0, 1, 1, 0]] * 4, dtype=bool)  # one own-language answer of three
    np.testing.assert_allclose(metrics.own_language_share(both, own), [1 / 3] * 4)
    np.testing.assert_array_equal(metrics.own_language_share(relevant, own), [0.5, 0.5, np.nan, np.nan])


@settings(max_examples=200, deadline=None)
@given(
    arrays(np.float32, st.tuples(st.integers(1, 6), st.integers(2, 30)), elements=st.sampled_from([0.0, 0.5, 1.0, -1.0])),
    st.integers(0, 2**31 - 1),
)
def test_own_language_first_is_the_language_of_the_first_relevant_rank(scores, seed):
    """Against the stable sort that defines every rank, ties included."""
    rng = np.random.default_rng(seed)
    relevant = rng.random(scores.shape) < 0.4
    own = rng.random(scores.shape[1]) < 0.4
    got = metrics.own_language_first(scores, relevant, own)
    for i in range(len(scores)):
        if not (relevant[i] & own).any() or not (relevant[i] & ~own).any():
            assert np.isnan(got[i])
            continue
        first = next(j for j in np.argsort(-scores[i], kind="stable") if relevant[i, j])
        assert got[i] == float(own[first])
