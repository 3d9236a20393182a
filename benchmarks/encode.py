"""Benchmark evaluation encoding: passages/s and MFU for base-size encoders (random weights, real tokenizers
from ../shared when present), passages encoded longest first (sentence-transformers sorts by length, so each
batch pads little). bf16 on a GPU, fp32 on a CPU. `--tiny` for a CPU smoke check.

    python benchmarks/encode.py [--models mbert,xlmr] [--n 4096] [--batch 256] [--max-len 256]
"""

from __future__ import annotations

import argparse
import time

import torch
from common import build_model, cleanup, device, flops_per_token, matmul_tflops, print_header, sync, text_pairs, workdir

from hybridlib.encoder import encode, load_encoder


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="mbert,xlmr")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--n", type=int, default=4096, help="passages")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--max-len", type=int, default=256)
    args = parser.parse_args()
    models = ["tiny"] if args.tiny else args.models.split(",")
    n = 256 if args.tiny else args.n
    pairs, text = text_pairs(limit=0)
    passages = [p[3] for p in pairs][:n]
    rate, rate_label = matmul_tflops()
    print_header(rate, rate_label, f"{len(passages)} passages of {text}", ["model", "dtype", "passages/s", "real tokens/s", "TFLOP/s", "MFU"])
    tmp = workdir()
    try:
        for kind in models:
            model = load_encoder(build_model(kind, tmp), max_seq_length=args.max_len, device=device())
            dtype = torch.bfloat16 if device() == "cuda" else torch.float32
            model.to(dtype)
            params, layers, hidden = flops_per_token(model)
            lengths = [len(x) for x in model.tokenizer([f"passage: {p}" for p in passages], truncation=True, max_length=model.max_seq_length)["input_ids"]]
            flops = sum(2 * params * t + 4 * layers * hidden * t * t for t in lengths)  # forward only
            encode(model, passages[: args.batch], kind="passage", batch_size=args.batch)  # warm-up
            sync()
            start = time.perf_counter()
            encode(model, passages, kind="passage", batch_size=args.batch)
            sync()
            seconds = time.perf_counter() - start
            achieved = flops / seconds / 1e12
            print(f"| {kind} | {str(dtype).removeprefix('torch.')} | {len(passages) / seconds:.0f} | {sum(lengths) / seconds:.0f} | {achieved:.3g} | {achieved / rate:.1%} |", flush=True)
    finally:
        cleanup(tmp)


if __name__ == "__main__":
    main()
