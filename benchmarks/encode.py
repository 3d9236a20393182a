"""Benchmark evaluation encoding: passages/s and MFU for base-size encoders (random weights, real tokenizers
from ../shared when present), passages encoded longest first (sentence-transformers sorts by length, so each
batch pads little). On a GPU: evaluation's own setting (bf16 autocast) and bf16 weights; fp32 on a CPU.
`--tiny` for a CPU smoke check.

    python benchmarks/encode.py [--models mbert,xlmr] [--n 4096] [--batch 128,512] [--max-len 256] [--forward-only]
"""

from __future__ import annotations

import argparse
import time

import torch
from common import build_model, cleanup, device, flops_per_token, matmul_tflops, print_header, sync, text_pairs, workdir

from hybridlib.encoder import PROMPTS, autocast, encode, load_encoder


def forward_only_seconds(model, passages: list[str], batch: int, precision: str) -> float:
    """Seconds for the model's forward passes alone over length-sorted batches tokenized and moved to the device
    beforehand: what encoding would take if tokenization were fully overlapped (an upper bound, not a code path)."""
    from sentence_transformers.util import batch_to_device

    ordered = sorted(passages, key=len, reverse=True)
    batches = [model.preprocess(ordered[i : i + batch], prompt=PROMPTS["passage"]) for i in range(0, len(ordered), batch)]
    batches = [batch_to_device(b, model.device) for b in batches]
    with torch.inference_mode(), autocast(precision, model.device.type):
        model(batches[0])  # warm-up
        sync()
        start = time.perf_counter()
        for b in batches:
            model(b)["sentence_embedding"]
        sync()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="mbert,xlmr")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--n", type=int, default=4096, help="passages")
    parser.add_argument("--batch", default="256", help="batch sizes, comma-separated")
    parser.add_argument("--max-len", type=int, default=256)
    parser.add_argument("--forward-only", action="store_true", help="also time the forward passes alone on pre-tokenized batches")
    args = parser.parse_args()
    models = ["tiny"] if args.tiny else args.models.split(",")
    n = 256 if args.tiny else args.n
    pairs, text = text_pairs(limit=0)
    passages = [p[3] for p in pairs][:n]
    rate, rate_label = matmul_tflops()
    columns = ["model", "precision", "batch", "passages/s", "real tokens/s", "TFLOP/s", "MFU"]
    print_header(rate, rate_label, f"{len(passages)} passages of {text}", columns)
    # evaluation's own setting (fp32 weights, bf16 autocast matmuls) and, for comparison, bf16 weights
    variants = [("autocast (evaluation default)", "auto", None), ("bf16 weights", "fp32", torch.bfloat16)] if device() == "cuda" else [("fp32", "fp32", None)]
    tmp = workdir()
    try:
        for kind in models:
            model_dir = build_model(kind, tmp)
            for label, precision, weights in variants:
                model = load_encoder(model_dir, max_seq_length=args.max_len, device=device())
                if weights is not None:
                    model.to(weights)
                params, layers, hidden = flops_per_token(model)
                lengths = [len(x) for x in model.tokenizer([f"passage: {p}" for p in passages], truncation=True, max_length=model.max_seq_length)["input_ids"]]
                flops = sum(2 * params * t + 4 * layers * hidden * t * t for t in lengths)  # forward only
                for batch in map(int, args.batch.split(",")):
                    encode(model, passages[:batch], kind="passage", batch_size=batch, precision=precision)  # warm-up
                    sync()
                    start = time.perf_counter()
                    encode(model, passages, kind="passage", batch_size=batch, precision=precision)
                    sync()
                    seconds = time.perf_counter() - start
                    achieved = flops / seconds / 1e12
                    print(f"| {kind} | {label} | {batch} | {len(passages) / seconds:.0f} | {sum(lengths) / seconds:.0f} | {achieved:.3g} | {achieved / rate:.1%} |", flush=True)
                    if args.forward_only:
                        seconds = forward_only_seconds(model, passages, batch, precision)
                        achieved = flops / seconds / 1e12
                        print(f"| {kind} | {label}, forward only (pre-tokenized) | {batch} | {len(passages) / seconds:.0f} | {sum(lengths) / seconds:.0f} | {achieved:.3g} | {achieved / rate:.1%} |", flush=True)
                del model
    finally:
        cleanup(tmp)


if __name__ == "__main__":
    main()
