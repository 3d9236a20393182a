"""Properties of the batch samplers, on varied language sets, group sizes, batch sizes and world sizes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hybridlib.samplers import BatchPlan, ParallelIndex, Strategy, StrategyBatchSampler, composition, iter_steps

LANGS = ("en", "de", "es", "ru", "zh", "ar", "th")
TRAINING = ["en", "xx-mixed", "xx-mono", "xy", "hybrid-0.5", "hybrid-0.2", "hybrid-0.9"]


@st.composite
def worlds(draw):
    """(ParallelIndex, global batch): random languages, coverage (some groups miss languages), sizes."""
    n_langs = draw(st.integers(2, 6))
    langs = ("en", *LANGS[1:n_langs])
    n_groups = draw(st.integers(12, 120))
    coverage = draw(st.floats(0.5, 1.0))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    present = rng.random((n_groups, n_langs)) < coverage
    present[:, 0] |= rng.random(n_groups) < 0.8  # English is usually there, as in SQuAD
    present[present.sum(1) == 0, 0] = True
    present[: max(2, n_groups // 2)] = True  # at least half the groups are complete
    batch = draw(st.integers(1, max(1, n_groups // 6)))
    return ParallelIndex(present, langs), batch


def check_batch(index: ParallelIndex, strategy: str, batch) -> None:
    g, q, p = batch.groups, batch.query_lang, batch.passage_lang
    assert len(set(g.tolist())) == len(g), f"{strategy}: a parallel group appears twice in one batch"
    assert index.present[g, q].all() and index.present[g, p].all(), f"{strategy}: drew a language the group lacks"
    en = index.languages.index("en")
    if batch.kind == "en":
        assert (q == en).all() and (p == en).all(), "en-only batch holds a non-English side"
    elif batch.kind == "xx-mixed":
        assert (q == p).all(), "xx-mixed pair is cross-lingual"
    elif batch.kind == "xx-mono":
        assert (q == p).all() and len(set(q.tolist())) == 1, f"xx-mono batch mixes languages {set(q.tolist())}"
    elif batch.kind == "xy":
        assert (q != p).all(), "xy pair is monolingual"
    expected = {"en": {"en"}, "xx-mixed": {"xx-mixed"}, "xx-mono": {"xx-mono"}, "xy": {"xy"}}.get(strategy, {"xx-mono", "xy"})
    assert batch.kind in expected, f"{strategy} produced a {batch.kind} batch"


def plan_or_none(world, strategy: Strategy, seed: int) -> BatchPlan | None:
    """The world's plan, or None where it has fewer eligible groups than a batch (refused; tested below)."""
    index, batch_size = world
    try:
        return BatchPlan(index, strategy, batch_size, seed)
    except ValueError:
        return None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds(), st.sampled_from(TRAINING), st.integers(0, 1000))
def test_every_batch_obeys_its_strategy(world, strategy, seed):
    index, batch_size = world
    if (plan := plan_or_none(world, Strategy.parse(strategy), seed)) is None:
        return
    batches = list(plan.epoch(0))
    eligible = index.present[:, 0] if strategy == "en" else index.n_langs >= 1
    assert len(batches) == plan.steps_per_epoch == int(eligible.sum()) // batch_size
    for b in batches:
        assert len(b.groups) == batch_size
        check_batch(index, strategy, b)


@settings(max_examples=40, deadline=None)
@given(worlds(), st.integers(0, 1000), st.integers(0, 3))
def test_hybrid_alpha_one_is_xx_mono_and_alpha_zero_is_xy(world, seed, epoch):
    for alpha, same in ((1.0, "xx-mono"), (0.0, "xy")):
        hybrid, other = plan_or_none(world, Strategy("hybrid", alpha), seed), plan_or_none(world, Strategy.parse(same), seed)
        if hybrid is None or other is None:
            continue
        a, b = list(hybrid.epoch(epoch)), list(other.epoch(epoch))
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert x.kind == y.kind
            for field in ("groups", "query_lang", "passage_lang"):
                np.testing.assert_array_equal(getattr(x, field), getattr(y, field), err_msg=f"hybrid({alpha}) != {same}")


