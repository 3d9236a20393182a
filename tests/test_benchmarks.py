"""The benchmark scripts keep working: each runs a tiny configuration on the CPU and prints its table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "script,args,header",
    [
        ("train_step.py", ["--tiny", "--steps", "2", "--configs", "baseline,default,blocking-copy", "--profile", "{tmp}/profile.txt"], "| model | config | step ms (median)"),
        ("encode.py", ["--tiny", "--forward-only", "--workers", "0,1", "--compile"], "| model | batch | path | passages/s"),
        ("sampler.py", ["--groups", "20000", "--batches", "50"], "| strategy | plan setup s"),
        ("loader.py", ["--tiny", "--batches", "3"], "| model | hard negatives | host ms per batch (median)"),
        ("tables.py", ["--tiny"], "| stage | seconds | peak memory GiB"),
        ("cpu_study.py", ["--tiny", "--steps", "3", "--configs", "before,after"], "| config | length | chunk | multiple |"),
    ],
)
def test_benchmark_prints_its_table(script, args, header, tmp_path):
    args = [a.format(tmp=tmp_path) for a in args]
    proc = subprocess.run([sys.executable, script, *args], cwd=BENCH, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert header in proc.stdout
    table = [line for line in proc.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(table) >= 2, proc.stdout  # header + at least one measured row
    if "--compile" in args:
        assert "| forward only (pre-tokenized), compiled layers |" in proc.stdout
    if "--profile" in args:
        assert "kernel launches/step" in (tmp_path / "profile.txt").read_text()
