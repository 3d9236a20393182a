"""The small-budgets profile's path offline at a tiny size: two training budgets, α runs, an MLQA-R subset, and the
statistics held to the tables: every interval holds the number printed beside it, and every difference in
claims.md / comparisons.csv is the difference of the two cells of main.md."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from fixtures import lareqa_json, serve_pinned, xsemplr_json

from hybridlib import lareqa, results, storage
from hybridlib.config import CONFIG_DIR, budget_name, load_profile
from hybridlib.pipeline import Paths, evaluate_all, prepare, train_all
from hybridlib.tables import MAIN_COLUMNS, ci_table, write_tables

pytestmark = pytest.mark.slow
TRAIN_LANGS = ("en", "de", "zh")


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """XQuAD-R (4 articles), MLQA-R (4 articles a language) and XSemPLR's dev/test at the registry's URLs."""
    payloads = {f"xquad-r/{lang}": lareqa_json(lang, articles=4) for lang in lareqa.XQUAD_R_LANGUAGES}
    payloads |= {f"mlqa-r/{lang}": lareqa_json(lang, articles=4) for lang in lareqa.MLQA_R_LANGUAGES}
    payloads |= {f"mtop-xsemplr/{split}": xsemplr_json(split) for split in ("dev", "test")}
    texts = {name: json.dumps(content, ensure_ascii=False) for name, content in payloads.items()}
    with serve_pinned(tmp_path / "mirror", texts, tmp_path, monkeypatch) as server:
        yield server


def mini_budgets_profile(tmp_path, smoke_encoder, monkeypatch):
    monkeypatch.setenv("HYBRIDLIB_MODEL_ME5", str(smoke_encoder))
    raw = yaml.safe_load((CONFIG_DIR / "small-budgets.yaml").read_text())
    raw.update(
        name="budgets-mini",
        data={**raw["data"], "train_languages": list(TRAIN_LANGS), "held_out_every": 2, "mtop_max_items": 3, "mlqa_every": 2},
        seeds=[0, 1],
        budgets=[{"steps": 4, "strategies": ["xx-mono", "xy", "hybrid-0.5", "hybrid-0.25"]}],
        one_seed=["hybrid-0.25"],
        train={**raw["train"], "steps": 2, "batch_size": 4, "save_steps": 0},
        eval={"batch_size": 16, "n_boot": 50},
    )
    path = tmp_path / "budgets-mini.yaml"
    path.write_text(yaml.safe_dump(raw))
    return load_profile(path)


def test_two_budgets_alpha_and_mlqa_subset_with_tables_that_hold_their_own_numbers(tmp_path, mirror, smoke_encoder, monkeypatch):
    profile = mini_budgets_profile(tmp_path, smoke_encoder, monkeypatch)
    paths = Paths(tmp_path / "home", profile.name)
    prepare(profile, paths)
    mlqa = storage.read_jsonl(paths.data / "eval" / "mlqa-r" / "queries.jsonl")
    assert {q["key"].rsplit("-", 1)[1] for q in mlqa} == {"0", "2"}, "the questions of English articles 0 and 2"
    train_all(profile, paths)
    evaluate_all(profile, paths)

    # each run trained its own budget, in its own folder
    trained = [r for r in profile.runs() if r.strategy.trains]
    assert len({paths.run_dir(r) for r in trained}) == len(trained) == 2 * 3 * 2 + 1
    for run in trained:
        budget = storage.read_json(paths.run_dir(run) / "budget.json")
        steps = profile.settings(run).steps
        assert budget["steps"] == steps and budget["pairs_seen"] == steps * profile.train.batch_size, run.key
        assert storage.read_json(paths.run_dir(run) / "config.json")["train"]["steps"] == steps
    assert {r.model.name for r in trained} == {"me5", budget_name("me5", 4)}

    summary = results.write_summary(paths.results)
    write_tables(paths.results, profile.name, profile.margins)
    assert set(summary["dataset"]) == {"xquad-r", "mlqa-r", "mtop-parallel", "mtop-intent"}
    assert np.allclose(summary["rank_distance_per1k"], summary["rank_distance"] * 1000 / summary["multi_pool"])

    # every run's interval holds its own number, on every dataset and metric
    for column in ("mono_map", "cross_map", "multi_map", "mono_r1", "cross_r1", "multi_r10", "rank_distance"):
        rows = summary.dropna(subset=[column])
        inside = (rows[f"{column}_ci_low"] <= rows[column] + 1e-12) & (rows[column] <= rows[f"{column}_ci_high"] + 1e-12)
        assert inside.all(), rows.loc[~inside, ["dataset", "strategy", "seed", column, f"{column}_ci_low", f"{column}_ci_high"]]
    # and so does every mean over seeds, and every comparison's interval its difference
    for cell in ci_table(summary).to_numpy().ravel():
        if isinstance(cell, str) and "[" in cell:
            mean, low, high = map(float, re.findall(r"-?\d+\.\d+", cell))
            assert low <= mean <= high, cell
    comparisons = pd.read_csv(paths.results / "tables" / "comparisons.csv")
    spread = comparisons.dropna(subset=["low"])
    assert ((spread["low"] <= spread["diff"] + 1e-12) & (spread["diff"] <= spread["high"] + 1e-12)).all()

    # every difference in comparisons.csv and claims.md is main.md's two cells' difference, to the printed digits
    main = _main_cells(paths.results / "tables" / "main.md")
    checked = 0
    for row in comparisons[comparisons["languages"] == "all"].itertuples():
        digits = 1 if row.column == "rank_distance" else 3
        ours, theirs = main.get((row.dataset, row.model, row.reference, row.column)), main.get((row.dataset, row.model, row.strategy, row.column))
        if ours is None or theirs is None or np.isnan(row.diff):
            continue
        assert abs(round(row.diff, digits) - round(ours - theirs, digits)) <= 1.01 * 10**-digits, row
        checked += 1
    assert checked >= 4 * 2 * 3 * 3, "4 datasets x 2 budgets x 3 tests x at least 3 columns"
    claims = (paths.results / "tables" / "claims.md").read_text()
    assert "verdict" in claims.lower() and "δ = 0.007 mAP" in claims
    assert f"{budget_name('me5', 4)}" in (paths.results / "tables" / "main.md").read_text()


def _main_cells(path) -> dict[tuple[str, str, str, str], float]:
    """main.md's means: (dataset, model, strategy, summary column) -> the printed mean."""
    cells, dataset, header = {}, None, None
    labels = {label: column for column, label in MAIN_COLUMNS.items()}
    for line in path.read_text().splitlines():
        if line.startswith("## "):
            dataset = line[3:].strip()
        elif line.startswith("| model"):
            header = [c.strip() for c in line.split("|")[1:-1]]
        elif line.startswith("| ") and header and "---" not in line:
            values = dict(zip(header, (c.strip().strip("*") for c in line.split("|")[1:-1])))
            for label, column in labels.items():
                text = values.get(label, "–")
                if text != "–":
                    cells[(dataset, values["model"], values["strategy"], column)] = float(text.split(" ± ")[0])
    return cells


