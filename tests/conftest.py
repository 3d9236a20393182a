from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no test may reach a hub
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

# A folder of real published files (xquad-r/<lang>.json, mtop/xsemplr_{dev,test}.json, tokenizers/...) for the
# checks on real data; the tests that need it skip where it is not given.
REAL_DATA = os.environ.get("HYBRIDLIB_REAL_DATA")


def shared(*parts: str) -> Path:
    """A path under $HYBRIDLIB_REAL_DATA; skips the test where the variable is unset or the path is missing."""
    if not REAL_DATA:
        pytest.skip("HYBRIDLIB_REAL_DATA is not set (a folder of real data files)")
    path = Path(REAL_DATA).joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not present")
    return path


@pytest.fixture(scope="session")
def tiny_world():
    from hybridlib import synthetic

    return synthetic.World(synthetic.WorldSpec(n_entities=30, eval_paragraphs=6, seed=3))


@pytest.fixture(scope="session")
def smoke_encoder(tmp_path_factory, tiny_world):
    """A tiny smoke encoder folder (built once per test run)."""
    from hybridlib import synthetic
    from hybridlib.encoder import build_smoke_encoder

    out = tmp_path_factory.mktemp("enc") / "smoke"
    return build_smoke_encoder(synthetic.pretraining_corpus(tiny_world), out, vocab_size=600, hidden_size=32, num_layers=1, num_heads=2, max_length=96)
