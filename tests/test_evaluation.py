"""The LAReQA protocol end to end from embeddings: settings, macro means, schema, CIs, paired tests."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fixtures import write_lareqa, write_mtop_zip
from sklearn.metrics import average_precision_score

from hybridlib import lareqa, mtop, stats
from hybridlib.cli import main
from hybridlib.evaluation import evaluate_embeddings, save_embeddings

LANGS = lareqa.XQUAD_R_LANGUAGES


def tied_embeddings(n: int, seed: int) -> np.ndarray:
    """Unit vectors drawn from a small set, so many scores tie exactly."""
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((4, 6)).astype(np.float32)
    basis /= np.linalg.norm(basis, axis=1, keepdims=True)
    return basis[rng.integers(0, 4, n)]


def test_evaluate_embeddings_cli_agrees_with_sklearn_with_ties(tmp_path):
    src = write_lareqa(tmp_path / "src", langs=LANGS)
    task = lareqa.load(src, "xquad-r", LANGS)
    q, c = tied_embeddings(len(task.queries), 1), tied_embeddings(len(task.candidates), 2)
    emb = tmp_path / "emb"
    save_embeddings(emb, q, c)
    out = tmp_path / "metrics.json"
    assert main(["evaluate", "--dataset", "xquad-r", "--source", str(src), "--embeddings", str(emb), "--out", str(out), "--n-boot", "50"]) == 0
    result = json.loads(out.read_text())
    # independent computation: per (query language, target) mean of sklearn AP, then macro means
    q_lang = np.array([x.lang for x in task.queries])
    c_lang = np.array([x.lang for x in task.candidates])
    rel = task.relevance()
    scores = q @ c.T
    cells = {}
    for x in LANGS:
        for y in [*LANGS, "all"]:
            cols = np.flatnonzero(c_lang == y) if y != "all" else np.arange(len(c_lang))
            aps = [average_precision_score(rel[i, cols], scores[i, cols]) for i in np.flatnonzero(q_lang == x)]
            cells[(x, y)] = np.mean(aps)
    mono = np.mean([cells[(x, x)] for x in LANGS])
    cross = np.mean([cells[(x, y)] for x in LANGS for y in LANGS if x != y])
    multi = np.mean([cells[(x, "all")] for x in LANGS])
    assert result["mono"]["map"]["mean"] == pytest.approx(mono, abs=1e-6)
    assert result["cross"]["map"]["mean"] == pytest.approx(cross, abs=1e-6)
    assert result["multi"]["map"]["mean"] == pytest.approx(multi, abs=1e-6)
    assert result["cross"]["map"]["matrix"]["de"]["zh"] == pytest.approx(cells[("de", "zh")], abs=1e-6)
    for setting, metric in [("mono", "map"), ("cross", "map"), ("multi", "map"), ("mono", "recall@1"), ("cross", "recall@1"), ("multi", "recall@10"), ("multi", "rank_distance"), ("multi", "mrr@10"), ("mono", "accuracy@1")]:
        entry = result[setting][metric]
        assert set(entry) >= {"mean", "per_lang", "ci95"} and set(entry["per_lang"]) == set(LANGS)
    assert (tmp_path / "metrics_per_query.csv.gz").exists()


def test_rank_distance_in_the_multilingual_pool(tmp_path):
    task = lareqa.load(write_lareqa(tmp_path, langs=("en", "de", "zh")), "xquad-r", ("en", "de", "zh"))
    # perfect language-agnostic embeddings: each question and its answers share one direction
    keys = sorted({q.key for q in task.queries})
    eye = np.eye(len(keys) + 1, dtype=np.float32)
    q = np.stack([eye[keys.index(x.key)] for x in task.queries])
    c = np.stack([eye[keys.index(x.keys[0])] if x.keys else eye[-1] for x in task.candidates])
    result, per_query = evaluate_embeddings(task, q, c, n_boot=20)
    assert result["multi"]["map"]["mean"] == pytest.approx(1.0)
    assert result["multi"]["rank_distance"]["mean"] == pytest.approx(2.0), "3 relevant, ranked 1-3"
    assert result["cross"]["recall@1"]["mean"] == pytest.approx(1.0)
    # a language component on top (0.8 · the question's direction + 0.6 · its language's): each question's
    # own-language answer now ranks first among its answers
    langs = ["en", "de", "zh"]
    q2, c2 = (np.hstack([0.8 * x, 0.6 * np.eye(3, dtype=np.float32)[[langs.index(o.lang) for o in objs]]])
              for x, objs in ((q, task.queries), (c, task.candidates)))
    result, per_query = evaluate_embeddings(task, q2, c2, n_boot=20)
    assert result["multi"]["own_first"]["mean"] == pytest.approx(1.0), "own-language answers first"
    assert result["multi"]["own_share"]["mean"] == pytest.approx(1 / 3), "chance: one answer in each of 3 languages"
    assert per_query.loc[per_query["setting"] != "multi", "own_first"].isna().all()


def test_mtop_parallel_has_no_mono_and_a_multi_pool_without_the_query_language(tmp_path):
    task = mtop.parallel_task(write_mtop_zip(tmp_path / "mtop.zip"))
    rng = np.random.default_rng(0)
    q = rng.standard_normal((len(task.queries), 8)).astype(np.float32)
    result, per_query = evaluate_embeddings(task, q, q.copy(), n_boot=20)
    assert result["mono"] is None
    multi = per_query[per_query["setting"] == "multi"]
    assert (multi["n_relevant"] == 5).all(), "translations in the 5 other languages"
    assert result["multi"]["map"]["mean"] > 0
    assert "own_first" not in result["multi"] and multi["own_first"].isna().all(), "no own-language answer in the pool"


def test_bootstrap_ci_brackets_the_mean_and_paired_test_detects_a_shift():
    rng = np.random.default_rng(0)
    rows = pd.DataFrame({"key": np.repeat(np.arange(300), 2), "lang": ["en", "de"] * 300, "target": ["all"] * 600})
    rows["map"] = rng.uniform(0.3, 0.7, 600)
    low, high = stats.bootstrap_ci(rows, "map", n_boot=500)
    assert low < rows["map"].mean() < high and high - low < 0.05
    better = rows.assign(map=rows["map"] + 0.02)
    test = stats.paired_test(better, rows, "map", n_perm=2000)
    assert test["diff"] == pytest.approx(0.02) and test["p"] < 0.01 and test["ci95_low"] > 0
    same = stats.paired_test(rows, rows.assign(map=rows["map"] + rng.normal(0, 0.01, 600)), "map", n_perm=2000)
    assert same["p"] > 0.001


def test_cluster_bootstrap_covers_and_paired_test_holds_its_level_when_translations_correlate():
    """200 simulated evaluations in which a question's translations share most of their score (a parallel group's
    difficulty): the 95 % CI over parallel groups covers the true mean about 95 % of the time (resampling single
    rows would cover ~70 % here), and the paired test rejects a true null about 5 % of the time."""
    rng = np.random.default_rng(1)
    n_keys, reps = 80, 200
    covered = rejected = 0
    for rep in range(reps):
        rows = pd.DataFrame({"key": np.repeat(np.arange(n_keys), 3), "lang": ["en", "de", "zh"] * n_keys, "target": "all"})
        rows["map"] = 0.5 + np.repeat(rng.normal(0, 0.15, n_keys), 3) + rng.normal(0, 0.03, len(rows))  # true mean 0.5
        low, high = stats.bootstrap_ci(rows, "map", n_boot=400, seed=rep)
        covered += low <= 0.5 <= high
        exchangeable = rows.assign(map=rows["map"] + np.repeat(rng.normal(0, 0.05, n_keys), 3) + rng.normal(0, 0.01, len(rows)))
        rejected += stats.paired_test(exchangeable, rows, "map", n_perm=1000, seed=rep)["p"] < 0.05
    assert 0.90 <= covered / reps <= 0.99, f"coverage {covered / reps}"
    assert 0.02 <= rejected / reps <= 0.09, f"size {rejected / reps}"


def test_holm_is_the_step_down_procedure_and_holds_the_family_wise_error():
    assert stats.holm([0.01, 0.04, 0.03, 0.005]).tolist() == pytest.approx([0.03, 0.06, 0.06, 0.02])  # 4p, 2p→monotone, 3p
    rng = np.random.default_rng(0)
    for _ in range(200):
        p = rng.uniform(0, 0.2, rng.integers(1, 9))
        p[rng.uniform(size=len(p)) < 0.2] = np.nan  # a claim without a test
        adjusted, present = stats.holm(p), ~np.isnan(p)
        assert np.array_equal(np.isnan(adjusted), ~present)
        for level in (0.01, 0.05, 0.1):
            # Holm's procedure: walk up the sorted p, rejecting while p_(i) <= level / (m - i + 1)
            order, rejected = np.argsort(p[present]), set()
            for i, j in enumerate(order):
                if p[present][j] > level / (present.sum() - i):
                    break
                rejected.add(int(np.flatnonzero(present)[j]))
            assert set(np.flatnonzero(adjusted <= level).tolist()) == rejected
    # eight true nulls: any p < 0.05 happens ~34 % of the time, any Holm-adjusted one at most ~5 %
    null = rng.uniform(size=(4000, 8))
    assert (null < 0.05).any(axis=1).mean() > 0.3
    assert (np.array([stats.holm(row) for row in null]) < 0.05).any(axis=1).mean() <= 0.06


def test_detectable_difference_is_what_the_seed_paired_test_detects_with_80_percent_power():
    from scipy import stats as scipy_stats

    rng = np.random.default_rng(0)
    for n in (3, 5, 10):
        gap = stats.detectable_difference(0.01, n)
        differences = rng.normal(gap, 0.01, (4000, n))
        power = (scipy_stats.ttest_1samp(differences, 0.0, axis=1).pvalue < 0.05).mean()
        assert 0.77 <= power <= 0.83, (n, power)
    assert np.isnan(stats.detectable_difference(0.0, 3)) and np.isnan(stats.detectable_difference(0.01, 1))
    n = stats.seeds_needed(0.01, 0.015)
    assert stats.detectable_difference(0.01, n) <= 0.015 < stats.detectable_difference(0.01, n - 1)
    assert stats.seeds_needed(0.01, -0.015) == n, "the sign of the gap does not matter"
    assert stats.seeds_needed(0.01, 0.0) is None and stats.seeds_needed(0.01, 1e-5) is None  # > 100 seeds


def test_seed_test_pairs_seeds_and_a_single_run_is_fixed_or_noisy_as_labelled():
    from scipy.stats import ttest_1samp, ttest_rel

    a, b = [0.31, 0.37, 0.30, 0.36], [0.29, 0.36, 0.27, 0.35]  # seeds move both sides together
    test, paired = stats.seed_test(a, b), ttest_rel(a, b)
    assert test["diff"] == pytest.approx(np.mean(a) - np.mean(b)) and test["p"] == pytest.approx(paired.pvalue)
    assert [test["ci95_low"], test["ci95_high"]] == pytest.approx(list(paired.confidence_interval()))
    assert test["p"] < 0.05 < stats.seed_test(a, b[::-1])["p"], "pairing by seed is what finds this gap"
    fixed = stats.seed_test(a, [0.2])  # off-the-shelf: one run, no seed
    assert fixed["p"] == pytest.approx(ttest_1samp(a, 0.2).pvalue) and fixed["ci95_low"] > 0
    flipped = stats.seed_test([0.2], a)
    assert flipped["diff"] == pytest.approx(-fixed["diff"]) and flipped["p"] == pytest.approx(fixed["p"])
    single = stats.seed_test(a, [0.2], single_run=True)  # a baseline trained with one seed: its noise counts too
    assert single["diff"] == fixed["diff"] and single["ci95_high"] - single["ci95_low"] > fixed["ci95_high"] - fixed["ci95_low"]
    assert np.isnan(stats.seed_test([0.5, 0.5], [0.4])["p"]) and np.isnan(stats.seed_test([0.5], [0.4])["p"])
    with pytest.raises(ValueError, match="same seeds"):
        stats.seed_test([0.1, 0.2, 0.3], [0.1, 0.2])


def test_seed_table_keeps_the_seed_spread_that_the_paired_test_averages_away():
    from hybridlib.results import seed_table

    rows = []
    for strategy, values in {"xy": [0.40, 0.46, 0.52], "hybrid-0.5": [0.47, 0.41, 0.53], "off-the-shelf": [0.10],
                             "en": [0.45]}.items():
        for seed, v in enumerate(values):
            rows.append({"dataset": "d", "model": "m", "strategy": strategy, "seed": seed, "mono_map": v, "cross_map": v,
                         "multi_map": v, "rank_distance": 100 * v})
    table = seed_table(pd.DataFrame(rows), "d", "m", "hybrid-0.5")
    assert list(table.index) == ["hybrid-0.5 − off-the-shelf", "hybrid-0.5 − en", "hybrid-0.5 − xy"]
    assert table["seeds"].tolist() == ["3 vs fixed", "3 vs 1 run", "3 paired"]
    p_xy = float(table.loc["hybrid-0.5 − xy", "mono_map"].split("p=")[1])
    p_base = float(table.loc["hybrid-0.5 − off-the-shelf", "mono_map"].split("p=")[1])
    assert p_xy > 0.5 and p_base < 0.01, table.to_string()


@pytest.mark.slow
@pytest.mark.parametrize("labels", [0, 8], ids=["one-key-per-item", "intent-like"])
def test_combined_interval_covers_with_both_noises_where_the_items_only_ci_does_not(labels):
    """Simulated comparisons whose training seeds move the difference (sd 0.015) more than the items do: the
    interval with both noises covers the true difference at least about 95 % of the time; the items-only CI,
    which leaves the seeds out, covers far less. The same with labels shared by many items (MTOP intents), the
    unit being the item. docs/protocol.md has the full grid."""
    from hybridlib import simulate

    design = simulate.Design(n_items=100, sd_seed=0.015, n_labels=labels)
    result = simulate.coverage(design, reps=400, seed=labels, n_boot=200)
    assert 0.93 <= result["both noises"] <= 1.0, result
    assert result["items only"] < 0.8, result


def test_the_interval_at_the_margin_rejects_at_most_its_level_in_the_tail_where_the_old_one_did_not():
    """A true loss of exactly δ (μ = −δ), 3 paired seeds, items in 12 articles that share an effect (XQuAD-R's
    held-out articles): how often the non-inferiority test wrongly says "holds", i.e. the interval's lower end at
    1 − α lies above −δ. At α = 2.5 % and at Holm's first step on 8 claims (0.05 / 16, one-sided) the interval
    with both noises stays at or below α (+ 3 binomial SEs); Welch–Satterthwaite's df with the item part taken as
    known and items resampled singly, the earlier rule, rejected about 3-4 times too often."""
    from hybridlib import simulate

    design = simulate.Design(n_items=120, sd_seed=0.004, n_articles=12, sd_article=0.01, mu=-0.007)
    result = simulate.coverage(design, reps=1500, seed=0, n_boot=200)
    for alpha in (0.025, simulate.HOLM_FIRST_STEP):
        bound = alpha + 3 * simulate.binomial_se(alpha, result["reps"])
        assert result[f"tail α={alpha:g}"] <= bound, (alpha, result)
        assert result[f"tail α={alpha:g} (Welch–Satterthwaite)"] > bound, (alpha, result)
    assert result["both noises"] >= 0.95 - 3 * simulate.binomial_se(0.95, result["reps"])
    assert simulate.binomial_se(0.95, 200) == pytest.approx(0.0154, abs=1e-4), "91 % of 200 draws: 2.6 SEs below 95 %"


def test_the_interval_with_both_noises_is_never_narrower_than_the_seeds_only_t_interval():
    rng = np.random.default_rng(0)
    for _ in range(300):
        n = int(rng.integers(2, 6))
        per_seed = rng.normal(0.01, rng.uniform(0.0005, 0.02), n)
        single = bool(rng.integers(2))
        both = stats.combined_parts(float(per_seed.mean()), per_seed, rng.uniform(0, 0.02), int(rng.integers(2, 400)),
                                    single_run=single)
        seeds = stats.seed_test(per_seed, [0.0], single_run=single)
        assert both["high"] - both["low"] >= seeds["ci95_high"] - seeds["ci95_low"] - 1e-12
        assert both["df"] == n - 1, "the seed part keeps its seeds − 1 df"
        assert np.isnan(both["p"]) == single, "against one run of a trained baseline: no p"
    # the p-value is the interval's dual: at level 1 − p the interval's end touches 0
    test = stats.combined_parts(0.01, np.array([0.004, 0.012, 0.014]), 0.003, 50, margin=0.007)
    touch = stats.both_noises(test["p"] / 2, test["se_seeds"], test["df"], test["se_items"], test["df_items"])
    assert touch == pytest.approx(0.01)
    assert test["p_margin"] + test["p_beyond"] == pytest.approx(1.0) and test["p_margin"] < 0.05


def test_combined_test_resamples_whole_articles_where_the_rows_name_them():
    """Items of one article share an effect: resampling them singly treats them as independent and gives too
    small a standard error; with the ``article`` column the bootstrap draws whole articles (12 here)."""
    from hybridlib import simulate

    design = simulate.Design(n_items=120, sd_seed=0.002, n_articles=12, sd_article=0.03)
    a, b, _ = simulate.draw(design, np.random.default_rng(0))
    by_article = stats.combined_test(a, b, "map", n_boot=400)
    by_item = stats.combined_test([f.drop(columns="article") for f in a], b, "map", n_boot=400)
    assert by_article["clusters"] == 12 and by_article["df_items"] == 11 and by_item["clusters"] == 120
    assert by_article["diff"] == pytest.approx(by_item["diff"])
    assert by_article["se_items"] > 1.5 * by_item["se_items"], (by_article["se_items"], by_item["se_items"])


def test_intervals_estimate_the_item_weighted_mean_and_resampling_labels_does_not(monkeypatch):
    """Intent-like data: labels of unequal size and level. The CI over parallel items holds the table's number
    (each item once); resampling labels instead, as the old unit did, estimates a label-weighted mean and
    leaves the table's number outside its own interval."""
    from hybridlib import simulate

    design = simulate.Design(n_items=400, sd_item=0.0, sd_noise=0.02, n_labels=30, seeds=1)
    rng = np.random.default_rng(3)
    outside = {"item": 0, "label": 0}
    for rep in range(10):
        a, _, _ = simulate.draw(design, rng)
        rows = a[0]
        point = stats._macro_of(rows, "map")
        low, high = stats.bootstrap_ci(rows, "map", n_boot=300, seed=rep)
        outside["item"] += not low <= point <= high
        with monkeypatch.context() as m:
            m.setattr(stats, "parallel_item", lambda r: r["key"].astype(str))  # the broken unit: the relevance label
            low, high = stats.bootstrap_ci(rows, "map", n_boot=300, seed=rep)
        outside["label"] += not low <= point <= high
    assert outside["item"] == 0
    assert outside["label"] >= 3, outside


