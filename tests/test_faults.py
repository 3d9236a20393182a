"""The fault corpus: what goes wrong in a long study, and what hybridlib does about it. Each case is one test, named
`test_fault_<id>`; docs/faults.md lists the same ids with the message a user sees (a test compares the two lists).
Every case ends in one line that names the file or key, the problem and the fix, or in a recovery; none leaves a
partial file behind."""

from __future__ import annotations

import contextlib
import copy
import errno
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from fixtures import TINY_PROFILE, write_lareqa

from hybridlib import lareqa, records, storage
from hybridlib.cli import main
from hybridlib.config import CONFIG_DIR, profile_from_dict

ROOT = Path(__file__).resolve().parents[1]
SMALL = yaml.safe_load((CONFIG_DIR / "small.yaml").read_text())


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, f"not one line: {err!r}"
    return err


def mutated(change) -> dict:
    raw = copy.deepcopy(SMALL)
    change(raw)
    return raw


# --- profile mistakes: one line each, before any work starts ---------------------------------------------------

PROFILE_CASES = [
    ("unknown-key", lambda r: r["train"].update(lerning_rate=1e-5), r"unknown key 'lerning_rate' in train; did you mean 'learning_rate'\?"),
    ("unknown-top-key", lambda r: r.update(strategy=["xy"]), r"unknown key 'strategy' in the profile; did you mean 'strategies'\?"),
    ("wrong-type", lambda r: r["train"].update(steps="80"), r"train\.steps must be int, got str '80'"),
    ("empty-languages", lambda r: r["data"].update(train_languages=[]), r"data\.train_languages must list at least one language"),
    ("language-outside-data", lambda r: r["data"].update(train_languages=["en", "fr"]), r"data\.train_languages has \['fr'\], which xquad-r-train does not have"),
    ("no-seeds", lambda r: r.update(seeds=[]), r"seeds must list at least one seed"),
    ("negative-seed", lambda r: r.update(seeds=[-1]), r"seeds must be integers >= 0"),
    ("zero-steps", lambda r: r["train"].update(steps=0), r"steps and batch_size must be >= 1"),
    ("unknown-dataset", lambda r: r["data"].update(eval=["xquad"]), r"data\.eval has unknown datasets \['xquad'\]"),
    ("mtop-subset-of-release", lambda r: r["data"].update(mtop_source="release"), r"mtop_max_items .* applies to mtop_source: xsemplr only"),
    ("missing-key", lambda r: r.pop("train"), r"the profile lacks 'train'"),
]


@pytest.mark.parametrize(("case", "change", "message"), PROFILE_CASES)
def test_fault_profile(case, change, message, tmp_path, capsys):
    with pytest.raises(ValueError, match=message):
        profile_from_dict(mutated(change))
    path = tmp_path / f"{case}.yaml"
    path.write_text(yaml.safe_dump(mutated(change)))
    assert main(["plan", "--profile", str(path)]) == 2
    err = one_line_error(capsys)
    assert err.startswith(f"hybridlib plan: {path}: "), "the line names the file"


def test_fault_profile_missing_file(capsys):
    assert main(["plan", "--profile", "smal"]) == 2
    assert "no such profile; choose one of ['colab', 'confirm', 'paper', 'small', 'small-budgets', 'small-pilot', 'smoke']" in one_line_error(capsys)


# --- bad embeddings and models: a clear error before any result file is written ---------------------------------

@pytest.fixture
def task_folder(tmp_path):
    return write_lareqa(tmp_path / "src", langs=lareqa.XQUAD_R_LANGUAGES)  # 33 queries, 55 candidates


def write_embeddings(folder: Path, q: np.ndarray, c: np.ndarray) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "queries.npy", q)
    np.save(folder / "candidates.npy", c)
    return folder


