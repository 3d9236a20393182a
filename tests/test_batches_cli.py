"""`hybridlib batches` output, checked independently of the sampler code: only the JSON lines are read."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from hybridlib.cli import main


def read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("strategy,alpha", [("en", None), ("xx-mixed", None), ("xx-mono", None), ("xy", None), ("hybrid", 0.3)])
def test_batches_file_obeys_the_strategy(strategy, alpha, tmp_path):
    out = tmp_path / "b.jsonl"
    args = ["batches", "--strategy", strategy, "--batch-size", "6", "--steps", "40", "--seed", "4", "--world-size", "2", "--data", "smoke", "--out", str(out)]
    if alpha is not None:
        args += ["--alpha", str(alpha)]
    assert main(args) == 0
    lines = read(out)
    assert len(lines) == 80 and [(x["step"], x["rank"]) for x in lines] == [(s, r) for s in range(40) for r in range(2)]
    for step in range(40):
        ranks = [x for x in lines if x["step"] == step]
        rows = [row for x in ranks for row in x["rows"]]
        assert len(rows) == 12 and len({r["pair_id"] for r in rows}) == 12, "a group twice in one global step"
        assert len({x["kind"] for x in ranks}) == 1, "ranks disagree on the kind"
        kind = ranks[0]["kind"]
        q = [r["query_lang"] for r in rows]
        p = [r["passage_lang"] for r in rows]
        assert "el" not in q + p, "the unseen language leaked into training"
        if kind == "en":
            assert set(q) == set(p) == {"en"}
        elif kind == "xx-mixed":
            assert q == p
        elif kind == "xx-mono":
            assert q == p and len(set(q)) == 1, "xx-mono step not monolingual across ranks"
        else:
            assert kind == "xy" and all(a != b for a, b in zip(q, p))
    kinds = Counter(x["kind"] for x in lines if x["rank"] == 0)
    if strategy == "hybrid":
        assert set(kinds) == {"xx-mono", "xy"}
    else:
        assert set(kinds) == {strategy}


def test_hybrid_fraction_in_the_batches_file_matches_alpha(tmp_path):
    out = tmp_path / "b.jsonl"
    assert main(["batches", "--strategy", "hybrid", "--alpha", "0.3", "--batch-size", "4", "--steps", "1500", "--seed", "0", "--out", str(out)]) == 0
    mono = sum(x["kind"] == "xx-mono" for x in read(out))
    sd = (1500 * 0.3 * 0.7) ** 0.5
    assert abs(mono - 450) < 4 * sd, f"{mono} xx-mono batches of 1500 at alpha 0.3"


def test_the_preview_draws_what_the_trainer_draws_for_the_profiles_language_order(tmp_path):
    """`--profile` takes the training languages in the profile's order, which decides the draws: the preview then
    equals the batches `StrategyBatchSampler` gives the trainer for the same rows and seed; sorted languages may not."""
    from hybridlib.cli import _pair_dataset, _training_rows
    from hybridlib.config import load_profile
    from hybridlib.samplers import StrategyBatchSampler

    profile = load_profile("smoke")
    out = tmp_path / "b.jsonl"
    assert main(["batches", "--strategy", "hybrid-0.5", "--batch-size", "4", "--steps", "6", "--seed", "3", "--profile", "smoke", "--out", str(out)]) == 0
    preview = [[(r["pair_id"], r["query_lang"], r["passage_lang"]) for r in x["rows"]] for x in read(out)]
    rows = _training_rows("smoke")
    pairs = _pair_dataset(rows, ",".join(profile.train_languages))
    sampler = StrategyBatchSampler(pairs, batch_size=4, strategy="hybrid-0.5", seed=3, num_ranks=1)
    names = sorted(set(rows["pair_id"]), key=list(rows["pair_id"]).index)
    langs = profile.train_languages
    group, qlang, plang = (pairs.data.column(c).to_pylist() for c in ("group", "query_lang", "passage_lang"))
    trained = [[(names[group[i]], langs[qlang[i]], langs[plang[i]]) for i in batch] for batch in list(iter(sampler))[:6]]
    assert preview == trained
