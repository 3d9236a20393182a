"""House rules a tool can check. Style (pyproject's [tool.ruff]): no undefined or unused names anywhere; in the
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


def test_citation_file_matches_the_package():
    """CITATION.cff (GitHub's "Cite this repository") names the same version and licence as pyproject."""
    import tomllib

    import yaml

    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert (cff["version"], cff["license"]) == (project["version"], project["license"])
    assert "Apache License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert any("2408.10536" in ref.get("url", "") for ref in cff["references"]), "the reproduced study is cited"
