"""Regenerate notebooks/*.ipynb from the cell sources below (outputs stripped). Run: python scripts/make_notebooks.py"""

from __future__ import annotations

from pathlib import Path

import nbformat as nbf

ROOT = Path(__file__).resolve().parent.parent
REPO_URL = "https://github.com/hybridlib/hybridlib"

PARAMETERS = '''profile: str = "smoke"  # configs/<profile>.yaml, or a path to a profile YAML
home: str = ""  # folder for data/, results/, figures/; empty: $HYBRIDLIB_HOME, else the repository'''

COLAB = f'''# On Colab: install hybridlib (keeps Colab's torch) and keep outputs on Drive when it is mounted.
import os, sys
if "google.colab" in sys.modules and not os.path.exists("hybridlib"):
    !git clone -q {REPO_URL}.git && cd hybridlib && pip install -q -e .
    os.chdir("hybridlib")
    if os.path.isdir("/content/drive/MyDrive"):
        os.environ.setdefault("HYBRIDLIB_HOME", "/content/drive/MyDrive/hybridlib")'''

SETUP = '''from hybridlib.config import load_profile
from hybridlib.pipeline import Paths

cfg = load_profile(profile)
paths = Paths.for_profile(cfg, home or None)
print(f"profile {cfg.name}: {cfg.description}\\noutputs under {paths.root}")'''


def badge(name: str) -> str:
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/hybridlib/hybridlib/blob/main/notebooks/{name})"


