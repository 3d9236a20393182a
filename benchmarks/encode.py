"""Benchmark evaluation encoding: passages/s and MFU for base-size encoders (random weights, real tokenizers
from $HYBRIDLIB_REAL_DATA when given), passages encoded longest first. Rows per model and batch size:

    model.encode          sentence-transformers' own encode (tokenizes each batch, copies it back, in turn)
    encode, N workers     hybridlib.encoder.encode: the same batches, tokenized by N dataloader processes ahead of
                          the device, embeddings copied back once (N=0: tokenized in this process)
    tokenize once         hybridlib.encoder.tokenize: the same batches tokenized and kept, as evaluation does once
                          per dataset and tokenizer (no forward pass: no TFLOP/s)
    encode, pre-tokenized encode on those kept batches: what each run's evaluation costs after its dataset's first
    forward only          the forward passes alone on batches tokenized and moved to the device beforehand: what
                          encoding would take if tokenizing cost nothing (an upper bound, not a code path)
    ..., compiled layers  with `--compile`: the same after `training.compile_layers` (each transformer layer
                          torch.compiled, as `compile: true` does in training), timed after a warm-up pass per
                          batch size whose time, compiling included, is printed below the table

On a GPU everything runs under evaluation's precision (bf16 autocast); fp32 on a CPU; `--bf16-weights` casts the
weights to bf16 first (layer norms and pooling then in bf16 too). `--tiny` for a CPU check.

    python benchmarks/encode.py [--models mbert,xlmr] [--n 4096] [--batch 128,512] [--workers 0,8] [--forward-only] [--compile]
    python benchmarks/encode.py --models tiny --n 8192 --batch 128 --workers 0,1 --threads 1   # overlap on 2 CPU cores
"""

from __future__ import annotations

import argparse
import time

import torch
from common import build_model, cleanup, device, flops_per_token, matmul_tflops, print_header, sync, text_pairs, workdir

from hybridlib.encoder import PROMPTS, autocast, encode, load_encoder, tokenize, tokenizing_workers
from hybridlib.training import compile_layers

TOKENIZE_ONCE = "tokenize once (no forward)"


def seconds(fn) -> float:
    sync()
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


def forward_only(model, passages: list[str], batch: int):
    """A function running the model's forward passes over `encode`'s batches, tokenized and moved beforehand."""
    from sentence_transformers.util import batch_to_device

    batches = [batch_to_device(b, model.device) for b in tokenize(model, passages, kind="passage", batch_size=batch, workers=0).batches]

    def run():
        with torch.inference_mode(), autocast("auto", model.device.type):
            for b in batches:
                model(b)["sentence_embedding"]

    return run


def paths(model, passages: list[str], batch: int, workers: list[int], with_forward_only: bool, compiled: bool = False) -> list[tuple[str, object]]:
    """(label, function) for each encoding path timed at one batch size; `compiled`: the rows of a model whose
    layers `compile_layers` compiled (sentence-transformers' encode left out, the most workers only)."""

    def st_encode(texts=passages):
        with autocast("auto", model.device.type):
            model.encode(texts, prompt_name="passage", batch_size=batch, normalize_embeddings=True, show_progress_bar=False)

    suffix = ", compiled layers" if compiled else ""
    out = []
    if not compiled:
        st_encode(passages[:batch])  # warm-up: kernels, allocator
        out.append(("model.encode", st_encode))
    for w in workers[-1:] if compiled else workers:
        out.append((f"encode, {w} workers{suffix}", lambda w=w: encode(model, passages, kind="passage", batch_size=batch, workers=w)))
    # evaluation's path: a dataset tokenized once per tokenizer (timed in its own row), then encoded by every run
    tokenized = {}

    def tokenize_once():
        tokenized["t"] = tokenize(model, passages, kind="passage", batch_size=batch, workers=workers[-1])

    if compiled:
        tokenize_once()  # untimed: the uncompiled rows timed it
    else:
        out.append((f"{TOKENIZE_ONCE}, {workers[-1]} workers", tokenize_once))
    out.append((f"encode, pre-tokenized{suffix}", lambda: encode(model, tokenized["t"], kind="passage")))
    if with_forward_only:
        out.append((f"forward only (pre-tokenized){suffix}", forward_only(model, passages, batch)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="mbert,xlmr")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--n", type=int, default=4096, help="passages")
    parser.add_argument("--batch", default="256", help="batch sizes, comma-separated")
    parser.add_argument("--workers", default="", help="tokenizing processes of `encode`, comma-separated (default: 0 and encode's default)")
    parser.add_argument("--max-len", type=int, default=256)
    parser.add_argument("--threads", type=int, default=0, help="torch threads for the forward passes (CPU: 1 leaves a core to a tokenizing worker)")
    parser.add_argument("--forward-only", action="store_true", help="also time the forward passes alone on pre-tokenized batches")
    parser.add_argument("--compile", action="store_true", help="then compile each transformer layer and time again")
    parser.add_argument("--bf16-weights", action="store_true", help="cast the model's weights to bf16 (GPU; instead of evaluation's autocast over float32 weights)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    models = ["tiny"] if args.tiny else args.models.split(",")
    n = 256 if args.tiny else args.n
    workers = sorted({int(w) for w in args.workers.split(",")} if args.workers else {0, tokenizing_workers(device()) or 1})
    pairs, text = text_pairs(limit=0)
    passages = [p[3] for p in pairs][:n]
    rate, rate_label = matmul_tflops()
    columns = ["model", "batch", "path", "passages/s", "real tokens/s", "TFLOP/s", "MFU"]
    precision = "bf16 weights" if args.bf16_weights else "bf16 autocast" if device() == "cuda" else "fp32"
    print_header(rate, rate_label, f"{len(passages)} passages of {text}; {precision}", columns)
    tmp = workdir()
    warmup = []  # compile-time lines, printed below the table
    try:
        for kind in models:
            model = load_encoder(build_model(kind, tmp), max_seq_length=args.max_len, device=device())
            if args.bf16_weights:
                model.to(torch.bfloat16)
            params, layers, hidden = flops_per_token(model)
            lengths = [len(x) for x in model.tokenizer([PROMPTS["passage"] + p for p in passages], truncation=True, max_length=model.max_seq_length)["input_ids"]]
            flops = sum(2 * params * t + 4 * layers * hidden * t * t for t in lengths)  # forward only
            batches = [int(b) for b in args.batch.split(",")]
            runs = [(batch, False) for batch in batches]
            if args.compile:
                runs += [(batch, True) for batch in batches]
            for batch, compiled in runs:
                if compiled:
                    if batch == batches[0]:
                        compile_layers(model)
                    # a pass over all passages compiles what this batch size needs (its last, shorter batch too)
                    s = seconds(lambda: encode(model, passages, kind="passage", batch_size=batch))
                    warmup.append(f"{kind}: compiled layers, warm-up pass at batch {batch}, compiling included: {s:.1f} s")
                for label, fn in paths(model, passages, batch, workers, args.forward_only, compiled):
                    s = seconds(fn)
                    achieved = flops / s / 1e12
                    compute = "– | –" if label.startswith(TOKENIZE_ONCE) else f"{achieved:.3g} | {achieved / rate:.1%}"
                    print(f"| {kind} | {batch} | {label} | {len(passages) / s:.0f} | {sum(lengths) / s:.0f} | {compute} |", flush=True)
        for line in warmup:
            print(f"({line})")
    finally:
        cleanup(tmp)


if __name__ == "__main__":
    main()
