"""The cached (GradCache) loss equals the plain in-batch InfoNCE loss in value and gradients (CPU)."""

from __future__ import annotations

import pytest
import torch

from fixtures import training_batch

from hybridlib.encoder import load_encoder
from hybridlib.training import TrainSettings, make_loss


@pytest.mark.parametrize("minibatch", [1, 3])
def test_cached_loss_matches_plain_loss_and_gradients(smoke_encoder, minibatch):
    results = []
    for cached in (0, minibatch):
        torch.manual_seed(0)
        model = load_encoder(smoke_encoder, max_seq_length=32)
        model.eval()  # no dropout: both losses must see the same network
        model.double()  # float64: what differs is the summation order, not the maths
        loss_fn = make_loss(model, TrainSettings(steps=1, batch_size=8, cached_minibatch=cached))
        inputs, labels = training_batch(model)
        loss = loss_fn(inputs, labels)
        loss.backward()
        grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
        results.append((loss.item(), grads))
    (plain, g_plain), (cached, g_cached) = results
    assert cached == pytest.approx(plain, rel=1e-10)
    assert set(g_plain) == set(g_cached)
    for name in g_plain:
        torch.testing.assert_close(g_cached[name], g_plain[name], rtol=1e-9, atol=1e-12, msg=lambda m, name=name: f"gradient of {name}: {m}")
