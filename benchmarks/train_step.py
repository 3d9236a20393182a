"""Benchmark the project's own training step: the trainer, sampler, loss and collator a paper run uses.

For mBERT- and XLM-R-base-sized models (random weights, real tokenizers from $HYBRIDLIB_REAL_DATA when given) at batch 100
of real multilingual text, prints per configuration: median step ms, pairs/s, real tokens/s, achieved TFLOP/s,
MFU against the matmul rate measured here, the step's matmul floor, peak memory, and the first step's time
(training start to the first optimizer step's end: what torch.compile adds shows here). A step is timed from one
optimizer step's end to the next (data loading and collation included). Every configuration trains hybrid-0.5 with
seed 0, so all see the same batches. The configurations (`--configs`, comma-separated):

    baseline      the plain sentence-transformers default: fp32, AdamW (foreach), tokenizing in the main process
    bf16          + mixed precision (bf16 where supported, else fp16)
    fused         + fused AdamW and non-blocking batch copies to the GPU (`TrainSettings.fast`)
    default       + tokenizing in dataloader workers = the project default
    fp16          the project default in fp16 with loss scaling (the T4 setting)
    eager-attn    the project default with the eager attention implementation instead of SDPA
    cudnn-attn    the project default with SDPA's cuDNN backend allowed (PyTorch's default; the project turns it off)
    blocking-copy the project default with each batch copied to the GPU blocking (the trainer's default; a sync per step)
    compile       the project default + torch.compile of each transformer layer (`compile: true`)
    compile-full  the project default + torch.compile of the whole transformer (for its compile time)
    hardneg       the project default with a hard negative per pair (the paper profile's step)
    cap           hardneg with the cached (GradCache) loss, mini-batch 32, under a `--cap-gib` GPU memory cap (colab)
    cap-plain     hardneg under the same cap without the cached loss

`--profile FILE` also profiles 5 steps of each `--profile-configs` (default: the project default): GPU busy time
per step, kernel launches, operators the host dispatches one by one, and the top kernels.
`--tiny` runs a tiny config on the CPU (CI).

    python benchmarks/train_step.py --models xlmr --configs baseline,default,compile --profile prof.txt --profile-configs default,compile
    python benchmarks/train_step.py --models xlmr --hard-negatives --configs blocking-copy,default,compile   # the paper step
    python benchmarks/train_step.py --tiny --steps 3     # CPU smoke check
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import os
import re
import statistics
import time
from dataclasses import replace
from unittest import mock

import torch
from common import build_model, cleanup, device, flops_per_token, matmul_tflops, print_header, sync, training_rows, workdir
from transformers import TrainerCallback

from hybridlib import training
from hybridlib.encoder import PROMPTS, load_encoder
from hybridlib.samplers import Strategy
from hybridlib.training import TrainSettings, train_run

CONFIGS = ("baseline", "bf16", "fused", "default", "fp16", "eager-attn", "cudnn-attn", "blocking-copy", "compile", "compile-full", "hardneg", "cap", "cap-plain")


class StepTimer(TrainerCallback):
    """Wall time between consecutive optimizer-step ends (so data loading and collation count)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.last = 0.0
        self.first: float | None = None  # seconds from the start of training to the first step's end

    def on_train_begin(self, args, state, control, **kwargs):
        self.last = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        sync()
        now = time.perf_counter()
        if self.first is None:
            self.first = now - self.last
        else:
            self.times.append(now - self.last)
        self.last = now


class StepProfiler(TrainerCallback):
    """torch.profiler over `active` steps after `skip` steps: GPU kernel time against wall time."""

    def __init__(self, skip: int = 3, active: int = 5) -> None:
        self.skip, self.active = skip, active
        self.prof = None
        self.wall = 0.0

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.skip:
            sync()
            self.prof = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA])
            self.prof.__enter__()
            self.wall = time.perf_counter()
        elif state.global_step == self.skip + self.active and self.prof is not None:
            sync()
            self.wall = time.perf_counter() - self.wall
            self.prof.__exit__(None, None, None)

    def report(self) -> str:
        events = self.prof.events()
        kernels = [e for e in events if e.device_type == torch.autograd.DeviceType.CUDA]
        busy = sum(e.self_device_time_total for e in kernels) / 1e6  # microseconds -> seconds
        launches = len(kernels) / self.active
        # operators dispatched on the host: aten ops that call no other aten op (what an eager step issues one by
        # one; a compiled region runs its fused kernels without them). Device-independent, so the CPU shows it too
        leaves = [e for e in events if e.name.startswith("aten::") and not any(c.name.startswith("aten::") for c in e.cpu_children)]
        table = self.prof.key_averages().table(sort_by="self_device_time_total", row_limit=25)
        head = (
            f"profile of {self.active} steps: wall {self.wall / self.active * 1e3:.1f} ms/step, GPU kernels busy "
            f"{busy / self.active * 1e3:.1f} ms/step ({busy / self.wall:.0%}), {launches:.0f} kernel launches/step, "
            f"{len(leaves) / self.active:.0f} host operator dispatches/step"
        )
        return head + "\n\n" + table


