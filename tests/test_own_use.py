"""The library tried as a new user would, on data and models of one's own: nothing silently wrong. Each test names
what it guards; each error is one line that names the fix."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from hybridlib.records import Candidate, Query, RetrievalTask

ROOT = Path(__file__).resolve().parents[1]
ITEMS = {"g1": ("Who wrote Faust?", "Goethe wrote Faust."), "g2": ("Where is the Louvre?", "The Louvre is in Paris."),
         "g3": ("What do bees make?", "Bees make honey."), "g4": ("Which river flows through Basel?", "The Rhine does."),
         "g5": ("What is the capital of Peru?", "Lima is the capital of Peru."), "g6": ("Who painted it?", "Monet did.")}


def own_task(langs: tuple[str, ...] = ("en", "de"), *, query_lang: dict[str, str] | None = None, key: dict[str, str] | None = None,
             extra_queries: list[Query] | None = None) -> RetrievalTask:
    """Six items in every language of `langs`; `query_lang` / `key` respell a language for the queries / one
    language's candidate keys."""
    query_lang, key = query_lang or {}, key or {}
    queries = [Query(f"{lang}-{g}", query_lang.get(lang, lang), f"{q} {lang}", key=g) for g, (q, _) in ITEMS.items() for lang in langs]
    candidates = [Candidate(f"c-{lang}-{g}", lang, f"{p} {lang}", "", (key.get(lang, "") + g,)) for g, (_, p) in ITEMS.items() for lang in langs]
    return RetrievalTask("mine", queries + (extra_queries or []), candidates)


def random_embeddings(task: RetrievalTask, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(len(task.queries), 8)).astype(np.float32), rng.normal(size=(len(task.candidates), 8)).astype(np.float32)


def evaluate(tmp_path: Path, task_dir: Path, model: Path, *flags: str) -> dict:
    from hybridlib.cli import main

    out = tmp_path / f"m{len(list(tmp_path.glob('m*.json')))}.json"
    assert main(["evaluate", "--task", str(task_dir), "--model", str(model), "--n-boot", "20", "--out", str(out), *flags]) == 0
    return json.loads(out.read_text())


# 1. --no-prefixes


def test_evaluate_without_prefixes_scores_what_encoding_without_them_scores(tmp_path, smoke_encoder):
    from sentence_transformers import SentenceTransformer

    from hybridlib.evaluation import evaluate_embeddings
    from hybridlib.records import passage_input

    task = own_task()
    task.write(tmp_path / "task")
    scores = {True: evaluate(tmp_path, tmp_path / "task", smoke_encoder), False: evaluate(tmp_path, tmp_path / "task", smoke_encoder, "--no-prefixes")}
    model = SentenceTransformer(str(smoke_encoder))
    for prefixes, (q, p) in ((True, ("query: ", "passage: ")), (False, ("", ""))):
        q_emb = model.encode([q + x.text for x in task.queries], normalize_embeddings=True)
        c_emb = model.encode([p + passage_input(c.text, c.context) for c in task.candidates], normalize_embeddings=True)
        by_hand, _ = evaluate_embeddings(task, q_emb, c_emb, n_boot=20)
        for setting in ("mono", "cross", "multi"):
            assert scores[prefixes][setting]["map"]["mean"] == pytest.approx(by_hand[setting]["map"]["mean"], abs=1e-5), (prefixes, setting)
    assert scores[True]["multi"]["map"]["mean"] != scores[False]["multi"]["map"]["mean"], "the flag changes what is encoded"
    assert scores[False]["source"]["prefixes"] is False and scores[False]["source"]["prompts"] == {"query": "", "passage": ""}


# 2. language codes


def test_one_language_spelled_two_ways_or_not_a_code_is_refused():
    with pytest.raises(ValueError, match=r"one language is spelled 'EN' \(queries\) and 'en' \(candidates\), which would count as two languages; write 'en' everywhere"):
        own_task(query_lang={"en": "EN"})
    with pytest.raises(ValueError, match=r"language 'english' is not a lower-case language code; write its ISO 639-1 code"):
        own_task(query_lang={"en": "english"})