@settings(max_examples=30, deadline=None)
@given(worlds(), st.sampled_from(TRAINING), st.integers(0, 1000))
def test_same_seed_same_batches_new_epoch_new_batches(world, strategy, seed):
    index, batch_size = world
    if (plan := plan_or_none(world, Strategy.parse(strategy), seed)) is None:
        return
    first = [b.groups.tolist() for b in plan.epoch(0)]
    again = [b.groups.tolist() for b in BatchPlan(index, Strategy.parse(strategy), batch_size, seed).epoch(0)]
    assert first == again
    if len(plan.main_groups) >= 8 and plan.steps_per_epoch * batch_size >= 4:
        assert first != [b.groups.tolist() for b in plan.epoch(1)], "epoch 1 repeated epoch 0"


@pytest.mark.parametrize("strategy", ["en", "xx-mixed", "xy"])
def test_main_stream_is_without_replacement_within_an_epoch(strategy):
    index = ParallelIndex(np.ones((103, 4), bool), ("en", "de", "ru", "zh"))
    plan = BatchPlan(index, Strategy.parse(strategy), 10, seed=5)
    groups = np.concatenate([b.groups for b in plan.epoch(0)])
    assert len(groups) == 100 and len(set(groups.tolist())) == 100, "a group was drawn twice in one epoch"


def test_hybrid_mono_fraction_matches_alpha_within_binomial_noise():
    index = ParallelIndex(np.ones((4000, 5), bool), ("en", "de", "es", "ru", "zh"))
    for alpha in (0.25, 0.5, 0.75):
        plan = BatchPlan(index, Strategy("hybrid", alpha), 2, seed=11)
        kinds = [b.kind for _, b in iter_steps(plan, 4000)]
        mono = kinds.count("xx-mono")
        sd = (4000 * alpha * (1 - alpha)) ** 0.5
        assert abs(mono - 4000 * alpha) < 4 * sd, f"alpha={alpha}: {mono} xx-mono batches of 4000"


def test_xx_mono_language_and_xy_pairs_are_uniform():
    langs = ("en", "de", "es", "ru", "zh")
    index = ParallelIndex(np.ones((5000, 5), bool), langs)
    mono = composition(BatchPlan(index, Strategy.parse("xx-mono"), 10, seed=2), 2000)
    per_lang = np.diag(mono) / 10
    assert per_lang.sum() == 2000
    assert (np.abs(per_lang - 400) < 4 * (2000 * 0.2 * 0.8) ** 0.5).all(), per_lang
    xy = composition(BatchPlan(index, Strategy.parse("xy"), 10, seed=2), 2000)
    assert np.trace(xy) == 0
    off = xy[~np.eye(5, dtype=bool)]
    expected = 20000 / 20
    assert (np.abs(off - expected) < 4 * (20000 / 20) ** 0.5).all(), off


def test_too_little_data_is_refused_with_a_message():
    index = ParallelIndex(np.ones((5, 2), bool), ("en", "de"))
    with pytest.raises(ValueError, match="fewer than one batch"):
        BatchPlan(index, Strategy.parse("xy"), 8, seed=0)
    with pytest.raises(ValueError, match="en-only needs English"):
        BatchPlan(ParallelIndex(np.ones((50, 2), bool), ("de", "ru")), Strategy.parse("en"), 4, seed=0)
    with pytest.raises(ValueError, match="alpha must lie"):
        Strategy("hybrid", 1.5)
    with pytest.raises(ValueError, match="unknown strategy"):
        Strategy.parse("mono")


