"""The bi-encoder: one shared transformer for queries and passages, mean pooling, cosine similarity.

Every model, the smoke model included, is loaded by `load_encoder` from a path or a hub id through
`SentenceTransformer(name)`: for a plain transformers checkpoint (mBERT, XLM-R, the smoke model) that builds
Transformer + mean Pooling. Inputs get the prompts of `prompts_for`: the model's own, else mE5's ``query: `` /
``passage: `` (docs/library.md, "Prompts").
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hybridlib import storage
from hybridlib.records import CONTEXT_SEPARATOR

if TYPE_CHECKING:  # heavy imports, for annotations only
    import contextlib
    from collections.abc import Iterable

    import torch
    from sentence_transformers import SentenceTransformer
    from tokenizers import normalizers, pre_tokenizers

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
PROMPTS = {"query": QUERY_PREFIX, "passage": PASSAGE_PREFIX}
# the passage prompt's names: hybridlib's, the trainer's columns (positive, negative) and sentence-transformers' default
PASSAGE_NAMES = ("passage", "positive", "negative", "document")
SCALE = 20.0  # InfoNCE logit scale = 1 / temperature (tau = 0.05)
PRECISIONS = ("auto", "fp32", "bf16", "fp16")  # training's `precision` and evaluation's `eval.precision`
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")  # a checkpoint folder's weights, one file (unsharded)


def prompts_for(model: SentenceTransformer | None, prefixes: bool = True, prompts: dict[str, str] | None = None) -> dict[str, str]:
    """The query and passage prompts a model is encoded with: the one rule of `encode`, the `evaluate` command,
    `evaluator.LAReQAEvaluator` and `training.trainer_prompts`.

    With `prefixes`: `prompts` where given, else the model's own ``prompts`` where one is not empty, else mE5's
    ``query: `` / ``passage: ``. The passage prompt may be named ``passage``, ``positive``, ``negative`` or
    ``document``; any other name raises ValueError. Without `prefixes`: no prompts.

    Args:
        model: the model (its ``prompts``); None: only `prompts` and the default.
        prefixes: False encodes without prompts (a model trained without them; ``--no-prefixes``).
        prompts: prompts to use instead of the model's, as a dict of those names.

    Returns:
        ``{"query": ..., "passage": ...}``.
    """
    if not prefixes:
        return {"query": "", "passage": ""}
    given = prompts if prompts is not None else {k: v for k, v in (getattr(model, "prompts", None) or {}).items() if v}
    unknown = sorted(set(given) - {"query", *PASSAGE_NAMES})
    if unknown:
        raise ValueError(f"prompt names {unknown} are unknown; name the prompts 'query' and 'passage' (or the trainer's "
                         f"'positive', sentence-transformers' 'document'), e.g. {{'query': 'query: ', 'passage': 'passage: '}}")
    passages = {given[name] for name in PASSAGE_NAMES if name in given}
    if len(passages) > 1:
        raise ValueError(f"the passage prompt has {len(passages)} different texts under {[n for n in PASSAGE_NAMES if n in given]}; "
                         "give one passage prompt")
    if prompts is None and not given:
        return dict(PROMPTS)
    return {"query": given.get("query", ""), "passage": passages.pop() if passages else ""}


def build_smoke_encoder(
    corpus: list[str],
    out_dir: str | Path,
    *,
    vocab_size: int = 4000,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    max_length: int = 128,
    seed: int = 0,
) -> Path:
    """Write a small random-weight BERT with a WordPiece tokenizer built from `corpus` to `out_dir`.

    The folder is a plain transformers checkpoint (config.json, model.safetensors, tokenizer files), so it
    loads exactly like a hub id. Skips the work when the folder is already complete.

    Args:
        corpus: texts to count the WordPiece vocabulary from (`synthetic.pretraining_corpus`).
        out_dir: the checkpoint folder, written atomically.
        vocab_size: the most vocabulary entries (specials and every character always fit).
        hidden_size: BERT's hidden size; the intermediate size is 4 times it.
        num_layers: transformer layers.
        num_heads: attention heads.
        max_length: position embeddings, and so the longest input.
        seed: the weights' seed.

    Returns:
        `out_dir`.
    """
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, BertTokenizerFast

    out_dir = Path(out_dir)
    if (out_dir / "config.json").exists() and (out_dir / "tokenizer.json").exists():
        return out_dir
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    normalizer = normalizers.BertNormalizer(lowercase=False, handle_chinese_chars=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    # the prompts and the context separator must be in the vocabulary, not [UNK]
    corpus = [*corpus, QUERY_PREFIX, PASSAGE_PREFIX, CONTEXT_SEPARATOR]
    vocab = _wordpiece_vocab(corpus, normalizer, pre_tokenizer, specials, vocab_size)
    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer, tok.pre_tokenizer = normalizer, pre_tokenizer
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)]
    )
    tokenizer = BertTokenizerFast(tokenizer_object=tok, model_max_length=max_length)
    config = BertConfig(
        vocab_size=tok.get_vocab_size(),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=4 * hidden_size,
        max_position_embeddings=max_length,
    )
    torch.manual_seed(seed)
    model = BertModel(config)
    with storage.atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return out_dir


def _wordpiece_vocab(
    corpus: list[str],
    normalizer: normalizers.Normalizer,
    pre_tokenizer: pre_tokenizers.PreTokenizer,
    specials: list[str],
    vocab_size: int,
) -> dict[str, int]:
    """A deterministic WordPiece vocabulary: specials, every character (alone and as ##continuation), then the
    corpus's words by frequency (ties by spelling) up to `vocab_size`.

    Counted here rather than by the `tokenizers` trainer: its merges break ties in hash-map order, so two
    processes trained different tokenizers from the same corpus (seen: different tokenizer.json, different
    numbers), and "same seed, same numbers" would not hold.
    """
    from collections import Counter

    counts: Counter[str] = Counter()
    for line in corpus:
        counts.update(word for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(line)))
    chars = sorted({ch for word in counts for ch in word})
    words = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if len(w) > 1]
    tokens = list(dict.fromkeys([*specials, *chars, *(f"##{c}" for c in chars), *words]))
    return {t: i for i, t in enumerate(tokens[: max(vocab_size, len(specials) + 2 * len(chars))])}


def load_encoder(
    name_or_path: str | Path, *, max_seq_length: int | None = None, device: str | None = None, revision: str | None = None
) -> SentenceTransformer:
    """Load a bi-encoder (mean pooling, `prompts_for`'s query/passage prompts) from a local folder or a hub id.

    Also turns off PyTorch's cuDNN attention backend for the whole process (why: the comment below).

    Args:
        name_or_path: a hub id (``xlm-roberta-base``) or a local folder (the smoke encoder, a fine-tuned run).
        max_seq_length: truncate inputs to this many tokens, never past the model's own limit.
        device: ``"cuda"``, ``"cpu"``...; None lets sentence-transformers pick.
        revision: the hub commit to load (None: the default branch).

    Raises:
        ValueError: a folder without weights, a tokenizer larger than the model's vocabulary, or a checkpoint that
            pools otherwise than by the mean.
    """
    import torch
    from sentence_transformers import SentenceTransformer

    # cuDNN's attention builds an execution plan for every new input shape; our batches change length every
    # step, and on an H200 those builds made steps 2-3x slower until every shape had been seen (docs/speed.md).
    # Without it, SDPA picks flash or memory-efficient kernels, which need no per-shape plan.
    torch.backends.cuda.enable_cudnn_sdp(False)
    folder = Path(name_or_path)
    if folder.is_dir() and not any((folder / name).is_file() for name in (*WEIGHT_FILES, "model.safetensors.index.json")):
        raise ValueError(f"{folder}: a model folder without weights (no model.safetensors or pytorch_model.bin); "
                         "copy or build the whole folder again")
    model = SentenceTransformer(str(name_or_path), device=device, revision=revision)
    model.prompts = prompts_for(model)  # saved with the model, so a fine-tuned run keeps them
    vocab, rows = len(model.tokenizer), model[0].auto_model.get_input_embeddings().num_embeddings
    if vocab > rows:  # token ids past the embedding matrix: another model's tokenizer
        raise ValueError(f"{name_or_path}: its tokenizer has {vocab} tokens but the model embeds only {rows}; the "
                         "tokenizer files belong to another model: copy the model's own")
    if max_seq_length is not None:  # never past the model's own limit (position embeddings)
        model.max_seq_length = min(max_seq_length, model.max_seq_length or max_seq_length)
    mode = model[1].get_config_dict().get("pooling_mode") if len(model) > 1 else None
    if mode != "mean":  # a sentence-transformers checkpoint may bring CLS or max pooling of its own
        raise ValueError(f"{name_or_path}: the study uses mean pooling, but this model pools with {mode!r}; use its plain transformer")
    return model


@dataclass(frozen=True)
class Tokenized:
    """Texts tokenized once into `encode`'s batches (`tokenize`), to embed with every model that shares the
    tokenizer: evaluation tokenizes a dataset once per tokenizer instead of once per run."""

    kind: str  # 'query' or 'passage'
    order: np.ndarray  # (n,) the text index of each embedded row, longest text first
    batches: list[dict]  # the model's `preprocess` features per batch: CPU tensors, pinned when made for a GPU
    fingerprint: str  # `tokenizer_fingerprint` of the model that made them


def tokenizer_fingerprint(model: SentenceTransformer) -> str:
    """sha256 of what decides a model's token ids: its tokenizer (without the truncation and padding state a
    call leaves behind), lower-casing and maximum length. A fine-tuned run keeps its base model's tokenizer,
    so every run of one base model shares a fingerprint."""
    import hashlib

    backend = model.tokenizer.backend_tokenizer
    truncation, padding = backend.truncation, backend.padding
    backend.no_truncation()
    backend.no_padding()
    try:
        spec = backend.to_str()  # the JSON of tokenizer.json (7.6 MB for XLM-R: hashing it as text takes 0.1 s)
    finally:
        if truncation:
            backend.enable_truncation(**truncation)
        if padding:
            backend.enable_padding(**padding)
    decided = f"{model.max_seq_length} {getattr(model[0], 'do_lower_case', False)} {spec}"
    return hashlib.sha256(decided.encode()).hexdigest()


def tokenize(
    model: SentenceTransformer, texts: list[str], *, kind: str, batch_size: int = 64, workers: int | None = None, prefixes: bool = True
) -> Tokenized:
    """`texts` with the `kind`'s prompt, tokenized once into `encode`'s batches, for every model that shares the
    tokenizer (`tokenizer_fingerprint`).

    Args:
        model: a `load_encoder` model.
        texts: the texts, without prefix.
        kind: 'query' or 'passage'.
        batch_size: texts per batch; `encode` runs the result at this batch size.
        workers: dataloader processes tokenizing, as in `encode`.
        prefixes: as in `encode`.
    """
    order, loader = _batches(model, texts, kind, batch_size, workers, prefixes)
    return Tokenized(kind, order, list(loader), tokenizer_fingerprint(model))


def encode(
    model: SentenceTransformer, texts: list[str] | Tokenized, *, kind: str, batch_size: int = 64, precision: str = "auto", workers: int | None = None,
    prefixes: bool = True, chunk: int = 0, multiple: int = 1,
) -> np.ndarray:
    """L2-normalised float32 embeddings, shape (len(texts), dim); `kind` is 'query' or 'passage'.

    The batches are sentence-transformers' own (`SentenceTransformer.encode` order: longest first, so padding
    stays small), tokenized by the model's `preprocess` and embedded by its forward pass, so on a CPU the
    result equals `model.encode(texts, prompt_name=kind, normalize_embeddings=True)` bit for bit (tested).
    What differs is the pipeline: with `workers` > 0, dataloader processes tokenize the next batches while
    the device runs this one, and the embeddings stay on the device until the end instead of being copied
    back (a synchronisation) after every batch; texts already `tokenize`d skip tokenizing altogether. On an
    H200, `model.encode` was host-bound at 9-10 % of the matmul rate (docs/speed.md). On a GPU, `precision`
    "auto" runs the matmuls under bf16 autocast (fp16 where bf16 is unsupported); weights, layer norms and
    pooled embeddings stay float32. "fp32" turns that off; a CPU computes in fp32 unless `precision` is "bf16".

    Args:
        model: a `load_encoder` model.
        texts: the texts, without prefix (the `kind`'s prompt of `prompts_for` is added), or their `tokenize`
            output for a model with the same `tokenizer_fingerprint`.
        kind: 'query' or 'passage'.
        batch_size: texts per forward pass (of tokenized texts: the batches they were made with).
        precision: 'auto', 'fp32', 'bf16' or 'fp16' (GPU only).
        workers: tokenizing processes; None: `tokenizing_workers` (up to 8 on a GPU, 0 on a CPU).
        prefixes: False: without prompts (`prompts_for`; texts already tokenized keep theirs).
        chunk: texts per forward pass within a batch, longest first (`embed_chunked`); 0: the whole batch.
        multiple: round each forward pass's length up to a multiple of this (`embed_chunked`); 1: no rounding.

    Returns:
        (len(texts), dim) float32, rows in `texts` order.

    Raises:
        ValueError: tokenized texts of another kind, or of a model whose tokenizer differs.
    """
    import torch

    if isinstance(texts, Tokenized):
        if texts.kind != kind or texts.fingerprint != tokenizer_fingerprint(model):
            raise ValueError(f"these texts were tokenized as {texts.kind!r} by another tokenizer or length; tokenize them with this model for kind {kind!r}")
        order, batches = texts.order, texts.batches
    else:
        order, batches = _batches(model, texts, kind, batch_size, workers, prefixes)
    if not len(order):
        return np.zeros((0, model.get_embedding_dimension()), dtype=np.float32)
    model.eval()
    embedded = []  # (batch, dim) per batch, on the device
    with torch.inference_mode(), autocast(precision, model.device.type):
        for features in batches:
            # pinned host memory + non_blocking: the copy waits in the stream instead of stalling this loop
            features = {k: v.to(model.device, non_blocking=True) if torch.is_tensor(v) else v for k, v in features.items()}
            embedded.append(torch.nn.functional.normalize(embed_chunked(model, features, chunk, multiple), p=2, dim=1))
    emb = torch.cat(embedded).float().cpu().numpy()  # (n, dim) in `order`
    out = np.empty_like(emb)
    out[order] = emb
    return out


def embed_chunked(model: SentenceTransformer, features: dict, chunk: int = 0, multiple: int = 1) -> torch.Tensor:
    """``model(features)["sentence_embedding"]``, computed `chunk` texts at a time, longest first, each chunk cut
    to its own longest text (rounded up to a multiple of `multiple`): the padding a batch carries for its
    longest text is not computed, and the forward passes meet few distinct shapes.

    Attention and mean pooling only see a text's own tokens, so the embeddings are those of the padded forward
    up to rounding (fp32: within 1e-5; tested), and gradients flow through every chunk as through the whole
    batch: a loss over the result still sees every text of the batch (its in-batch negatives unchanged).
    Why `multiple` matters on a CPU: oneDNN prepares its matmul kernels once per shape, and a batch of a new
    length costs that again; rounding lengths up to a multiple of 16 leaves a dozen shapes (docs/speed.md).

    Args:
        model: a `load_encoder` model (right-padded features: the tokenizers of this project pad on the right).
        features: a padded batch as the model's `preprocess` or the trainer's collator makes it.
        chunk: texts per forward pass; 0, or not fewer than the batch: one pass over the whole batch.
        multiple: round each pass's length up to a multiple of this (padding the batch where it is shorter);
            1: the longest text's length.

    Returns:
        (batch, dim) embeddings, rows in `features` order.
    """
    import torch

    mask = features["attention_mask"]
    n = mask.shape[0]
    if (chunk <= 0 or chunk >= n) and multiple <= 1:
        return model(features)["sentence_embedding"]
    lengths = mask.sum(dim=1)
    order = torch.argsort(lengths, descending=True, stable=True)
    step = chunk if 0 < chunk < n else n
    pad_id = model.tokenizer.pad_token_id or 0
    parts = []
    for start in range(0, n, step):
        rows = order[start : start + step]
        width = -(-int(lengths[rows[0]]) // max(multiple, 1)) * max(multiple, 1)  # the chunk's longest text, rounded up
        part = {key: _rows(value, rows, width, n, key, pad_id) for key, value in features.items()}
        parts.append(model(part)["sentence_embedding"])
    return torch.cat(parts).index_select(0, torch.argsort(order))


def _rows(value: object, rows: torch.Tensor, width: int, n: int, key: str, pad_id: int) -> object:
    """A chunk's slice of one feature: per-text tensors to `rows`, token tensors to `width` columns (padded with
    `pad_id` for ids, 0 for masks and token types, where the batch is narrower); batch-level values
    (``prompt_length``, flags) as they are."""
    import torch

    if not torch.is_tensor(value) or key == "prompt_length" or value.ndim == 0 or value.shape[0] != n:
        return value
    value = value.index_select(0, rows)
    if value.ndim < 2:
        return value
    if value.shape[1] < width:
        value = torch.nn.functional.pad(value, (0, width - value.shape[1]), value=pad_id if key == "input_ids" else 0)
    return value[:, :width]


def _batches(
    model: SentenceTransformer, texts: list[str], kind: str, batch_size: int, workers: int | None, prefixes: bool = True
) -> tuple[np.ndarray, Iterable[dict]]:
    """(order, features per batch): the texts longest first (sentence-transformers' encode order, the same ties
    too), tokenized with the `kind`'s prompt (`prompts_for`) by a dataloader, in `workers` processes ahead of the consumer."""
    import torch

    if kind not in PROMPTS:
        raise ValueError(f"kind must be one of {list(PROMPTS)}, got {kind!r}")
    workers = tokenizing_workers(model.device.type) if workers is None else workers
    order = np.argsort([-len(text) for text in texts])
    batches = [[texts[i] for i in order[start : start + batch_size]] for start in range(0, len(texts), batch_size)]
    loader = torch.utils.data.DataLoader(
        batches,
        batch_size=None,  # each item is already a batch of texts
        collate_fn=functools.partial(model.preprocess, prompt=prompts_for(model, prefixes)[kind]),
        num_workers=workers,
        prefetch_factor=4 if workers else None,
        pin_memory=model.device.type == "cuda",
    )
    return order, loader


