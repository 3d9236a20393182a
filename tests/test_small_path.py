"""The small profile's whole path offline: XQuAD-R (article split) and XSemPLR's MTOP subset served by a loopback
mirror in their real formats -> download -> verify -> training set from the training articles -> evaluation on the
held-out ones and MTOP -> tables that name the weights. With a tiny smoke model everywhere; with the real
multilingual-e5-small where ``HYBRIDLIB_MODEL_ME5`` points at a folder of it (a few steps, three languages)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import yaml
from fixtures import lareqa_json, serve_pinned, xsemplr_json

from hybridlib.tables import write_tables
from hybridlib import download, lareqa, results, storage
from hybridlib.config import CONFIG_DIR, load_profile
from hybridlib.pipeline import Paths, evaluate_all, prepare, train_all

pytestmark = pytest.mark.slow
TRAIN_LANGS = ("en", "de", "zh")
ME5 = os.environ.get("HYBRIDLIB_MODEL_ME5")


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """XQuAD-R (4 articles) and XSemPLR's dev/test at the registry's URLs, the registry pinned to their hashes."""
    payloads = {f"xquad-r/{lang}": json.dumps(lareqa_json(lang, articles=4), ensure_ascii=False) for lang in lareqa.XQUAD_R_LANGUAGES}
    payloads |= {f"mtop-xsemplr/{split}": json.dumps(xsemplr_json(split), ensure_ascii=False) for split in ("dev", "test")}
    with serve_pinned(tmp_path / "mirror", payloads, tmp_path, monkeypatch) as server:
        yield server


def mini_small_profile(tmp_path, model: dict):
    raw = yaml.safe_load((CONFIG_DIR / "small.yaml").read_text())
    raw.update(
        name="small-mini",
        data={**raw["data"], "train_languages": list(TRAIN_LANGS), "held_out_every": 2, "mtop_max_items": 3},
        models={"me5": model},
        strategies=["off-the-shelf", "en", "hybrid-0.5"],
        seeds=[0],
        one_seed=["en"],
        train={**raw["train"], "steps": 2, "batch_size": 4, "save_steps": 0},
        eval={"batch_size": 16, "n_boot": 20},
    )
    path = tmp_path / "small-mini.yaml"
    path.write_text(yaml.safe_dump(raw))
    return load_profile(path)


def run_small(tmp_path, profile):
    paths = Paths(tmp_path / "home", profile.name)
    counts = prepare(profile, paths)
    assert counts.loc[("train", "pairs"), "en"] == 3 * 2, "3 questions in each of the 2 training articles (1 and 3)"
    assert counts.loc[("xquad-r", "queries"), "el"] == 3 * 2, "articles 0 and 2 are held out, in all 11 languages"
    assert counts.loc[("mtop-parallel", "queries"), "fr"] == 3, "the first 3 items"
    train_all(profile, paths)
    evaluate_all(profile, paths)
    summary = results.write_summary(paths.results)
    write_tables(paths.results, profile.name)
    return paths, summary


def test_small_path_offline_with_a_folder_model(tmp_path, mirror, smoke_encoder, monkeypatch):
    monkeypatch.setenv("HYBRIDLIB_MODEL_ME5", str(smoke_encoder))
    profile = mini_small_profile(tmp_path, {"source": "intfloat/multilingual-e5-small", "revision": "0" * 40, "size": "small"})
    assert profile.models[0].load_from == (str(smoke_encoder.resolve()), None), "the folder, not the hub"
    paths, summary = run_small(tmp_path, profile)
    assert set(summary["dataset"]) == {"xquad-r", "mtop-parallel", "mtop-intent"}
    config = storage.read_json(paths.eval_dir("xquad-r", profile.runs()[0]) / "config.json")
    weights = download.sha256_of(smoke_encoder / "model.safetensors")
    assert config["weights"] == {"file": "model.safetensors", "sha256": weights}
    assert config["held_out_every"] == 2 and config["passage_context"] is False and config["mtop_source"] == "xsemplr"
    assert str(smoke_encoder) not in json.dumps(config), "a run is named by its weights, not by where they lie"
    main = (paths.results / "tables" / "main.md").read_text()
    assert f"sha256 `{weights[:16]}…` from a local folder" in main
    assert "XQuAD-R articles 0, 2, 4, … held out for evaluation" in main and "MTOP from xsemplr, first 3 items per split" in main


@pytest.mark.skipif(not ME5, reason="HYBRIDLIB_MODEL_ME5 is not set (a multilingual-e5-small folder)")
def test_small_path_with_real_multilingual_e5(tmp_path, mirror):
    from sklearn.metrics import average_precision_score

    from hybridlib import records
    from hybridlib.encoder import load_encoder
    from hybridlib.evaluation import encode_task

    profile = mini_small_profile(tmp_path, {"source": "intfloat/multilingual-e5-small", "size": "small"})
    paths, summary = run_small(tmp_path, profile)
    off = summary[(summary["dataset"] == "xquad-r") & (summary["strategy"] == "off-the-shelf")].iloc[0]
    # the off-the-shelf row against sklearn on the same embeddings: Mul mAP, macro over query languages
    task = records.RetrievalTask.read(paths.data / "eval" / "xquad-r")
    q_emb, c_emb = encode_task(load_encoder(ME5, max_seq_length=profile.train.max_seq_length), task, batch_size=16)
    relevant = task.relevance()
    scores = q_emb @ c_emb.T
    langs = np.array([q.lang for q in task.queries])
    per_lang = [np.mean([average_precision_score(relevant[i], scores[i]) for i in np.flatnonzero(langs == x)]) for x in task.languages]
    assert off["multi_map"] == pytest.approx(np.mean(per_lang), abs=1e-6)
    assert off["multi_map"] > 0.3, "a retrieval encoder: far above chance (1 in 10 candidates is relevant)"
    trained = summary[(summary["dataset"] == "xquad-r") & (summary["strategy"] == "hybrid-0.5")]
    assert len(trained) == 1 and np.isfinite(trained["multi_map"]).all()
