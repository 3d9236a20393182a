"""Figures read only summary rows; the α sweep maps xy to α = 0 and xx-mono to α = 1."""

from __future__ import annotations

import pandas as pd
import pytest

from hybridlib.claims import CLAIMS, claims_table, comparisons_frame
from hybridlib import figures, storage


def summary_rows() -> pd.DataFrame:
    rows = []
    for strategy, alpha, mono in [("xy", None, 0.80), ("xx-mono", None, 0.90), ("hybrid-0.25", 0.25, 0.84), ("hybrid-0.5", 0.5, 0.86), ("en", None, 0.7)]:
        for seed in range(3):
            rows.append({"dataset": "xquad-r", "model": "xlmr", "strategy": strategy, "alpha": alpha, "seed": seed,
                         "mono_map": mono + seed * 0.001, "cross_map": 0.6, "multi_map": 0.5, "rank_distance": 300.0})
    return pd.DataFrame(rows)


def test_alpha_points_alias_xy_and_xx_mono():
    points = figures.alpha_points(summary_rows(), "xquad-r", "xlmr")
    assert sorted(points["alpha"].unique()) == [0.0, 0.25, 0.5, 1.0]
    assert "en" not in set(points["strategy"])
    assert abs(points[points["alpha"] == 1.0]["mono_map"].mean() - 0.901) < 1e-12


def test_alpha_sweep_figure_is_drawn_only_with_three_alphas(tmp_path):
    fig = figures.alpha_sweep(summary_rows(), "xquad-r", "xlmr", "test")
    assert fig is not None and "α sweep" in fig._suptitle.get_text()
    figures.save(fig, tmp_path / "a.png")
    assert (tmp_path / "a.png").stat().st_size > 1000
    assert len(fig.axes) == 2, "no own-language first in these rows: no third panel"
    own = summary_rows().assign(multi_own_first=lambda f: 1 - f["mono_map"], multi_own_share=0.1)
    third = figures.alpha_sweep(own, "xquad-r", "xlmr", "test").axes[2]
    (line,) = [line for line in third.lines if line.get_marker() == "o"]
    assert list(line.get_xdata()) == [0.0, 0.25, 0.5, 1.0]
    assert list(line.get_ydata()) == pytest.approx([0.199, 0.159, 0.139, 0.099]), "1 − mono_map, mean over seeds"
    assert [line.get_ydata()[0] for line in third.lines if line.get_linestyle() == "--"] == [pytest.approx(0.1)], "chance"
    few = summary_rows()
    few = few[few["strategy"].isin(["en", "xy"])]
    assert figures.alpha_sweep(few, "xquad-r", "xlmr", "test") is None


def test_strategy_figures_name_profile_dataset_and_model(tmp_path):
    """A PNG found on its own says what produced it; pyproject turns deprecations our calls trigger into errors."""
    summary = summary_rows()
    for draw in (figures.map_by_strategy, figures.rank_distance_by_strategy):
        fig = draw(summary, "xquad-r", "xlmr", "paper")
        title = fig.axes[0].get_title()
        assert all(word in title for word in ("xquad-r", "xlmr", "profile paper")), title
        assert figures.save(fig, tmp_path / f"{draw.__name__}.png").stat().st_size > 1000


def test_comparison_forest_draws_both_intervals_and_marks_a_missing_setting(tmp_path):
    nan = float("nan")
    query = pd.DataFrame([{"strategy": s, "column": c, "diff": d, "low": d - 0.01, "high": d + 0.01, "p": 0.01}
                          for s, d in [("xy", 0.02), ("xx-mono", -0.01)] for c in ("cross_map", "multi_map", "rank_distance")]
                         + [{"strategy": s, "column": "mono_map", "diff": nan, "low": nan, "high": nan, "p": nan} for s in ("xy", "xx-mono")])
    seeds = query.assign(low=query["diff"] - 0.05, high=query["diff"] + 0.05, p=0.4)
    fig = figures.comparison_forest(query, seeds, "hybrid-0.5", "mtop-parallel", "xlmr", "paper")
    title = fig._suptitle.get_text()
    assert all(word in title for word in ("hybrid-0.5 minus each strategy", "mtop-parallel", "xlmr", "profile paper", "both noises"))
    mono = fig.axes[0]
    assert mono.get_title().startswith("Mo") and "not defined" in mono.texts[0].get_text()
    assert [t.get_text() for t in mono.get_yticklabels()] == ["− xy", "− xx-mono"]
    assert figures.save(fig, tmp_path / "forest.png").stat().st_size > 1000


