"""Real sentence-transformers training steps on CPU with a tiny smoke encoder: determinism and resume."""

from __future__ import annotations

import pytest
import torch
from datasets import Dataset
from transformers import TrainerCallback

from hybridlib import synthetic
from hybridlib.encoder import load_encoder
from hybridlib.samplers import Strategy
from hybridlib.training import TrainSettings, train_run

LANGS = ("en", "de", "es", "ru", "zh")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rows(tiny_world):
    return Dataset.from_list(synthetic.training_rows(tiny_world, LANGS))


def weights(path) -> dict[str, torch.Tensor]:
    model = load_encoder(path)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def settings(**kw) -> TrainSettings:
    return TrainSettings(**{"steps": 4, "batch_size": 8, "learning_rate": 1e-3, "max_seq_length": 48, "hard_negatives": True, **kw})


def test_same_seed_same_weights_on_cpu(rows, smoke_encoder, tmp_path):
    a = train_run(str(smoke_encoder), rows, LANGS, Strategy.parse("hybrid-0.5"), 7, settings(), tmp_path / "a")
    b = train_run(str(smoke_encoder), rows, LANGS, Strategy.parse("hybrid-0.5"), 7, settings(), tmp_path / "b")
    c = train_run(str(smoke_encoder), rows, LANGS, Strategy.parse("hybrid-0.5"), 8, settings(), tmp_path / "c")
    wa, wb, wc = weights(a), weights(b), weights(c)
    assert all(torch.equal(wa[k], wb[k]) for k in wa), "same seed, different weights"
    assert any(not torch.equal(wa[k], wc[k]) for k in wa), "another seed gave identical weights"
    assert not (tmp_path / "a" / "checkpoints").exists(), "checkpoints are removed once the model is saved"


def test_tokenizing_in_loader_workers_changes_nothing(rows, smoke_encoder, tmp_path):
    """The GPU default collates in dataloader worker processes; same batches, same weights as in the main process."""
    a = train_run(str(smoke_encoder), rows, LANGS, Strategy.parse("hybrid-0.5"), 7, settings(loader_workers=0), tmp_path / "a")
    b = train_run(str(smoke_encoder), rows, LANGS, Strategy.parse("hybrid-0.5"), 7, settings(loader_workers=2), tmp_path / "b")
    wa, wb = weights(a), weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


class StopAt(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise KeyboardInterrupt("simulated interruption")


def steps_per_epoch(rows, strategy: str, batch_size: int = 8) -> int:
    from hybridlib.samplers import BatchPlan, index_from_pair_dataset
    from hybridlib.training import pair_dataset

    pairs = pair_dataset(rows, LANGS, hard_negatives=False)
    return BatchPlan(index_from_pair_dataset(pairs), Strategy.parse(strategy), batch_size, 0).steps_per_epoch


def test_interrupted_run_resumes_from_its_checkpoint(rows, smoke_encoder, tmp_path, capsys):
    """Interrupted in the second epoch and resumed: the same batches (the sampler gets that epoch) and weights."""
    epoch = steps_per_epoch(rows, "xy")
    s = settings(steps=epoch + 4, save_steps=epoch + 2)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train_run(str(smoke_encoder), rows, LANGS, Strategy.parse("xy"), 3, s, out, callbacks=[StopAt(epoch + 3)])
    assert not (out / "model").exists(), "no model folder for an unfinished run"
    assert (out / "checkpoints" / f"checkpoint-{epoch + 2}").exists()
    resumed = train_run(str(smoke_encoder), rows, LANGS, Strategy.parse("xy"), 3, s, out)
    assert "resuming xy seed 3 from" in capsys.readouterr().out
    straight = train_run(str(smoke_encoder), rows, LANGS, Strategy.parse("xy"), 3, s, tmp_path / "straight")
    wr, ws = weights(resumed), weights(straight)
    assert all(torch.allclose(wr[k], ws[k], atol=1e-6) for k in wr), "resumed run differs from an uninterrupted one"


def test_a_run_records_the_kind_of_each_batch_the_trainer_drew(rows, smoke_encoder, tmp_path, monkeypatch):
    import json

    import pandas as pd

    from hybridlib.samplers import StrategyBatchSampler

    drawn, pairs_of = [], []  # per step (one rank): the pair-dataset rows the sampler handed the trainer
    original_init, original_iter = StrategyBatchSampler.__init__, StrategyBatchSampler.__iter__

    def sampler_init(self, dataset, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        pairs_of.append(dataset)
        original_init(self, dataset, *args, **kwargs)

    def sampler_iter(self):  # noqa: ANN001, ANN202
        for batch in original_iter(self):
            drawn.append((pairs_of[0], list(batch)))
            yield batch

    monkeypatch.setattr(StrategyBatchSampler, "__init__", sampler_init)
    monkeypatch.setattr(StrategyBatchSampler, "__iter__", sampler_iter)
    out = tmp_path / "run"
    steps = steps_per_epoch(rows, "hybrid-0.5") + 6  # into the second epoch
    train_run(str(smoke_encoder), rows, LANGS, Strategy.parse("hybrid-0.5"), 5, settings(steps=steps, save_steps=0), out)
    record = pd.read_csv(out / "batches.csv", keep_default_na=False)
    assert list(record["step"]) == list(range(steps)) and len(drawn) >= steps and set(record["epoch"]) == {0, 1}
    for (_, row), (pairs, batch) in zip(record.iterrows(), drawn):
        names = pairs.features["query_lang"].names  # raw columns: the trainer's transform turns rows into tokens
        qlang = [names[pairs.data.column("query_lang")[i].as_py()] for i in batch]
        plang = [names[pairs.data.column("passage_lang")[i].as_py()] for i in batch]
        if row["kind"] == "xx-mono":
            assert qlang == plang == [row["language"]] * len(batch)
        else:
            assert row["kind"] == "xy" and row["language"] == "" and all(q != p for q, p in zip(qlang, plang))
    assert set(record["kind"]) == {"xx-mono", "xy"}
    mix = json.loads((out / "budget.json").read_text())["batches"]
    assert sum(mix.values()) == steps and mix["xy"] == (record["kind"] == "xy").sum()


def test_hard_negatives_on_rows_without_one_are_refused(rows, smoke_encoder, tmp_path):
    broken = rows.map(lambda r, i: {"negative": "" if i == 3 else r["negative"]}, with_indices=True)
    with pytest.raises(ValueError, match="some training rows have no negative"):
        train_run(str(smoke_encoder), broken, LANGS, Strategy.parse("xy"), 0, settings(), tmp_path / "x")