EMBEDDING_CASES = [
    ("nan", lambda q, c: q.__setitem__((2, 0), np.nan), r"1 query embeddings hold NaN or inf \(first: row 2\)"),
    ("inf", lambda q, c: c.__setitem__((0, 3), np.inf), r"1 candidate embeddings hold NaN or inf \(first: row 0\)"),
    ("zero-row", lambda q, c: c.__setitem__(4, 0.0), r"1 candidate embeddings are all zeros \(first: row 4\)"),
]


@pytest.mark.parametrize(("case", "damage", "message"), EMBEDDING_CASES)
def test_fault_embeddings(case, damage, message, task_folder, tmp_path, capsys):
    rng = np.random.default_rng(0)
    q, c = rng.normal(size=(33, 8)).astype(np.float32), rng.normal(size=(55, 8)).astype(np.float32)
    damage(q, c)
    emb = write_embeddings(tmp_path / "emb", q, c)
    out = tmp_path / "out" / "metrics.json"
    assert main(["evaluate", "--dataset", "xquad-r", "--source", str(task_folder), "--embeddings", str(emb), "--out", str(out)]) == 2
    assert re.search(message, one_line_error(capsys))
    assert not out.parent.exists() or not any(out.parent.iterdir()), "nothing written"


SHAPE_CASES = [
    ("wrong-dimension", np.ones((33, 8), np.float32), np.ones((55, 6), np.float32), r"query embeddings have 8 dimensions, candidate embeddings 6"),
    ("wrong-count", np.ones((32, 8), np.float32), np.ones((55, 8), np.float32), r"32 query embeddings, but task xquad-r has 33 queries"),
    ("wrong-dtype", np.ones((33, 8), np.int64), np.ones((55, 8), np.float32), r"queries\.npy: dtype int64, not floating point"),
]


@pytest.mark.parametrize(("case", "q", "c", "message"), SHAPE_CASES)
def test_fault_embedding_shapes(case, q, c, message, task_folder, tmp_path, capsys):
    emb = write_embeddings(tmp_path / "emb", q, c)
    out = tmp_path / "metrics.json"
    assert main(["evaluate", "--dataset", "xquad-r", "--source", str(task_folder), "--embeddings", str(emb), "--out", str(out)]) == 2
    assert re.search(message, one_line_error(capsys))
    assert not out.exists()


def test_fault_model_without_weights(smoke_encoder, tmp_path, task_folder, capsys):
    broken = tmp_path / "model"
    broken.mkdir()
    for f in smoke_encoder.iterdir():
        if f.name != "model.safetensors":
            (broken / f.name).write_bytes(f.read_bytes())
    out = tmp_path / "metrics.json"
    assert main(["evaluate", "--dataset", "xquad-r", "--source", str(task_folder), "--model", str(broken), "--out", str(out)]) == 2
    assert "a model folder without weights" in one_line_error(capsys) and not out.exists()


def test_fault_tokenizer_of_another_model(smoke_encoder, tmp_path, task_folder, capsys):
    mixed = tmp_path / "model"
    mixed.mkdir()
    for f in smoke_encoder.iterdir():
        (mixed / f.name).write_bytes(f.read_bytes())
    config = json.loads((mixed / "config.json").read_text())
    config["vocab_size"] = 50  # the checkpoint of a smaller model: its embedding matrix has 50 rows
    (mixed / "config.json").write_text(json.dumps(config))
    from safetensors.torch import load_file, save_file

    weights = load_file(mixed / "model.safetensors")
    key = next(k for k in weights if "word_embeddings" in k)
    weights[key] = weights[key][:50].clone()
    save_file(weights, mixed / "model.safetensors")
    out = tmp_path / "metrics.json"
    assert main(["evaluate", "--dataset", "xquad-r", "--source", str(task_folder), "--model", str(mixed), "--out", str(out)]) == 2
    assert re.search(r"its tokenizer has \d+ tokens but the model embeds only 50", one_line_error(capsys)) and not out.exists()


