"""The README's Python examples run as written."""

from __future__ import annotations

import ast
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_python_block_in_the_readme_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no Python example"
    for block in blocks:
        namespace: dict = {}
        exec(compile(block, str(README), "exec"), namespace)
    # the "Score your own retrieval data" example: mAP per setting, then the rank distance
    printed = capsys.readouterr().out.splitlines()
    maps = ast.literal_eval(printed[0])
    assert set(maps) == {"mono", "cross", "multi"} and all(0 < v <= 1 for v in maps.values())
    assert 0 <= float(printed[1]) <= len(namespace["task"].candidates)


def test_the_papers_numbers_in_the_readme_are_the_ones_the_claims_tables_use():
    from hybridlib.results import PAPER_XLMR

    rows = {line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:5]]
            for line in README.read_text().splitlines() if line.startswith(("| XQuAD-R Mo", "| MLQA-R Mo", "| rank distance XQuAD-R"))}
    strategies = ("xx-mono", "xy", "hybrid-0.5")  # the README's columns: X-X-mono, X-Y, Hybrid
    for dataset, label in (("xquad-r", "XQuAD-R Mo / Cr / Mul"), ("mlqa-r", "MLQA-R Mo / Cr / Mul")):
        for strategy, cell in zip(strategies, rows[label]):
            paper = PAPER_XLMR[dataset][strategy]
            assert [float(x) for x in cell.split(" / ")] == [paper["mono_map"], paper["cross_map"], paper["multi_map"]]
    for strategy, cell in zip(strategies, rows["rank distance XQuAD-R / MLQA-R"]):
        assert [float(x) for x in cell.split(" / ")] == [PAPER_XLMR[d][strategy]["rank_distance"] for d in ("xquad-r", "mlqa-r")]


def test_the_readmes_seed_figures_are_what_stats_computes():
    from hybridlib import stats

    text = " ".join(README.read_text().split("**How many seeds.**")[1].split("\n\n")[0].split())
    per_sd = {n: stats.detectable_difference(1.0, n, 1.0, n) for n in (3, 5, 10)}
    assert f"a gap of about {per_sd[3]:.1f} seed sds" in text
    assert f"{per_sd[5]:.1f} with 5 seeds, {per_sd[10]:.1f} with 10" in text
    assert f"sd is at most {0.005 / per_sd[3]:.4f}" in text
    assert f"at an sd of 0.005 it needs {stats.seeds_needed(0.005, 0.005, 0.005)} seeds a side" in text
    assert stats.seeds_needed(0.002, 0.002, 0.005) == 4 and "at 0.002 four" in text
