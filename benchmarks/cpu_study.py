"""Benchmark the small profiles' CPU path: how close a training step and evaluation's encoding come to this CPU's
bf16 matmul rate, counted on real tokens, before and after the changes that take padding out of the step.

In one process and one run it measures:

- the bf16 matmul rate at the small model's shapes (1,024 tokens × hidden → hidden, → 4 × hidden, 4 × hidden →
  hidden), the best of several repeats, at the start and again at the end (this machine's speed varies by the hour:
  compare ratios, not seconds);
- training steps of the project's own trainer (`training.train_run`: sampler, collator, loss, optimizer) on the
  batches the sampler draws from XQuAD-R's training articles (hybrid-0.5, seed 0: every configuration sees the same
  batches), every step timed, the first ones included: a run pays for them;
- `encoder.encode` of XQuAD-R's held-out candidate sentences with their ``passage: `` prompt.

Each is given as a fraction of the matmul rate on its real tokens (6 × parameters × tokens for a training step,
2 × for encoding, plus attention's 12 × layers × hidden × length² or 4 ×; the frozen word embeddings are not counted),
and with its padding share (tokens the forward passes computed over real tokens). The configurations (`--configs`):

    before      the small profiles until now: 64 tokens, the whole batch padded to its longest text, AdamW per parameter
    before-192  the same at 192 tokens (what raising the length alone would cost)
    fused       192 tokens, fused AdamW
    bucketed    + each forward pass's length rounded up to a multiple of 16 (few distinct matmul shapes)
    after       + each side of a batch embedded in length-sorted chunks (`forward_chunk`): the profiles' setting;
                evaluation in batches of 128 cut into chunks of twice that (16)

Real data and the real model where they are given (`$HYBRIDLIB_REAL_DATA` with xquad-r/, `$HYBRIDLIB_MODEL_ME5` or
`--model`), the synthetic world and a tiny random-weight model otherwise (`--tiny`: a smoke check, CI runs it).

    python benchmarks/cpu_study.py --model /path/to/multilingual-e5-small
    python benchmarks/cpu_study.py --tiny --steps 4
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import time
from dataclasses import replace
from pathlib import Path

import torch
from common import REAL_DATA, build_model, cleanup, flops_per_token, workdir
from transformers import TrainerCallback

from hybridlib import lareqa, synthetic
from hybridlib.encoder import encode, load_encoder
from hybridlib.provenance import cpu_model
from hybridlib.samplers import Strategy
from hybridlib.training import TrainSettings, train_run

TRAIN_LANGUAGES = ("ar", "de", "en", "es", "hi", "ru", "th", "tr", "zh")
CONFIGS = ("before", "before-192", "fused", "bucketed", "after")


def settings_for(config: str, steps: int, batch: int, max_len: int, chunk: int, multiple: int) -> TrainSettings:
    """The small profiles' training settings under one benchmark configuration (module docstring)."""
    base = TrainSettings(steps=steps, batch_size=batch, learning_rate=3e-5, max_seq_length=64, hard_negatives=False,
                         precision="bf16", freeze_word_embeddings=True, fast=False)
    return {
        "before": base,
        "before-192": replace(base, max_seq_length=max_len),
        "fused": replace(base, max_seq_length=max_len, fast=True),
        "bucketed": replace(base, max_seq_length=max_len, fast=True, pad_multiple=multiple),
        "after": replace(base, max_seq_length=max_len, fast=True, pad_multiple=multiple, forward_chunk=chunk),
    }[config]


def matmul_rate(hidden: int, repeats: int = 5) -> float:
    """Best bf16 matmul rate (FLOP/s) over the model's three linear shapes at 1,024 tokens."""
    best = 0.0
    for _ in range(repeats):
        flops = seconds = 0.0
        for k, n in ((hidden, hidden), (hidden, 4 * hidden), (4 * hidden, hidden)):
            a, w = torch.randn(1024, k, dtype=torch.bfloat16), torch.randn(n, k, dtype=torch.bfloat16)
            torch.nn.functional.linear(a, w)  # kernels prepared for this shape
            start = time.perf_counter()
            for _ in range(10):
                torch.nn.functional.linear(a, w)
            seconds += time.perf_counter() - start
            flops += 10 * 2 * 1024 * k * n
        best = max(best, flops / seconds)
    return best


class TokenCounter:
    """Counts, on the transformer's forward passes, the real tokens, the tokens computed (padding included) and
    the sum of squared real lengths (attention's cost)."""

    def __init__(self, model) -> None:
        self.real = self.computed = self.squares = 0
        self.handle = model.register_forward_pre_hook(self)  # the SentenceTransformer: args[0] is a padded batch

    def __call__(self, module, args) -> None:
        mask = args[0]["attention_mask"]
        lengths = mask.sum(dim=1)
        self.real += int(lengths.sum())
        self.computed += mask.numel()
        self.squares += int((lengths * lengths).sum())


