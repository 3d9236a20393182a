"""The four notebooks, executed headlessly by papermill on a tiny profile, as run_all.sh runs them."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml
from fixtures import TINY_PROFILE as TINY

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0*.ipynb"))
pytestmark = pytest.mark.slow



def test_notebooks_are_committed_without_outputs():
    from papermill.inspection import inspect_notebook

    assert len(NOTEBOOKS) == 4
    for path in NOTEBOOKS:
        assert set(inspect_notebook(str(path))) == {"profile", "home"}, f"{path.name}: papermill cannot read its parameters"
        nb = nbformat.read(path, as_version=4)
        assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells), f"{path.name}: no parameters cell"
        assert nb.cells[0].cell_type == "markdown", f"{path.name} must open with what it does and why"
        for cell in nb.cells:
            assert not cell.get("outputs") and not cell.get("execution_count"), f"{path.name}: strip outputs"


def test_all_notebooks_run_on_a_tiny_profile(tmp_path):
    """run_all.sh itself, given a profile by a path relative to the caller's folder (a copy of a shipped profile,
    as docs/extending.md invites): the notebooks find it from their own folder and the results go under its name."""
    import os
    import subprocess

    profile = tmp_path / "configs" / "my.yaml"
    profile.parent.mkdir()
    profile.write_text(yaml.safe_dump(TINY))
    home = tmp_path / "home"
    run = subprocess.run(["bash", str(ROOT / "run_all.sh"), "--profile", "configs/my.yaml"], cwd=tmp_path, text=True,
                         capture_output=True, env={**os.environ, "HYBRIDLIB_HOME": str(home)})
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "done in" in run.stdout and str(home / "results" / "tiny" / "summary.csv") in run.stdout
    assert not (home / "results" / "configs").exists(), "results under the profile's name, not its path"
    executed = home / "results" / "tiny" / "notebooks"
    summary = pd.read_csv(home / "results" / "tiny" / "summary.csv")
    assert sorted(summary["strategy"]) == ["hybrid-0.5", "off-the-shelf", "xy"]
    for column in ["dataset", "model", "strategy", "alpha", "seed", "mono_map", "cross_map", "multi_map", "mono_r1", "cross_r1", "multi_r10", "rank_distance"]:
        assert column in summary.columns
    assert summary["multi_map"].between(0, 1).all()
    figures = sorted(p.name for p in (home / "figures" / "tiny").glob("*.png"))
    assert len(figures) >= 4 and "batch_composition.png" in figures
    assert (home / "results" / "tiny" / "tables" / "synthetic__smoke-bert.md").exists()
    run = home / "results" / "tiny" / "runs" / "smoke-bert" / "xy" / "seed0"
    assert {"config.json", "environment.json", "model", "train_log.json"} <= {p.name for p in run.iterdir()}
    # what each notebook shows a reader, in its executed copy
    shown = {path.name[:2]: executed_outputs(executed / path.name) for path in NOTEBOOKS}
    assert "unseen at training" in shown["01"]["html"] and "kept apart" in shown["01"]["html"], "01: what is held out"
    assert "pair_id" in shown["01"]["html"], "01: one parallel group"
    assert "query lang" in shown["02"]["html"] and "passage lang" in shown["02"]["html"], "02: a decoded batch per strategy"
    assert shown["02"]["images"] == 2, "02: the batch composition and the loss curves"
    assert "mono_map" in shown["03"]["html"] and "[" in shown["03"]["html"], "03: the main table with CIs"
    assert shown["03"]["images"] == 1, "03: the per-language heatmap"
    assert "relevant" in shown["03"]["html"], "03: what a model retrieves"
    assert "The paper's claims about hybrid" in shown["04"]["markdown"] and "Main results" in shown["04"]["markdown"]
    assert shown["04"]["images"] == 2, "04: the trade-off figure and the claims forest"


@pytest.mark.parametrize("strategies", [["off-the-shelf"], ["off-the-shelf", "xy"]])
def test_a_profile_that_compares_less_than_the_study_runs_to_the_end(tmp_path, strategies):
    """A profile of one's own with off-the-shelf alone (evaluate a model, train nothing), or with one strategy beside
    it and at a second budget (a model trained under one strategy only): every notebook does what the profile allows
    (no batches to show, a figure with one strategy, no comparisons) and says so."""
    import os
    import subprocess

    profile = tmp_path / "mine.yaml"
    budgets = {"budgets": [{"steps": 4, "strategies": ["xy"]}]} if "xy" in strategies else {}
    profile.write_text(yaml.safe_dump({**TINY, "name": "mine", "strategies": strategies, **budgets}))
    home = tmp_path / "home"
    run = subprocess.run(["bash", str(ROOT / "run_all.sh"), "--profile", str(profile)], cwd=tmp_path, text=True,
                         capture_output=True, env={**os.environ, "HYBRIDLIB_HOME": str(home)})
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert sorted(set(pd.read_csv(home / "results" / "mine" / "summary.csv")["strategy"])) == strategies
    assert (home / "figures" / "mine" / "synthetic__smoke-bert__languages.png").exists(), "a figure of the strategies there are"
    if budgets:
        assert (home / "figures" / "mine" / "synthetic__smoke-bert-4steps__languages.png").exists(), "a figure of one strategy"
    said = {path.name[:2]: printed(home / "results" / "mine" / "notebooks" / path.name) for path in NOTEBOOKS}
    if strategies == ["off-the-shelf"]:
        assert "no batches to show" in said["02"] and "no loss curves" in said["02"] and "nothing to train" in said["02"]
    else:
        assert "query lang" in executed_outputs(home / "results" / "mine" / "notebooks" / "02_finetune.ipynb")["html"]
    assert "no comparison figure" in said["04"]


def printed(path: Path) -> str:
    """The text an executed notebook's cells printed."""
    return "".join(out.get("text", "") for cell in nbformat.read(path, as_version=4).cells for out in cell.get("outputs", [])
                   if out.get("output_type") == "stream")


