"""`compile: true` compiles each transformer layer; the compiled model computes the same loss and gradients (CPU)."""

from __future__ import annotations

import pytest
import torch

from fixtures import training_batch

from hybridlib.encoder import load_encoder
from hybridlib.training import TrainSettings, compile_layers, make_loss

pytestmark = pytest.mark.slow


def test_compiled_layers_give_the_same_loss_and_gradients(smoke_encoder, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))  # a cold compile, not an earlier run's cache
    results = []
    for compiled in (False, True):
        model = load_encoder(smoke_encoder, max_seq_length=32)
        model.eval()  # no dropout: both runs must see the same network
        if compiled:
            assert compile_layers(model) == 1, "the smoke encoder has one transformer layer"
        loss_fn = make_loss(model, TrainSettings(steps=1, batch_size=8))
        for n in (8, 5):  # a second batch of another size runs the same compiled code (symbolic shapes)
            inputs, labels = training_batch(model, n)
            loss = loss_fn(inputs[:2], labels)
        loss.backward()
        grads = {name: p.grad.detach().clone() for name, p in model.named_parameters() if p.grad is not None}
        results.append((loss.item(), grads, list(model.state_dict())))
    (eager, g_eager, keys_eager), (compiled, g_compiled, keys_compiled) = results
    assert keys_compiled == keys_eager, "a compiled model saves the same weights under the same names"
    assert compiled == pytest.approx(eager, rel=1e-5)
    assert set(g_eager) == set(g_compiled)
    for name in g_eager:
        torch.testing.assert_close(g_compiled[name], g_eager[name], rtol=1e-4, atol=1e-6, msg=lambda m, name=name: f"gradient of {name}: {m}")
    layer = model[0].auto_model.encoder.layer[0]
    assert layer._compiled_call_impl is not None, "the layer runs through torch.compile"


def test_a_model_without_a_layer_list_is_refused(smoke_encoder):
    model = load_encoder(smoke_encoder)
    model[0].auto_model.encoder.layer = torch.nn.ModuleList([torch.nn.Identity(), torch.nn.Linear(2, 2)])
    with pytest.raises(ValueError, match="no list of identical layers to compile; set compile: false"):
        compile_layers(model)
