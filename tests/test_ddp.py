"""Two ranks under torchrun (gloo on CPU) take real training steps; each global step has one kind and language
on every rank, and the ranks' rows are disjoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
WORKER = Path(__file__).with_name("ddp_worker.py")


@pytest.fixture(scope="module")
def ddp_encoder(tmp_path_factory):
    from hybridlib.encoder import build_smoke_encoder

    corpus = [f"q g{g} {lang} p g{g} {lang}" for g in range(64) for lang in ("en", "de", "ru", "zh")]
    return build_smoke_encoder(corpus, tmp_path_factory.mktemp("ddp") / "enc", vocab_size=300, hidden_size=16, num_layers=1, num_heads=2, max_length=32)


@pytest.mark.parametrize("strategy", ["xx-mono", "hybrid-0.5"])
def test_torchrun_two_ranks_agree_on_kind_and_language(strategy, ddp_encoder, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(WORKER), str(tmp_path), str(ddp_encoder), strategy]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert all(r["world"] == 2 for r in ranks)
    assert all((tmp_path / f"rank{r}.done").read_text() == "3" for r in range(2)), "3 real optimizer steps on each rank"
    kinds = set()
    for step0, step1 in zip(ranks[0]["steps"], ranks[1]["steps"]):
        assert len(step0) == len(step1) == 4, "batch 8 split over 2 ranks"
        both = step0 + step1
        assert all(p["group"] == p["passage_group"] for p in both)
        assert len({p["group"] for p in both}) == 8, "the ranks' rows overlap in one step"
        mono = [p["query_lang"] == p["passage_lang"] for p in both]
        if all(mono):
            assert len({p["query_lang"] for p in both}) == 1, "a global xx-mono batch mixes languages across ranks"
            kinds.add("xx-mono")
        else:
            assert not any(mono), "one rank got an xx-mono batch while the other got xy"
            kinds.add("xy")
    assert kinds == ({"xx-mono"} if strategy == "xx-mono" else {"xx-mono", "xy"})
    assert (tmp_path / "run" / "model").exists()


def test_train_all_launches_torchrun_when_several_gpus_are_visible(tmp_path, monkeypatch, capsys):
    """Notebook 02's multi-GPU path: `train_all` runs `torchrun -m hybridlib.cli train` (here two CPU ranks)."""
    import yaml

    from hybridlib import pipeline
    from hybridlib.config import load_profile
    from hybridlib.pipeline import Paths, prepare, train_all

    raw = {
        "name": "ddp", "description": "two ranks", "seeds": [0], "strategies": ["hybrid-0.5"],
        "data": {"train": "synthetic", "train_languages": ["en", "de", "ru"], "eval": ["synthetic"]},
        "synthetic": {"n_entities": 12, "eval_paragraphs": 2, "languages": ["en", "de", "ru", "el", "zh"]},
        "models": {"smoke-bert": {"source": "smoke"}},
        "train": {"steps": 2, "batch_size": 8, "max_seq_length": 32, "hard_negatives": False, "learning_rate": 1e-3},
    }
    path = tmp_path / "ddp.yaml"
    path.write_text(yaml.safe_dump(raw))
    profile = load_profile(path)
    paths = Paths(tmp_path / "home", "ddp")
    prepare(profile, paths)
    monkeypatch.setattr(pipeline, "_visible_gpus", lambda: 2)  # as on a 2-GPU machine; the ranks use gloo on CPU
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    status = train_all(profile, paths)
    assert "training 2 steps on 2 GPUs (torchrun)" in capsys.readouterr().out
    assert status["status"].tolist() == ["trained"]
    run_dir = paths.results / "runs" / "smoke-bert" / "hybrid-0.5" / "seed0"
    assert (run_dir / "model").exists() and (run_dir / "config.json").exists()
    log = json.loads((run_dir / "train_log.json").read_text())
    assert log[-1]["step"] == 2
