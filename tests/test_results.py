"""Per-language tables read each run's metrics.json and config.json: means over seeds, unseen languages marked."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from hybridlib.claims import _tally, CLAIMS, claims_table, comparisons_frame, keeps_claim, loss_table, paper_gap
from hybridlib.tables import _write_main, main_table, unseen_summary, write_tables
from hybridlib import figures, results, stats, storage

TRAIN_LANGUAGES = ["en", "de"]  # el is unseen


def write_run(results_dir, dataset: str, strategy: str, seed: int, mono: dict | None, multi: dict) -> None:
    """A metrics.json/config.json pair as evaluation writes them, with the per-language values given."""
    folder = results_dir / "eval" / dataset / "m" / strategy / f"seed{seed}"

    def block(per_lang: dict, metric: str) -> dict:
        mean = sum(per_lang.values()) / len(per_lang)
        return {metric: {"mean": mean, "per_lang": per_lang, "ci95": [mean, mean]}}

    result = {"dataset": dataset, "languages": sorted(multi), "n_candidates": 30, "skipped": {},
              "mono": block(mono, "map") if mono else None, "cross": block(multi, "map"),
              "multi": {**block(multi, "map"), **block({k: 100 * v for k, v in multi.items()}, "rank_distance")}}
    if mono:  # own-language first is defined where the Mul pool holds the query's language (not mtop-parallel)
        own_first = 0.4 if strategy.startswith("hybrid") else 0.7
        result["multi"].update({**block({k: own_first for k in multi}, "own_first"), **block({k: 0.25 for k in multi}, "own_share")})
    rows = [{"query_id": f"{lang}-{key}", "key": key, "lang": lang, "target": target, "setting": setting, "n_relevant": 1,
             "map": value, "rank_distance": 100 * value}
            for setting, target, values in (("mono", None, mono), ("multi", "all", multi)) if values
            for lang, value in values.items() for key in ("q1", "q2")]
    storage.write_csv_gz(folder / "per_query.csv.gz", pd.DataFrame(rows).fillna({"target": "same"}))
    storage.write_json(folder / "metrics.json", result)
    storage.write_json(folder / "config.json", {"dataset": dataset, "model": {"name": "m"}, "strategy": strategy,
                                                "alpha": None, "seed": seed, "train_languages": TRAIN_LANGUAGES})


@pytest.fixture()
def results_dir(tmp_path):
    for seed, shift in enumerate((0.0, 0.1)):
        for strategy, base in (("xy", 0.4), ("hybrid-0.5", 0.5)):
            gain = 0.05 if strategy == "hybrid-0.5" else 0.0  # on el only
            # hybrid's seeds also move apart from xy's (mean zero), so the seed-paired differences have a spread
            jitter = (-0.01, 0.01)[seed] if strategy == "hybrid-0.5" else 0.0
            values = {"en": base + shift + jitter, "de": base + 0.2 + shift + jitter, "el": base - 0.3 + shift + gain + jitter}
            write_run(tmp_path, "xquad-r", strategy, seed, mono=values, multi=values)
            write_run(tmp_path, "mtop-parallel", strategy, seed, mono=None, multi=values)
    results.write_summary(tmp_path)
    return tmp_path


def test_language_table_means_over_seeds_and_separates_unseen_languages(results_dir):
    summary = pd.read_csv(results_dir / "summary.csv")
    per_lang = results.per_language(results_dir, summary, "xquad-r", "m")
    assert set(per_lang.loc[per_lang["unseen"], "lang"]) == {"el"}, "el is not a training language"
    table = results.language_table(per_lang, "mono_map")
    assert list(table.columns) == ["xy", "hybrid-0.5"]
    assert list(table.index) == ["de", "el*", "en", "seen (mean)", "unseen* (mean)"]
    assert table.loc["en", "hybrid-0.5"] == "0.550", "mean of seeds 0.5 and 0.6"
    assert table.loc["seen (mean)", "xy"] == "0.550", "(0.45 + 0.65) / 2"
    assert table.loc["unseen* (mean)", "xy"] == "0.150"
    assert results.language_table(per_lang, "rank_distance").loc["el*", "xy"] == "15.0"
    unseen = results.seed_table(unseen_summary(per_lang, "xquad-r", "m"), "xquad-r", "m", "hybrid-0.5")
    assert unseen.loc["hybrid-0.5 − xy", "mono_map"].startswith("+0.150 ["), "el: (0.25 + 0.35) / 2 − (0.1 + 0.2) / 2"
    assert unseen.loc["hybrid-0.5 − xy", "seeds"] == "2 paired"


def test_paired_comparison_on_the_unseen_languages_takes_only_their_queries(results_dir):
    summary = pd.read_csv(results_dir / "summary.csv")
    everything = results.query_comparisons(results_dir, summary, "xquad-r", "m", "hybrid-0.5").set_index("column")
    unseen = results.query_comparisons(results_dir, summary, "xquad-r", "m", "hybrid-0.5", ["el"]).set_index("column")
    assert everything.loc["mono_map", "diff"] == pytest.approx((0.1 + 0.1 + 0.15) / 3), "en, de: +0.1; el: +0.15"
    assert unseen.loc["mono_map", "diff"] == pytest.approx(0.15), "el's queries alone"
    assert unseen.loc["rank_distance", "diff"] == pytest.approx(15.0)


def test_tables_and_figure_leave_out_a_setting_the_task_lacks(results_dir, tmp_path):
    summary = pd.read_csv(results_dir / "summary.csv")
    per_lang = results.per_language(results_dir, summary, "mtop-parallel", "m")
    assert results.language_table(per_lang, "mono_map").empty
    write_tables(results_dir, "test")
    text = (results_dir / "tables" / "mtop-parallel__m.md").read_text()
    assert "### Cr mAP" in text and "### Mo mAP" not in text and "no strategy trained on it (el)" in text
    unseen_part = text.split("against each strategy on the unseen languages (el)")[1]
    both_row, seed_row, query_row = (line for line in unseen_part.splitlines() if line.startswith("| hybrid-0.5 − xy"))
    assert both_row.split("|")[3].strip() == seed_row.split("|")[3].strip() == query_row.split("|")[2].strip() == "–", "no Mo on mtop-parallel"
    assert query_row.split("|")[4].strip().startswith("+0.150 ["), "Mul over el's queries: 0.30 − 0.15"
    assert both_row.split("|")[5].strip().startswith("+0.150 ["), "the same difference, with both noises"
    en_row = next(line for line in (results_dir / "tables" / "xquad-r__m.md").read_text().splitlines() if line.startswith("| en "))
    assert en_row.split("|")[2:4] == [" 0.450 ", "        0.550 "], "three decimals kept, right-aligned"
    fig = figures.per_language_points(per_lang, "mtop-parallel", "m", "test")
    assert len(fig.axes) == 3 and [t.get_text() for t in fig.axes[-1].get_xticklabels()] == ["de", "en", "el*"]
    assert all(word in fig._suptitle.get_text() for word in ("mtop-parallel", "profile test"))
    assert figures.save(fig, tmp_path / "languages.png").stat().st_size > 1000


def test_claims_mark_each_ci_against_the_sign_the_paper_reports(results_dir):
    write_tables(results_dir, "test")
    text = (results_dir / "tables" / "claims.md").read_text()
    every, unseen = text.split("## Every query language")[1].split("## The unseen query languages only")

    def rows(part: str) -> dict[str, list[str]]:
        part = part.split("Each comparison:")[1]
        lines = [line for line in part.split("Holm-adjusted p")[0].splitlines() if line.startswith("| ") and "---" not in line]
        return {line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:-1]] for line in lines}

    every, unseen = rows(every), rows(unseen)
    assert every["hybrid's …"][:2] == ["mtop-parallel · m", "xquad-r · m"]
    # hybrid − xy: +0.1 on en and de, +0.15 on el, the same for every query (a zero-width CI over queries) and
    # shifted alike by each seed, so the CI across 2 seeds a side holds zero
    # per seed 0.107 and 0.127 (hybrid's seeds ±0.01 apart from xy's): 2 paired seeds, df 1, an interval holding zero
    assert every["Mo mAP > xy's"][0] == "–", "mtop-parallel has no Mo"
    assert every["Mo mAP > xy's"][1].startswith("+0.117 [") and every["Mo mAP > xy's"][1].endswith("~")
    assert every["rank distance ≤ xy's (less language bias)"][1].startswith("+11.7 [")
    assert every["Mo mAP ≥ xx-mono's (keeps X-X's monolingual strength)"] == ["–", "–", "–"], "no xx-mono run"
    assert every["hybrid's …"][-1] == "over the columns"
    assert every["rank distance ≤ xy's (less language bias)"][-1] == "0 ✓, 0 ✗, 2 ~", "its two columns' marks"
    assert unseen["Mo mAP > xy's"][1].startswith("+0.150 ["), "el's queries alone"


def test_claims_p_values_are_holm_adjusted_per_column_and_every_comparison_is_in_the_csv(results_dir):
    write_tables(results_dir, "test", margins={"map": 0.01, "rank_distance_per1k": 3})
    frame = pd.read_csv(results_dir / "tables" / "comparisons.csv", keep_default_na=False, na_values=[""])
    assert len(frame) == 2 * 2 * 3 * 4, "(dataset) × (all, unseen) × (queries, seeds, both) × 4 columns, one strategy"
    claims = frame[frame["claim"].notna()]
    assert frame.loc[frame["claim"].isna(), "p_holm"].isna().all()
    # the seed-paired p of every claim of a column: Holm multiplies the smallest by the family's size, 4 claims
    # against xy on xquad-r, 3 on mtop-parallel (no Mo); xx-mono's claims have no run and are no family members
    for dataset, size in (("xquad-r", 4), ("mtop-parallel", 3)):
        seeds = claims[(claims["dataset"] == dataset) & (claims["test"] == "seeds") & claims["p"].notna()]
        assert len(seeds) == 2 * size and seeds["seeds"].eq("2 paired").all()
        for _, family in seeds.groupby("languages"):
            assert family["p_holm"].tolist() == pytest.approx(stats.holm(family["p"]).tolist())
        # with both noises the family holds one deciding test per claim, nothing else: a "beats" claim's two-sided
        # p against 0, a "keeps" claim's two-sided p against −δ (2 × the smaller one-sided p); no padding
        both = claims[(claims["dataset"] == dataset) & (claims["test"] == "both") & (claims["languages"] == "all") & claims["p"].notna()]
        keeps = both["claim"].map(keeps_claim).to_numpy()
        deciding = np.where(keeps, np.minimum(1, 2 * np.minimum(both["p_margin"], both["p_beyond"])), both["p"])
        assert len(both) == size - 1, "one test per claim with a difference (these per-query files have no Cr rows)"
        assert both["p_claim"].tolist() == pytest.approx(deciding.tolist())
        assert both["p_holm"].tolist() == pytest.approx(stats.holm(deciding).tolist())
    text = (results_dir / "tables" / "claims.md").read_text()
    holm_every = text.split("## The unseen")[0].split("Holm-adjusted p (over queries")[1]
    row = next(line for line in holm_every.splitlines() if line.startswith("| Mo mAP > xy's"))
    cell = [c.strip() for c in row.split("|")[2:-1]][1]
    assert len(cell.split(" / ")) == 3, "over queries / across seeds / both"
    assert "δ = 0.01 mAP, δ = 3 rank distance per 1,000 candidates" in text


def test_claims_say_how_small_a_gap_the_seeds_could_detect_and_how_many_would_see_the_papers(results_dir):
    write_tables(results_dir, "test")
    frame = pd.read_csv(results_dir / "tables" / "comparisons.csv", keep_default_na=False, na_values=[""])
    row = frame.query("dataset == 'xquad-r' and languages == 'all' and test == 'seeds' and column == 'mono_map'").iloc[0]
    sd = pd.Series([-0.01, 0.01]).std()  # the per-seed differences differ by 0.02
    assert row["sd_diff"] == pytest.approx(sd)
    assert row["detectable"] == pytest.approx(stats.detectable_difference(sd, 2))
    text = (results_dir / "tables" / "claims.md").read_text()
    every, unseen = (part.split("80 % power")[1] for part in text.split("## The unseen"))

    def cells(part: str, claim: str) -> list[str]:
        return [cell.strip() for cell in next(line for line in part.splitlines() if line.startswith(f"| {claim}")).split("|")[2:-1]]

    # the paper's XLM-R XQuAD-R gap hybrid − xy: Mo mAP .798 − .755; MTOP and the unseen languages have no paper figure
    needed = stats.seeds_needed(sd, 0.043)
    assert cells(every, "Mo mAP > xy's") == ["–", f"{row['detectable']:.3f} · paper +0.043 → {needed} seeds"]
    assert cells(every, "Mul mAP ≥ xy's")[1].endswith("paper ±0.000"), "a tie in the paper: no gap to detect"
    assert cells(every, "Mul mAP ≥ xy's")[0] == f"{row['detectable']:.3f}"
    assert "paper" not in "".join(cells(unseen, "Mo mAP > xy's"))
    assert paper_gap("mtop-intent", "mono_map", "xy") is None
    # rank distance grows with the pool: the paper's gap is rescaled to ours (30 candidates here) before it is set beside it
    assert paper_gap("xquad-r", "rank_distance", "xy", pool=30) == pytest.approx((286.6 - 295.4) / 13014 * 30)


def test_claim_marks_cover_every_case():
    def frame(low: float, high: float) -> pd.DataFrame:
        return pd.DataFrame([{"strategy": "xy", "column": "multi_map", "diff": (low + high) / 2, "low": low, "high": high, "p": 0.5}])

    def cell(query: pd.DataFrame, seeds: pd.DataFrame, reference: str = "hybrid-0.5") -> pd.DataFrame:
        table = claims_table([{"dataset": "d", "model": "m", "reference": reference, "all": (query, seeds)}])
        return table.loc["Mul mAP ≥ xy's (keeps X-Y's multilingual strength)"]

    nan = float("nan")
    assert cell(frame(0.01, 0.03), frame(-0.01, 0.05)).tolist() == ["+0.020 [-0.010, +0.050] ~"], "the headline interval"
    no_spread = frame(-0.03, -0.01).assign(low=nan, high=nan)
    assert cell(frame(-0.03, -0.01), no_spread).tolist() == ["-0.020 ·"], "no spread: no interval"
    assert cell(frame(-0.03, -0.01), frame(-0.05, -0.01)).tolist() == ["-0.030 [-0.050, -0.010] ✗"]
    assert list(cell(frame(0.01, 0.03), frame(0.01, 0.03), "hybrid-0.25").index) == ["d · m (hybrid-0.25)"]
    # the tally over columns counts the marks; '–' and '·' (no interval) are not counted
    assert _tally(pd.Series(["+0.1 ✓", "-0.1 ✗", "+0.0 ~", "–", "+0.1 ·", "+0.2 ✓"])) == "2 ✓, 1 ✗, 1 ~"


def test_tables_before_evaluation_name_the_missing_file_and_the_notebook_to_run(tmp_path):
    for write in (lambda: write_tables(tmp_path, "test"), lambda: figures.write_all(tmp_path, tmp_path / "f", "test")):
        with pytest.raises(FileNotFoundError, match=r"summary\.csv: missing; run notebook 03"):
            write()


def test_a_summary_from_an_earlier_version_is_named_with_the_fix(results_dir):
    path = results_dir / "summary.csv"
    pd.read_csv(path).drop(columns=["multi_own_first", "multi_own_share"]).to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"summary\.csv: written by an earlier hybridlib, without multi_own_first, "
                                         r"multi_own_share; rerun notebook 03"):
        write_tables(results_dir, "test")


def test_a_damaged_per_query_file_is_named_with_the_fix(results_dir):
    path = results_dir / "eval" / "xquad-r" / "m" / "xy" / "seed1" / "per_query.csv.gz"
    path.write_bytes(path.read_bytes()[:40])  # cut short
    with pytest.raises(ValueError, match=r"xy/seed1/per_query\.csv\.gz: unreadable .* rerun notebook 03"):
        write_tables(results_dir, "test")


def test_each_claim_is_the_sign_the_papers_xquad_r_numbers_show():
    for column, other, sign, wording in CLAIMS:
        gap = sign * paper_gap("xquad-r", column, other)
        strict = not keeps_claim(wording)
        assert gap > 0 if strict else gap >= 0, wording


def test_keeps_claims_read_as_the_largest_loss_each_interval_leaves_possible_against_the_margin(results_dir):
    nan = float("nan")
    query = pd.DataFrame([{"strategy": "xy", "column": c, "diff": (low + high) / 2, "low": low, "high": high, "p": 0.5}
                          for c, low, high in [("mono_map", 0.01, 0.03), ("cross_map", -0.02, 0.01),
                                               ("multi_map", 0.01, 0.03), ("rank_distance", -10.0, 5.0)]])
    both = query.assign(low=[nan, -0.05, -0.04, -30.0], high=[nan, 0.04, -0.01, -2.0], margin=[0.01, 0.01, 0.01, 9.0],
                        p_margin=[nan, 0.3, 0.6, 0.001])
    frame = comparisons_frame([{"dataset": "xquad-r", "model": "m", "reference": "hybrid-0.5", "all": (query, query, both)}])
    table = loss_table(frame)["xquad-r · m"]
    assert list(table.index) == [text for *_, text in CLAIMS if keeps_claim(text)]
    assert table.tolist() == [
        "–",  # no xx-mono run
        "0.050 · δ 0.010",  # Cr mAP: the interval reaches 0.05 below xy's
        "0.040 · δ 0.010",  # Mul mAP: wholly below, by up to 0.04
        "none · δ 9.0",  # rank distance, lower is better: wholly below xy's
    ]
    write_tables(results_dir, "test", margins={"map": 0.01, "rank_distance_per1k": 3})
    text = (results_dir / "tables" / "claims.md").read_text()
    every = text.split("## The unseen")[0].split("as non-inferiority")[1]
    row = next(line for line in every.splitlines() if line.startswith("| rank distance ≤ xy's"))
    # 30 candidates: δ = 3 per 1,000 is 0.09 rank positions here
    assert [cell.strip() for cell in row.split("|")[2:-1]][1].endswith(" · δ 0.1")


def test_verdicts_follow_the_corrected_tests_and_the_margin():
    from hybridlib.claims import verdict

    nan = float("nan")

    def row(diff, p_holm, margin=0.01):
        return pd.Series({"diff": diff, "p_holm": p_holm, "margin": margin})

    # "keeps": one test against −δ decides both ways; the side of −δ the difference lies on says which
    assert verdict(row(-0.002, 0.01), +1, keeps=True) == "holds", "a loss shown to be within δ"
    assert verdict(row(-0.002, 0.2), +1, keeps=True) == "cannot tell", "within δ but not shown to be"
    assert verdict(row(-0.03, 0.01), +1, keeps=True) == "does not hold", "a loss shown to be beyond δ"
    assert verdict(row(-0.012, 0.4), +1, keeps=True) == "cannot tell", "a loss, but not shown beyond δ"
    assert verdict(row(8.0, 0.01, margin=9.0), -1, keeps=True) == "holds", "rank distance: up by less than δ"
    assert verdict(row(-0.01, nan), +1, keeps=True) == "cannot tell", "one run a side: no interval with both noises"
    assert verdict(row(0.02, 0.01), +1, keeps=False) == "holds"
    assert verdict(row(0.02, 0.2), +1, keeps=False) == "cannot tell", "uncorrected it might look like a finding"
    assert verdict(row(-5.0, 0.01), -1, keeps=False) == "holds", "rank distance: lower is the paper's side"
    assert verdict(row(5.0, 0.01), -1, keeps=False) == "does not hold"


def test_mean_sd_table_shows_own_language_first_beside_its_chance_level(results_dir):
    write_tables(results_dir, "test")
    xquad = (results_dir / "tables" / "xquad-r__m.md").read_text()
    lines = xquad.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| strategy"))
    header, _, xy, hybrid = lines[start:start + 4]
    assert header.split("|")[-2].strip() == "multi_own_first"
    assert [row.split("|")[-2].strip() for row in (xy, hybrid)] == ["0.700 ± 0.000", "0.400 ± 0.000"]
    assert "A ranking blind to language gives 0.250" in xquad
    per_language = xquad.split("### own-language first in the Mul pool")[1].split("###")[0]
    el_row = next(line for line in per_language.splitlines() if line.startswith("| el*"))
    assert [cell.strip() for cell in el_row.split("|")[2:-1]] == ["0.700", "0.400"], "per query language, xy and hybrid"
    mtop_table = (results_dir / "tables" / "mtop-parallel__m.md").read_text()
    assert "multi_own_first (ours): not defined on this task" in mtop_table
    assert "### own-language first" not in mtop_table


def test_main_table_bolds_each_models_best_mean_and_writes_latex(tmp_path):
    rows = []
    for model, strategy, seeds, mono, rank in [("m_1", "xy", 3, 0.5, 300.0), ("m_1", "hybrid-0.5", 3, 0.6, 300.0),
                                               ("m_1", "off-the-shelf", 1, 0.2, 900.0), ("m2", "xy", 2, 0.1, 50.0)]:
        for seed in range(seeds):
            rows.append({"dataset": "xquad-r", "model": model, "strategy": strategy, "seed": seed, "mono_map": mono + 0.01 * seed,
                         "cross_map": 0.3, "multi_map": 0.2, "rank_distance": rank})
    summary = pd.DataFrame(rows)
    table = main_table(summary, "xquad-r")
    assert list(table.index) == [("m2", "xy"), ("m_1", "off-the-shelf"), ("m_1", "xy"), ("m_1", "hybrid-0.5")]
    assert table[("mono_map", "best")].tolist() == [True, False, False, True], "the best per model"
    assert table[("rank_distance", "best")].tolist() == [True, False, True, True], "lowest is best; a tie: both"
    assert table.loc[("m_1", "hybrid-0.5"), ("mono_map", "mean")] == pytest.approx(0.61)
    summary.to_csv(tmp_path / "summary.csv", index=False)
    _write_main(tmp_path, summary.assign(mono_map=lambda f: f["mono_map"].where(f["model"] == "m_1")), "paper")
    md = (tmp_path / "main.md").read_text()
    assert "| m_1     | hybrid-0.5    | **0.610 ± 0.010** |" in md and "| m_1     | off-the-shelf | 0.200 " in md
    assert "| m2      | xy            | –" in md, "no Mo for m2: a dash, never bold"
    tex = (tmp_path / "main.tex").read_text().splitlines()
    # LaTeX-escaped, no sd for one run; equal means as printed are all best
    assert "m\\_1 & off-the-shelf & 0.200 & \\textbf{0.300} & \\textbf{0.200} & 900.0 & – \\\\" in tex
    assert " & hybrid-0.5 & \\textbf{0.610 $\\pm$ 0.010} & \\textbf{0.300 $\\pm$ 0.000} & \\textbf{0.200 $\\pm$ 0.000} & \\textbf{300.0 $\\pm$ 0.0} & – \\\\" in tex
    assert tex.count("\\begin{tabular}{llrrrrr}") == 1 and tex[0].startswith("% Main results, profile paper")


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no pdflatex here (TeX is not a dependency)")
def test_main_tex_compiles(results_dir, tmp_path):
    write_tables(results_dir, "test")
    doc = tmp_path / "doc.tex"
    doc.write_text("\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n"
                   f"\\input{{{results_dir / 'tables' / 'main.tex'}}}\n\\end{{document}}\n")
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 1000

