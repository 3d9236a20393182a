from __future__ import annotations

from collections import Counter

import pytest

from hybridlib import synthetic
from hybridlib.records import TRAIN_COLUMNS


def test_world_is_deterministic_by_seed():
    a = synthetic.World(synthetic.WorldSpec(n_entities=20, eval_paragraphs=4, seed=1))
    b = synthetic.World(synthetic.WorldSpec(n_entities=20, eval_paragraphs=4, seed=1))
    c = synthetic.World(synthetic.WorldSpec(n_entities=20, eval_paragraphs=4, seed=2))
    langs = a.spec.languages
    assert synthetic.training_rows(a, langs) == synthetic.training_rows(b, langs)
    assert synthetic.training_rows(a, langs) != synthetic.training_rows(c, langs)


def test_at_least_five_languages_with_english(tiny_world):
    assert len(tiny_world.spec.languages) >= 5
    assert "en" in tiny_world.spec.languages


def test_some_pairs_share_vocabulary_and_others_none(tiny_world):
    w = tiny_world
    assert 0.3 < w.shared_vocabulary("en", "de") < 0.8, "de borrows about half of en's words"
    assert 0.05 < w.shared_vocabulary("en", "es") < 0.45
    for a, b in [("en", "ru"), ("en", "zh"), ("ru", "zh"), ("el", "en"), ("el", "ru")]:
        assert w.shared_vocabulary(a, b) == 0.0, f"{a}-{b} must share no word"


def test_training_rows_schema_and_every_group_in_every_language(tiny_world):
    langs = ("en", "de", "es", "ru", "zh")
    rows = synthetic.training_rows(tiny_world, langs)
    assert all(tuple(r) == TRAIN_COLUMNS for r in rows)
    per_group = Counter(r["pair_id"] for r in rows)
    assert set(per_group.values()) == {len(langs)}
    for pair_id in list(per_group)[:20]:
        group = [r for r in rows if r["pair_id"] == pair_id]
        assert sorted(r["lang"] for r in group) == sorted(langs)
        assert len({r["query"] for r in group}) == len(langs), "translations differ"


def test_splits_are_disjoint(tiny_world):
    langs = tiny_world.spec.languages
    train = synthetic.training_rows(tiny_world, langs)
    task = synthetic.evaluation_task(tiny_world, langs)
    train_groups = {r["pair_id"] for r in train}
    eval_groups = {q.key for q in task.queries}
    assert not train_groups & eval_groups
    train_texts = {r["query"] for r in train} | {r["passage"].split(" || ")[0] for r in train}
    assert not train_texts & ({q.text for q in task.queries} | {c.text for c in task.candidates})


def test_evaluation_task_relevance_is_by_parallel_group(tiny_world):
    langs = tiny_world.spec.languages
    task = synthetic.evaluation_task(tiny_world, langs)
    rel = task.relevance()
    # one relevant candidate per language for every query: the answer sentence in that language
    assert (rel.sum(axis=1) == len(langs)).all()
    distractors = [c for c in task.candidates if not c.keys]
    assert len(distractors) == len(tiny_world.eval_paragraphs) * len(langs), "one unasked sentence per paragraph"


def test_bad_spec_is_rejected():
    with pytest.raises(ValueError, match="unknown synthetic languages"):
        synthetic.WorldSpec(languages=("en", "xx"))
    with pytest.raises(ValueError, match="needs 'en'"):
        synthetic.WorldSpec(languages=("de", "ru"))