def test_evaluate_cli_with_a_model_folder(tmp_path, smoke_encoder):
    src = write_lareqa(tmp_path / "src", langs=LANGS)
    out = tmp_path / "m.json"
    assert main(["evaluate", "--dataset", "xquad-r", "--source", str(src), "--model", str(smoke_encoder), "--out", str(out), "--n-boot", "20"]) == 0
    result = json.loads(out.read_text())
    assert result["n_candidates"] == 55 and result["source"]["model"] == str(smoke_encoder)
    assert "git" in result["environment"] and "device" in result["environment"]


def test_plan_prints_runs_downloads_and_time(capsys):
    assert main(["plan", "--profile", "paper"]) == 0
    out = capsys.readouterr().out
    assert "36 fine-tuned" in out and "xlmr/hybrid-0.25/seed2" in out
    assert "downloads: 28 files, 1.88 GB + unpinned ['mtop/zip']" in out and "h100" in out
    assert main(["plan", "--profile", "nope"]) == 2


def test_run_all_stops_a_base_size_profile_without_a_gpu(monkeypatch, capsys, tmp_path):
    """run_all.sh's first step: `plan --quiet --check-device` refuses, in one line, to download and train the paper
    profile for days on a CPU; the smoke profile, or HYBRIDLIB_ALLOW_CPU=1, goes ahead."""
    import torch

    from hybridlib.config import REPO_ROOT, load_profile
    from hybridlib.pipeline import Paths, train_all

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("HYBRIDLIB_ALLOW_CPU", raising=False)
    assert main(["plan", "--profile", "paper", "--quiet", "--check-device"]) == 2
    message = capsys.readouterr().err.strip()
    assert len(message.splitlines()) == 1 and "profile paper: fine-tunes base-size encoders" in message
    assert "days of training on this machine, which has no GPU" in message and "HYBRIDLIB_ALLOW_CPU=1" in message
    days = message.split("encoders, ~")[1].split(" days")[0]
    assert f"(~{days} days for `paper`)" in " ".join((REPO_ROOT / "docs" / "reproduce.md").read_text().split()), "the docs' figure"
    assert main(["plan", "--profile", "smoke", "--quiet", "--check-device"]) == 0
    assert main(["plan", "--profile", "paper", "--quiet"]) == 0, "without --check-device: only the profile is validated"
    profile = load_profile("colab")  # notebook 02 opened on a Colab runtime without a GPU
    with pytest.raises(RuntimeError, match=r"profile colab: .* no GPU .* Change runtime type"):
        train_all(profile, Paths.for_profile(profile, tmp_path))
    monkeypatch.setenv("HYBRIDLIB_ALLOW_CPU", "1")
    assert main(["plan", "--profile", "paper", "--quiet", "--check-device"]) == 0
    monkeypatch.delenv("HYBRIDLIB_ALLOW_CPU")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index: "NVIDIA H200")
    assert main(["plan", "--profile", "paper", "--quiet", "--check-device"]) == 0, "a GPU: go ahead"
    assert 'plan --profile "$profile" --quiet --check-device' in (REPO_ROOT / "run_all.sh").read_text()