def test_claims_grid_colours_each_claim_by_its_ci_across_seeds(tmp_path):
    nan = float("nan")
    query = pd.DataFrame([{"strategy": "xy", "column": c, "diff": d, "low": d - 0.01, "high": d + 0.01, "p": 0.01}
                          for c, d in [("mono_map", 0.02), ("cross_map", -0.02), ("multi_map", 0.0), ("rank_distance", -5.0)]])
    seeds = query.assign(low=[0.01, -0.05, -0.05, nan], high=[0.03, -0.01, 0.05, nan])
    claims = claims_table([{"dataset": "xquad-r", "model": "xlmr", "reference": "hybrid-0.5", "all": (query, seeds)}])
    fig = figures.claims_grid(claims, "paper")
    colours = fig.axes[0].collections[0].get_array().astype(float).filled(float("nan")).reshape(claims.shape)[:, 0]  # masked: blank
    by_claim = dict(zip(claims.index, colours))
    assert by_claim["Mo mAP > xy's"] == 1.0, "seeds CI above zero: the paper's side"
    assert by_claim["Cr mAP ≥ xy's (keeps X-Y's cross-lingual strength)"] == -1.0
    assert by_claim["Mul mAP ≥ xy's (keeps X-Y's multilingual strength)"] == 0.0, "the CI holds zero"
    assert by_claim["rank distance ≤ xy's (less language bias)"] == 0.0, "no CI across seeds"
    assert pd.isna(by_claim["Mo mAP ≥ xx-mono's (keeps X-X's monolingual strength)"]), "no xx-mono run: left blank"
    assert "profile paper" in fig._suptitle.get_text()
    assert figures.save(fig, tmp_path / "claims.png").stat().st_size > 1000


def test_claims_forest_signs_each_gap_toward_the_papers_side_and_marks_the_papers_gap(tmp_path):
    query = pd.DataFrame([{"strategy": "xy", "column": c, "diff": d, "low": d - 0.01, "high": d + 0.02, "p": 0.01}
                          for c, d in [("mono_map", 0.02), ("cross_map", -0.02), ("multi_map", 0.0), ("rank_distance", 5.0)]])
    frame = comparisons_frame([{"dataset": "xquad-r", "model": "xlmr", "reference": "hybrid-0.5", "all": (query, query)},
                                       {"dataset": "mtop-intent", "model": "xlmr", "reference": "hybrid-0.5", "all": (query, query)}])
    fig = figures.claims_forest(frame, "paper")
    panels = {ax.get_title(): ax for ax in fig.axes}
    assert len(panels) == len(CLAIMS) and "hybrid's Mo mAP > xy's" in panels

    def points(title: str, marker: str) -> list[tuple[float, float]]:
        return [(x, y) for line in panels[title].lines if line.get_marker() == marker for x, y in zip(line.get_xdata(), line.get_ydata())]

    assert points("hybrid's Mo mAP > xy's", "o") == [(0.02, 0), (0.02, 1)]
    # rank distance 5 above xy's is against "≤ xy's": drawn at −5, its CI [4.99, 5.02] at [−5.02, −4.99]
    assert points("hybrid's rank distance ≤ xy's", "o") == [(-5.0, 0), (-5.0, 1)]
    caps = [x for line in panels["hybrid's rank distance ≤ xy's"].lines if line.get_marker() == "|" for x in line.get_xdata()]
    assert sorted(caps) == pytest.approx([-5.02, -5.02, -4.99, -4.99])
    # the paper's gaps on XQuAD-R (row 0) only: Mo .798 − .755; rank distance 286.6 − 295.4, signed for "≤"
    assert points("hybrid's Mo mAP > xy's", "x") == [(pytest.approx(0.043), 0)]
    assert points("hybrid's rank distance ≤ xy's", "x") == [(pytest.approx(8.8), 0)]
    nothing = points("hybrid's Mo mAP ≥ xx-mono's", "o") + points("hybrid's Mo mAP ≥ xx-mono's", "x")
    assert all(pd.isna(x) for x, _ in nothing), "no xx-mono run: nothing drawn, not even the paper's gap"
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["xquad-r · xlmr", "mtop-intent · xlmr"]
    assert figures.save(fig, tmp_path / "claims_forest.png").stat().st_size > 1000


