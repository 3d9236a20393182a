"""Benchmark: notebook 04's work on a paper-sized result set. Writes one dataset's runs in the real result-file
layout (XQuAD-R's shape: 11 languages x 1,190 queries, el and vi unseen; XLM-R's 22 runs: off-the-shelf plus 7
strategies x 3 seeds), then times summary.csv, the Markdown tables and the figures, with the peak memory.

The per-query values are those of random embeddings, jittered per run, so the numbers mean nothing; the files'
sizes and layout are the paper profile's. Prints a table.

    python benchmarks/tables.py [--queries-per-lang 1190] [--languages 11] [--seeds 3] [--tiny]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from common import shaped_task, unit_rows

from hybridlib.tables import write_tables
from hybridlib import figures, lareqa, results
from hybridlib.evaluation import per_query_scores, summarize
from hybridlib.pipeline import write_eval
from hybridlib.records import RetrievalTask

STRATEGIES = ("off-the-shelf", "en", "xx-mixed", "xx-mono", "xy", "hybrid-0.25", "hybrid-0.5", "hybrid-0.75")
UNSEEN = ("el", "vi")  # XQuAD-R's languages outside the paper's training languages
METRICS = ("map", "recall@1", "recall@10", "accuracy@1", "mrr@10", "ndcg@10")


def write_runs(results_dir: Path, task: RetrievalTask, seeds: int, strategies: tuple[str, ...]) -> int:
    """Every run's config.json, per_query.csv.gz and metrics.json, as evaluation writes them; returns the run count."""
    rng = np.random.default_rng(0)
    per_query = per_query_scores(task, unit_rows(rng, len(task.queries), 32), unit_rows(rng, len(task.candidates), 32))
    result = {"dataset": task.name, **summarize(per_query, n_boot=10)}
    train_languages = [lang for lang in task.languages if lang not in UNSEEN]
    n = 0
    for strategy in strategies:
        for seed in range(1 if strategy == "off-the-shelf" else seeds):
            jittered = per_query.copy()
            for metric in METRICS:
                jittered[metric] = np.clip(jittered[metric] + rng.normal(0, 0.05, len(jittered)), 0, 1)
            jittered["rank_distance"] += rng.integers(0, 20, len(jittered))
            alpha = float(strategy.split("-")[1]) if strategy.startswith("hybrid") else None
            config = {"dataset": task.name, "model": {"name": "xlmr"}, "strategy": strategy, "alpha": alpha, "seed": seed,
                      "train_languages": train_languages}
            write_eval(results_dir / "eval" / task.name / "xlmr" / strategy / f"seed{seed}", config, result, jittered)
            n += 1
    return n


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries-per-lang", type=int, default=1190)
    parser.add_argument("--languages", type=int, default=11)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--tiny", action="store_true", help="4 languages x 40 queries, 2 seeds: the CI check")
    args = parser.parse_args()
    if args.tiny:
        args.queries_per_lang, args.languages, args.seeds = 40, 4, 2
    languages = lareqa.XQUAD_R_LANGUAGES[: args.languages]
    task = shaped_task("xquad-r", languages, args.queries_per_lang, args.queries_per_lang)
    with tempfile.TemporaryDirectory() as tmp:
        results_dir = Path(tmp)
        start = time.perf_counter()
        n_runs = write_runs(results_dir, task, args.seeds, STRATEGIES)
        setup = time.perf_counter() - start
        rows = []
        for stage, call in (
            ("summary.csv (results.write_summary)", lambda: results.write_summary(results_dir)),
            ("tables (write_tables)", lambda: write_tables(results_dir, "bench")),
            ("figures (figures.write_all)", lambda: figures.write_all(results_dir, results_dir / "figures", "bench")),
        ):
            start = time.perf_counter()
            call()
            rows.append((stage, time.perf_counter() - start, peak_gib()))
        per_file = sum(p.stat().st_size for p in results_dir.glob("eval/**/per_query.csv.gz")) / n_runs / 2**20
    print(f"one dataset: {len(languages)} languages x {args.queries_per_lang} queries ({', '.join(u for u in UNSEEN if u in languages)} unseen), "
          f"{n_runs} runs ({len(STRATEGIES)} strategies, {args.seeds} seeds), per_query.csv.gz {per_file:.1f} MiB each; "
          f"written in {setup:.0f} s")
    print("| stage | seconds | peak memory GiB (process, so far) |")
    print("|---|---|---|")
    for stage, seconds, peak in rows:
        print(f"| {stage} | {seconds:.1f} | {peak:.2f} |")
    print(f"| total | {sum(r[1] for r in rows):.1f} | |")


if __name__ == "__main__":
    main()
