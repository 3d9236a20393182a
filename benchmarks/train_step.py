"""Benchmark the project's own training step: the trainer, sampler, loss and collator a paper run uses.

For mBERT- and XLM-R-base-sized models (random weights, real tokenizers from ../shared when present) at batch 100
of real multilingual text, prints per configuration: median step ms, pairs/s, real tokens/s, achieved TFLOP/s,
MFU against the matmul rate measured here, peak memory, and the same for the plain sentence-transformers default
(fp32, plain AdamW, no compile) on the same batches (same seed, same sampler). `--cap-gib 15` also trains under a
15 GiB memory cap (a T4) with the cached (GradCache) loss. `--tiny` runs a tiny config on the CPU (for CI).

    python benchmarks/train_step.py                      # GPU: mbert and xlmr, batch 100
    python benchmarks/train_step.py --tiny --steps 3     # CPU smoke check
"""

from __future__ import annotations

import argparse
import re
import statistics
import time

import torch
from common import build_model, cleanup, device, flops_per_token, matmul_tflops, print_header, sync, text_pairs, workdir
from datasets import Dataset
from transformers import TrainerCallback

from hybridlib.encoder import load_encoder
from hybridlib.samplers import Strategy
from hybridlib.training import TrainSettings, train_run


class StepTimer(TrainerCallback):
    def __init__(self) -> None:
        self.times: list[float] = []
        self.start = 0.0

    def on_step_begin(self, args, state, control, **kwargs):
        sync()
        self.start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        sync()
        self.times.append(time.perf_counter() - self.start)


def token_stats(model_dir, pairs, max_len: int) -> tuple[float, float]:
    """Mean real tokens per (query, passage) pair and mean sum of squared lengths (attention cost)."""
    model = load_encoder(model_dir, max_seq_length=max_len)
    tok, max_len = model.tokenizer, model.max_seq_length
    q = [len(x) for x in tok([f"query: {p[2]}" for p in pairs], truncation=True, max_length=max_len)["input_ids"]]
    p = [len(x) for x in tok([f"passage: {p[3]}" for p in pairs], truncation=True, max_length=max_len)["input_ids"]]
    return sum(q + p) / len(pairs), sum(x * x for x in q + p) / len(pairs)


def run_config(label: str, model_dir, rows, settings: TrainSettings, measure: int, out) -> dict:
    """Train `measure` + 3 steps of hybrid-0.5 (seed 0, so every config sees the same batches); median step time."""
    timer = StepTimer()
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    langs = tuple(sorted(set(rows["lang"])))
    run_dir = out / re.sub(r"[^a-z0-9]+", "-", label.lower())
    train_run(str(model_dir), rows, langs, Strategy.parse("hybrid-0.5"), 0, settings, run_dir, callbacks=[timer])
    steady = timer.times[-measure:]
    peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else float("nan")
    return {"label": label, "step_s": statistics.median(steady), "peak_gib": peak}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="mbert,xlmr")
    parser.add_argument("--tiny", action="store_true", help="tiny BERT on the CPU (CI)")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--steps", type=int, default=12, help="measured steps (after 3 warm-up steps)")
    parser.add_argument("--max-len", type=int, default=256)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    parser.add_argument("--cap-gib", type=float, default=0, help="also train under this GPU memory cap with the cached loss")
    args = parser.parse_args()
    models = ["tiny"] if args.tiny else args.models.split(",")
    batch = 8 if args.tiny else args.batch
    pairs, text = text_pairs(limit=2000 if args.tiny else 0)
    rows = Dataset.from_list([{"pair_id": g, "lang": lang, "query": q, "passage": p, "negative": "", "source": "bench"} for g, lang, q, p in pairs])
    rate, rate_label = matmul_tflops()
    columns = ["model", "config", "step ms (median)", "pairs/s", "real tokens/s", "TFLOP/s", "MFU", "matmul floor ms", "peak GiB"]
    print_header(rate, rate_label, f"text: {text}; batch {batch}", columns)
    tmp = workdir()
    try:
        for kind in models:
            model_dir = build_model(kind, tmp)
            params, layers, hidden = flops_per_token(load_encoder(model_dir))
            tokens, sq = token_stats(model_dir, pairs, args.max_len)
            # training FLOPs per pair: 6 * params * tokens (dense) + 12 * layers * hidden * sum(len^2) (attention)
            flops = batch * (6 * params * tokens + 12 * layers * hidden * sq)
            base = {"steps": args.steps + 3, "batch_size": batch, "max_seq_length": args.max_len, "hard_negatives": False, "learning_rate": 1e-5}
            configs = [("project default", TrainSettings(**base, precision="auto")), ("plain ST default (fp32)", TrainSettings(**base, precision="fp32", fast=False))]
            if args.compile:
                configs.append(("project + torch.compile", TrainSettings(**base, precision="auto", compile=True)))
            for label, settings in configs:
                r = run_config(f"{kind} {label}", model_dir, rows, settings, args.steps, tmp)
                achieved = flops / r["step_s"] / 1e12
                print(
                    f"| {kind} | {label} | {r['step_s'] * 1e3:.1f} | {batch / r['step_s']:.0f} | {batch * tokens / r['step_s']:.0f} | "
                    f"{achieved:.3g} | {achieved / rate:.1%} | {flops / rate / 1e9:.1f} | {r['peak_gib']:.2f} |",
                    flush=True,
                )
            if args.cap_gib and torch.cuda.is_available():
                total = torch.cuda.get_device_properties(0).total_memory / 2**30
                torch.cuda.set_per_process_memory_fraction(min(1.0, args.cap_gib / total))
                cached = TrainSettings(**base, precision="auto", cached_minibatch=32)
                try:
                    r = run_config(f"{kind} cap {args.cap_gib}", model_dir, rows, cached, args.steps, tmp)
                    print(f"| {kind} | cached loss (32) under a {args.cap_gib:g} GiB cap | {r['step_s'] * 1e3:.1f} | {batch / r['step_s']:.0f} | | | | | {r['peak_gib']:.2f} |")
                except torch.cuda.OutOfMemoryError:
                    print(f"| {kind} | cached loss (32) under a {args.cap_gib:g} GiB cap | OOM | | | | | | |")
                torch.cuda.set_per_process_memory_fraction(1.0)
            print(f"(mean real tokens per pair {tokens:.0f}; non-embedding parameters {params / 1e6:.0f} M; {device()})")
    finally:
        cleanup(tmp)


if __name__ == "__main__":
    main()
