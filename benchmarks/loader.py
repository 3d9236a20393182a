"""Benchmark the host side of a training step: what one dataloader worker does per batch (the sampler's ids ->
the pair dataset's text lookup -> the trainer's collator, which tokenizes), timed in this process on one core,
and the step time that sets as a floor for N tokenizing workers: a step cannot be shorter than one batch's host
time divided by the workers producing batches in parallel.

Real tokenizers from $HYBRIDLIB_REAL_DATA when given (set PYTHONPATH to a folder with sentencepiece for the rebuilt XLM-R
one), XQuAD-R text, batch 100, hybrid-0.5 (seed 0), with and without a hard negative per pair (the paper profile
trains with one). `--tiny` for a CPU check.

    python benchmarks/loader.py [--models mbert,xlmr] [--batches 30] [--workers 1,2,4,8]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # one thread, as in a forked dataloader worker

import torch
from common import build_model, cleanup, training_rows, workdir

from hybridlib import training
from hybridlib.encoder import tokenizing_workers
from hybridlib.samplers import Strategy
from hybridlib.training import TrainSettings


def batch_seconds(model_dir, rows, settings: TrainSettings, n: int, tmp) -> list[float]:
    """Seconds per batch of the run's own train dataloader, iterated in this process (no workers)."""
    langs = tuple(sorted(set(rows["lang"])))
    trainer = training.make_trainer(str(model_dir), rows, langs, Strategy.parse("hybrid-0.5"), 0, settings, tmp / "checkpoints")
    loader = trainer.get_train_dataloader()
    loader = getattr(loader, "base_dataloader", loader)  # the torch DataLoader inside accelerate's (no look-ahead)
    batches = iter(loader)
    next(batches)  # warm-up
    times = []
    while len(times) < n:
        start = time.perf_counter()
        try:
            next(batches)
        except StopIteration:  # an epoch of a small text set is a few batches: start the next, untimed
            batches = iter(loader)
            continue
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="mbert,xlmr")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--batches", type=int, default=30, help="timed batches per row")
    parser.add_argument("--workers", default="1,2,4,8", help="worker counts for the step-floor columns")
    parser.add_argument("--max-len", type=int, default=256)
    args = parser.parse_args()
    torch.set_num_threads(1)
    models = ["tiny"] if args.tiny else args.models.split(",")
    batch = 8 if args.tiny else args.batch
    workers = [int(w) for w in args.workers.split(",")]
    rows, text = training_rows(limit=2000 if args.tiny else 0)
    here = tokenizing_workers("cuda")  # what training would use on a GPU of this machine
    print(f"host: {os.cpu_count()} CPUs, one thread; {text}; batch {batch}; tokenizing workers training would start on a GPU here: {here}")
    columns = ["model", "hard negatives", "host ms per batch (median)", "min–max ms"] + [f"step floor ms, {w} worker{'s' * (w > 1)}" for w in workers]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    tmp = workdir()
    try:
        for kind in models:
            model_dir = build_model(kind, tmp)
            for hard in (False, True):
                settings = TrainSettings(steps=args.batches + 1, batch_size=batch, max_seq_length=args.max_len, hard_negatives=hard, loader_workers=0)
                times = batch_seconds(model_dir, rows, settings, args.batches, tmp)
                median = statistics.median(times)
                floors = [f"{median / w * 1e3:.1f}" for w in workers]
                print(f"| {kind} | {'yes' if hard else 'no'} | {median * 1e3:.1f} | {min(times) * 1e3:.1f}–{max(times) * 1e3:.1f} | " + " | ".join(floors) + " |", flush=True)
    finally:
        cleanup(tmp)


if __name__ == "__main__":
    main()