def test_the_run_lock_is_ignored_by_git():
    """run_all.sh leaves .hybridlib.lock in its home (the repository's folder by default): git must not see it."""
    import subprocess

    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(["git", "check-ignore", "-q", ".hybridlib.lock"], cwd=ROOT)
    assert ignored.returncode == 0, ".hybridlib.lock is not in .gitignore"


def executed_outputs(path: Path) -> dict:
    """An executed notebook's outputs: its HTML (tables), Markdown and the number of images."""
    out = {"html": "", "markdown": "", "images": 0}
    for cell in nbformat.read(path, as_version=4).cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            out["html"] += data.get("text/html", "")
            out["markdown"] += data.get("text/markdown", "")
            out["images"] += "image/png" in data
    return out


def test_prepared_data_is_rebuilt_when_its_config_changes(tmp_path):
    from hybridlib.config import profile_from_dict
    from hybridlib.pipeline import Paths, prepare

    raw = {**TINY, "train": {**TINY["train"]}}
    paths = Paths(tmp_path, "tiny")
    first = prepare(profile_from_dict(raw), paths)
    train = first.loc[("train", "pairs")]
    assert set(train[train > 0].index) == {"de", "en", "ru"} and (train[train > 0] == 224).all()  # 56 paragraphs x 4
    assert prepare(profile_from_dict(raw), paths).equals(first), "same config: kept as is"
    raw["data"] = {**raw["data"], "train_languages": ["en", "de"]}
    changed = prepare(profile_from_dict(raw), paths)
    train = changed.loc[("train", "pairs")]
    assert set(train[train > 0].index) == {"de", "en"}, "the training set was rebuilt for the new languages"


def test_failed_cell_names_the_cell_and_the_error(tmp_path, capsys):
    """run_all.sh's one-line failure message: which cell raised what."""
    from hybridlib.cli import main

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# x"), nbformat.v4.new_code_cell("train_all(cfg, paths)")]
    nb.cells[1].outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="batch_size 7 is not divisible", traceback=[])]
    nbformat.write(nb, tmp_path / "done.ipynb")
    assert main(["failed-cell", str(tmp_path / "done.ipynb")]) == 0
    assert capsys.readouterr().out.strip() == "cell 2 (`train_all(cfg, paths)`): ValueError: batch_size 7 is not divisible"


def test_committed_notebooks_are_what_make_notebooks_writes():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_notebooks", ROOT / "scripts" / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, cells in module.NOTEBOOKS.items():
        built = [cell.source for cell in module.build(name, cells).cells]
        committed = [cell.source for cell in nbformat.read(ROOT / "notebooks" / name, as_version=4).cells]
        assert committed == built, f"notebooks/{name} differs from scripts/make_notebooks.py: run python scripts/make_notebooks.py"
