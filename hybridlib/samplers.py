"""Batch samplers for the batching strategies: the independent variable of the study.

A training set holds one row per (parallel group, language). Training examples are *pairs* (query in
language X, passage in language Y) of the same group; `ParallelIndex` enumerates every such pair in a
fixed order, and the samplers pick which pairs form each batch.

Strategies (``kind`` is what the `batches` command prints for each batch):

- ``en`` (**en-only**): English query, English passage.
- ``xx-mixed``: every pair monolingual (X = Y), X drawn uniformly per pair among the group's languages;
  languages mix within a batch.
- ``xx-mono``: one language X for the whole batch, drawn uniformly over the training languages that have at least
  one batch of groups (a language with fewer is left out of xx-mono batches, and `BatchPlan.describe` says so);
  every pair X-X.
- ``xy``: every pair cross-lingual: (X, Y) with X != Y, drawn uniformly per pair over the ordered pairs of the
  group's languages.
- ``hybrid`` (α): per batch, with probability α an xx-mono batch, otherwise an xy batch. hybrid(1) equals
  xx-mono and hybrid(0) equals xy, batch for batch, for the same seed: the draws of each decision come from
  their own random stream (batch kind, batch language, group order, pair languages).

Invariants, in every strategy: a batch never holds two pairs of the same parallel group (a translation would
be a false negative); every batch is full.

**Epoch.** A *stream* is a random permutation of the groups a batch may draw from, read front to back,
``global_batch`` groups at a time, so groups are drawn without replacement. en, xx-mixed and xy batches (and
hybrid's xy batches) read the main stream: the groups that have the strategy's languages (English; any
language; at least two languages). xx-mono batches read the stream of their language (the groups present in
it). A stream with fewer groups left than a batch needs starts a new permutation (the remainder is skipped),
so no batch spans two permutations. An epoch is ``n // global_batch`` steps, n being the number of groups
with English (en-only) or with any training language (all others): one pass over the groups, so every
strategy takes the same number of steps per epoch on a complete parallel corpus, and `__len__` is exact.
Epoch e is drawn from seed (seed, e): the same seed gives the same batches, a new epoch new ones.

**Distributed.** With W ranks, accelerate gives rank r the sampler's batches r, r+W, r+2W, ... (its
`BatchSamplerShard`). So the sampler draws one *global* batch of W * batch_size groups per step and cuts it
into W consecutive per-rank batches: every rank has the same kind and language(s) at every step, and the ranks'
rows are disjoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from datasets import Dataset
from sentence_transformers.base.sampler import DefaultBatchSampler

if TYPE_CHECKING:  # for annotations only
    import torch

STRATEGIES = ("off-the-shelf", "en", "xx-mixed", "xx-mono", "xy", "hybrid")
SOURCE_LANGUAGE = "en"

# Independent random streams per decision, so one decision's draws never shift another's.
_KIND, _LANGUAGE, _ORDER, _PAIRS, _SOURCE = range(5)


@dataclass(frozen=True)
class Strategy:
    """A batching strategy; `alpha` is the xx-mono probability (hybrid only)."""

    name: str
    alpha: float | None = None

    def __post_init__(self) -> None:
        if self.name not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.name!r}; choose from {list(STRATEGIES)}")
        if (self.name == "hybrid") != (self.alpha is not None):
            raise ValueError(f"alpha is required for hybrid and only for hybrid (got {self.name!r}, alpha={self.alpha})")
        if self.alpha is not None and not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {self.alpha}")

    @classmethod
    def parse(cls, text: str) -> Strategy:
        """Parse ``en``, ``xx-mono`` or ``hybrid-0.25``; hybrid always names its α, as `Strategy` asks."""
        if text == "hybrid":
            raise ValueError("strategy 'hybrid' needs its alpha (the xx-mono probability); write e.g. 'hybrid-0.5'")
        if text.startswith("hybrid"):
            rest = text.removeprefix("hybrid").removeprefix("-")
            try:
                return cls("hybrid", float(rest))
            except ValueError:
                raise ValueError(f"cannot read alpha from strategy {text!r}; write e.g. 'hybrid-0.5'") from None
        return cls(text)

    @property
    def label(self) -> str:
        return f"hybrid-{self.alpha:g}" if self.name == "hybrid" else self.name

    @property
    def trains(self) -> bool:
        return self.name != "off-the-shelf"


class ParallelIndex:
    """Which languages each parallel group has, and the row of every (group, query lang, passage lang) pair.

    Pairs are enumerated group by group; within a group, by query language then passage language, over the
    languages the group has. `pair_table` lists them in that order; `pair_row` maps back, without storing a
    (groups x L x L) table.

    Args:
        present: (n_groups, n_languages) bool, whether a group has a row in a language.
        languages: language codes, the columns of `present`.
    """

    def __init__(self, present: np.ndarray, languages: tuple[str, ...]) -> None:
        if present.ndim != 2 or present.shape[1] != len(languages):
            raise ValueError(f"present must be (n_groups, {len(languages)}), got {present.shape}")
        self.present = present.astype(bool)
        self.languages = tuple(languages)
        self.cum = np.cumsum(self.present, axis=1, dtype=np.int32)  # (G, L) 1-based rank of present languages
        self.n_langs = self.cum[:, -1] if len(languages) else np.zeros(len(present), np.int32)  # (G,)
        sizes = self.n_langs.astype(np.int64) ** 2
        self.offset = np.concatenate([[0], np.cumsum(sizes)[:-1]])  # (G,) first pair row of each group
        self.n_pairs = int(sizes.sum())

    def pair_row(self, groups: np.ndarray, qlang: np.ndarray, plang: np.ndarray) -> np.ndarray:
        """Rows of the pairs (group, query language index, passage language index); all must be present.

        Args:
            groups: (n,) group indices.
            qlang: (n,) query language indices into `languages`.
            plang: (n,) passage language indices into `languages`.
        """
        n = self.n_langs[groups]
        return self.offset[groups] + (self.cum[groups, qlang] - 1) * n + (self.cum[groups, plang] - 1)

    def pair_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(group, query language, passage language) of every pair, in row order; each (n_pairs,)."""
        sizes = self.n_langs.astype(np.int64) ** 2
        groups = np.repeat(np.arange(len(self.present)), sizes)
        local = np.arange(self.n_pairs) - self.offset[groups]  # position within the group's n x n block
        n = self.n_langs[groups].astype(np.int64)
        return groups, self.kth_language(groups, local // n), self.kth_language(groups, local % n)

    def kth_language(self, groups: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Index of each group's k-th present language (k is 0-based)."""
        return (self.cum[groups] <= k[:, None]).sum(axis=1)


@dataclass(frozen=True)
class GlobalBatch:
    """One step's pairs over all ranks: (world_size * batch_size,) arrays of group and language indices."""

    kind: str
    groups: np.ndarray
    query_lang: np.ndarray
    passage_lang: np.ndarray


class BatchPlan:
    """Draws the global batches of one strategy over a `ParallelIndex` (no datasets, no torch).

    Args:
        sources: optional (n_groups,) source-dataset id per group. With several sources, each step first
            draws one source with probability proportional to its number of groups (the paper's "sampled
            based on dataset size") and takes the whole batch from it; without, batches mix sources freely.
    """

    def __init__(self, index: ParallelIndex, strategy: Strategy, global_batch: int, seed: int, sources: np.ndarray | None = None) -> None:
        if not strategy.trains:
            raise ValueError("off-the-shelf does not train, so it has no batches")
        if global_batch < 1:
            raise ValueError(f"batch size must be >= 1, got {global_batch}")
        self.index, self.strategy, self.global_batch, self.seed = index, strategy, global_batch, seed
        self.alpha = {"xx-mono": 1.0, "xy": 0.0}.get(strategy.name, strategy.alpha)
        langs = index.languages
        if strategy.name == "en":
            if SOURCE_LANGUAGE not in langs:
                raise ValueError(f"en-only needs English rows, but the training languages are {list(langs)}")
            epoch_groups = main = index.present[:, langs.index(SOURCE_LANGUAGE)]
        else:
            epoch_groups = index.n_langs >= 1
            main = epoch_groups if strategy.name == "xx-mixed" else index.n_langs >= 2  # xy needs two languages
        sources = np.zeros(len(index.present), dtype=np.int64) if sources is None else np.asarray(sources)
        self.source_ids = np.unique(sources[epoch_groups])
        sizes = np.array([(epoch_groups & (sources == s)).sum() for s in self.source_ids], dtype=float)
        self.source_weights = sizes / sizes.sum() if sizes.sum() else sizes
        # per source: the main stream's pool, each language's pool, and the languages that can fill a batch
        self.main_groups = {s: np.flatnonzero(main & (sources == s)) for s in self.source_ids}
        self.lang_groups = {s: [np.flatnonzero(index.present[:, j] & (sources == s)) for j in range(len(langs))] for s in self.source_ids}
        self.mono_langs = {s: np.array([j for j, g in enumerate(self.lang_groups[s]) if len(g) >= global_batch]) for s in self.source_ids}
        self.steps_per_epoch = int(epoch_groups.sum()) // global_batch
        if self.steps_per_epoch == 0:
            raise ValueError(
                f"{int(epoch_groups.sum())} groups are eligible for {strategy.label}, fewer than one batch of "
                f"{global_batch}; lower the batch size or add data"
            )
        for s in self.source_ids:
            if self.alpha != 1.0 and len(self.main_groups[s]) < global_batch:
                raise ValueError(f"source {s}: {len(self.main_groups[s])} groups can form {strategy.label} pairs, fewer than one batch of {global_batch}")
            if self.alpha and len(self.mono_langs[s]) == 0:
                raise ValueError(f"source {s}: no language has {global_batch} groups, so no xx-mono batch can be filled")

    def left_out_of_mono(self) -> dict[str, int]:
        """The training languages that get no xx-mono batch because fewer of their groups than one global batch
        exist (in every source), with their group counts; xx-mono batches draw uniformly among the others."""
        if not self.alpha:
            return {}
        langs, left = self.index.languages, {}
        for j, lang in enumerate(langs):
            if not any(j in self.mono_langs[s] for s in self.source_ids):
                left[lang] = int(sum(len(self.lang_groups[s][j]) for s in self.source_ids))
        return left

    def describe(self) -> str:
        """One line on the plan: steps per epoch and, for strategies with xx-mono batches, the languages they draw
        among and those left out (a low-resource language with fewer groups than one batch)."""
        text = f"{self.strategy.label}: {self.steps_per_epoch} steps an epoch of {self.global_batch} groups"
        if not self.alpha:  # a language without groups is in no batch (with xx-mono batches: named below)
            empty = [lang for j, lang in enumerate(self.index.languages) if not self.index.present[:, j].any()]
            return text + "".join(f"; no batch in {lang}: 0 groups" for lang in empty)
        left = self.left_out_of_mono()
        drawn = [lang for lang in self.index.languages if lang not in left]
        text += f"; xx-mono batches draw uniformly among {', '.join(drawn)}"
        if left:
            text += " (no xx-mono batch in " + ", ".join(f"{lang}: {n} groups, fewer than a batch of {self.global_batch}"
                                                     for lang, n in left.items()) + ")"
        return text

    def epoch(self, epoch: int) -> Iterator[GlobalBatch]:
        """The `steps_per_epoch` global batches of epoch `epoch`, deterministic in (seed, epoch)."""
        rngs = [np.random.default_rng([self.seed, epoch, k]) for k in range(5)]
        streams: dict[tuple[int, int], _Stream] = {}  # (source, -1): main stream; (source, j): language j's

        def take(source: int, key: int) -> np.ndarray:
            if (source, key) not in streams:
                pool = self.main_groups[source] if key < 0 else self.lang_groups[source][key]
                streams[(source, key)] = _Stream(pool, rngs[_ORDER])
            return streams[(source, key)].take(self.global_batch)

        name = self.strategy.name
        for _ in range(self.steps_per_epoch):
            source = self.source_ids[0]
            if len(self.source_ids) > 1:
                source = self.source_ids[rngs[_SOURCE].choice(len(self.source_ids), p=self.source_weights)]
            if name in ("en", "xx-mixed"):
                yield self._batch_of_kind(name, take(source, -1), rngs[_PAIRS])
            else:  # xx-mono, xy and hybrid share one code path, so hybrid(1) = xx-mono and hybrid(0) = xy
                mono = rngs[_KIND].random() < self.alpha
                if mono:
                    mono_langs = self.mono_langs[source]
                    lang = int(mono_langs[rngs[_LANGUAGE].integers(len(mono_langs))])
                    groups = take(source, lang)
                    langs = np.full(len(groups), lang)
                    yield GlobalBatch("xx-mono", groups, langs, langs)
                else:
                    yield self._batch_of_kind("xy", take(source, -1), rngs[_PAIRS])

    def _batch_of_kind(self, kind: str, groups: np.ndarray, rng: np.random.Generator) -> GlobalBatch:
        index = self.index
        if kind == "en":
            en = np.full(len(groups), index.languages.index(SOURCE_LANGUAGE))
            return GlobalBatch(kind, groups, en, en)
        n = index.n_langs[groups]
        k_query = (rng.random(len(groups)) * n).astype(np.int64)
        qlang = index.kth_language(groups, k_query)
        if kind == "xx-mixed":
            return GlobalBatch(kind, groups, qlang, qlang)
        k_passage = (rng.random(len(groups)) * (n - 1)).astype(np.int64)
        k_passage += k_passage >= k_query  # skip the query's language: uniform over the other n - 1
        return GlobalBatch(kind, groups, qlang, index.kth_language(groups, k_passage))


def iter_steps(plan: BatchPlan, steps: int) -> Iterator[tuple[int, GlobalBatch]]:
    """The first `steps` global batches of a plan, running into later epochs as training does; yields (epoch, batch)."""
    done, epoch = 0, 0
    while done < steps:
        for batch in plan.epoch(epoch):
            if done == steps:
                return
            yield epoch, batch
            done += 1
        epoch += 1


def batch_kinds(plan: BatchPlan, steps: int) -> list[dict[str, object]]:
    """The kind of each of the first `steps` global batches: step, epoch, kind (xx-mono, xy, en, xx-mixed) and, for
    an xx-mono batch, its language ("" otherwise). Training writes it as a run's ``batches.csv``."""
    langs = plan.index.languages
    return [{"step": step, "epoch": epoch, "kind": batch.kind,
             "language": langs[int(batch.query_lang[0])] if batch.kind == "xx-mono" else ""}
            for step, (epoch, batch) in enumerate(iter_steps(plan, steps))]


def batch_mix(kinds: list[dict[str, object]]) -> dict[str, int]:
    """Batches per kind, an xx-mono batch counted under its language (``"xx-mono ar"``), from `batch_kinds`."""
    mix: dict[str, int] = {}
    for row in kinds:
        key = f"xx-mono {row['language']}" if row["kind"] == "xx-mono" else str(row["kind"])
        mix[key] = mix.get(key, 0) + 1
    return dict(sorted(mix.items()))


def composition(plan: BatchPlan, steps: int) -> np.ndarray:
    """(L, L) counts of training pairs per (query language, passage language) over the first `steps` steps."""
    n = len(plan.index.languages)
    counts = np.zeros((n, n), dtype=np.int64)
    for _, batch in iter_steps(plan, steps):
        np.add.at(counts, (batch.query_lang, batch.passage_lang), 1)
    return counts


class _Stream:
    """Groups in a random order, read `take(n)` at a time; restarts with a new permutation when short."""

    def __init__(self, pool: np.ndarray, rng: np.random.Generator) -> None:
        self.pool, self.rng = pool, rng
        self.order, self.pos = rng.permutation(pool), 0

    def take(self, n: int) -> np.ndarray:
        if self.pos + n > len(self.order):
            self.order, self.pos = self.rng.permutation(self.pool), 0
        out = self.order[self.pos : self.pos + n]
        self.pos += n
        return out


def world_size() -> int:
    """Number of data-parallel ranks: the process group's size, else torchrun's WORLD_SIZE, else 1."""
    import os

    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


class StrategyBatchSampler(DefaultBatchSampler):
    """The sentence-transformers batch sampler for a strategy (its `batch_sampler` contract).

    Pass ``functools.partial(StrategyBatchSampler, strategy=...)`` as ``batch_sampler`` in the training
    arguments. The dataset must be a pair dataset (`training.pair_dataset`): columns ``group``,
    ``query_lang`` and ``passage_lang`` (class labels) in `ParallelIndex` order. The trainer calls
    `set_epoch` at every epoch; ``batch_size`` is per rank. When first iterated, it prints the plan in one line
    (`BatchPlan.describe`, on the first rank).
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        drop_last: bool = True,
        valid_label_columns: list[str] | None = None,
        generator: torch.Generator | None = None,
        seed: int = 0,
        *,
        strategy: Strategy | str,
        num_ranks: int | None = None,
        mix_sources: bool = False,
    ) -> None:
        strategy = Strategy.parse(strategy) if isinstance(strategy, str) else strategy  # "hybrid-0.5" works too
        super().__init__(
            dataset, batch_size=batch_size, drop_last=drop_last, valid_label_columns=valid_label_columns,
            generator=generator, seed=seed,
        )
        self.num_ranks = num_ranks or world_size()
        self.index = index_from_pair_dataset(dataset)
        sources = group_sources(dataset, self.index) if mix_sources else None
        self.plan = BatchPlan(self.index, strategy, batch_size * self.num_ranks, seed, sources=sources)
        self.described = False

    def __len__(self) -> int:
        return self.plan.steps_per_epoch * self.num_ranks

    def __iter__(self) -> Iterator[list[int]]:
        import os

        if not self.described and os.environ.get("RANK", "0") == "0":  # the plan, once, in one's own trainer too
            print(self.plan.describe(), flush=True)
            self.described = True
        b = self.batch_size
        for batch in self.plan.epoch(self.epoch):
            rows = self.index.pair_row(batch.groups, batch.query_lang, batch.passage_lang)
            for rank in range(self.num_ranks):
                yield rows[rank * b : (rank + 1) * b].tolist()


def sampler_epoch_callback():  # noqa: ANN201 (transformers is imported here, not at module level)
    """A trainer callback that sets the epoch on the run's `StrategyBatchSampler` at each epoch's start.

    The trainer's own ``set_epoch`` reaches the sampler through one wrapper, but a multi-rank run resumed part-way
    through a later epoch wraps it in two (accelerate's ``SkipBatchSampler`` around its ``BatchSamplerShard``): the
    sampler of the fresh process would then stay at epoch 0 and replay epoch 0's batches. ``train_run`` adds it;
    add it to your own trainer (``callbacks=[sampler_epoch_callback()]``) if you train on several ranks and resume.
    """
    from transformers import TrainerCallback

    class SamplerEpoch(TrainerCallback):
        def on_epoch_begin(self, args, state, control, train_dataloader=None, **kwargs):  # noqa: ANN001, ANN003, ANN202
            """Set the sampler's epoch from the global step.

            Args:
                args: the trainer's arguments (unused).
                state: the trainer's state; its ``global_step`` gives the epoch.
                control: the trainer's control flags (unused).
                train_dataloader: the trainer's dataloader, whose batch-sampler chain holds the sampler.
                **kwargs: the trainer's other objects (unused).
            """
            sampler = train_dataloader
            for _ in range(4):  # the dataloader, then up to three batch-sampler wrappers
                sampler = getattr(sampler, "batch_sampler", None)
                if isinstance(sampler, StrategyBatchSampler):
                    # one optimizer step per global batch (gradient accumulation is not used with this sampler)
                    sampler.set_epoch(state.global_step // sampler.plan.steps_per_epoch)
                    return

    return SamplerEpoch()


def group_sources(dataset: Dataset, index: ParallelIndex) -> np.ndarray:
    """(n_groups,) source-dataset id of every group, from a pair dataset's ``source`` column."""
    if "source" not in dataset.column_names:
        raise ValueError("mix_sources needs a 'source' column in the pair dataset (training.pair_dataset adds it)")
    sources = np.zeros(len(index.present), dtype=np.int64)
    sources[dataset.data.column("group").to_numpy()] = dataset.data.column("source").to_numpy()
    return sources


class PairDataset(Dataset):
    """`training.pair_dataset`'s dataset: its rows read as the trainer's texts (``query``, ``positive``), and a column
    by name (``pairs["query_lang"]``) as its stored values, which the texts' transform would otherwise replace."""

    def __getitem__(self, key):  # noqa: ANN001, ANN204 (datasets' own signature)
        if isinstance(key, str):  # the stored table without the transform (no copy)
            return Dataset(self.data, info=self.info, indices_table=self._indices)[key]
        return super().__getitem__(key)


def index_from_pair_dataset(dataset: Dataset) -> ParallelIndex:
    """Rebuild the `ParallelIndex` of a pair dataset and check that its rows are in index order."""
    missing = [c for c in ("group", "query_lang", "passage_lang") if c not in dataset.column_names]
    if missing:
        raise ValueError(f"the dataset has the columns {dataset.column_names}, not a pair dataset's {missing}; build one "
                         "from rows of (pair_id, lang, query, passage) with training.pair_dataset(rows, languages, hard_negatives=False)")
    languages = tuple(dataset.features["query_lang"].names)
    if dataset._indices is not None:  # select/shuffle/filter would reorder rows: rows must be in index order
        raise ValueError("the pair dataset was reordered or filtered; build it with training.pair_dataset and pass it as is")
    groups, qlang, plang = (dataset.data.column(c).to_numpy() for c in ("group", "query_lang", "passage_lang"))
    present = np.zeros((int(groups.max()) + 1 if len(groups) else 0, len(languages)), dtype=bool)
    mono = qlang == plang
    present[groups[mono], qlang[mono]] = True
    index = ParallelIndex(present, languages)
    expected = index.pair_table()
    if not all(np.array_equal(a, b) for a, b in zip(expected, (groups, qlang, plang))):
        raise ValueError("the pair dataset's rows are not in ParallelIndex order; build it with training.pair_dataset")
    return index
