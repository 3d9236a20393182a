"""House style that a tool can check (pyproject's [tool.ruff]): no undefined or unused names anywhere; in the
library, sorted imports, annotated public signatures and complete ``Args:`` sections."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert "No module named ruff" not in proc.stderr, "ruff is missing: install requirements.lock (scripts/setup_env.sh)"
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-1000:]
