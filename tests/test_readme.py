"""The README and docs/: their Python examples run as written, their figures are what the code computes, and every
link resolves."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PROTOCOL = ROOT / "docs" / "protocol.md"  # the "Score your own retrieval data" example
REPRODUCE = ROOT / "docs" / "reproduce.md"  # the paper's numbers and the seed figures


def test_every_python_block_in_the_readme_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", PROTOCOL.read_text(), flags=re.S)
    assert blocks, "docs/protocol.md has no Python example"
    for block in blocks:
        namespace: dict = {}
        exec(compile(block, str(PROTOCOL), "exec"), namespace)
    # the "Score your own retrieval data" example: mAP per setting, then the rank distance
    printed = capsys.readouterr().out.splitlines()
    maps = ast.literal_eval(printed[0])
    assert set(maps) == {"mono", "cross", "multi"} and all(0 < v <= 1 for v in maps.values())
    assert 0 <= float(printed[1]) <= len(namespace["task"].candidates)


def test_the_papers_numbers_in_the_readme_are_the_ones_the_claims_tables_use():
    from hybridlib.claims import PAPER_XLMR

    rows = {line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:5]]
            for line in REPRODUCE.read_text().splitlines() if line.startswith(("| XQuAD-R Mo", "| MLQA-R Mo", "| rank distance XQuAD-R"))}
    strategies = ("xx-mono", "xy", "hybrid-0.5")  # the README's columns: X-X-mono, X-Y, Hybrid
    for dataset, label in (("xquad-r", "XQuAD-R Mo / Cr / Mul"), ("mlqa-r", "MLQA-R Mo / Cr / Mul")):
        for strategy, cell in zip(strategies, rows[label]):
            paper = PAPER_XLMR[dataset][strategy]
            assert [float(x) for x in cell.split(" / ")] == [paper["mono_map"], paper["cross_map"], paper["multi_map"]]
    for strategy, cell in zip(strategies, rows["rank distance XQuAD-R / MLQA-R"]):
        assert [float(x) for x in cell.split(" / ")] == [PAPER_XLMR[d][strategy]["rank_distance"] for d in ("xquad-r", "mlqa-r")]


def test_the_readmes_seed_figures_are_what_stats_computes():
    from hybridlib import stats

    text = " ".join(REPRODUCE.read_text().split("**How many seeds.**")[1].split("\n\n")[0].split())
    per_sd = {n: stats.detectable_difference(1.0, n) for n in (3, 5, 10)}
    assert f"a mean difference of about {per_sd[3]:.1f} sds of the per-seed differences" in text
    assert f"{per_sd[5]:.1f} with 5 seeds, {per_sd[10]:.1f} with 10" in text
    assert f"sd is at most {0.005 / per_sd[3]:.4f}" in text
    assert f"at an sd of 0.005 it needs {stats.seeds_needed(0.005, 0.005)} seeds" in text
    assert stats.seeds_needed(0.002, 0.005) == 4 and "at 0.002 four" in text


def test_every_local_link_in_the_readme_and_docs_resolves():
    pages = [README, *sorted((ROOT / "docs").glob("*.md"))]
    checked = 0
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if target.startswith(("http://", "https://")):
                continue
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            assert resolved.exists(), f"{page.name}: link {target} points at nothing"
            if anchor and resolved.suffix == ".md":
                headings = {_anchor(h) for h in re.findall(r"(?m)^#+ (.+)$", resolved.read_text())}
                assert anchor in headings, f"{page.name}: no heading #{anchor} in {resolved.name}"
            checked += 1
    assert checked >= 10, "the README links its details in docs/"


def _anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_readme_fits_a_few_screens():
    assert len(README.read_bytes()) <= 15_000, "details belong in docs/"


def _main_rows(main_md: str, dataset: str) -> dict[tuple[str, str], list[str]]:
    """{(model, strategy): [Mo, Cr, Mul, RD, RD/1k] cells} of one dataset's section of a main.md, without bold marks."""
    section = main_md.split(f"## {dataset}\n")[1].split("\n## ")[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip().strip("*") for c in line.strip("|").split("|")]
        if len(cells) == 7 and cells[0] not in ("model", "") and not cells[0].startswith(":"):
            rows[(cells[0], cells[1])] = cells[2:]
    return rows


def _readme_tables(text: str) -> dict[str, dict[tuple[str, str], list[str]]]:
    """The README's result tables: {first header cell: {(strategy, pairs): cells}}."""
    tables, current = {}, None
    for line in text.splitlines():
        if not line.startswith("|"):
            current = None
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if current is None:
            current = tables.setdefault(cells[0], {})
        elif not cells[0].startswith("-"):
            current[(cells[0], cells[1])] = cells[2:]
    return tables


def test_readme_results_are_the_snapshots():
    """The README's result tables are copied from the committed snapshot's main.md, number for number, each row
    found by its strategy and training pairs (summary.csv says which model folder holds that budget)."""
    import pandas as pd

    snapshots = sorted((ROOT / "snapshots").glob("small-budgets-*"))
    assert snapshots, "no committed snapshot of the small-budgets profile"
    main_md = (snapshots[-1] / "tables" / "main.md").read_text()
    summary = pd.read_csv(snapshots[-1] / "summary.csv")
    model_of = {f"{pairs:,}": model for model, pairs in summary[["model", "pairs"]].drop_duplicates().itertuples(index=False)}
    model_of["0"] = summary.loc[summary["strategy"] == "off-the-shelf", "model"].iloc[0]
    text = README.read_text()
    assert snapshots[-1].name.split("-", 2)[2] in text and f"snapshots/{snapshots[-1].name}/" in text, "the README dates its answer"
    tables = _readme_tables(text)
    checked = 0
    for header, dataset, take in (("XQuAD-R", "xquad-r", slice(0, 5)), ("MLQA-R", "mlqa-r", slice(0, 5))):
        main = _main_rows(main_md, dataset)
        assert len(tables[header]) >= 7, header
        for (strategy, pairs), cells in tables[header].items():
            assert cells[:5] == main[(model_of[pairs], strategy)][take], f"{header} {strategy} {pairs}"
            checked += 1
    parallel, intent = _main_rows(main_md, "mtop-parallel"), _main_rows(main_md, "mtop-intent")
    for (strategy, pairs), cells in tables["MTOP"].items():
        key = (model_of[pairs], strategy)
        assert cells == [parallel[key][1], parallel[key][2], parallel[key][4], intent[key][0], intent[key][2], intent[key][4]], f"MTOP {strategy} {pairs}"
        checked += 1
    assert checked >= 3 * 7
    sha = re.search(r"sha256 `([0-9a-f]{8})", main_md).group(1)
    assert f"sha256 `{sha}…`" in text, "the README names the weights the tables name"


