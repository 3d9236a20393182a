"""Shared pieces of the speed benchmarks: random-weight encoders of real size, real text, a matmul-rate probe."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
# a folder of real files (xquad-r/<lang>.json, tokenizers/<name>/): real text lengths and tokenizers where it is given
REAL_DATA = Path(os.environ.get("HYBRIDLIB_REAL_DATA") or "/nonexistent")
TOKENIZERS = {"mbert": REAL_DATA / "tokenizers" / "bert-base-multilingual-cased", "xlmr": REAL_DATA / "tokenizers" / "xlm-roberta-base-reconstructed"}


def device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def matmul_tflops(n: int | None = None, dtype: torch.dtype | None = None, repeats: int = 10) -> tuple[float, str]:
    """Measured dense matmul rate (TFLOP/s) of this device: bf16 8192^3 on a GPU, fp32 1024^3 on a CPU."""
    dev = device()
    n = n or (8192 if dev == "cuda" else 1024)
    dtype = dtype or (torch.bfloat16 if dev == "cuda" else torch.float32)
    a, b = torch.randn(n, n, device=dev, dtype=dtype), torch.randn(n, n, device=dev, dtype=dtype)
    for _ in range(3):
        a @ b
    sync()
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    sync()
    seconds = (time.perf_counter() - start) / repeats
    return 2 * n**3 / seconds / 1e12, f"{str(dtype).removeprefix('torch.')} {n}^3 matmul"


def print_header(rate: float, rate_label: str, what: str, columns: list[str]) -> None:
    """The device line (card, measured matmul rate, workload) and a Markdown table header."""
    card = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    print(f"device: {card}; measured {rate_label}: {rate:.1f} TFLOP/s; {what}")
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))


def text_pairs(limit: int = 4000) -> tuple[list[tuple[str, str, str, str]], str]:
    """(pair_id, lang, question, passage) with real multilingual lengths: XQuAD-R when $HYBRIDLIB_REAL_DATA has it
    (timing only: random weights, nothing is learned), else the synthetic world."""
    from hybridlib.records import passage_input

    if (REAL_DATA / "xquad-r").exists():
        from hybridlib import lareqa

        task = lareqa.load(REAL_DATA / "xquad-r", "xquad-r", lareqa.XQUAD_R_LANGUAGES)
        answer = {}
        for c in task.candidates:
            for key in c.keys:
                answer[(c.lang, key)] = passage_input(c.text, c.context)
        rows = [(q.key, q.lang, q.text, answer[(q.lang, q.key)]) for q in task.queries if (q.lang, q.key) in answer]
        return rows[:limit] if limit else rows, "XQuAD-R text (11 languages)"
    from hybridlib import synthetic

    world = synthetic.World(synthetic.WorldSpec())
    rows = synthetic.training_rows(world, world.spec.languages)
    pairs = [(r["pair_id"], r["lang"], r["query"], r["passage"]) for r in rows]
    return pairs[:limit] if limit else pairs, "synthetic text"


def training_rows(limit: int = 0):
    """A training set (`records` schema, one row per group and language) of real-length text: `text_pairs`, each
    with another group's passage as a stand-in hard negative; and the text's label."""
    from datasets import Dataset

    pairs, text = text_pairs(limit=limit)
    negatives = [p for *_, p in pairs[1:] + pairs[:1]]
    rows = [{"pair_id": g, "lang": lang, "query": q, "passage": p, "negative": n, "source": "bench"} for (g, lang, q, p), n in zip(pairs, negatives)]
    return Dataset.from_list(rows), text


def build_model(kind: str, workdir: Path) -> Path:
    """A random-weight encoder folder: 'mbert' / 'xlmr' (base size, real tokenizers when $HYBRIDLIB_REAL_DATA has them) or 'tiny'."""
    from transformers import AutoTokenizer, BertConfig, BertModel, XLMRobertaConfig, XLMRobertaModel

    out = workdir / kind
    if kind == "tiny":
        from hybridlib import synthetic
        from hybridlib.encoder import build_smoke_encoder

        world = synthetic.World(synthetic.WorldSpec(n_entities=40, eval_paragraphs=4))
        return build_smoke_encoder(synthetic.pretraining_corpus(world), out, vocab_size=800, hidden_size=32, num_layers=1, num_heads=2)
    source = TOKENIZERS[kind]
    if not source.exists():
        raise SystemExit(f"{source}: the real {kind} tokenizer is not here; run with --tiny, or set HYBRIDLIB_REAL_DATA to a folder holding tokenizers/")
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    if kind == "mbert":
        model = BertModel(BertConfig(vocab_size=len(tokenizer), max_position_embeddings=512))
    else:
        model = XLMRobertaModel(XLMRobertaConfig(vocab_size=len(tokenizer), max_position_embeddings=514, type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2))
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def flops_per_token(model) -> tuple[int, int, int]:
    """(non-embedding parameters, layers, hidden size) of the transformer inside a SentenceTransformer."""
    core = model[0].auto_model
    n = sum(p.numel() for name, p in core.named_parameters() if "embeddings" not in name)
    cfg = core.config
    return n, cfg.num_hidden_layers, cfg.hidden_size


def workdir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="hybridlib-bench-"))
    return path


def cleanup(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def shaped_task(name: str, languages: tuple[str, ...], questions: int, candidates: int):
    """A retrieval task of a given shape without text: every question in every language, `candidates` sentences
    per language, question i relevant to sentence i of each language (to none when i >= candidates)."""
    from hybridlib.records import Candidate, Query, RetrievalTask

    queries, cands = [], []
    for lang in languages:
        queries += [Query(f"{lang}-{i}", lang, "", str(i)) for i in range(questions)]
        cands += [Candidate(f"{lang}-{j}", lang, "", "", (str(j),)) for j in range(candidates)]
    return RetrievalTask(name, queries, cands)


def unit_rows(rng, n: int, dim: int):
    """(n, dim) random L2-normalised float32 embeddings."""
    import numpy as np

    rows = rng.standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)