def test_readme_wall_clock_table_is_what_plan_prints():
    """docs/speed.md: the expected wall-clock per profile and GPU class is `training_seconds`, whose H100/H200 step is
    the measured compiled one, scaled by the measured ratios for eager layers and for the cached loss."""
    from hybridlib import pipeline
    from hybridlib.config import REPO_ROOT, load_profile

    paper, colab = load_profile("paper"), load_profile("colab")
    assert paper.train.compile and not paper.train.cached_minibatch, "the paper profile's step: compiled, plain loss"
    assert not colab.train.compile and colab.train.cached_minibatch, "the colab profile's step: eager, cached loss"
    step = pipeline._SECONDS_PER_STEP[("base", "h100")]
    assert pipeline.training_seconds(paper, "h100") == pytest.approx(36 * 2600 * step)
    assert pipeline.training_seconds(colab, "h100") == pytest.approx(3 * 1000 * step * pipeline._EAGER_FACTOR * pipeline._CACHED_FACTOR)
    assert pipeline.training_seconds(colab, "t4") == pytest.approx(3 * 1000 * pipeline._SECONDS_PER_STEP[("base", "t4")]), "T4's step has them"
    readme = (REPO_ROOT / "docs" / "speed.md").read_text()
    for profile in (paper, colab):
        row = next(line for line in readme.splitlines() if line.startswith(f"| {profile.name} ("))
        for device in ("h100", "a100", "t4"):
            shown = pipeline.duration_text(pipeline.training_seconds(profile, device))
            assert shown in row, f"{profile.name} on {device}: plan prints {shown}"