# 3. relevance that matches nothing


def test_relevance_that_matches_nothing_is_refused_or_named(tmp_path, smoke_encoder, capsys):
    from hybridlib.evaluation import evaluate_embeddings
    from hybridlib.evaluator import LAReQAEvaluator

    with pytest.raises(ValueError, match=r"query en-g1: key must be one string .*; write key='g1'"):
        Query("en-g1", "en", "Who?", key=("g1",))
    with pytest.raises(ValueError, match=r"query en-1: key must be one string .*; write key='1'"):
        Query("en-1", "en", "Who?", key=1)
    with pytest.raises(ValueError, match=r"candidate c-1: keys must be strings, got \(1,\); write keys=\('1',\)"):
        Candidate("c-1", "en", "Goethe.", "", (1,))
    nothing = own_task(key={"en": "x", "de": "x"})
    with pytest.raises(ValueError, match=r"task mine: no query's key is among the candidates' keys .* give both sides the same keys"):
        evaluate_embeddings(nothing, *random_embeddings(nothing), n_boot=10)
    typo = own_task(("en", "de", "es"), key={"de": "G"})  # de's candidates keyed "Gg1": de drops out of Mo
    result, _ = evaluate_embeddings(typo, *random_embeddings(typo), n_boot=10)
    named = "de: no candidate is relevant to any query (check its keys), so no Mo for it and no Cr into it"
    assert result["warnings"] == [named]
    typo.write(tmp_path / "typo")
    evaluate(tmp_path, tmp_path / "typo", smoke_encoder)
    assert named in json.loads(capsys.readouterr().out)["warnings"], "the printed line names it"
    from sentence_transformers import SentenceTransformer

    LAReQAEvaluator(typo, name="typo")(SentenceTransformer(str(smoke_encoder)))
    assert f"typo: {named}" in capsys.readouterr().out, "the trainer's evaluator names it"


# 4. one prompt rule


def test_the_evaluator_and_the_command_score_a_model_alike_and_read_the_trainers_prompt_names(tmp_path, smoke_encoder):
    from sentence_transformers import SentenceTransformer

    from hybridlib.evaluator import LAReQAEvaluator

    task = own_task()
    task.write(tmp_path / "task")
    model = SentenceTransformer(str(smoke_encoder))  # a folder without prompts of its own
    for flags, kwargs in (((), {}), (("--no-prefixes",), {"prefixes": False})):
        command = evaluate(tmp_path, tmp_path / "task", smoke_encoder, *flags)
        evaluator = LAReQAEvaluator(task, name="t", **kwargs)(model)
        for setting in ("mono", "cross", "multi"):
            assert evaluator[f"t_{setting}_map"] == pytest.approx(command[setting]["map"]["mean"], abs=1e-5), (flags, setting)
    default = LAReQAEvaluator(task, name="t")(model)
    trainer_named = LAReQAEvaluator(task, name="t", prompts={"query": "query: ", "positive": "passage: ", "negative": "passage: "})(model)
    assert trainer_named == pytest.approx(default), "the trainer's 'positive' is the passage prompt"
    with pytest.raises(ValueError, match=r"prompt names \['passge'\] are unknown; name the prompts 'query' and 'passage'"):
        LAReQAEvaluator(task, prompts={"query": "query: ", "passge": "passage: "})
    from hybridlib.training import trainer_prompts

    assert trainer_prompts(model) == {"query": "query: ", "positive": "passage: ", "negative": "passage: "}
    assert trainer_prompts(model, prefixes=False) == {"query": "", "positive": "", "negative": ""}


# 5. context


def test_the_library_docs_say_what_context_does():
    doc = (ROOT / "docs" / "library.md").read_text(encoding="utf-8")
    assert "`context` is text encoded *with* the candidate" in doc and "records.passage_input" in doc


