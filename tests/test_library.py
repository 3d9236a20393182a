"""docs/library.md's two examples, run as files on a smoke model: hybrid batches through the sentence-transformers
trainer (and the batches really are the sampler's), and scoring a model on one's own parallel data."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _example(name: str):  # noqa: ANN202
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_training_example_trains_on_the_samplers_batches_and_reports_lareqa_metrics(tmp_path, smoke_encoder, monkeypatch):
    from sentence_transformers import SentenceTransformerTrainer

    from hybridlib.samplers import StrategyBatchSampler

    consumed, drawn = [], []
    original_step = SentenceTransformerTrainer.training_step

    def training_step(self, model, inputs, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        consumed.append(inputs)
        return original_step(self, model, inputs, *args, **kwargs)

    original_iter = StrategyBatchSampler.__iter__

    def sampler_iter(self):  # noqa: ANN001, ANN202
        for rows in original_iter(self):
            drawn.append(list(rows))
            yield rows

    monkeypatch.setattr(SentenceTransformerTrainer, "training_step", training_step)
    monkeypatch.setattr(StrategyBatchSampler, "__iter__", sampler_iter)
    example = _example("train_hybrid")
    metrics = example.main(str(smoke_encoder), str(tmp_path / "out"))
    assert set(metrics) == {"held-out_mono_map", "held-out_cross_map", "held-out_multi_map", "held-out_rank_distance"}
    assert all(0 <= metrics[k] <= 1 for k in metrics if k.endswith("map"))
    assert len(consumed) == 4, "max_steps"
    # the trainer's 4 steps are the sampler's first 4 batches: texts of 2 pairs each, from 2 different groups
    from datasets import Dataset

    from hybridlib.training import pair_dataset

    rows = Dataset.from_list([{"pair_id": g, "lang": lang, "query": q, "passage": p} for g, t in example.FACTS for lang, (q, p) in t.items()])
    pairs = pair_dataset(rows, ("en", "de"), hard_negatives=False)
    from sentence_transformers import SentenceTransformer

    from hybridlib.training import trainer_prompts

    tokenizer = SentenceTransformer(str(smoke_encoder))
    prompts = trainer_prompts(tokenizer)  # the example trains with the prompts it is evaluated with
    assert len(drawn) >= 4
    for inputs, batch in zip(consumed, drawn):
        for column, kind in (("query", "query"), ("positive", "positive")):
            expected = tokenizer.tokenize([prompts[column] + pairs[i][kind] for i in batch])["input_ids"]
            got = inputs[f"{column}_input_ids"]
            assert got.shape == expected.shape and (got == expected).all(), "the trainer trains on the sampler's rows"
    groups = [{pairs.data.column("group")[i].as_py() for i in batch} for batch in drawn[:4]]
    assert all(len(g) == 2 for g in groups), "no batch holds two rows of one group"
    assert (tmp_path / "out" / "config.json").exists()


def test_scoring_example_prints_each_setting(smoke_encoder, capsys):
    metrics = _example("score_model").main(str(smoke_encoder))
    out = capsys.readouterr().out
    assert "mono  mAP" in out and "cross mAP" in out and "multi mAP" in out and "rank distance" in out
    assert 0 < metrics["multi"]["map"]["mean"] <= 1


def test_shuffled_training_rows_are_refused_in_one_line():
    from datasets import Dataset

    from hybridlib.training import pair_dataset

    rows = Dataset.from_dict({"pair_id": ["g1", "g1", "g2", "g2"], "lang": ["en", "de"] * 2, "query": list("abcd"), "passage": list("ABCD")})
    for reordered in (rows.shuffle(seed=0), rows.train_test_split(test_size=0.5, seed=0)["train"], rows.select([1, 0, 2, 3])):
        with pytest.raises(ValueError, match=r"the training rows were reordered or subset"):
            pair_dataset(reordered, ("en", "de"), hard_negatives=False)
    assert len(pair_dataset(rows.shuffle(seed=0).flatten_indices(), ("en", "de"), hard_negatives=False)) == 8


def test_the_cli_scores_a_task_folder_of_ones_own_with_or_without_the_prefixes(tmp_path, smoke_encoder, capsys, monkeypatch):
    import json

    from hybridlib import encoder
    from hybridlib.cli import main

    seen = []
    original = encoder.encode

    def encode(model, texts, *, kind, **kwargs):  # noqa: ANN001, ANN003, ANN202
        seen.append(encoder.prompts_for(model, kwargs.get("prefixes", True))[kind])
        return original(model, texts, kind=kind, **kwargs)

    monkeypatch.setattr(encoder, "encode", encode)
    from hybridlib.records import Candidate, Query, RetrievalTask

    items = {"g1": ("Who wrote Faust?", "Goethe wrote Faust."), "g2": ("Where is the Louvre?", "The Louvre is in Paris.")}
    task = RetrievalTask("mine", [Query(f"{lang}-{g}", lang, f"{q} {lang}", key=g) for g, (q, _) in items.items() for lang in ("en", "de")],
                         [Candidate(f"{lang}-{g}", lang, f"{p} {lang}", "", (g,)) for g, (_, p) in items.items() for lang in ("en", "de")])
    task.write(tmp_path / "task")
    outs = {}
    for flag in ([], ["--no-prefixes"]):
        out = tmp_path / f"m{len(flag)}.json"
        assert main(["evaluate", "--task", str(tmp_path / "task"), "--model", str(smoke_encoder), "--n-boot", "20", "--out", str(out), *flag]) == 0
        outs[bool(flag)] = json.loads(out.read_text())
    assert outs[False]["source"]["prefixes"] is True and outs[True]["source"]["prefixes"] is False
    assert outs[True]["source"]["prompts"] == {"query": "", "passage": ""}
    assert seen == ["query: ", "passage: ", "", ""], "the model's prefixes, then none"
    assert main(["evaluate", "--task", str(tmp_path), "--model", str(smoke_encoder), "--out", str(tmp_path / "x.json")]) == 2
    assert "not a task folder (neither queries.jsonl, candidates.jsonl and task.json, nor MTEB's" in capsys.readouterr().err


def test_an_mteb_folder_with_languages_scores_as_the_same_task_in_hybridlibs_format(tmp_path, smoke_encoder, capsys):
    import json

    from hybridlib import storage
    from hybridlib.cli import main
    from hybridlib.records import Candidate, Query, RetrievalTask

    items = {"g1": ("Who wrote Faust?", "Goethe wrote Faust."), "g2": ("Where is the Louvre?", "The Louvre is in Paris."),
             "g3": ("What is the capital of Peru?", "Lima is the capital of Peru.")}
    langs = ("en", "de", "es")
    own = RetrievalTask("mine", [Query(f"{lang}-{g}", lang, f"{q} {lang}", key=g) for g, (q, _) in items.items() for lang in langs],
                        [Candidate(f"c-{lang}-{g}", lang, f"{p} {lang}", "", (g,)) for g, (_, p) in items.items() for lang in langs]
                        + [Candidate("c-en-distractor", "en", "Bread is baked.", "", ())])
    own.write(tmp_path / "own")
    mteb = tmp_path / "mteb"
    storage.write_jsonl(mteb / "queries.jsonl", [{"_id": q.id, "text": q.text, "lang": q.lang} for q in own.queries])
    storage.write_jsonl(mteb / "corpus.jsonl", [{"_id": c.id, "title": "", "text": c.text, "lang": c.lang} for c in own.candidates])
    qrels = ["query-id\tcorpus-id\tscore"] + [f"{q.id}\t{c.id}\t1" for q in own.queries for c in own.candidates if q.key in c.keys]
    storage.write_text(mteb / "qrels" / "test.tsv", "\n".join(qrels) + "\n")
    scores = {}
    for name in ("own", "mteb"):
        out = tmp_path / f"{name}.json"
        assert main(["evaluate", "--task", str(tmp_path / name), "--model", str(smoke_encoder), "--n-boot", "20", "--out", str(out)]) == 0
        scores[name] = json.loads(out.read_text())
    for setting in ("mono", "cross", "multi"):
        assert scores["mteb"][setting]["map"] == scores["own"][setting]["map"], setting
    storage.write_jsonl(mteb / "corpus.jsonl", [{"_id": c.id, "text": c.text} for c in own.candidates])
    assert main(["evaluate", "--task", str(mteb), "--model", str(smoke_encoder), "--out", str(tmp_path / "x.json")]) == 2
    assert "corpus.jsonl: row 1 has no ['lang']; every row needs _id, text and lang" in capsys.readouterr().err
    storage.write_jsonl(mteb / "corpus.jsonl", [{"_id": c.id, "title": "", "text": c.text, "lang": c.lang} for c in own.candidates])
    for line, error in (("xx-g9\tc-en-g1\t1", "query ids ['xx-g9'] are not in queries.jsonl"),
                        ("en-g1\tc-en-g1\thigh", "test.tsv:2: score 'high' is not a number")):
        storage.write_text(mteb / "qrels" / "test.tsv", f"{qrels[0]}\n{line}\n")
        assert main(["evaluate", "--task", str(mteb), "--model", str(smoke_encoder), "--out", str(tmp_path / "x.json")]) == 2
        assert error in capsys.readouterr().err
