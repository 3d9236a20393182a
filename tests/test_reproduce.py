"""A rerun holds the committed snapshot's numbers within the stated tolerance across CPU kinds (docs/speed.md):
multilingual-e5-small off the shelf on XQuAD-R's held-out articles, with the snapshot's settings (64 tokens, the
padded forward in batches of 32, bf16), against the snapshot's summary.csv. Needs the real files and the model."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from conftest import shared

from hybridlib import lareqa
from hybridlib.config import REPO_ROOT
from hybridlib.encoder import load_encoder
from hybridlib.evaluation import encode_task, evaluate_embeddings

ME5 = os.environ.get("HYBRIDLIB_MODEL_ME5")
SNAPSHOT = REPO_ROOT / "snapshots" / "small-budgets-2026-12-07"
MAP_TOLERANCE, RANK_TOLERANCE = 5e-4, 0.5  # across CPU kinds (bf16 kernels); the same kind agrees to every digit
pytestmark = pytest.mark.slow


@pytest.mark.skipif(not ME5, reason="HYBRIDLIB_MODEL_ME5 is not set (a multilingual-e5-small folder)")
def test_the_off_the_shelf_rerun_holds_the_snapshot_within_the_cross_cpu_tolerance():
    task = lareqa.load(shared("xquad-r"), "xquad-r", lareqa.XQUAD_R_LANGUAGES, held_out_every=4, context=False)
    model = load_encoder(ME5, max_seq_length=64)
    q_emb, c_emb = encode_task(model, task, batch_size=32, precision="bf16")
    result, _ = evaluate_embeddings(task, q_emb, c_emb, n_boot=10)
    summary = pd.read_csv(SNAPSHOT / "summary.csv")
    row = summary[(summary["dataset"] == "xquad-r") & (summary["strategy"] == "off-the-shelf")].iloc[0]
    for setting, metric, column, tolerance in (("mono", "map", "mono_map", MAP_TOLERANCE), ("cross", "map", "cross_map", MAP_TOLERANCE),
                                               ("multi", "map", "multi_map", MAP_TOLERANCE),
                                               ("multi", "rank_distance", "rank_distance", RANK_TOLERANCE)):
        ours = result[setting][metric]["mean"]
        assert abs(ours - row[column]) <= tolerance, f"{column}: {ours} against the snapshot's {row[column]}"