# most tokenizing processes per GPU, for training's dataloader and for `encode`. One process needs 125-285 ms for
# a training batch of 100 XQuAD-R pairs with XLM-R's tokenizer (benchmarks/loader.py, one core), so 2 workers
# alone would hold a step to 63-143 ms, slower than the GPU step this project aims for (docs/speed.md).
TOKENIZING_WORKERS = 8


def tokenizing_workers(device_type: str) -> int:
    """Processes that tokenize ahead of the device: on a GPU up to `TOKENIZING_WORKERS`, the CPU cores shared
    among the processes on this machine (torchrun's LOCAL_WORLD_SIZE) with one core left to each to drive its
    GPU; 0 on a CPU, where the forward and backward passes need the cores."""
    import os

    if device_type != "cuda":
        return 0
    processes = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    return max(0, min(TOKENIZING_WORKERS, (os.cpu_count() or 1) // processes - 1))


def autocast(precision: str, device_type: str) -> contextlib.AbstractContextManager:
    """The context an evaluation `precision` computes in: bf16/fp16 autocast on a GPU, bf16 autocast on a CPU only
    when asked for by name, nothing for fp32."""
    import contextlib

    import torch

    dtype = _autocast_dtype(precision, device_type)
    return torch.autocast("cuda" if device_type == "cuda" else "cpu", dtype=dtype) if dtype else contextlib.nullcontext()


def _autocast_dtype(precision: str, device_type: str):
    """The autocast dtype of an evaluation `precision` on a device: None for fp32, and on a CPU for all but "bf16"
    (on a 2-core AVX-512-BF16 CPU it encodes multilingual-e5-small 1.4 x faster than fp32, every embedding at
    cosine >= 0.9999 with fp32's: docs/speed.md)."""
    import torch

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {list(PRECISIONS)}, got {precision!r}")
    if device_type != "cuda":
        return torch.bfloat16 if precision == "bf16" else None
    if precision == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def cut_shares(tokenizer: object, texts: list[str], langs: list[str], *, prompt: str, max_length: int) -> dict[str, float]:
    """The share of texts longer than `max_length` tokens with their `prompt` (what truncation would cut), per
    language and over all (key ``"all"``): docs/decisions.md gives them for the small profiles' data.

    Args:
        tokenizer: the model's tokenizer (a transformers tokenizer: ``tokenizer(texts)["input_ids"]``).
        texts: the texts, without prompt.
        langs: each text's language.
        prompt: the prompt the model reads before each text (``"passage: "``).
        max_length: the sequence length, special tokens included.
    """
    lengths = np.array([len(ids) for ids in tokenizer([prompt + text for text in texts])["input_ids"]])
    langs_ = np.asarray(langs)
    shares = {lang: float((lengths[langs_ == lang] > max_length).mean()) for lang in sorted(set(langs))}
    return {**shares, "all": float((lengths > max_length).mean()) if len(lengths) else 0.0}