@pytest.mark.parametrize("name", ["smoke", "small", "small-budgets", "small-pilot", "confirm", "paper", "colab"])
def test_every_shipped_profile_loads_and_plans(name, capsys):
    """The colab profile is only ever opened on Colab: a typo in it must fail here, not there."""
    from hybridlib.config import CONFIG_DIR

    assert sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")) == ["colab", "confirm", "paper", "small", "small-budgets", "small-pilot", "smoke"]
    assert main(["plan", "--profile", name]) == 0
    assert "fine-tuned" in capsys.readouterr().out


def test_a_candidate_given_one_key_as_a_string_is_refused_in_one_line():
    from hybridlib.records import Candidate

    with pytest.raises(ValueError, match=r"candidate c1: keys must be a tuple .* got the string 'g1'; write keys=\('g1',\)"):
        Candidate("c1", "en", "Goethe wrote Faust.", context="", keys="g1")
    assert Candidate("c1", "en", "text", context="", keys=["g1"]).keys == ("g1",), "a list is taken as a tuple"


def test_duplicate_query_or_candidate_ids_are_refused():
    from hybridlib.records import Candidate, Query, RetrievalTask

    queries = [Query("en-q1", "en", "a", key="q1"), Query("en-q1", "en", "b", key="q2")]
    candidates = [Candidate("c1", "en", "x", "", ("q1",)), Candidate("c2", "en", "y", "", ("q2",))]
    with pytest.raises(ValueError, match=r"task t: query id 'en-q1' appears twice"):
        RetrievalTask("t", queries, candidates)
    with pytest.raises(ValueError, match=r"task t: candidate id 'c1' appears twice"):
        RetrievalTask("t", queries[:1], [candidates[0], candidates[0]])


def test_embeddings_are_scored_by_cosine_whether_or_not_they_are_unit_length(tmp_path):
    """`evaluate_embeddings` and `load_embeddings` follow one rule: cosine similarity. Scaling a row changes nothing."""
    task = lareqa.load(write_lareqa(tmp_path, langs=("en", "de", "zh")), "xquad-r", ("en", "de", "zh"))
    rng = np.random.default_rng(0)
    q, c = rng.normal(size=(len(task.queries), 8)), rng.normal(size=(len(task.candidates), 8))
    unit = evaluate_embeddings(task, q / np.linalg.norm(q, axis=1, keepdims=True), c / np.linalg.norm(c, axis=1, keepdims=True), n_boot=10)[0]
    scaled = evaluate_embeddings(task, q * rng.uniform(0.1, 10, (len(q), 1)), c * rng.uniform(0.1, 10, (len(c), 1)), n_boot=10)[0]
    assert scaled["multi"]["map"]["mean"] == pytest.approx(unit["multi"]["map"]["mean"])
    assert scaled["cross"]["map"]["mean"] == pytest.approx(unit["cross"]["map"]["mean"])
