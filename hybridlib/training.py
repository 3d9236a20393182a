"""Fine-tuning through the sentence-transformers trainer: InfoNCE with in-batch negatives, one strategy per run.

The loss is `MultipleNegativesRankingLoss` (scale 20, i.e. tau = 0.05): for each query, its passage against
every other passage of the global batch (and every hard negative when enabled). The batch composition comes
from `samplers.StrategyBatchSampler`, plugged in through the trainer's ``batch_sampler`` argument. Texts are
resolved from ids at load time with `sentence_transformers.util.resolve_ids`, so the training set is stored
once, one row per (group, language), however many (query language, passage language) pairs a strategy draws.
"""

from __future__ import annotations

import functools
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

from hybridlib import storage
from hybridlib.encoder import PRECISIONS, SCALE, embed_chunked, load_encoder, prompts_for, tokenizing_workers
from hybridlib.records import check_pair_rows
from hybridlib.samplers import (
    BatchPlan,
    PairDataset,
    ParallelIndex,
    Strategy,
    StrategyBatchSampler,
    batch_kinds,
    batch_mix,
    group_sources,
    index_from_pair_dataset,
    sampler_epoch_callback,
    world_size,
)

if TYPE_CHECKING:  # heavy imports, for annotations only
    from collections.abc import Iterable

    import torch
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from torch import nn
    from transformers import TrainerCallback


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation settings shared by every strategy of a profile (equal budget for all)."""

    steps: int
    batch_size: int  # global batch: pairs per optimizer step over all ranks
    learning_rate: float = 3e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_seq_length: int = 256
    hard_negatives: bool = True
    save_steps: int = 0  # checkpoint every N steps for resuming; 0 = none
    precision: str = "auto"  # auto: bf16 where supported, fp16 on older GPUs, fp32 on CPU
    cached_minibatch: int = 0  # > 0: GradCache loss (CachedMultipleNegativesRankingLoss), memory of this many pairs
    compile: bool = False  # torch.compile each transformer layer (`compile_layers`)
    # fused AdamW and non-blocking batch copies on CUDA; False = the plain sentence-transformers default (benchmark baseline)
    fast: bool = True
    loader_workers: int | None = None  # tokenizing processes; None: up to 8 on CUDA (overlaps the GPU step), 0 on CPU
    mix_sources: bool = False  # each batch from one source dataset, drawn proportionally to its size
    # keep the word-embedding matrix fixed: 96 M of mE5-small's 118 M parameters, so on a CPU the step skips
    # their gradient and AdamW update (the small profile's reason: docs/decisions.md)
    freeze_word_embeddings: bool = False
    # each side of a batch embedded this many texts at a time, longest first, each cut to its longest text
    # (`encoder.embed_chunked`): the padding is not computed; 0 = the whole side in one pass (the GPU's default)
    forward_chunk: int = 0
    # each forward pass's length rounded up to a multiple of this: on a CPU, oneDNN prepares kernels per shape,
    # and a new length per batch paid that cost at every step (docs/speed.md); 1 = no rounding
    pad_multiple: int = 1

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"steps and batch_size must be >= 1, got {self.steps} and {self.batch_size}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {list(PRECISIONS)}, got {self.precision!r}")


def pair_dataset(rows: Dataset, languages: tuple[str, ...], *, hard_negatives: bool) -> Dataset:
    """Every (group, query language, passage language) pair of a training set, as ids resolved on access.

    Args:
        rows: a training set (`records.load_training_set`), one row per (group, language).
        languages: the training languages; rows in other languages are left out.
        hard_negatives: add a ``negative`` column (the passage row's negative).

    Returns:
        A `datasets.Dataset` with columns ``query_id``, ``positive_id``, [``negative_id``], ``group``,
        ``query_lang``, ``passage_lang``, ``source`` in `samplers.ParallelIndex` order, whose items read as
        ``{"query", "positive"[, "negative"]}`` texts.
    """
    import pandas as pd
    import pyarrow as pa
    from datasets import ClassLabel, DatasetInfo, Features, Value
    from sentence_transformers.util import resolve_ids

    if getattr(rows, "_indices", None) is not None:  # shuffle, select, filter, train_test_split: rows reordered
        raise ValueError("the training rows were reordered or subset (shuffle/select/filter/train_test_split keep an "
                         "indices mapping), which would change the groups' order and so every batch; pass the rows in "
                         "their stored order (split by pair_id before building the dataset), or call "
                         "rows.flatten_indices() to make this order the stored one")
    needed = ["pair_id", "lang", "query", "passage", *(["negative"] if hard_negatives else [])]
    missing = [c for c in needed if c not in rows.column_names]
    if missing:
        raise ValueError(f"the training set lacks the column(s) {missing}; it needs {needed} (and optionally 'source'), "
                         f"one row per (parallel group, language), but has {rows.column_names}")
    cols = rows.select_columns(["pair_id", "lang"]).to_pandas()
    cols["source"] = rows["source"] if "source" in rows.column_names else ""  # one source where none is named
    check_pair_rows(rows, cols, languages)
    keep = cols["lang"].isin(languages).to_numpy()
    group_codes, _ = pd.factorize(cols["pair_id"])
    lang_codes = cols["lang"].map({lang: i for i, lang in enumerate(languages)}).fillna(-1).astype(int).to_numpy()
    n_groups = int(group_codes[keep].max()) + 1 if keep.any() else 0
    row_of = np.full((n_groups, len(languages)), -1, dtype=np.int64)  # (G, L) training-set row
    row_of[group_codes[keep], lang_codes[keep]] = np.flatnonzero(keep)
    index = ParallelIndex(row_of >= 0, languages)
    groups, qlang, plang = index.pair_table()

    source_codes, source_names = pd.factorize(cols["source"], sort=True)
    group_source = np.zeros(n_groups, dtype=np.int64)
    group_source[group_codes[keep]] = source_codes[keep]  # a group's rows share their source
    data = {"query_id": row_of[groups, qlang], "positive_id": row_of[groups, plang]}
    if hard_negatives:
        data["negative_id"] = data["positive_id"]
    features = Features(
        {
            **{name: Value("int64") for name in data},
            "group": Value("int64"),
            "query_lang": ClassLabel(names=list(languages)),
            "passage_lang": ClassLabel(names=list(languages)),
            "source": ClassLabel(names=[str(n) for n in source_names]),
        }
    )
    columns = {**data, "group": groups, "query_lang": qlang, "passage_lang": plang, "source": group_source[groups]}
    # an Arrow table built from the numpy columns: from_dict would encode 6 M class labels one by one
    table = pa.table({name: pa.array(np.asarray(col, dtype=np.int64)) for name, col in columns.items()})
    pairs = PairDataset(table.cast(features.arrow_schema), info=DatasetInfo(features=features))
    lookup = rows.add_column("row_id", np.arange(len(rows)))
    resolve = {"query_id": (lookup, "row_id", "query"), "positive_id": (lookup, "row_id", "passage")}
    if hard_negatives:
        resolve["negative_id"] = (lookup, "row_id", "negative")
    pairs.set_transform(resolve_ids(resolve))
    return pairs


def train_run(
    base_model: str,
    rows: Dataset,
    languages: tuple[str, ...],
    strategy: Strategy,
    seed: int,
    settings: TrainSettings,
    out_dir: str | Path,
    *,
    revision: str | None = None,
    callbacks: list[TrainerCallback] | None = None,
) -> Path:
    """Fine-tune `base_model` with one strategy and write the encoder to ``out_dir/model``.

    Resumes from the newest checkpoint under ``out_dir/checkpoints`` when one exists; the final model folder
    appears only when training has finished (atomic rename).

    Args:
        base_model: a hub id or a local transformers checkpoint (`load_encoder`).
        rows: the training set (`records.load_training_set`), one row per (group, language).
        languages: the training languages the sampler draws from.
        strategy: the batching strategy (`samplers.Strategy.parse("hybrid-0.5")` etc.).
        seed: the trainer's seed and data seed; the same seed gives the same batches (and, on a CPU, weights).
        settings: the profile's optimisation settings, equal for every strategy.
        out_dir: the run folder: ``model/``, ``train_log.json``, ``budget.json`` (steps done, pairs that
            reached the loss and batches per kind), ``batches.csv`` (the kind of each step's batch: xx-mono in
            which language, xy, en or xx-mixed), ``base_model.json`` and, while training, ``checkpoints/``.
        revision: the hub commit of `base_model` (None: the default branch).
        callbacks: extra trainer callbacks (the tests use one to interrupt a run).

    Returns:
        The folder of the fine-tuned encoder, ``out_dir/model``.
    """
    import pandas as pd

    out_dir = Path(out_dir)
    ckpt_dir = out_dir / "checkpoints"
    trainer = make_trainer(base_model, rows, languages, strategy, seed, settings, ckpt_dir, revision=revision, callbacks=callbacks)
    model = trainer.model
    last = last_complete_checkpoint(ckpt_dir)
    resumed_steps = 0
    if last:
        print(f"resuming {strategy.label} seed {seed} from {last}")
        resumed_steps = int(last.rsplit("-", 1)[-1])
    seen = [0]  # pairs that reached the loss in this process: the budget as trained, not as configured
    hook = trainer.loss.register_forward_pre_hook(lambda module, args: seen.__setitem__(0, seen[0] + len(args[0][0]["input_ids"])))
    trainer.train(resume_from_checkpoint=last)
    hook.remove()
    if trainer.is_world_process_zero():
        with storage.atomic_dir(out_dir / "model") as tmp:
            model.save(str(tmp))
        storage.write_json(out_dir / "train_log.json", trainer.state.log_history)
        # the kind of every batch trained on (xx-mono in which language, or xy): the sampler draws deterministically
        # in (seed, epoch), so this is the trainer's sequence, resumed steps included (tests/test_training.py checks it)
        kinds = batch_kinds(trainer.batch_plan, trainer.state.global_step)
        storage.write_text(out_dir / "batches.csv", pd.DataFrame(kinds, columns=["step", "epoch", "kind", "language"]).to_csv(index=False))
        storage.write_json(out_dir / "budget.json", {
            "steps": trainer.state.global_step, "batch_size": settings.batch_size, "resumed_at_step": resumed_steps,
            # pairs through the loss on this rank, times the ranks, plus the steps a resumed run had done before
            "pairs_seen": seen[0] * world_size() + resumed_steps * settings.batch_size,
            "batches": batch_mix(kinds)})
        # the hub commit the base model resolved to (transformers records it on configs loaded from the hub)
        commit = getattr(model[0].auto_model.config, "_commit_hash", None)
        storage.write_json(out_dir / "base_model.json", {"source": base_model, "revision": revision, "resolved_commit": commit})
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    return out_dir / "model"


def last_complete_checkpoint(ckpt_dir: Path) -> str | None:
    """The newest checkpoint the trainer finished writing, or None. The trainer writes a checkpoint's files in
    place, ``trainer_state.json`` last, so a run killed while saving leaves a folder without it (or with it cut
    short); such folders are removed, with a line saying so, and the run resumes from the one before."""
    import json

    if not ckpt_dir.is_dir():
        return None
    folders = [p for p in ckpt_dir.glob("checkpoint-*") if p.name.rsplit("-", 1)[-1].isdigit()]
    complete = []
    for folder in sorted(folders, key=lambda p: int(p.name.rsplit("-", 1)[-1])):
        try:
            json.loads((folder / "trainer_state.json").read_text(encoding="utf-8"))
            complete.append(folder)
        except (OSError, ValueError):
            print(f"{folder}: incomplete (the run stopped while saving it); removed", flush=True)
            shutil.rmtree(folder)
    return str(complete[-1]) if complete else None


def make_trainer(
    base_model: str,
    rows: Dataset,
    languages: tuple[str, ...],
    strategy: Strategy,
    seed: int,
    settings: TrainSettings,
    ckpt_dir: Path,
    *,
    revision: str | None = None,
    callbacks: list[TrainerCallback] | None = None,
) -> SentenceTransformerTrainer:
    """The `SentenceTransformerTrainer` of one run (model, pair dataset, sampler, loss), before any step.

    `train_run` calls it; `benchmarks/loader.py` and `benchmarks/train_step.py` time its dataloader and steps.

    Args:
        base_model: as in `train_run`.
        rows: as in `train_run`.
        languages: as in `train_run`.
        strategy: as in `train_run`.
        seed: as in `train_run`.
        settings: as in `train_run`.
        ckpt_dir: the trainer's output folder (its checkpoints).
        revision: as in `train_run`.
        callbacks: as in `train_run`.
    """
    import pyarrow.compute as pc
    from sentence_transformers import SentenceTransformerTrainer

    ranks = world_size()
    if settings.batch_size % ranks:
        raise ValueError(f"batch_size {settings.batch_size} is not divisible by the {ranks} ranks")
    model = load_encoder(base_model, max_seq_length=settings.max_seq_length, revision=revision)
    if settings.freeze_word_embeddings:
        model[0].auto_model.get_input_embeddings().weight.requires_grad_(False)  # the trainer optimizes the rest
    if settings.compile:
        compile_layers(model)
    if settings.hard_negatives and pc.any(pc.equal(rows.with_format("arrow")["negative"], "")).as_py():
        raise ValueError("hard_negatives is on but some training rows have no negative; prepare the data again")
    pairs = pair_dataset(rows, languages, hard_negatives=settings.hard_negatives)
    index = index_from_pair_dataset(pairs)
    plan = BatchPlan(index, strategy, settings.batch_size, seed, sources=group_sources(pairs, index) if settings.mix_sources else None)
    args = training_arguments(settings, strategy, seed, ckpt_dir, ranks, prompts=trainer_prompts(model))
    loss = make_loss(model, settings, gather=ranks > 1)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=pairs, loss=loss,
                                         callbacks=[*(callbacks or []), sampler_epoch_callback()])
    trainer.batch_plan = plan  # the sampler's own plan (same index, batch, seed and sources): train_run records its batches
    return trainer


def trainer_prompts(model: SentenceTransformer | None = None, prefixes: bool = True) -> dict[str, str]:
    """The trainer's ``prompts`` (its columns ``query``, ``positive``, ``negative``) by `encoder.prompts_for`'s rule, so
    a model trains with the prompts the evaluator and the ``evaluate`` command encode it with.

    Args:
        model: the model to train; None: mE5's prompts.
        prefixes: False: none (then evaluate with ``prefixes=False`` / ``--no-prefixes``).
    """
    prompts = prompts_for(model, prefixes)
    return {"query": prompts["query"], "positive": prompts["passage"], "negative": prompts["passage"]}


def training_arguments(
    settings: TrainSettings, strategy: Strategy, seed: int, ckpt_dir: Path, ranks: int, *, prompts: dict[str, str] | None = None
) -> SentenceTransformerTrainingArguments:
    """The trainer's arguments: the profile's optimisation settings, our batch sampler, the prompts.

    Args:
        settings: the profile's optimisation settings; `settings.batch_size` is the global batch.
        strategy: the batching strategy, handed to `StrategyBatchSampler` through ``batch_sampler``.
        seed: the trainer's seed and data seed.
        ckpt_dir: the trainer's output folder (checkpoints).
        ranks: processes in the run (torchrun's world size); each gets ``batch_size // ranks`` pairs per step.
        prompts: the trainer's prompts (`trainer_prompts`); None: mE5's.
    """
    import torch
    from sentence_transformers import SentenceTransformerTrainingArguments

    bf16, fp16 = _mixed_precision(settings.precision)
    return SentenceTransformerTrainingArguments(
        output_dir=str(ckpt_dir),
        max_steps=settings.steps,
        per_device_train_batch_size=settings.batch_size // ranks,
        learning_rate=settings.learning_rate,
        weight_decay=settings.weight_decay,
        warmup_steps=int(settings.warmup_ratio * settings.steps),
        optim="adamw_torch_fused" if settings.fast else "adamw_torch",  # fused on a CPU too (torch >= 2.4): one kernel, not 8 per parameter
        bf16=bf16,
        fp16=fp16,
        seed=seed,
        data_seed=seed,
        batch_sampler=functools.partial(StrategyBatchSampler, strategy=strategy, mix_sources=settings.mix_sources),
        prompts=prompts or trainer_prompts(),
        dataloader_drop_last=True,
        dataloader_num_workers=_loader_workers(settings.loader_workers),
        dataloader_pin_memory=torch.cuda.is_available(),
        # copy each batch to the GPU without waiting: a blocking copy waits for the previous step's kernels, so the
        # host could not queue the next step while the GPU finishes this one (pinned memory makes it safe)
        accelerator_config={"non_blocking": torch.cuda.is_available() and settings.fast},
        use_cpu=not torch.cuda.is_available(),  # also what makes torchrun on CPU use DDP over gloo
        save_strategy="steps" if settings.save_steps else "no",
        save_steps=settings.save_steps or settings.steps,
        save_total_limit=1,
        logging_steps=max(1, settings.steps // 10),
        # the trainer's NaN/inf filter reads every step's loss on the host (a GPU sync per step) and replaces a
        # non-finite loss by the running mean in the logs; off, a diverged run shows as nan in its loss lines
        logging_nan_inf_filter=False,
        disable_tqdm=True,  # the printer callback writes one plain line per logging step (papermill-friendly)
        report_to="none",
    )


def compile_layers(model: SentenceTransformer) -> int:
    """torch.compile each transformer layer of a `load_encoder` model in place ("regional compilation").

    The layers share one compiled graph (their code is the same and their weights are graph inputs), so
    compiling costs one layer's forward and backward instead of the whole model's (docs/speed.md has the
    measured compile times). Embeddings, masks and pooling stay eager. Compiled for symbolic batch size and
    length from the start, since both change every batch; a batch without padding (no attention mask) and
    the trainer's no-grad model-card examples compile once more each. One PyTorch 2.13 exception, seen on CPU:
    a first batch size equal to the hidden size gets specialized (a recompile per other batch size); base
    models (hidden 768) at this project's batch sizes never meet it.

    Returns:
        The number of layers compiled.
    """
    import torch

    layers = [m for m in model[0].auto_model.modules() if isinstance(m, torch.nn.ModuleList) and len({type(x) for x in m}) == 1]
    if not layers:
        raise ValueError(f"{type(model[0].auto_model).__name__}: no list of identical layers to compile; set compile: false")
    blocks = max(layers, key=len)  # the transformer layers (encoder.layer for BERT and XLM-R)
    for block in blocks:
        block.compile(dynamic=True)
    return len(blocks)


def make_loss(model: SentenceTransformer, settings: TrainSettings, *, gather: bool = False) -> nn.Module:
    """InfoNCE with in-batch negatives (scale 20); the cached (GradCache) variant when `cached_minibatch` > 0.

    Both give the same loss and gradients (tested); the cached one embeds `cached_minibatch` pairs at a
    time, so batch 100 fits a 16 GB T4.

    Args:
        model: the encoder being trained.
        settings: the profile's training settings (`cached_minibatch`).
        gather: several ranks: each rank scores its queries against the passages of every rank, so the
            negatives come from the whole global batch.
    """
    from sentence_transformers.sentence_transformer.losses import CachedMultipleNegativesRankingLoss

    if settings.cached_minibatch > 0:
        return CachedMultipleNegativesRankingLoss(model, scale=SCALE, mini_batch_size=settings.cached_minibatch, gather_across_devices=gather)
    if settings.forward_chunk > 0 or settings.pad_multiple > 1:
        return ChunkedMultipleNegativesRankingLoss(model, chunk=settings.forward_chunk, multiple=settings.pad_multiple, scale=SCALE, gather_across_devices=gather)
    return MultipleNegativesRankingLoss(model, scale=SCALE, gather_across_devices=gather)


class ChunkedMultipleNegativesRankingLoss(MultipleNegativesRankingLoss):
    """`MultipleNegativesRankingLoss` whose columns are embedded by `encoder.embed_chunked`: the same loss over the
    same in-batch negatives, each column's forward passes split into length-sorted chunks.

    Args:
        model: the encoder being trained.
        chunk: texts per forward pass (`embed_chunked`); 0: a whole column at once.
        multiple: each pass's length rounded up to a multiple of this (`embed_chunked`).
        **kwargs: `MultipleNegativesRankingLoss`'s own (``scale``, ``gather_across_devices``).
    """

    def __init__(self, model: SentenceTransformer, *, chunk: int, multiple: int = 1, **kwargs: object) -> None:
        super().__init__(model, **kwargs)
        self.chunk, self.multiple = chunk, multiple

    def forward(self, sentence_features: Iterable[dict], labels: torch.Tensor) -> torch.Tensor:
        embeddings = [embed_chunked(self.model, features, self.chunk, self.multiple) for features in sentence_features]
        return self.compute_loss_from_embeddings(embeddings, labels)


def _loader_workers(requested: int | None) -> int:
    """Dataloader worker processes: tokenizing in workers overlaps it with the GPU step (docs/speed.md)."""
    import torch

    if requested is not None:
        return requested
    return tokenizing_workers("cuda" if torch.cuda.is_available() else "cpu")


def _mixed_precision(precision: str) -> tuple[bool, bool]:
    """(bf16, fp16) flags for the trainer."""
    import torch

    if precision == "auto":
        if not torch.cuda.is_available():
            return False, False
        return (True, False) if torch.cuda.is_bf16_supported() else (False, True)
    return precision == "bf16", precision == "fp16"