class StepTimes(TrainerCallback):
    """Wall time of every optimizer step (data loading and collation included), and the model's token counts."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.counter: TokenCounter | None = None

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.counter = TokenCounter(model)
        self.last = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        now = time.perf_counter()
        self.times.append(now - self.last)
        self.last = now

    def on_train_end(self, args, state, control, **kwargs):
        self.counter.handle.remove()


def flops(params: int, layers: int, hidden: int, tokens: int, squares: int, *, training: bool) -> float:
    """FLOPs on real tokens: dense 2 × params per token (× 3 with the backward pass), attention 4 × layers × hidden
    × length² per text (× 3)."""
    factor = 3 if training else 1
    return factor * (2 * params * tokens + 4 * layers * hidden * squares)


def data(tiny: bool):
    """(training rows, held-out candidate sentences, what they are)."""
    from datasets import Dataset

    if (REAL_DATA / "xquad-r").exists() and not tiny:
        rows = lareqa.training_rows(REAL_DATA / "xquad-r", TRAIN_LANGUAGES, held_out_every=4, context=False, require_negative=False)
        task = lareqa.load(REAL_DATA / "xquad-r", "xquad-r", lareqa.XQUAD_R_LANGUAGES, held_out_every=4, context=False)
        return Dataset.from_list(rows), [c.text for c in task.candidates], "XQuAD-R (training articles; held-out candidates)"
    world = synthetic.World(synthetic.WorldSpec())
    rows = synthetic.training_rows(world, world.spec.languages)
    task = synthetic.evaluation_task(world, world.spec.languages)
    return Dataset.from_list(rows), [c.text for c in task.candidates], "synthetic world"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=os.environ.get("HYBRIDLIB_MODEL_ME5", ""), help="a multilingual-e5-small folder (default: $HYBRIDLIB_MODEL_ME5)")
    parser.add_argument("--tiny", action="store_true", help="a tiny random-weight model and the synthetic world (CI)")
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated, from {','.join(CONFIGS)}")
    parser.add_argument("--steps", type=int, default=40, help="training steps per configuration, all timed")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--max-len", type=int, default=192)
    parser.add_argument("--chunk", type=int, default=8)
    parser.add_argument("--multiple", type=int, default=16)
    parser.add_argument("--encode", type=int, default=0, help="encode only the first N candidates (0: all)")
    args = parser.parse_args()
    configs = args.configs.split(",")
    if unknown := set(configs) - set(CONFIGS):
        raise SystemExit(f"--configs: unknown {sorted(unknown)}; choose from {list(CONFIGS)}")
    tmp = workdir()
    try:
        if args.tiny or not args.model:
            if not args.tiny:
                raise SystemExit("--model: give a multilingual-e5-small folder (or set HYBRIDLIB_MODEL_ME5), or run with --tiny")
            model_dir = build_model("tiny", tmp)
        else:
            model_dir = Path(args.model)
        rows, passages, text = data(args.tiny)
        if args.encode:
            passages = passages[: args.encode]
        params, layers, hidden = flops_per_token(load_encoder(model_dir))
        rate = matmul_rate(hidden)
        print(f"cpu: {cpu_model()}, {torch.get_num_threads()} threads, torch {torch.__version__}; text: {text}; batch {args.batch}, "
              f"{args.steps} steps per configuration; bf16 matmul rate at hidden {hidden}: {rate / 1e9:.0f} GFLOP/s")
        print("| config | length | chunk | multiple | step s (mean, all steps) | step s (median) | padding | train: of matmul rate | "
              "encode s | sentences/s | encode padding | encode: of matmul rate |")
        print("|" + "---|" * 12)
        for config in configs:
            settings = settings_for(config, args.steps, args.batch, args.max_len, args.chunk, args.multiple)
            timer = StepTimes()
            with contextlib.redirect_stdout(io.StringIO()):
                train_run(str(model_dir), rows, TRAIN_LANGUAGES if not args.tiny else tuple(sorted(set(rows["lang"]))),
                          Strategy.parse("hybrid-0.5"), 0, settings, tmp / config, callbacks=[timer])
            c = timer.counter
            mean = sum(timer.times) / len(timer.times)
            median = sorted(timer.times)[len(timer.times) // 2]
            train_ratio = flops(params, layers, hidden, c.real, c.squares, training=True) / sum(timer.times) / rate
            model = load_encoder(model_dir, max_seq_length=settings.max_seq_length)
            counter = TokenCounter(model)
            start = time.perf_counter()
            # evaluation's settings: the profiles' until now (batches of 32), and theirs now (128, in chunks of 16)
            batch, chunk = (128, 2 * settings.forward_chunk) if settings.forward_chunk else (32, 0)
            encode(model, passages, kind="passage", batch_size=batch, precision="bf16", chunk=chunk, multiple=settings.pad_multiple)
            seconds = time.perf_counter() - start
            counter.handle.remove()
            enc_ratio = flops(params, layers, hidden, counter.real, counter.squares, training=False) / seconds / rate
            print(f"| {config} | {settings.max_seq_length} | {settings.forward_chunk} | {settings.pad_multiple} | {mean:.3f} | {median:.3f} | "
                  f"{c.computed / c.real:.2f}× | {train_ratio:.1%} | {seconds:.1f} | {len(passages) / seconds:.0f} | "
                  f"{counter.computed / counter.real:.2f}× | {enc_ratio:.1%} |", flush=True)
        print(f"bf16 matmul rate again at the end: {matmul_rate(hidden) / 1e9:.0f} GFLOP/s")
    finally:
        cleanup(tmp)


if __name__ == "__main__":
    main()
