"""The chunked forward (`encoder.embed_chunked`): the same embeddings and gradients as the padded forward (fp32,
1e-5) on batches of mixed length with a text at the length cap and a one-token text; the same training loss, step
by step, within bf16's rounding (dropout off: with it, chunks draw other masks); `encode` through it equal to the
padded encode."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from datasets import Dataset

from hybridlib import synthetic
from hybridlib.encoder import embed_chunked, encode, load_encoder
from hybridlib.samplers import Strategy
from hybridlib.training import TrainSettings, make_trainer

CAP = 40


def mixed_batch(model, world) -> dict:
    """Texts of every length from one token to the cap: a one-token text, a text cut at the cap, and questions."""
    questions = [world.question(lang, p, 0) for p in world.train_paragraphs[:4] for lang in ("en", "zh", "ru")]
    long = " ".join(questions)  # far past the cap: truncated to exactly CAP tokens
    features = model.tokenize(["", long, *questions])  # "" is [CLS] [SEP] alone: the shortest input there is
    lengths = features["attention_mask"].sum(dim=1)
    assert int(lengths.max()) == CAP and int(lengths.min()) <= 2 and len(set(lengths.tolist())) > 4
    return features


@pytest.fixture
def model(smoke_encoder):
    model = load_encoder(smoke_encoder, max_seq_length=CAP)
    model.eval()  # no dropout: the two forwards must see the same network
    return model


@pytest.mark.parametrize(("chunk", "multiple"), [(4, 1), (3, 16), (0, 16), (5, 8)])
def test_chunked_embeddings_and_gradients_equal_the_padded_forward(model, tiny_world, chunk, multiple):
    features = mixed_batch(model, tiny_world)
    weight = torch.randn(model.get_embedding_dimension(), generator=torch.Generator().manual_seed(0))

    def forward_and_grads(fn):
        model.zero_grad()
        emb = fn()
        (emb @ weight).square().sum().backward()
        return emb.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    padded, padded_grads = forward_and_grads(lambda: model(dict(features))["sentence_embedding"])
    chunked, chunked_grads = forward_and_grads(lambda: embed_chunked(model, dict(features), chunk, multiple))
    torch.testing.assert_close(chunked, padded, atol=1e-5, rtol=1e-5)
    assert chunked_grads.keys() == padded_grads.keys()
    for name in padded_grads:
        torch.testing.assert_close(chunked_grads[name], padded_grads[name], atol=1e-5, rtol=1e-4, msg=name)


def test_encode_through_chunks_equals_the_padded_encode(model, tiny_world):
    texts = [tiny_world.question(lang, p, k) for p in tiny_world.train_paragraphs[:6] for lang in ("en", "ru") for k in range(2)]
    padded = encode(model, texts, kind="passage", batch_size=8)
    for chunk, multiple in ((3, 1), (0, 16), (4, 16)):
        chunked = encode(model, texts, kind="passage", batch_size=8, chunk=chunk, multiple=multiple)
        cosine = (padded * chunked).sum(axis=1)
        assert cosine.min() >= 0.9999 and np.abs(chunked - padded).max() < 1e-5


@pytest.mark.slow
def test_the_training_loss_over_20_steps_equals_the_padded_path_within_bf16_rounding(smoke_encoder, tiny_world, tmp_path):
    rows = Dataset.from_list(synthetic.training_rows(tiny_world, ("en", "de", "ru", "zh")))
    losses = {}
    for name, extra in {"padded": {}, "chunked": {"forward_chunk": 3, "pad_multiple": 16}}.items():
        settings = TrainSettings(steps=20, batch_size=8, learning_rate=1e-3, max_seq_length=CAP, hard_negatives=False, precision="bf16", **extra)
        trainer = make_trainer(str(smoke_encoder), rows, ("en", "de", "ru", "zh"), Strategy.parse("hybrid-0.5"), 0, settings, tmp_path / name)
        # dropout off: a chunk draws its own dropout masks, so with dropout the two paths are two draws of its
        # noise (as two seeds are), not the same arithmetic; docs/speed.md says what that does to a run
        for module in trainer.model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0
        seen = []
        trainer.loss.register_forward_hook(lambda module, args, out: seen.append(out.item()))
        trainer.train()
        losses[name] = np.array(seen)
    assert len(losses["padded"]) == 20
    # bf16 keeps 8 bits of mantissa: one rounding is 2^-8 relative; 20 steps of training compound it a little
    np.testing.assert_allclose(losses["chunked"], losses["padded"], rtol=2**-6, atol=2**-6)