NOTEBOOKS = {
    "01_data_prep.ipynb": [
        ("md", "# 01 · Data preparation\n\n{badge}\n\n"
               "Builds everything the later notebooks read: the **training set** (one row per parallel group and language: "
               "a question and the sentence that answers it, with its paragraph as context unless the profile says "
               "otherwise, and an optional hard negative), the **evaluation tasks** (queries and sentence candidates, "
               "LAReQA style, and MTOP's utterances) and, for the smoke profile, the **smoke encoder**.\n\n"
               "Every batching strategy trains on exactly these rows, and no evaluation item is ever trained on. "
               "Preparation is idempotent: outputs that exist are kept."),
        ("code", COLAB),
        ("params", PARAMETERS),
        ("code", SETUP),
        ("md", "## Rows per split and language\n\nDownloads (real profiles) are verified against pinned sizes and sha256, "
               "parsed and stored. `train` counts parallel groups per language; each evaluation dataset its queries and "
               "candidates."),
        ("code", "from hybridlib.pipeline import prepare\n\nprepare(cfg, paths)"),
        ("md", "## One parallel group\n\nThe same question and answer in every training language: one group. "
               "A batch never holds two rows of one group, since a translation of the answer would count as a wrong "
               "answer (a false negative)."),
        ("code", "from hybridlib.inspection import example_group\n\nexample_group(paths)"),
        ("md", "## What is held out, and why\n\nEvaluation is zero-shot: no strategy sees an evaluation question, sentence "
               "or utterance. The languages no strategy trains on (`unseen`) show whether what a strategy learns "
               "carries over to languages it never saw."),
        ("code", "from hybridlib.inspection import held_out\n\nheld_out(cfg, paths)"),
    ],
    "02_finetune.ipynb": [
        ("md", "# 02 · Fine-tuning with each batching strategy\n\n{badge}\n\n"
               "Fine-tunes every (model, strategy, seed) of the profile with the sentence-transformers trainer and "
               "in-batch-negative InfoNCE (scale 20): each query's passage is scored against every other passage of "
               "the batch. Only the batch sampler differs between runs: same data, steps, batch size and learning rate. "
               "So what a strategy changes is *which* passages a query must beat: passages in its own language "
               "(xx-mono), in other languages (xy), or either, batch by batch (hybrid).\n\n"
               "| strategy | every batch |\n|---|---|\n"
               "| en | English query, English passage |\n"
               "| xx-mixed | monolingual pairs, languages mixed within the batch |\n"
               "| xx-mono | one language for the whole batch, drawn uniformly |\n"
               "| xy | query and passage in different languages |\n"
               "| hybrid(α) | xx-mono with probability α, else xy |\n\n"
               "Runs that finished before are skipped; an interrupted run resumes from its last checkpoint."),
        ("code", COLAB),
        ("params", PARAMETERS),
        ("code", SETUP),
        ("md", "## One batch of each strategy\n\nThe first rows of the first batch each strategy draws (seed 0), decoded: "
               "the languages of its queries and passages, and their texts."),
        ("code", "from hybridlib.inspection import example_batches\n\nexample_batches(cfg, paths)"),
        ("md", "## Batch composition\n\nTraining pairs per (query language, passage language) over the profile's steps, "
               "drawn by the same samplers: xx-mono fills the diagonal, xy everything but the diagonal, hybrid both."),
        ("code", "from hybridlib.inspection import batch_composition_figure, show_figure\n\nshow_figure(batch_composition_figure(cfg, paths))"),
        ("md", "## The runs"),
        ("code", "import pandas as pd\n\npd.DataFrame([{\"model\": r.model.name, \"strategy\": r.strategy.label, \"seed\": r.seed} for r in cfg.runs()])"),
        ("md", "## Train\n\nOne line per run, and the loss every tenth of the run. With more than one GPU visible, each run "
               "goes through `torchrun` (`hybridlib train`)."),
        ("code", "from hybridlib.pipeline import train_all\n\ntrain_all(cfg, paths)"),
        ("md", "## Loss curves\n\nEach run's training loss, a panel per strategy. The losses of different strategies "
               "are not comparable with each other: xy's in-batch negatives are in other languages, xx-mono's in the "
               "query's own, so the same model finds one task harder than the other."),
        ("code", "from hybridlib.inspection import loss_curve_figure\n\nshow_figure(loss_curve_figure(cfg, paths))"),
    ],
    "03_zero_shot_eval.ipynb": [
        ("md", "# 03 · Zero-shot evaluation\n\n{badge}\n\n"
               "Scores every run on every evaluation dataset with the LAReQA protocol: **Mo** (X→X), **Cr** (X→Y, X≠Y) "
               "and **Mul** (X→the pool of all languages). mAP is sklearn's average precision over the query's whole "
               "ranking; R@1 for Mo/Cr, R@10 for Mul; rank distance (max − min rank of a query's relevant candidates "
               "in the Mul pool) measures language bias. CIs: 95 % bootstrap over parallel groups."),
        ("code", COLAB),
        ("params", PARAMETERS),
        ("code", SETUP),
        ("md", "## Evaluate"),
        ("code", "from hybridlib.pipeline import evaluate_all\n\nevaluate_all(cfg, paths)"),
        ("md", "## The main table, with intervals\n\nMean over seeds per (dataset, model, strategy); in brackets a 95 % "
               "interval of that mean with both noises: the seeds' spread and the evaluation items' (each run's "
               "bootstrap over parallel items); a single run (n = 1) has its items' CI alone. Every run is also a row "
               "of `results/<profile>/summary.csv`."),
        ("code", "from hybridlib import results, tables\n\nsummary = results.write_summary(paths.results)\ntables.ci_table(summary)"),
        ("md", "## Per query language\n\nMul mAP per query language and strategy: where fine-tuning helps, and whether "
               "the languages no strategy trained on (marked `*`) gain as much as the others."),
        ("code", "from IPython.display import Image, display\nfrom hybridlib.inspection import language_heatmap_figure\n\n"
                 "for dataset in cfg.eval_datasets:\n    display(Image(filename=str(language_heatmap_figure(cfg, paths, dataset))))"),
        ("md", "## What a model retrieves\n\nTop-5 candidates of the multilingual pool (faiss, exact inner product) for a few "
               "queries of the first dataset, with the run of highest Mul mAP. Retrieval across languages shows as "
               "relevant candidates in other languages than the query's."),
        ("code", "from hybridlib.inspection import show_top_k\n\nshow_top_k(cfg, paths, n_queries=3, k=5)"),
    ],
    "04_figures.ipynb": [
        ("md", "# 04 · The claims, tables and figures\n\n{badge}\n\n"
               "Reads only result files (`summary.csv`, `metrics.json`, `per_query.csv.gz`) and writes the Markdown "
               "tables (`results/<profile>/tables/`) and PNG figures (`figures/<profile>/`)."),
        ("code", COLAB),
        ("params", PARAMETERS),
        ("code", SETUP),
        ("md", "## Tables\n\nPer (dataset, model): mean ± sd over seeds; hybrid against each strategy with one interval "
               "carrying both noises (training seeds, paired, and evaluation items), then across seeds only and over "
               "the items only; per query language. `main.md` (and `main.tex`): the paper's table, with rank distance "
               "also per 1,000 candidates. Every comparison is also in `comparisons.csv`."),
        ("code", "from IPython.display import Image, Markdown, display\nfrom hybridlib import figures, tables\n\n"
                 "for path in tables.write_tables(paths.results, cfg.name, cfg.margins):\n    print(path)\n"
                 "display(Markdown((paths.results / \"tables\" / \"main.md\").read_text()))"),
        ("md", "## The paper's claims\n\nEach claim is the sign the paper reports for hybrid minus xx-mono or xy on one "
               "metric. Read the **verdicts** first: holds / does not hold / cannot tell, from the test with both "
               "noises after Holm's correction over the claims; a \"keeps\" claim holds only where hybrid loses less "
               "than the profile's margin δ (its history: the profile's comment and docs/protocol.md). The marks under them (✓ / ✗ / ~) are per "
               "comparison, not corrected: a ✓ there is not a finding on its own."),
        ("code", "claims = paths.results / \"tables\" / \"claims.md\"  # written where the runs include hybrid-0.5\n"
                 "display(Markdown(claims.read_text() if claims.exists() else \"No hybrid-0.5 runs: no claims to check.\"))"),
        ("md", "## Figures\n\nAll figures of the profile, written to `figures/<profile>/`."),
        ("code", "written = figures.write_all(paths.results, paths.figures, cfg.name, cfg.margins)\nfor path in written:\n    print(path)"),
        ("md", "## The trade-off\n\nEach strategy on Mo against Cr mAP (left) and on rank distance against Mul mAP "
               "(right), both oriented so that up and right is better. Hybrid keeping both strengths, as the paper "
               "claims, would sit in the upper right corner, beyond the ends of the dashed α path (xy and xx-mono)."),
        ("code", "for path in written:\n    if path.name.endswith(\"__tradeoff.png\"):\n        display(Image(filename=str(path)))"),
        ("md", "## By training budget and along α\n\nWhere a profile trains at several budgets (`budgets:`), each metric "
               "against the training pairs a run saw, one line per strategy, each seed a dot; where it trains several "
               "α, each metric against α (α = 0 is xy, α = 1 is xx-mono)."),
        ("code", "for path in written:\n    if path.name.endswith((\"__budgets.png\", \"__alpha_sweep.png\")) and path.name.startswith(\"xquad-r\"):\n"
                 "        display(Image(filename=str(path)))"),
        ("md", "## The claims as effect sizes\n\nHybrid minus the other strategy for each claim, signed so that right is "
               "the paper's side, with its 95 % CI over the evaluation items only (thick) and its interval with both "
               "noises (thin), beside the paper's own XLM-R gap where it reports one (rank distance rescaled to our "
               "pool). A thin bar across zero is a claim these seeds and items cannot settle."),
        ("code", "forest = paths.figures / \"claims_forest.png\"\nif forest.exists():\n    display(Image(filename=str(forest)))"),
    ],
}


def build(name: str, cells: list[tuple[str, str]]) -> nbf.NotebookNode:
    nb = nbf.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}, "language_info": {"name": "python"}}
    for kind, src in cells:
        src = src.replace("{badge}", badge(name))
        if kind == "md":
            nb.cells.append(nbf.v4.new_markdown_cell(src))
        else:
            cell = nbf.v4.new_code_cell(src)
            if kind == "params":
                cell.metadata["tags"] = ["parameters"]
            nb.cells.append(cell)
    for i, cell in enumerate(nb.cells):
        cell.id = f"{Path(name).stem[:2]}-{i:02d}"
    return nb


if __name__ == "__main__":
    for name, cells in NOTEBOOKS.items():
        nbf.write(build(name, cells), ROOT / "notebooks" / name)
        print("wrote", name)