# 6. small languages


def test_languages_with_few_queries_or_no_candidates_are_named_on_the_printed_line_and_in_metrics(tmp_path, smoke_encoder, capsys):
    task = own_task(extra_queries=[Query("fr-g1", "fr", "Qui a écrit Faust ?", key="g1")])  # one French query, no French candidate
    task.write(tmp_path / "task")
    metrics = evaluate(tmp_path, tmp_path / "task", smoke_encoder)
    expected = ["fr: queries but no candidates, so no Mo for it and no Cr into it",
                "fr: 1 query with a relevant candidate, fewer than 5, yet a full language's weight in the macro means"]
    assert metrics["warnings"] == expected
    assert json.loads(capsys.readouterr().out)["warnings"] == expected


# 7. training rows


def test_training_rows_that_would_train_silently_wrong_are_refused():
    from datasets import Dataset

    from hybridlib.samplers import Strategy
    from hybridlib.training import pair_dataset

    rows = {"pair_id": ["g1", "g1", "g2", "g2"], "lang": ["en", "de"] * 2, "query": list("abcd"), "passage": list("ABCD")}
    with pytest.raises(ValueError, match=r"no training row is in \['fr'\], so they would get no batch; .* name only those, or add rows in \['fr'\]"):
        pair_dataset(Dataset.from_dict(rows), ("en", "de", "fr"), hard_negatives=False)
    with pytest.raises(ValueError, match=r"languages must be a tuple of language codes, got the string 'en'; write \('en',\)"):
        pair_dataset(Dataset.from_dict(rows), "en", hard_negatives=False)
    twice = {k: [*v, v[0]] for k, v in rows.items()}  # g1 in en again ...
    assert len(pair_dataset(Dataset.from_dict(twice), ("en", "de"), hard_negatives=False)) == 8, "the same row twice is one row"
    twice["passage"][-1] = "another passage"  # ... with another text
    with pytest.raises(ValueError, match=r"1 \(pair_id, lang\) have rows with different texts, e.g. pair_id 'g1' in 'en'; one would be dropped"):
        pair_dataset(Dataset.from_dict(twice), ("en", "de"), hard_negatives=False)
    with pytest.raises(ValueError, match=r"strategy 'hybrid' needs its alpha .*; write e.g. 'hybrid-0.5'"):
        Strategy.parse("hybrid")
    assert Strategy.parse("hybrid-0.5") == Strategy("hybrid", 0.5)


def test_a_pair_dataset_reads_as_a_dataset_and_its_sampler_prints_the_plan(capsys):
    from datasets import Dataset

    from hybridlib.samplers import StrategyBatchSampler
    from hybridlib.training import pair_dataset

    groups = [f"g{i}" for i in range(4)]
    rows = Dataset.from_dict({"pair_id": [g for g in groups for _ in "ab"] + ["g0"], "lang": ["en", "de"] * 4 + ["el"],
                              "query": [f"q{i}" for i in range(9)], "passage": [f"p{i}" for i in range(9)]})
    pairs = pair_dataset(rows, ("en", "de", "el"), hard_negatives=False)
    assert pairs["query_lang"][:5] == [0, 0, 0, 1, 1] and pairs[0] == {"query": "q0", "positive": "p0"}
    sampler = StrategyBatchSampler(pairs, batch_size=2, strategy="hybrid-0.5", num_ranks=1)
    assert capsys.readouterr().out == ""
    next(iter(sampler))
    next(iter(sampler))
    assert capsys.readouterr().out == ("hybrid-0.5: 2 steps an epoch of 2 groups; xx-mono batches draw uniformly among en, de "
                                       "(no xx-mono batch in el: 1 groups, fewer than a batch of 2)\n"), "once, when first drawn from"


