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
