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
               "question, answer sentence with its paragraph as context, optional hard negative), the **evaluation tasks** "
               "(queries and sentence candidates, LAReQA style) and, for the smoke profile, the **smoke encoder**.\n\n"
               "Why: every batching strategy must train on exactly the same rows, and no evaluation item may leak into "
               "training. Preparation is idempotent: outputs that exist are kept."),
        ("code", COLAB),
        ("params", PARAMETERS),
        ("code", SETUP),
        ("md", "## Prepare\n\nDownloads (paper profile), verifies, parses and stores. Rows per split and language:"),
        ("code", "from hybridlib.pipeline import prepare\n\nprepare(cfg, paths)"),
        ("md", "## One parallel group\n\nThe same question and answer passage in every training language. "
               "Rows of one group are never in the same batch: a translation would be a false negative."),
        ("code", "from hybridlib.pipeline import example_group\n\nexample_group(paths)"),
    ],
    "02_finetune.ipynb": [
        ("md", "# 02 · Fine-tuning with each batching strategy\n\n{badge}\n\n"
               "Fine-tunes every (model, strategy, seed) of the profile with the sentence-transformers trainer and "
               "in-batch-negative InfoNCE (scale 20). Only the batch sampler differs between runs: same data, steps, "
               "batch size and learning rate.\n\n"
               "| strategy | every batch |\n|---|---|\n"
               "| en | English query, English passage |\n"
               "| xx-mixed | monolingual pairs, languages mixed within the batch |\n"
               "| xx-mono | one language for the whole batch |\n"
               "| xy | query and passage in different languages |\n"
               "| hybrid(α) | xx-mono with probability α, else xy |\n\n"
               "Runs that finished before are skipped; an interrupted run resumes from its last checkpoint."),
        ("code", COLAB),
        ("params", PARAMETERS),
        ("code", SETUP),
        ("md", "## The runs"),
        ("code", "import pandas as pd\n\npd.DataFrame([{\"model\": r.model.name, \"strategy\": r.strategy.label, \"seed\": r.seed} for r in cfg.runs()])"),
        ("md", "## Train\n\nOne line per run, and the loss every tenth of the run. With more than one GPU visible, each run "
               "goes through `torchrun` (`hybridlib train`)."),
        ("code", "from hybridlib.pipeline import train_all\n\ntrain_all(cfg, paths)"),
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
        ("md", "## Summary: one row per (dataset, model, strategy, seed)\n\nWritten to `results/<profile>/summary.csv`."),
        ("code", "from hybridlib import results\n\nsummary = results.write_summary(paths.results)\nsummary[[\"dataset\", \"model\", \"strategy\", \"seed\", *results.HEADLINE]].round(3)"),
        ("md", "## With confidence intervals\n\nMean over seeds; the CI is the 95 % bootstrap interval of the first seed's run."),
        ("code", "results.ci_table(summary)"),
        ("md", "## What a model retrieves\n\nTop-5 candidates (faiss, exact inner product) for a few queries of the first dataset, with the best fine-tuned run."),
        ("code", "from hybridlib.pipeline import show_top_k\n\nshow_top_k(cfg, paths, n_queries=3, k=5)"),
    ],
    "04_figures.ipynb": [
        ("md", "# 04 · Tables and figures\n\n{badge}\n\n"
               "Reads only result files (`summary.csv`, `metrics.json`, `per_query.csv.gz`) and writes the Markdown "
               "tables (`results/<profile>/tables/`) and PNG figures (`figures/<profile>/`)."),
        ("code", COLAB),
        ("params", PARAMETERS),
        ("code", SETUP),
        ("md", "## Tables: mean ± sd over seeds; hybrid against each strategy, over the evaluation queries and across training seeds; "
               "per query language, with the languages no strategy trained on apart. Then `main.md` (and `main.tex`, the same as "
               "LaTeX): the paper's table, every model and strategy per dataset. Last, `claims.md`: each of the paper's "
               "claims about hybrid, checked on every dataset and model, with p-values adjusted for the number of claims and "
               "the smallest gap the training seeds could detect; every comparison is also written to `comparisons.csv`"),
        ("code", "from IPython.display import Markdown, display\nfrom hybridlib import results\n\nfor path in results.write_tables(paths.results, cfg.name):\n    print(path)\n    if path.suffix == \".md\":\n        display(Markdown(path.read_text()))"),
        ("md", "### Reading claims.md\n\n"
               "- A claim holds when its **across-seeds** mark is ✓: another training seed would keep the gap. A ✓ over the "
               "queries alone says the evaluation set is large enough to see the gap between these runs, not that training "
               "reproduces it.\n"
               "- A ~ beside a gap smaller than the detectable one (the third table) means the seeds could not have seen it: "
               "more seeds (the profile's `seeds:`; finished runs are skipped) can settle it, a conclusion cannot.\n"
               "- The Holm table says whether a mark survives testing all the claims of its column together.\n"
               "- The last table reads the \"keeps\" claims (≥, ≤) as non-inferiority: the largest loss each CI leaves "
               "possible. Fix a margin δ before looking; the claim holds within δ where the across-seeds value is below it.\n"
               "- `claims_forest.png` below draws the same gaps with both CIs beside the paper's own."),
        ("md", "## Figures\n\nPer (dataset, model), `__tradeoff.png` is the paper's question in one picture: each strategy on "
               "Mo against Cr mAP, and on rank distance against Mul mAP, with both axes oriented so that up and right is "
               "better. Hybrid keeping both strengths would sit in the upper right corner, beyond the dashed α path's ends "
               "(xy and xx-mono). `__language_pair_differences.png` shows where hybrid gains and loses, per query and "
               "target language."),
        ("code", "from IPython.display import Image\nfrom hybridlib import figures\n\nfor path in figures.write_all(paths.results, paths.figures, cfg.name):\n    print(path)\n    display(Image(filename=str(path)))"),
        ("md", "## Batch composition per strategy\n\nHow many training pairs each (query language, passage language) cell receives over the profile's steps, "
               "drawn by the same samplers training used (seed 0)."),
        ("code", "from hybridlib.pipeline import batch_composition_figure\n\npath = batch_composition_figure(cfg, paths)\ndisplay(Image(filename=str(path)))"),
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