def test_batches_reads_rows_as_the_library_docs_describe_them(tmp_path):
    from datasets import Dataset

    from hybridlib import storage
    from hybridlib.cli import main

    rows = [{"pair_id": f"g{i}", "lang": lang, "query": f"q{i} {lang}", "passage": f"p{i} {lang}"} for i in range(6) for lang in ("en", "de")]
    storage.write_jsonl(tmp_path / "rows.jsonl", rows)
    storage.write_jsonl(tmp_path / "folder" / "a.jsonl", rows[:6])
    storage.write_jsonl(tmp_path / "folder" / "b.jsonl", rows[6:])
    Dataset.from_list(rows).save_to_disk(str(tmp_path / "saved"))  # no negative, no source: both optional
    drawn = []
    for data in ("rows.jsonl", "folder", "saved"):
        out = tmp_path / f"{data}.out.jsonl"
        assert main(["batches", "--strategy", "xy", "--batch-size", "2", "--steps", "3", "--data", str(tmp_path / data), "--out", str(out)]) == 0
        drawn.append(out.read_text())
    assert drawn[0] == drawn[1] == drawn[2], "the same rows, the same batches"


# friction: the docs' examples and install line


def test_the_training_example_imports_without_deprecation_warnings():
    import subprocess
    import sys

    code = ("import importlib.util; spec = importlib.util.spec_from_file_location('ex', 'examples/train_hybrid.py'); "
            "spec.loader.exec_module(importlib.util.module_from_spec(spec))")
    run = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-W", "error::FutureWarning", "-c", code],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-1000:]


def test_the_library_docs_give_an_install_line_and_the_prompt_rule_in_one_place():
    doc = (ROOT / "docs" / "library.md").read_text(encoding="utf-8")
    assert re.search(r'pip install "hybridlib @ git\+https://\S+"', doc)
    assert doc.count("## Prompts: one rule") == 1 and "`positive`" in doc and "`document`" in doc
    assert "sentence_transformers.losses" not in doc, "the deprecated module"


# 8. a profile of one's own that compares less than the study


def test_a_profile_that_trains_nothing_shows_no_batches_or_curves_and_says_so(tmp_path, capsys):
    from fixtures import TINY_PROFILE

    from hybridlib import inspection
    from hybridlib.config import profile_from_dict
    from hybridlib.pipeline import Paths, train_all

    profile = profile_from_dict({**TINY_PROFILE, "strategies": ["off-the-shelf"]})
    paths = Paths(tmp_path, profile.name)
    assert inspection.example_batches(profile, paths).empty
    assert inspection.batch_composition_figure(profile, paths) is None
    assert inspection.loss_curve_figure(profile, paths) is None
    assert train_all(profile, paths).empty
    out = capsys.readouterr().out
    for said in ("no batches to show", "no batches to count", "no loss curves", "nothing to train"):
        assert said in out, said


def test_the_per_language_figure_draws_a_single_strategy():
    import pandas as pd

    from hybridlib.figures import per_language_points

    per_lang = pd.DataFrame([{"strategy": "off-the-shelf", "seed": 0, "lang": lang, "unseen": lang == "el", "column": column, "value": 0.5}
                             for lang in ("en", "de", "el") for column in ("mono_map", "cross_map", "multi_map", "rank_distance")])
    fig = per_language_points(per_lang, "mine", "model", "mine")
    assert len(fig.axes) == 4


# Found by a second new-user trial: each was silent before


