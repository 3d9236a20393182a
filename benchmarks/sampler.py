"""Benchmark: batch sampling cost per strategy over a 1-million-group parallel training set (9 languages, 94 %
coverage like translate-train), batch 100. Target: <= 1 ms per batch on a 2-core CPU. Also times the one-off
pair-dataset build at the paper profile's size (87,599 groups x 9 languages).

    python benchmarks/sampler.py [--groups 1000000] [--batches 2000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from hybridlib.samplers import BatchPlan, ParallelIndex, Strategy

LANGS = ("ar", "de", "en", "es", "hi", "ru", "th", "tr", "zh")


def presence(n_groups: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    present = rng.random((n_groups, len(LANGS))) < 0.94
    present[:, LANGS.index("en")] = True  # SQuAD defines the groups
    return present


def time_strategy(index: ParallelIndex, strategy: str, batch: int, n_batches: int) -> tuple[float, float]:
    """(plan construction s, mean ms per batch incl. row lookup and the list the trainer receives)."""
    t0 = time.perf_counter()
    plan = BatchPlan(index, Strategy.parse(strategy), batch, seed=0)
    t1 = time.perf_counter()
    it = plan.epoch(0)
    next(it)  # the first batch builds the epoch's permutations: timed separately below
    t2 = time.perf_counter()
    for _ in range(n_batches):
        b = next(it)
        index.pair_row(b.groups, b.query_lang, b.passage_lang).tolist()
    t3 = time.perf_counter()
    return t1 - t0, (t2 - t1) * 1e3, (t3 - t2) / n_batches * 1e3


def time_pair_dataset(n_groups: int) -> float:
    from datasets import Dataset

    from hybridlib.training import pair_dataset

    present = presence(n_groups, seed=1)
    rows = [{"pair_id": f"g{g}", "lang": LANGS[j], "query": "q", "passage": "p", "negative": "n", "source": "b"} for g, j in zip(*np.nonzero(present))]
    ds = Dataset.from_list(rows)
    t0 = time.perf_counter()
    pairs = pair_dataset(ds, LANGS, hard_negatives=True)
    pairs[0]
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=1_000_000)
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args()
    t0 = time.perf_counter()
    index = ParallelIndex(presence(args.groups), LANGS)
    build = time.perf_counter() - t0
    print(f"{args.groups:,} groups x {len(LANGS)} languages ({index.n_pairs:,} (query, passage) pairs), batch {args.batch_size}; index built in {build:.2f} s")
    print("| strategy | plan setup s | first batch of an epoch ms (permutations) | per batch ms (mean of %d) |" % args.batches)
    print("|---|---|---|---|")
    for strategy in ("en", "xx-mixed", "xx-mono", "xy", "hybrid-0.5"):
        setup, first, per = time_strategy(index, strategy, args.batch_size, args.batches)
        print(f"| {strategy} | {setup:.3f} | {first:.1f} | {per:.3f} |")
    print(f"\npair dataset for 87,599 groups x 9 languages (ids + resolve_ids transform): {time_pair_dataset(87_599):.1f} s (once per run)")


if __name__ == "__main__":
    main()