# --- corrupt intermediate files: detected when read, named with the fix, or made again ------------------------

def test_fault_truncated_metrics_json_is_evaluated_again(tmp_path, capsys):
    from hybridlib.pipeline import _is_done

    run = tmp_path / "run"
    storage.write_json(run / "config.json", {"a": 1})
    storage.write_csv_gz(run / "per_query.csv.gz", __import__("pandas").DataFrame({"x": [1]}))
    (run / "metrics.json").write_text('{"mono": {"map": ')
    assert not _is_done(run, {"a": 1}, "metrics.json")
    assert "metrics.json: not valid JSON; making it again" in capsys.readouterr().out


def test_fault_truncated_metrics_json_named_when_read(tmp_path):
    from hybridlib.results import collect

    run = tmp_path / "eval" / "xquad-r" / "m" / "xy" / "seed0"
    storage.write_json(run / "config.json", {"dataset": "xquad-r"})
    (run / "metrics.json").write_text('{"mono": ')
    with pytest.raises(ValueError, match=r"seed0/metrics\.json: not valid JSON .*delete it and rerun the step that writes it"):
        collect(tmp_path)


def test_fault_truncated_per_query(tmp_path):
    from hybridlib.results import _read_per_query

    path = tmp_path / "per_query.csv.gz"
    storage.write_csv_gz(path, __import__("pandas").DataFrame({"query_id": range(5000), "map": 0.5}))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"per_query\.csv\.gz: unreadable .*delete the metrics\.json beside it and rerun notebook 03"):
        _read_per_query(path)


def test_fault_truncated_train_log(tmp_path):
    from hybridlib.config import load_profile
    from hybridlib.inspection import loss_curve_figure
    from hybridlib.layout import Paths

    profile = load_profile("smoke")
    paths = Paths(tmp_path, "smoke")
    log = paths.run_dir(next(r for r in profile.runs() if r.strategy.trains)) / "train_log.json"
    log.parent.mkdir(parents=True)
    log.write_text('[{"loss": 1.2, "step": 2')
    with pytest.raises(ValueError, match=r"train_log\.json: not valid JSON"):
        loss_curve_figure(profile, paths)


def test_fault_model_folder_without_weights_is_trained_again(tmp_path, capsys):
    from hybridlib.pipeline import _is_done

    run = tmp_path / "run"
    storage.write_json(run / "config.json", {"a": 1})
    (run / "model").mkdir()
    (run / "model" / "config.json").write_text("{}")
    assert not _is_done(run, {"a": 1}, "model")
    assert "model: no weights file; making it again" in capsys.readouterr().out


