"""The power planner (`hybridlib.power`): its power is the seed-paired t-test's, more noise needs more, few seeds
need the t's quantile, and it reads a snapshot's files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hybridlib import power

SNAPSHOT = Path(__file__).parent.parent / "snapshots" / "small-budgets-2026-12-07"


def test_power_is_the_one_sided_t_tests_over_seeds():
    from scipy import stats as scipy_stats

    rng = np.random.default_rng(0)
    alpha, sd = 0.01, 0.004
    for seeds in (3, 6):
        differences = rng.normal(0.007, sd, (20000, seeds))  # no item part: the per-seed differences alone
        t = differences.mean(axis=1) / (differences.std(axis=1, ddof=1) / np.sqrt(seeds))
        simulated = (t > scipy_stats.t.isf(alpha, seeds - 1)).mean()
        assert power.power(0.007, sd, 0.0, seeds, 100, alpha) == pytest.approx(simulated, abs=0.01)


def test_more_item_noise_needs_more_items_and_few_seeds_need_more_than_the_normal_approximation():
    from scipy import stats as scipy_stats

    alpha, effect = 0.05 / 16, 0.007
    quiet = power.items_for(effect, 0.003, 0.02, 10, alpha)
    noisy = power.items_for(effect, 0.003, 0.04, 10, alpha)
    assert quiet < noisy and noisy == pytest.approx(4 * quiet, rel=0.05), "item variance ×4: items ×4"
    assert power.items_for(effect, 0.01, 0.02, 3, alpha) is None, "3 seeds: the seed part alone keeps power low"

    def normal_seeds(sd_seeds: float, se_items: float) -> int:  # the z-test's count, as if the seeds' sd were known
        return next(n for n in range(2, 500) if scipy_stats.norm.sf(scipy_stats.norm.isf(alpha) - effect / np.sqrt(
            sd_seeds**2 / n + se_items**2)) >= 0.8)

    t_seeds = power.seeds_for(effect, 0.004, 0.02, 354, alpha)
    assert t_seeds > normal_seeds(0.004, 0.02 / np.sqrt(354)) + 2, (t_seeds, normal_seeds(0.004, 0.02 / np.sqrt(354)))
    assert power.power(effect, 0.004, 0.02, t_seeds, 354, alpha) >= 0.8 > power.power(effect, 0.004, 0.02, t_seeds - 1, 354, alpha)
    assert power.seeds_for(effect, 0.004, 0.2, 354, alpha) is None, "items' noise alone above the effect: never"


def test_plan_reads_a_snapshot_and_prints_seeds_and_items_per_claim(capsys):
    from hybridlib.cli import main

    rows = power.variances(SNAPSHOT)
    assert len(rows) == 60 and set(rows["family"]) == {6, 8}, "8 claims a column, 6 on mtop-parallel (no Mo)"
    # the items' part recovered from the interval with both noises is the items-only bootstrap's, ±10 %
    frame = pd.read_csv(SNAPSHOT / "tables" / "comparisons.csv", keep_default_na=False, na_values=[""])
    queries = frame[(frame["test"] == "queries") & (frame["languages"] == "all") & frame["claim"].notna()]
    from_ci = ((queries["high"] - queries["low"]) / 2 / 1.96).to_numpy()
    assert rows["se_items"].to_numpy() == pytest.approx(from_ci[queries["diff"].notna().to_numpy()], rel=0.1)
    assert main(["plan", "--power", str(SNAPSHOT), "--pairs", "3840", "--dataset", "xquad-r", "--items", "xquad-r=354"]) == 0
    out = capsys.readouterr().out
    assert "### xquad-r · me5-240steps · 3,840 pairs" in out and "mlqa-r" not in out
    line = next(x for x in out.splitlines() if x.startswith("| Cr mAP ≥ xy's"))
    cells = [cell.strip() for cell in line.split("|")[1:-1]]
    assert cells[5] == "354" and cells[8] == "never", "at 3 seeds no number of items is enough"
    assert int(cells[7]) > 3 and int(cells[10].replace(",", "")) < 354 * 10, "more seeds, or 10 seeds and more items"