def test_tradeoff_places_each_strategy_at_its_mean_and_joins_the_alpha_path_in_alpha_order(tmp_path):
    summary = summary_rows().assign(cross_map=lambda f: f["strategy"].map({"xy": 0.7, "xx-mono": 0.5, "hybrid-0.25": 0.62,
                                                                             "hybrid-0.5": 0.66, "en": 0.3}))
    summary["rank_distance"] = summary["strategy"].map({"xy": 200.0, "xx-mono": 400.0, "hybrid-0.25": 300.0,
                                                        "hybrid-0.5": 250.0, "en": 500.0}) + summary["seed"].map({0: 0.0, 1: 10.0, 2: 50.0})
    fig = figures.tradeoff(summary, "xquad-r", "xlmr", "paper")
    left, right = fig.axes[:2]
    crosses = {bars.get_label(): tuple(bars.lines[0].get_xydata()[0]) for bars in left.containers}
    assert crosses["hybrid-0.5"] == pytest.approx((0.861, 0.66)) and crosses["en"] == pytest.approx((0.701, 0.3))
    (path,) = [line for line in left.lines if line.get_linestyle() == "--"]
    # α 0 (xy), .25, .5, 1 (xx-mono): the dashed line runs through them in that order
    assert list(path.get_xdata()) == pytest.approx([0.801, 0.841, 0.861, 0.901])
    assert right.xaxis_inverted() and not left.xaxis_inverted(), "rank distance: lower is better, so right is lower"
    crosses = {bars.get_label(): tuple(bars.lines[0].get_xydata()[0]) for bars in right.containers}
    assert crosses["xy"] == pytest.approx((220.0, 0.5)), "the mean over seeds, not the median (210)"
    assert "xquad-r · xlmr · profile paper" in fig._suptitle.get_text()
    assert figures.save(fig, tmp_path / "tradeoff.png").stat().st_size > 1000
    no_mono = figures.tradeoff(summary.assign(mono_map=float("nan")), "xquad-r", "xlmr", "paper")
    assert "not defined" in no_mono.axes[0].texts[0].get_text() and not no_mono.axes[1].texts


def test_language_pair_differences_subtract_each_baselines_matrix_from_hybrids(tmp_path):
    """Means over seeds per (query, target) language pair; Mo on the diagonal, Cr off it."""
    rows = []
    for strategy, level in (("xx-mono", 0.5), ("xy", 0.3), ("hybrid-0.5", 0.4)):
        for seed in range(2):
            rel = f"eval/d/m/{strategy}/seed{seed}"
            cross = {"en": {"de": level * (1 + seed)}, "de": {"en": level}}  # query language -> target -> mAP
            storage.write_json(tmp_path / rel / "metrics.json",
                               {"mono": {"map": {"per_lang": {"en": 2 * level, "de": level}}}, "cross": {"map": {"matrix": cross}}})
            rows.append({"dataset": "d", "model": "m", "strategy": strategy, "seed": seed, "path": rel})
    fig = figures.language_pair_differences(tmp_path, pd.DataFrame(rows), "d", "m", "paper")
    heatmaps = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in heatmaps] == ["hybrid-0.5 − xx-mono", "hybrid-0.5 − xy"]
    # rows and columns (de, en): hybrid − xx-mono = Mo (0.4 − 0.5, 0.8 − 1.0) on the diagonal; Cr de → en 0.4 − 0.5,
    # en → de averaged over the two seeds: 0.4 · 1.5 − 0.5 · 1.5
    cells = [ax.collections[0].get_array().ravel().tolist() for ax in heatmaps]
    assert cells[0] == pytest.approx([-0.1, -0.1, -0.15, -0.2])
    assert cells[1] == pytest.approx([0.1, 0.1, 0.15, 0.2]), "hybrid − xy"
    assert "profile paper" in fig._suptitle.get_text()
    assert figures.save(fig, tmp_path / "differences.png").stat().st_size > 1000
    no_baseline = pd.DataFrame(rows)[lambda f: f["strategy"] == "hybrid-0.5"]
    assert figures.language_pair_differences(tmp_path, no_baseline, "d", "m", "paper") is None