def test_fault_training_set_cut_short(tmp_path):
    rows = [{"pair_id": str(i), "lang": "en", "query": "q" * 50, "passage": "p" * 200, "negative": "", "source": "s"} for i in range(2000)]
    records.save_training_set([rows], tmp_path / "train")
    arrow = next((tmp_path / "train").glob("*.arrow"))
    arrow.write_bytes(arrow.read_bytes()[: arrow.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"train: damaged training set .*delete the folder and rerun notebook 01"):
        records.load_training_set(tmp_path / "train")


# --- a write that fails (a full disk): the error names the path, nothing partial is left, a rerun finishes --------

DISK_KINDS = ["metrics", "table", "figure", "checkpoint"]


@pytest.mark.parametrize("kind", DISK_KINDS)
def test_fault_disk_full(kind, tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from hybridlib import figures

    full = OSError(errno.ENOSPC, "No space left on device")
    writes = {
        "metrics": (tmp_path / "metrics.json", lambda p: storage.write_json(p, {"a": 1})),
        "table": (tmp_path / "tables" / "main.md", lambda p: storage.write_text(p, "# table\n")),
        "figure": (tmp_path / "fig.png", lambda p: figures.save(plt.figure(), p)),
        "checkpoint": (tmp_path / "model", lambda p: _write_folder(p)),
    }
    path, write = writes[kind]
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(full))
    with pytest.raises(OSError, match=re.escape(str(path)) + r": not written \(No space left on device\); nothing partial was left"):
        write(path)
    assert not path.exists() and not [p for p in path.parent.iterdir() if p.name.startswith(".")], "no partial or temporary file"
    monkeypatch.setattr(os, "replace", real_replace)
    write(path)  # space freed: the rerun finishes
    assert path.exists()


def _write_folder(path: Path) -> None:
    with storage.atomic_dir(path) as tmp:
        (tmp / "model.safetensors").write_bytes(b"weights")


# --- two runs at once on one home: the second stops at once, naming the first ------------------------------------

def test_fault_two_runs_at_once(tmp_path):
    from hybridlib.config import load_profile
    from hybridlib.layout import Paths
    from hybridlib.pipeline import prepare

    with _lock_held_elsewhere(tmp_path) as holder:
        start = time.monotonic()
        with pytest.raises(RuntimeError, match=rf"{re.escape(str(tmp_path))}: in use by pid {holder.pid} .*set HYBRIDLIB_HOME to another folder"):
            prepare(load_profile("smoke"), Paths(tmp_path, "smoke"))
        assert time.monotonic() - start < 5, "it stops at once"
    with storage.home_lock(tmp_path):  # free again, though the lock file is still there
        assert (tmp_path / storage.LOCK_NAME).exists()


# --- packaging: the shipped profiles travel with the package --------------------------------------------------------

@pytest.mark.slow
def test_fault_installed_package_has_its_profiles(tmp_path):
    wheel_dir = tmp_path / "wheel"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheel_dir), str(ROOT)],
                           capture_output=True, text=True)
    if build.returncode and "Could not find a version that satisfies the requirement setuptools" in build.stderr:
        pytest.skip("no package index reachable to build the wheel")
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next(wheel_dir.glob("hybridlib-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert {"hybridlib/configs/paper.yaml", "hybridlib/configs/small.yaml"} <= set(names)
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    plan = subprocess.run([sys.executable, "-m", "hybridlib.cli", "plan", "--profile", "paper"], cwd=elsewhere, env=env,
                          capture_output=True, text=True)
    assert plan.returncode == 0 and "profile paper" in plan.stdout, plan.stderr
    own = elsewhere / "mine.yaml"
    own.write_text((CONFIG_DIR / "smoke.yaml").read_text().replace("name: smoke", "name: mine"))
    plan = subprocess.run([sys.executable, "-m", "hybridlib.cli", "plan", "--profile", str(own)], cwd=elsewhere, env=env,
                          capture_output=True, text=True)
    assert plan.returncode == 0 and "profile mine" in plan.stdout, plan.stderr


# --- the docs list the same cases --------------------------------------------------------------------------------

def test_faults_doc_lists_every_case():
    doc = (ROOT / "docs" / "faults.md").read_text()
    listed = set(re.findall(r"^\| `([a-z0-9-]+)` \|", doc, flags=re.M))
    grouped = {"profile", "embeddings", "embedding_shapes", "disk_full"}
    single = {name.replace("_", "-") for name in re.findall(r"^def test_fault_(\w+)\(", Path(__file__).read_text(), flags=re.M)
              if name not in grouped}
    cases = single | {c[0] for c in PROFILE_CASES + EMBEDDING_CASES + SHAPE_CASES} | {f"disk-full-{k}" for k in DISK_KINDS}
    assert listed == cases, f"only in docs/faults.md: {sorted(listed - cases)}; only in the tests: {sorted(cases - listed)}"


# --- killed anywhere: a rerun redoes only what was unfinished and ends where an uninterrupted run ends ------------

KILL_PROFILE = {**TINY_PROFILE, "name": "kill", "description": "test profile: a run to kill at each stage",
                "train": {**TINY_PROFILE["train"], "steps": 24, "save_steps": 6}}
STUDY = """
import sys
from hybridlib.config import load_profile
from hybridlib.layout import Paths
from hybridlib.pipeline import evaluate_all, prepare, train_all
from hybridlib import results, tables
profile = load_profile(sys.argv[1])
paths = Paths.for_profile(profile, sys.argv[2])
prepare(profile, paths)
train_all(profile, paths)
evaluate_all(profile, paths)
results.write_summary(paths.results)
tables.write_tables(paths.results, profile.name)
print("STUDY DONE", flush=True)
"""


def _study(profile: Path, home: Path, kill_when=None) -> str:
    """Run the study in a process; with `kill_when(home)`, SIGKILL it as soon as that holds. Returns its output."""
    process = subprocess.Popen([sys.executable, "-c", STUDY, str(profile), str(home)], cwd=ROOT, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if kill_when is not None:
        deadline = time.monotonic() + 300
        while process.poll() is None and not kill_when(home) and time.monotonic() < deadline:
            time.sleep(0.02)
        if process.poll() is not None:
            raise AssertionError(f"the study ended before the kill point:\n{process.communicate()[0][-3000:]}")
        process.kill()
    output = process.communicate()[0]
    return output


def _finished_files(home: Path) -> dict[str, bytes]:
    results = home / "results" / "kill"
    return {"summary.csv": (results / "summary.csv").read_bytes(),
            **{f"tables/{p.name}": p.read_bytes() for p in sorted((results / "tables").iterdir())}}


@pytest.mark.slow
def test_fault_killed_at_every_stage(tmp_path):
    profile = tmp_path / "kill.yaml"
    profile.write_text(yaml.safe_dump(KILL_PROFILE))
    straight = tmp_path / "straight"
    assert "STUDY DONE" in _study(profile, straight)
    home = tmp_path / "killed"
    runs = home / "results" / "kill" / "runs" / "smoke-bert"
    evals = home / "results" / "kill" / "eval" / "synthetic" / "smoke-bert"
    points = {
        "training, after a checkpoint": lambda h: (runs / "xy" / "seed0" / "checkpoints" / "checkpoint-12").exists(),
        "training, across checkpoints of the next run": lambda h: (runs / "hybrid-0.5" / "seed0" / "checkpoints" / "checkpoint-6").exists(),
        "evaluation": lambda h: (evals / "xy" / "seed0" / "metrics.json").exists(),
        "tables": lambda h: (home / "results" / "kill" / "tables").exists(),
    }
    for point, when in points.items():
        _study(profile, home, kill_when=when)
    leftovers = [p for p in home.rglob(".*.tmp") if p.exists()]
    assert not leftovers, f"partial files after the kills: {leftovers}"
    output = _study(profile, home)
    assert "STUDY DONE" in output
    assert "xy/seed0: done earlier, skipped" in output, "a finished run is not trained again"
    assert _finished_files(home) == _finished_files(straight), "summary.csv and tables equal an uninterrupted run's"


def test_fault_two_run_all_at_once(tmp_path):
    """run_all.sh holds the home's lock for its whole life: a second one stops before any work, naming the first."""
    with _lock_held_elsewhere(tmp_path) as holder:
        second = subprocess.run(["bash", str(ROOT / "run_all.sh")], env={**os.environ, "HYBRIDLIB_HOME": str(tmp_path)},
                                capture_output=True, text=True, timeout=120)
    assert second.returncode == 1
    assert f"run_all.sh: {tmp_path}: in use by pid {holder.pid} " in second.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "data").exists(), "no work started"


@contextlib.contextmanager
def _lock_held_elsewhere(root: Path):
    """Another process holding the home lock of `root` until the block ends, when it is SIGKILLed (the lock goes
    with it)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import time; from hybridlib import storage\n"
         f"with storage.home_lock({str(root)!r}):\n    print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait()