def test_training_languages_as_a_set_or_spelled_two_ways_are_refused():
    from datasets import Dataset

    from hybridlib.training import pair_dataset

    rows = {"pair_id": ["g1", "g1", "g2", "g2"], "lang": ["en", "de"] * 2, "query": list("abcd"), "passage": list("ABCD")}
    with pytest.raises(ValueError, match=r"languages must be an ordered tuple \(their order decides every batch\), got a set; write \('de', 'en'\)"):
        pair_dataset(Dataset.from_dict(rows), {"en", "de"}, hard_negatives=False)
    with pytest.raises(ValueError, match=r"name a language twice"):
        pair_dataset(Dataset.from_dict(rows), ("en", "en", "de"), hard_negatives=False)
    mixed = {**rows, "lang": ["EN", "de", "en", "de"]}  # one row's language spelled otherwise: it would be dropped
    with pytest.raises(ValueError, match=r"the training rows: one language is spelled 'EN' .* and 'en' .*; write 'en' everywhere"):
        pair_dataset(Dataset.from_dict(mixed), ("en", "de"), hard_negatives=False)
    with pytest.raises(ValueError, match=r"language 'english' is not a lower-case language code"):
        pair_dataset(Dataset.from_dict({**rows, "lang": ["english", "de"] * 2}), ("english", "de"), hard_negatives=False)


def test_a_misspelled_key_a_missing_setting_and_ids_without_their_item_are_named():
    from hybridlib.evaluation import evaluate_embeddings

    task = own_task(("en", "de", "fr"))
    typo = next(i for i, c in enumerate(task.candidates) if c.lang == "fr" and c.keys == ("g5",))
    task.candidates[typo] = Candidate(task.candidates[typo].id, "fr", task.candidates[typo].text, "", ("g5_",))  # one typo
    result, _ = evaluate_embeddings(task, *random_embeddings(task), n_boot=10)
    assert any(w.startswith("fr: 1 of 6 queries have no relevant candidate in fr") for w in result["warnings"]), result["warnings"]

    # relevance only within a language (per-language MTEB qrels): Cr has no score, and the output says why
    own = own_task(("en", "de"))
    per_language = RetrievalTask("mine", own.queries, [Candidate(c.id, c.lang, c.text, "", (f"{c.lang}-{c.keys[0]}",)) for c in own.candidates])
    per_language = RetrievalTask("mine", [Query(q.id, q.lang, q.text, f"{q.lang}-{q.key}") for q in own.queries], per_language.candidates)
    result, _ = evaluate_embeddings(per_language, *random_embeddings(per_language), n_boot=10)
    assert result["cross"] is None or any(w.startswith("cross: no query has a relevant candidate") for w in result["warnings"])
    assert any("relevance must link each query to its translations" in w for w in result["warnings"]), result["warnings"]

    # ids that do not name their parallel item: the intervals resample queries alone, and the output says so
    odd = RetrievalTask("mine", [Query(q.id.replace("-", "_"), q.lang, q.text, q.key) for q in own.queries], own.candidates)
    result, _ = evaluate_embeddings(odd, *random_embeddings(odd), n_boot=10)
    assert any(w.startswith(f"{len(odd.queries)} query ids do not start with '<lang>-'") for w in result["warnings"]), result["warnings"]

    # ids that start with '<lang>-' but number each translation apart: the same silent resampling, named too
    numbered = RetrievalTask("mine", [Query(f"{q.lang}-q{i}", q.lang, q.text, q.key) for i, q in enumerate(own.queries)], own.candidates)
    result, _ = evaluate_embeddings(numbered, *random_embeddings(numbered), n_boot=10)
    assert any("keys are shared by translations whose ids name other items" in w for w in result["warnings"]), result["warnings"]
    result, _ = evaluate_embeddings(own, *random_embeddings(own), n_boot=10)
    assert result["warnings"] == [], "ids '<lang>-<item>' with one item per key: nothing to say"


def test_the_command_reads_the_models_own_length_as_the_evaluator_does_and_records_it(tmp_path, smoke_encoder):
    task = own_task()
    task.write(tmp_path / "task")
    result = evaluate(tmp_path, tmp_path / "task", smoke_encoder)
    assert result["source"]["max_seq_length"] == 96, "the smoke model's own limit, not a default of 256 the evaluator does not use"
    assert evaluate(tmp_path, tmp_path / "task", smoke_encoder, "--max-seq-length", "8")["source"]["max_seq_length"] == 8