def test_budget_figure_draws_each_strategy_against_training_pairs(tmp_path):
    from hybridlib import figures

    rows = [{"dataset": "xquad-r", "model": "m", "strategy": "off-the-shelf", "seed": 0, "pairs": 0, "mono_map": 0.7,
             "cross_map": 0.6, "multi_map": 0.5, "rank_distance_per1k": 40.0}]
    for model, pairs in (("m", 1280), ("m-240steps", 3840)):
        for strategy, gain in (("xx-mono", 0.01), ("xy", 0.0), ("hybrid-0.5", 0.005)):
            for seed in (0, 1, 2):
                rows.append({"dataset": "xquad-r", "model": model, "strategy": strategy, "seed": seed, "pairs": pairs,
                             "mono_map": 0.7 + gain * pairs / 1000, "cross_map": 0.6, "multi_map": 0.5, "rank_distance_per1k": 30.0})
    summary = pd.DataFrame(rows)
    fig = figures.budget_figure(summary, "xquad-r", "test")
    assert len(fig.axes) == 4 and "profile test" in fig._suptitle.get_text()
    mono = fig.axes[0]
    assert [t.get_text() for t in mono.get_legend().get_texts()] == ["xx-mono", "xy", "hybrid-0.5"]
    assert mono.lines[0].get_xdata().tolist() == [0, 1280, 3840], "off-the-shelf starts every line"
    assert mono.lines[0].get_ydata()[-1] == pytest.approx(0.7 + 0.01 * 3.84)
    assert figures.budget_figure(summary[summary["pairs"] < 2000], "xquad-r", "test") is None, "one budget: no figure"
    assert figures.save(fig, tmp_path / "b.png").stat().st_size > 1000