def token_stats(model_dir, rows, max_len: int) -> dict[str, float]:
    """Mean real tokens of a query and of a passage, and their mean squared lengths (attention cost)."""
    model = load_encoder(model_dir, max_seq_length=max_len)
    tok, max_len = model.tokenizer, model.max_seq_length
    q = [len(x) for x in tok([PROMPTS["query"] + t for t in rows["query"]], truncation=True, max_length=max_len)["input_ids"]]
    p = [len(x) for x in tok([PROMPTS["passage"] + t for t in rows["passage"]], truncation=True, max_length=max_len)["input_ids"]]
    mean = statistics.fmean
    return {"q": mean(q), "p": mean(p), "q2": mean([x * x for x in q]), "p2": mean([x * x for x in p])}


def step_flops(settings: TrainSettings, stats: dict, params: int, layers: int, hidden: int) -> tuple[float, float]:
    """(training FLOPs, real tokens) of one step: per text 6 * params * len (dense) + 12 * layers * hidden * len^2 (attention)."""
    passages = 2 if settings.hard_negatives else 1
    tokens = settings.batch_size * (stats["q"] + passages * stats["p"])
    squares = settings.batch_size * (stats["q2"] + passages * stats["p2"])
    return 6 * params * tokens + 12 * layers * hidden * squares, tokens


def settings_for(config: str, base: TrainSettings) -> TrainSettings:
    """The TrainSettings of one benchmark configuration (see the module docstring)."""
    plain = replace(base, precision="fp32", fast=False, loader_workers=0)
    return {
        "baseline": plain,
        "bf16": replace(plain, precision="auto"),
        "fused": replace(plain, precision="auto", fast=True),
        "default": base,
        "fp16": replace(base, precision="fp16"),
        "eager-attn": base,
        "cudnn-attn": base,
        "blocking-copy": base,
        "compile": replace(base, compile=True),
        "compile-full": replace(base, compile=True),
        "hardneg": replace(base, hard_negatives=True),
        "cap": replace(base, hard_negatives=True, cached_minibatch=32),
        "cap-plain": replace(base, hard_negatives=True),
    }[config]


def eager_attention_encoder(*args, **kwargs):
    model = load_encoder(*args, **kwargs)
    model[0].auto_model.set_attn_implementation("eager")
    return model


def cudnn_attention_encoder(*args, **kwargs):
    model = load_encoder(*args, **kwargs)
    torch.backends.cuda.enable_cudnn_sdp(True)
    return model


def blocking_copy_arguments(*args, **kwargs):
    targs = TRAINING_ARGUMENTS(*args, **kwargs)
    targs.accelerator_config.non_blocking = False
    return targs


def compile_whole(model) -> int:
    model.compile()  # the whole SentenceTransformer, as the trainer's torch_compile would
    return 1


ENCODERS = {"eager-attn": eager_attention_encoder, "cudnn-attn": cudnn_attention_encoder}
COMPILERS = {"compile-full": compile_whole}
ARGUMENTS = {"blocking-copy": blocking_copy_arguments}
TRAINING_ARGUMENTS = training.training_arguments  # the project's, before any configuration patches it


