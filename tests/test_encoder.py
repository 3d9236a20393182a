"""The smoke encoder: built identically in separate processes, loaded through the same path as a hub id."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from hybridlib.encoder import PROMPTS, encode, load_encoder, tokenize, tokenizer_fingerprint

BUILD = """
import sys
from hybridlib import synthetic
from hybridlib.encoder import build_smoke_encoder
world = synthetic.World(synthetic.WorldSpec(n_entities=30, eval_paragraphs=6, seed=3))
build_smoke_encoder(synthetic.pretraining_corpus(world), sys.argv[1], vocab_size=600, hidden_size=32, num_layers=1, num_heads=2)
"""


@pytest.mark.slow
def test_smoke_encoder_is_identical_across_processes(tmp_path):
    digests = []
    for name in ("a", "b"):
        subprocess.run([sys.executable, "-c", BUILD, str(tmp_path / name)], check=True, capture_output=True)
        digests.append({f: hashlib.sha256((tmp_path / name / f).read_bytes()).hexdigest() for f in ("tokenizer.json", "model.safetensors", "config.json")})
    assert digests[0] == digests[1], "two processes built different smoke encoders from the same seed"


def test_smoke_encoder_loads_with_mean_pooling_and_prompts(smoke_encoder, tiny_world):
    model = load_encoder(smoke_encoder, max_seq_length=10_000)
    assert model.max_seq_length == 96, "clamped to the model's position embeddings"
    import torch

    assert not torch.backends.cuda.cudnn_sdp_enabled(), "cuDNN attention is off (a plan per input shape; docs/speed.md)"
    assert model[1].get_config_dict()["pooling_mode"] == "mean"
    assert {k: model.prompts[k] for k in PROMPTS} == PROMPTS
    p = tiny_world.train_paragraphs[0]
    emb = encode(model, [tiny_world.question(lang, p, 0) for lang in ("en", "zh")], kind="query")
    assert emb.shape == (2, 32) and abs(float((emb**2).sum(axis=1).mean()) - 1) < 1e-5, "unit vectors"
    assert "[UNK]" not in model.tokenizer.tokenize(PROMPTS["passage"] + tiny_world.context("el", p))


def test_evaluation_precision_is_checked_and_the_cpu_computes_in_fp32_unless_bf16_is_named(smoke_encoder, tiny_world, tmp_path):
    import numpy as np
    import yaml

    from hybridlib.config import load_profile

    model = load_encoder(smoke_encoder)
    texts = [tiny_world.question(lang, tiny_world.train_paragraphs[0], 0) for lang in ("en", "de")]
    fp32 = encode(model, texts, kind="query", precision="fp32")
    assert np.array_equal(encode(model, texts, kind="query", precision="auto"), fp32), "auto: fp32 on a CPU"
    bf16 = encode(model, texts, kind="query", precision="bf16")
    assert not np.array_equal(bf16, fp32), "bf16 named: autocast on the CPU too"
    assert (bf16 * fp32).sum(axis=1).min() > 0.999, "the same embeddings, at bf16's precision"
    with pytest.raises(ValueError, match="precision must be one of"):
        encode(model, texts, kind="query", precision="int8")
    raw = yaml.safe_load(open("configs/smoke.yaml"))
    raw["eval"]["precision"] = "half"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ValueError, match=r"bad.yaml: eval.precision must be one of \['auto', 'fp32', 'bf16', 'fp16'\], got 'half'"):
        load_profile(path)


def test_a_model_with_other_pooling_is_refused(smoke_encoder, tmp_path):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling

    model = load_encoder(smoke_encoder)
    cls = SentenceTransformer(modules=[model[0], Pooling(model[0].get_embedding_dimension(), pooling_mode="cls")])
    cls.save(str(tmp_path / "cls"))
    with pytest.raises(ValueError, match="uses mean pooling, but this model pools with 'cls'"):
        load_encoder(tmp_path / "cls")


@pytest.mark.parametrize("workers", [0, 2])
def test_encode_equals_sentence_transformers_encode_with_or_without_tokenizing_workers(smoke_encoder, tiny_world, workers):
    import numpy as np

    model = load_encoder(smoke_encoder)
    # passages of many lengths, ties included (parallel groups share lengths in some languages), over several batches
    texts = [tiny_world.context(lang, p) for p in tiny_world.eval_paragraphs for lang in tiny_world.spec.languages]
    texts += [tiny_world.question(lang, p, 0) for p in tiny_world.eval_paragraphs for lang in ("en", "de")]
    ours = encode(model, texts, kind="passage", batch_size=7, workers=workers)
    reference = model.encode(texts, prompt_name="passage", batch_size=7, normalize_embeddings=True, convert_to_numpy=True)
    assert ours.dtype == np.float32 and ours.shape == reference.shape
    assert np.array_equal(ours, reference), f"{workers} workers: {np.abs(ours - reference).max():.2e} from model.encode"
    assert np.array_equal(encode(model, tokenize(model, texts, kind="passage", batch_size=7, workers=workers), kind="passage"), reference)
    assert encode(model, [], kind="query").shape == (0, 32)
    assert encode(model, tokenize(model, [], kind="query"), kind="query").shape == (0, 32)


def test_tokenized_texts_serve_every_model_with_the_same_tokenizer_and_no_other(smoke_encoder, tiny_world, tmp_path):
    """evaluate_all keeps each dataset tokenized for all runs of a base model: a saved copy (a fine-tuned run's
    folder) shares the fingerprint, another length or kind does not."""
    import numpy as np

    from hybridlib import evaluation, synthetic

    model = load_encoder(smoke_encoder)
    before = tokenizer_fingerprint(model)
    model.tokenizer(["x " * 200], truncation=True, max_length=16)  # a call leaves truncation state behind
    state = model.tokenizer.backend_tokenizer.truncation
    assert tokenizer_fingerprint(model) == before
    assert model.tokenizer.backend_tokenizer.truncation == state, "the fingerprint puts the state back"
    model.save(str(tmp_path / "run"))
    assert tokenizer_fingerprint(load_encoder(tmp_path / "run")) == before
    shorter = load_encoder(smoke_encoder, max_seq_length=16)
    assert tokenizer_fingerprint(shorter) != before
    queries = tokenize(model, ["a b c", "d e"], kind="query")
    with pytest.raises(ValueError, match="another tokenizer or length"):
        encode(shorter, queries, kind="query")
    with pytest.raises(ValueError, match="tokenized as 'query'"):
        encode(model, queries, kind="passage")
    task = synthetic.evaluation_task(tiny_world, tiny_world.spec.languages)
    cache = {}
    cached = evaluation.encode_task(model, task, batch_size=5, cache=cache)
    again = evaluation.encode_task(load_encoder(tmp_path / "run"), task, batch_size=5, cache=cache)
    assert len(cache) == 2, "queries and candidates, tokenized once for both models"
    plain = evaluation.encode_task(model, task, batch_size=5)
    assert all(np.array_equal(a, b) and np.array_equal(a, c) for a, b, c in zip(cached, again, plain))


@pytest.mark.parametrize(
    "device,cpus,local_procs,expected",
    [("cpu", 16, None, 0), ("cuda", 2, None, 1), ("cuda", 16, None, 8), ("cuda", 64, None, 8), ("cuda", 32, "4", 7), ("cuda", 4, "4", 0)],
)
def test_tokenizing_workers_share_the_cores_among_gpu_processes(monkeypatch, device, cpus, local_procs, expected):
    from hybridlib import encoder

    monkeypatch.setattr("os.cpu_count", lambda: cpus)
    if local_procs is None:
        monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    else:
        monkeypatch.setenv("LOCAL_WORLD_SIZE", local_procs)
    assert encoder.tokenizing_workers(device) == expected