def test_pair_rows_round_trip_through_the_index():
    rng = np.random.default_rng(0)
    present = rng.random((40, 5)) < 0.7
    present[:, 0] = True
    index = ParallelIndex(present, ("en", "de", "es", "ru", "zh"))
    g, q, p = index.pair_table()
    assert len(g) == index.n_pairs == int((present.sum(1) ** 2).sum())
    np.testing.assert_array_equal(index.pair_row(g, q, p), np.arange(index.n_pairs))


# --- the sentence-transformers contract: a pair dataset, resolved texts, ranks as accelerate shards them ---


def sentinel_rows(present: np.ndarray, langs: tuple[str, ...]):
    """Training rows whose texts say their group and language, so batch contents can be read back."""
    from datasets import Dataset

    rows = [
        {"pair_id": f"g{g}", "lang": lang, "query": f"q g{g} {lang}", "passage": f"p g{g} {lang}", "negative": f"n g{g} {lang}", "source": "test"}
        for g in range(len(present))
        for j, lang in enumerate(langs)
        if present[g, j]
    ]
    return Dataset.from_list(rows)


@pytest.mark.parametrize("strategy", ["en", "xx-mixed", "xx-mono", "xy", "hybrid-0.5"])
@pytest.mark.parametrize("world_size", [1, 2, 3])
def test_trainer_sampler_batches_through_accelerate_sharding(strategy, world_size):
    from accelerate.data_loader import BatchSamplerShard

    from hybridlib.training import pair_dataset

    langs = ("en", "de", "ru", "zh")
    rng = np.random.default_rng(1)
    present = rng.random((90, 4)) < 0.85
    present[:, 0] = True
    pairs = pair_dataset(sentinel_rows(present, langs), langs, hard_negatives=True)
    sampler = StrategyBatchSampler(pairs, batch_size=4, seed=3, strategy=Strategy.parse(strategy), num_ranks=world_size)
    sampler.set_epoch(1)
    shards = [BatchSamplerShard(sampler, num_processes=world_size, process_index=r, even_batches=False) for r in range(world_size)]
    per_rank = [list(s) for s in shards]
    assert all(len(b) == len(sampler) // world_size for b in per_rank), "__len__ is exact on every rank"
    for step in zip(*per_rank):
        items = [[pairs[i] for i in batch] for batch in step]
        groups = [{x["query"].split()[1] for x in batch} for batch in items]
        assert sum(len(gs) for gs in groups) == 4 * world_size, "ranks share a parallel group in one step"
        kinds = set()
        for batch in items:
            qlang = [x["query"].split()[2] for x in batch]
            plang = [x["positive"].split()[2] for x in batch]
            assert all(x["query"].split()[1] == x["positive"].split()[1] for x in batch), "query and passage from different groups"
            assert all(x["negative"].split()[1:] == x["positive"].split()[1:] for x in batch), "negative is the passage row's"
            mono = all(a == b for a, b in zip(qlang, plang))
            kinds.add(("mono", frozenset(qlang)) if mono and len(set(qlang)) == 1 and strategy != "xx-mixed" else "mixed" if mono else "xy")
        if strategy in ("xx-mono", "hybrid-0.5") and any(isinstance(k, tuple) for k in kinds):
            assert len(kinds) == 1, f"ranks disagree on the batch language at one step: {kinds}"
        if strategy in ("xy", "hybrid-0.5") and "xy" in kinds:
            assert kinds == {"xy"}, "ranks disagree on the batch kind at one step"


def test_short_language_stream_restarts_without_spanning_two_permutations():
    # de has 5 groups, so its stream restarts almost every xx-mono batch drawn in de
    present = np.ones((100, 2), bool)
    present[5:, 1] = False
    index = ParallelIndex(present, ("en", "de"))
    plan = BatchPlan(index, Strategy.parse("xx-mono"), 4, seed=0)
    de_batches = [b for _, b in iter_steps(plan, 200) if b.query_lang[0] == 1]
    assert len(de_batches) > 50
    for b in de_batches:
        assert len(b.groups) == 4 and len(set(b.groups.tolist())) == 4, "a restart let a batch repeat a group"
        assert set(b.groups.tolist()) <= set(range(5))


@pytest.mark.parametrize("strategy", ["en", "xx-mixed", "xx-mono", "xy", "hybrid-0.5"])
def test_source_mixing_takes_each_batch_from_one_source_in_proportion_to_size(strategy):
    from collections import Counter

    index = ParallelIndex(np.ones((3000, 3), bool), ("en", "de", "ru"))
    sources = np.repeat([0, 1, 2], [1500, 1000, 500])
    plan = BatchPlan(index, Strategy.parse(strategy), 10, seed=1, sources=sources)
    counts = Counter()
    for _, b in iter_steps(plan, 900):
        batch_sources = set(sources[b.groups].tolist())
        assert len(batch_sources) == 1, f"a {strategy} batch mixes sources {batch_sources}"
        check_batch(index, strategy, b)
        counts[batch_sources.pop()] += 1
    for source, share in zip((0, 1, 2), (1 / 2, 1 / 3, 1 / 6)):
        assert abs(counts[source] - 900 * share) < 4 * (900 * share * (1 - share)) ** 0.5, counts


def test_source_mixing_keeps_the_alpha_identities():
    index = ParallelIndex(np.ones((400, 3), bool), ("en", "de", "ru"))
    sources = np.repeat([0, 1], [250, 150])
    for alpha, same in ((1.0, "xx-mono"), (0.0, "xy")):
        a = list(BatchPlan(index, Strategy("hybrid", alpha), 8, 3, sources=sources).epoch(2))
        b = list(BatchPlan(index, Strategy.parse(same), 8, 3, sources=sources).epoch(2))
        assert all(np.array_equal(x.groups, y.groups) and np.array_equal(x.passage_lang, y.passage_lang) for x, y in zip(a, b))


def test_trainer_sampler_mixes_sources_from_the_pair_dataset():
    from datasets import Dataset

    from hybridlib.training import pair_dataset

    langs = ("en", "de")
    rows = [
        {"pair_id": f"g{g}", "lang": lang, "query": f"q g{g} {lang}", "passage": f"p g{g} {lang}", "negative": "", "source": "nq" if g % 3 else "squad"}
        for g in range(60)
        for lang in langs
    ]
    pairs = pair_dataset(Dataset.from_list(rows), langs, hard_negatives=False)
    sampler = StrategyBatchSampler(pairs, batch_size=4, seed=0, strategy=Strategy.parse("xy"), num_ranks=1, mix_sources=True)
    for batch in sampler:
        groups = {int(pairs[i]["query"].split()[1][1:]) for i in batch}
        assert len({g % 3 == 0 for g in groups}) == 1, "a batch mixes the two source datasets"


def test_a_language_with_fewer_groups_than_a_batch_is_left_out_of_xx_mono_and_the_plan_says_so():
    """es in 3 of 12 groups at batch 4: no xx-mono batch can be filled in es. The plan draws among the others and
    says so in its one-line description, which training and `hybridlib batches` print."""
    present = np.ones((12, 3), dtype=bool)
    present[3:, 2] = False  # es: groups 0-2 only
    index = ParallelIndex(present, ("de", "en", "es"))
    plan = BatchPlan(index, Strategy.parse("hybrid-0.5"), 4, seed=0)
    assert plan.left_out_of_mono() == {"es": 3}
    text = plan.describe()
    assert "xx-mono batches draw uniformly among de, en" in text and "es: 3 groups, fewer than a batch of 4" in text
    drawn = {int(b.query_lang[0]) for _, b in iter_steps(plan, 300) if b.kind == "xx-mono"}
    assert drawn == {0, 1}, "de and en only"
    assert "no xx-mono" not in BatchPlan(ParallelIndex(np.ones((12, 3), dtype=bool), ("de", "en", "es")), Strategy.parse("xx-mono"), 4, seed=0).describe()
    assert "xx-mono" not in BatchPlan(index, Strategy.parse("xy"), 4, seed=0).describe(), "xy draws no xx-mono batch"


def test_a_plain_dataset_a_strategy_name_and_unknown_languages_get_one_line_or_work():
    from datasets import Dataset

    from hybridlib.training import pair_dataset

    plain = Dataset.from_dict({"query": ["q1", "q2"], "positive": ["p1", "p2"]})
    with pytest.raises(ValueError, match=r"not a pair dataset's \['group', 'query_lang', 'passage_lang'\]; build one"):
        StrategyBatchSampler(plain, batch_size=2, strategy=Strategy.parse("xy"))
    rows = Dataset.from_dict({"pair_id": ["g1", "g1", "g2", "g2", "g3", "g3"], "lang": ["en", "de"] * 3,
                              "query": list("abcdef"), "passage": list("ABCDEF")})  # no source column: one source
    pairs = pair_dataset(rows, ("en", "de"), hard_negatives=False)
    sampler = StrategyBatchSampler(pairs, batch_size=2, strategy="hybrid-0.5", num_ranks=1)
    assert sampler.plan.strategy == Strategy.parse("hybrid-0.5") and len(list(iter(sampler))) == len(sampler)
    with pytest.raises(ValueError, match=r"no training row is in \['fr'\], so they would get no batch; the rows' languages are \['de', 'en'\]"):
        pair_dataset(rows, ("fr",), hard_negatives=False)
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['passage'\]"):
        pair_dataset(rows.remove_columns("passage"), ("en", "de"), hard_negatives=False)


def test_the_epoch_reaches_the_sampler_of_a_multi_rank_run_resumed_in_a_later_epoch():
    """Resumed part-way through epoch 1 on two ranks, accelerate wraps the sampler twice (SkipBatchSampler around
    BatchSamplerShard); the trainer's own set_epoch reaches one level down, so without the callback the fresh
    sampler would replay epoch 0. The callback sets epoch 1, and the shard then yields epoch 1's rows."""
    import types

    from accelerate.data_loader import BatchSamplerShard, SkipBatchSampler
    from datasets import Dataset
    from transformers import TrainerControl, TrainerState, TrainingArguments

    from hybridlib.samplers import sampler_epoch_callback
    from hybridlib.training import pair_dataset

    rows = Dataset.from_dict({"pair_id": [f"g{g}" for g in range(12) for _ in range(2)], "lang": ["en", "de"] * 12,
                              "query": [f"q{i}" for i in range(24)], "passage": [f"p{i}" for i in range(24)]})
    sampler = StrategyBatchSampler(pair_dataset(rows, ("en", "de"), hard_negatives=False), batch_size=2, strategy="xy", num_ranks=2, seed=1)
    skipped = SkipBatchSampler(BatchSamplerShard(sampler, num_processes=2, process_index=0), skip_batches=1)
    # DataLoaderShard.set_epoch calls skipped.set_epoch; transformers' reach-through calls skipped.batch_sampler's
    assert not hasattr(skipped, "set_epoch") and not hasattr(skipped.batch_sampler, "set_epoch")
    state = TrainerState()
    state.global_step = sampler.plan.steps_per_epoch + 1  # one step into epoch 1
    loader = types.SimpleNamespace(batch_sampler=skipped)
    sampler_epoch_callback().on_epoch_begin(TrainingArguments("unused", report_to="none"), state, TrainerControl(), train_dataloader=loader)
    assert sampler.epoch == 1
    def rank0_rows(epoch: int) -> list[list[int]]:  # rank 0's half of each global batch of an epoch
        return [sampler.index.pair_row(b.groups, b.query_lang, b.passage_lang).tolist()[:2] for b in sampler.plan.epoch(epoch)]

    assert list(skipped) == rank0_rows(1)[1:] != rank0_rows(0)[1:], "epoch 1's batches after the skipped one"