def time_config(config: str, model_dir, rows, settings: TrainSettings, measure: int, out, *, profiler=None) -> dict:
    """Train `measure` + 3 steps of hybrid-0.5 (seed 0, so every config sees the same batches); median step time."""
    timer = StepTimer()
    gc.collect()  # the previous configuration's model and optimizer state
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    langs = tuple(sorted(set(rows["lang"])))
    run_dir = out / re.sub(r"[^a-z0-9]+", "-", config)
    callbacks = [timer] + ([profiler] if profiler else [])
    with (
        mock.patch.object(training, "load_encoder", ENCODERS.get(config, load_encoder)),
        mock.patch.object(training, "compile_layers", COMPILERS.get(config, training.compile_layers)),
        mock.patch.object(training, "training_arguments", ARGUMENTS.get(config, TRAINING_ARGUMENTS)),
        contextlib.redirect_stdout(io.StringIO()),  # no loss lines
    ):
        train_run(str(model_dir), rows, langs, Strategy.parse("hybrid-0.5"), 0, settings, run_dir, callbacks=callbacks)
    steady = timer.times[-measure:]
    peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else float("nan")
    median = statistics.median(steady)
    return {"step_s": median, "spread": (max(steady) - min(steady)) / median, "peak_gib": peak, "first_s": timer.first}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="mbert,xlmr")
    parser.add_argument("--configs", default="baseline,default", help=f"comma-separated, from {','.join(CONFIGS)}")
    parser.add_argument("--tiny", action="store_true", help="tiny BERT on the CPU (CI)")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--steps", type=int, default=12, help="measured steps (after 3 warm-up steps)")
    parser.add_argument("--max-len", type=int, default=256)
    parser.add_argument("--cap-gib", type=float, default=15, help="GPU memory cap of the 'cap' configuration")
    parser.add_argument("--hard-negatives", action="store_true", help="every configuration with a hard negative per pair (the paper profile's step)")
    parser.add_argument("--profile", default="", help="write a profile of 5 steps per --profile-configs to this file")
    parser.add_argument("--profile-configs", default="default", help="the configurations to profile, comma-separated")
    args = parser.parse_args()
    configs = args.configs.split(",")
    if unknown := set(configs + args.profile_configs.split(",")) - set(CONFIGS):
        raise SystemExit(f"unknown configurations {sorted(unknown)} in --configs / --profile-configs; choose from {list(CONFIGS)}")
    models = ["tiny"] if args.tiny else args.models.split(",")
    batch = 8 if args.tiny else args.batch
    rows, text = training_rows(limit=2000 if args.tiny else 0)
    rate, rate_label = matmul_tflops()
    columns = ["model", "config", "step ms (median)", "spread", "pairs/s", "real tokens/s", "TFLOP/s", "MFU", "× matmul floor", "peak GiB", "first step s"]
    print_header(rate, rate_label, f"text: {text}; batch {batch}", columns)
    tmp = workdir()
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(tmp / "inductor")  # compile times are cold: no cache from earlier runs
    try:
        for kind in models:
            model_dir = build_model(kind, tmp)
            params, layers, hidden = flops_per_token(load_encoder(model_dir))
            stats = token_stats(model_dir, rows, args.max_len)
            base = TrainSettings(steps=args.steps + 3, batch_size=batch, max_seq_length=args.max_len, hard_negatives=args.hard_negatives, learning_rate=1e-5)
            for config in configs:
                settings = settings_for(config, base)
                flops, tokens = step_flops(settings, stats, params, layers, hidden)
                floor = flops / (rate * 1e12)
                capped = config.startswith("cap") and torch.cuda.is_available()
                if capped:
                    total = torch.cuda.get_device_properties(0).total_memory / 2**30
                    torch.cuda.set_per_process_memory_fraction(min(1.0, args.cap_gib / total))
                label = f"{config} ({args.cap_gib:g} GiB cap)" if capped else config
                if args.hard_negatives and config not in ("hardneg", "cap", "cap-plain"):
                    label += " + hard negatives"
                try:
                    r = time_config(config, model_dir, rows, settings, args.steps, tmp)
                except torch.cuda.OutOfMemoryError:
                    print(f"| {kind} | {label} | OOM | | | | | | | | |", flush=True)
                    continue
                finally:
                    if capped:
                        torch.cuda.set_per_process_memory_fraction(1.0)
                achieved = flops / r["step_s"] / 1e12
                print(
                    f"| {kind} | {label} | {r['step_s'] * 1e3:.1f} | {r['spread']:.0%} | {batch / r['step_s']:.0f} | {tokens / r['step_s']:.0f} | "
                    f"{achieved:.3g} | {achieved / rate:.1%} | {r['step_s'] / floor:.1f} | {r['peak_gib']:.2f} | {r['first_s']:.1f} |",
                    flush=True,
                )
            for config in args.profile_configs.split(",") if args.profile else []:
                profiler = StepProfiler(skip=3, active=5)
                time_config(config, model_dir, rows, replace(settings_for(config, base), steps=3 + 5 + 1), 5, tmp, profiler=profiler)
                report = f"{kind}, {config}, batch {batch}: " + profiler.report()
                with open(args.profile, "a") as f:
                    f.write(report + "\n\n")
                print(report.splitlines()[0], flush=True)
            floors = [step_flops(replace(base, hard_negatives=h), stats, params, layers, hidden)[0] / (rate * 1e12) * 1e3 for h in (False, True)]
            print(
                f"({kind}: mean real tokens per query {stats['q']:.0f}, per passage {stats['p']:.0f}; non-embedding parameters {params / 1e6:.0f} M; "
                f"matmul floor {floors[0]:.1f} ms/step without hard negatives, {floors[1]:.1f} with; {device()})"
            )
    finally:
        cleanup(tmp)


if __name__ == "__main__":
    main()
