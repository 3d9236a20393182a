"""`compile: true` compiles each transformer layer; the compiled model computes the same loss and gradients (CPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fixtures import training_batch

from hybridlib.encoder import load_encoder
from hybridlib.training import TrainSettings, compile_layers, make_loss

pytestmark = pytest.mark.slow


def test_compiled_layers_give_the_same_loss_and_gradients(smoke_encoder, tiny_world, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))  # a cold compile, not an earlier run's cache
    results = []
    for compiled in (False, True):
        model = load_encoder(smoke_encoder, max_seq_length=32)
        model.eval()  # no dropout: both runs must see the same network
        if compiled:
            assert compile_layers(model) == 1, "the smoke encoder has one transformer layer"
        loss_fn = make_loss(model, TrainSettings(steps=1, batch_size=8))
        for n in (8, 5):  # a second batch of another size runs the same compiled code (symbolic shapes)
            inputs, labels = training_batch(model, n, words=_known_words(tiny_world))
            loss = loss_fn(inputs[:2], labels)
        loss.backward()
        grads = {name: p.grad.detach().clone() for name, p in model.named_parameters() if p.grad is not None}
        results.append((loss.item(), grads, list(model.state_dict())))
    (eager, g_eager, keys_eager), (compiled, g_compiled, keys_compiled) = results
    assert eager < 0.99 * np.log(5), "distinct embeddings: a loss below a uniform guess, so the gradients are not noise"
    assert keys_compiled == keys_eager, "a compiled model saves the same weights under the same names"
    assert compiled == pytest.approx(eager, rel=1e-5)
    assert set(g_eager) == set(g_compiled)
    # float sums run in another order when compiled: the absolute floor is relative to the model's largest
    # gradient element; every element also gets the 1e-4 relative check
    atol = max(1e-6, 1e-4 * max(float(g.abs().max()) for g in g_eager.values()))
    for name in g_eager:
        torch.testing.assert_close(g_compiled[name], g_eager[name], rtol=1e-4, atol=atol, msg=lambda m, name=name: f"gradient of {name}: {m}")
    layer = model[0].auto_model.encoder.layer[0]
    assert layer._compiled_call_impl is not None, "the layer runs through torch.compile"


def test_a_model_without_a_layer_list_is_refused(smoke_encoder):
    model = load_encoder(smoke_encoder)
    model[0].auto_model.encoder.layer = torch.nn.ModuleList([torch.nn.Identity(), torch.nn.Linear(2, 2)])
    with pytest.raises(ValueError, match="no list of identical layers to compile; set compile: false"):
        compile_layers(model)


def _known_words(world) -> list[str]:  # noqa: ANN001
    """Words of the smoke encoder's own pretraining corpus: texts of words it never saw embed almost alike, which
    leaves a loss of log(n) and gradients of rounding noise."""
    from hybridlib import synthetic

    return sorted({t for line in synthetic.pretraining_corpus(world) for t in line.split() if t.isalpha() and len(t) > 3})[:60]
