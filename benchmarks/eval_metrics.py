"""Benchmark: every XQuAD-R metric (121 Mo/Cr settings + Mul over 13,014 candidates, rank distance, CIs)
from given embeddings. Uses $HYBRIDLIB_REAL_DATA/xquad-r when given (the real task), otherwise a task of the
same shape. Prints a table; target: <= 15 s on a 2-core CPU.

    python benchmarks/eval_metrics.py [--dim 768] [--repeats 2] [--n-boot 1000]
"""

from __future__ import annotations

import argparse
import time
import os
from pathlib import Path

import numpy as np
import torch
from common import shaped_task, unit_rows

from hybridlib import lareqa
from hybridlib.evaluation import evaluate_embeddings, per_query_scores, summarize
from hybridlib.records import RetrievalTask

REAL_XQUAD_R = Path(os.environ.get("HYBRIDLIB_REAL_DATA") or "/nonexistent") / "xquad-r"


def xquad_shaped_task() -> tuple[RetrievalTask, str]:
    if REAL_XQUAD_R.exists():
        return lareqa.load(REAL_XQUAD_R, "xquad-r", lareqa.XQUAD_R_LANGUAGES), "real XQuAD-R ($HYBRIDLIB_REAL_DATA)"
    # 13,013 candidates: 1,190 answer sentences share 1,183 candidates per language
    return shaped_task("xquad-r-shaped", lareqa.XQUAD_R_LANGUAGES, 1190, 1183), "synthetic XQuAD-R-shaped task"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--n-boot", type=int, default=1000)
    args = parser.parse_args()
    task, label = xquad_shaped_task()
    rng = np.random.default_rng(0)
    q, c = unit_rows(rng, len(task.queries), args.dim), unit_rows(rng, len(task.candidates), args.dim)
    rows = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        per_query = per_query_scores(task, q, c)
        t1 = time.perf_counter()
        summarize(per_query, n_boot=args.n_boot)
        t2 = time.perf_counter()
        rows.append((t1 - t0, t2 - t1))
    best = min(rows, key=sum)
    print(f"task: {label}: {len(task.queries)} queries, {len(task.candidates)} candidates, dim {args.dim}, torch threads {torch.get_num_threads()}")
    print(f"| stage | seconds (best of {args.repeats}) |")
    print("|---|---|")
    print(f"| rank every query in 121 Mo/Cr settings + 11 Mul pools (AP, R@k, MRR, nDCG, rank distance, own-language first) | {best[0]:.2f} |")
    print(f"| macro means + 95 % bootstrap CIs ({args.n_boot} draws, every metric) | {best[1]:.2f} |")
    print(f"| total | {sum(best):.2f} |")
    assert evaluate_embeddings  # the same two stages evaluate_embeddings runs


if __name__ == "__main__":
    main()
