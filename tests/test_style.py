"""House rules a tool can check. Style (pyproject's [tool.ruff]): no undefined or unused names anywhere; in the
library, sorted imports, annotated public signatures and complete ``Args:`` sections; and (here) an ``Args:``
section wherever a public function takes three or more parameters."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert "No module named ruff" not in proc.stderr, "ruff is missing: install requirements.lock (scripts/setup_env.sh)"
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-1000:]


def test_public_functions_with_three_or_more_parameters_say_what_each_is():
    """STYLE.md 3 asks for Google-style ``Args:``; ruff's D417 checks an ``Args:`` section is complete, this that
    one is there. Two parameters or fewer may be told in the summary line (``write_json(path, obj)``)."""
    missing = []
    for path in sorted((ROOT / "hybridlib").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                params = [a.arg for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs if a.arg not in ("self", "cls")]
                if len(params) >= 3 and "Args:" not in (ast.get_docstring(node) or ""):
                    missing.append(f"{path.name}:{node.lineno} {node.name}({', '.join(params)})")
    assert not missing, "no Args: section in\n" + "\n".join(missing)


def test_citation_file_matches_the_package():
    """CITATION.cff (GitHub's "Cite this repository") names the same version and licence as pyproject."""
    import tomllib

    import yaml

    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert (cff["version"], cff["license"]) == (project["version"], project["license"])
    assert "Apache License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert any("2408.10536" in ref.get("url", "") for ref in cff["references"]), "the reproduced study is cited"
