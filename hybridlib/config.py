"""Profiles: one YAML file per profile (`configs/NAME.yaml`), validated into a frozen `Profile`.

A profile names the data, the models, the grid of (strategy, seed) runs and the shared training settings.
Every run of a profile trains with the same steps, batch, learning rate and data: only the strategy varies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from hybridlib.encoder import PRECISIONS
from hybridlib.samplers import Strategy
from hybridlib.training import TrainSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
# the shipped profiles: configs/ in a checkout (editable install), hybridlib/configs/ inside an installed package
CONFIG_DIR = next((d for d in (Path(__file__).resolve().parent / "configs", REPO_ROOT / "configs") if d.is_dir()), REPO_ROOT / "configs")


def default_home() -> Path:
    """Where data/, results/ and figures/ go without HYBRIDLIB_HOME: the checkout, or for an installed package the
    current folder."""
    return REPO_ROOT if (REPO_ROOT / "pyproject.toml").is_file() else Path.cwd()


TRAIN_SOURCES = ("synthetic", "squad-translate-train", "xquad-r-train")
MTOP_SOURCES = ("release", "xsemplr")  # the MTOP zip, or XSemPLR's parallel subset (`mtop.XSemPLR`)
EVAL_DATASETS = ("synthetic", "xquad-r", "mlqa-r", "mtop-parallel", "mtop-intent")
SMOKE_MODEL = "smoke"  # a model source that means "build the smoke encoder in data prep"
MODEL_SIZES = ("smoke", "small", "base")


@dataclass(frozen=True)
class ModelSpec:
    name: str  # short name used in paths and tables, e.g. "xlmr"
    source: str  # hub id, local path, or "smoke"
    revision: str | None = None
    size: str = "base"  # smoke, small or base: picks the step time `pipeline.training_seconds` estimates with
    folder: str | None = None  # a local copy to load instead of `source` (`model_folder_variable`); not in run configs
    steps: int | None = None  # a training budget of its own (the profile's `budgets`); None: the profile's train.steps

    @property
    def load_from(self) -> tuple[str, str | None]:
        """(what to load, its hub revision): the local folder where one is given, else the source at its revision."""
        return (self.folder, None) if self.folder else (self.source, self.revision)


def model_folder_variable(name: str) -> str:
    """The environment variable that points model `name` at a local folder instead of its hub id:
    ``HYBRIDLIB_MODEL_<NAME>`` (upper case, ``-`` as ``_``), e.g. ``HYBRIDLIB_MODEL_ME5=/models/me5``."""
    return "HYBRIDLIB_MODEL_" + name.upper().replace("-", "_")


def _model_spec(name: str, entry: dict) -> ModelSpec:
    """A profile's model entry, with its source replaced by a local folder where `model_folder_variable` is set."""
    import os

    unknown = sorted(set(entry) - {"source", "revision", "size"})
    if unknown:
        raise ValueError(f"models.{name} has unknown keys {unknown}; allowed: ['revision', 'size', 'source']")
    folder = os.environ.get(model_folder_variable(name)) or None
    if folder:
        if not (Path(folder) / "config.json").is_file():
            raise ValueError(f"{model_folder_variable(name)}={folder}: not a model folder (no config.json); "
                             f"point it at a transformers or sentence-transformers checkpoint folder")
        folder = str(Path(folder).resolve())
    size = "smoke" if entry["source"] == SMOKE_MODEL else entry.get("size", "base")
    if size not in MODEL_SIZES:
        raise ValueError(f"models.{name}.size must be one of {list(MODEL_SIZES)}, got {size!r}")
    return ModelSpec(name=name, source=entry["source"], revision=entry.get("revision"), size=size, folder=folder)


@dataclass(frozen=True)
class RunSpec:
    """One cell of the grid: a model fine-tuned (or not) with one strategy and seed."""

    model: ModelSpec
    strategy: Strategy
    seed: int

    @property
    def key(self) -> str:
        return f"{self.model.name}/{self.strategy.label}/seed{self.seed}"


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    train_source: str
    train_languages: tuple[str, ...]
    eval_datasets: tuple[str, ...]
    models: tuple[ModelSpec, ...]
    strategies: tuple[Strategy, ...]
    seeds: tuple[int, ...]
    train: TrainSettings
    eval_batch_size: int = 128
    eval_precision: str = "auto"  # bf16/fp16 autocast matmuls on a GPU (encoder.encode); fp32 on a CPU unless "bf16"
    eval_chunk: int = 0  # texts per forward pass within an evaluation batch (encoder.embed_chunked); 0: the whole batch
    eval_pad_multiple: int = 1  # each forward pass's length rounded up to a multiple of this (encoder.embed_chunked)
    n_boot: int = 1000
    held_out_every: int = 0  # xquad-r-train: XQuAD-R articles 0, k, 2k, ... are held out for evaluation (lareqa)
    passage_context: bool = True  # passages and candidates carry their paragraph (LAReQA); False: sentence alone
    mtop_source: str = "release"  # MTOP_SOURCES
    mtop_max_items: int = 0  # xsemplr: the first N items of each split (0: all)
    mlqa_every: int = 0  # mlqa-r: the questions of every N-th English article (`lareqa.subset_ids`; 0: all)
    synthetic: dict = field(default_factory=dict)  # WorldSpec overrides
    sweeps: tuple[tuple[str, tuple[Strategy, ...]], ...] = ()  # extra (model name, strategies) runs
    one_seed: tuple[str, ...] = ()  # strategy labels trained with the first seed only (a budget's choice)
    # extra training budgets: (steps, strategies) each; every model is trained again for `steps` steps under the
    # name `budget_name` (its own folders and table rows), with the same batch, data and seeds
    budgets: tuple[tuple[int, tuple[Strategy, ...]], ...] = ()
    mirror: str | None = None  # download mirror (see hybridlib.download), or None
    prereg: str | None = None  # a confirmatory profile's pre-registration, relative to the repository (hybridlib.prereg)
    # non-inferiority margins δ for the "keeps" claims (each profile says when it was set): {"map": δ, "rank_distance_per1k": δ}
    margins: dict = field(default_factory=dict)
    path: str | None = None  # the YAML it was read from (so torchrun workers can read it again)

    def runs(self) -> list[RunSpec]:
        """Every run of the grid; off-the-shelf once per model (it has no seed)."""
        runs = []
        grid = [(m, self.strategies) for m in self.models]
        grid += [(self.model(name), strategies) for name, strategies in self.sweeps]
        grid += [(budget_model(m, steps), strategies) for steps, strategies in self.budgets for m in self.models]
        seen = set()
        for model, strategies in grid:
            for strategy in strategies:
                seeds = self.seeds[:1] if not strategy.trains or strategy.label in self.one_seed else self.seeds
                for seed in seeds:
                    run = RunSpec(model, strategy, seed)
                    if run.key not in seen:
                        seen.add(run.key)
                        runs.append(run)
        return runs

    def settings(self, run: RunSpec) -> TrainSettings:
        """The training settings of one run: the profile's, with its model's own budget of steps where it has one."""
        import dataclasses

        return dataclasses.replace(self.train, steps=run.model.steps) if run.model.steps else self.train

    def model(self, name: str) -> ModelSpec:
        for m in (*self.models, *(budget_model(m, steps) for steps, _ in self.budgets for m in self.models)):
            if m.name == name:
                return m
        raise ValueError(f"profile {self.name}: unknown model {name!r}; models are {[m.name for m in self.models]}")


def budget_name(model: str, steps: int) -> str:
    """The name of a model trained at another budget of steps, e.g. ``me5-240steps``."""
    return f"{model}-{steps}steps"


def budget_model(model: ModelSpec, steps: int) -> ModelSpec:
    """`model` trained for `steps` steps: the same weights and source under `budget_name`."""
    import dataclasses

    return dataclasses.replace(model, name=budget_name(model.name, steps), steps=steps)


def load_profile(name_or_path: str | Path, **overrides: object) -> Profile:
    """Read `configs/NAME.yaml` (or a path) and validate it; `overrides` replace top-level keys."""
    path = Path(name_or_path)
    if not path.suffix:
        path = CONFIG_DIR / f"{name_or_path}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))
        raise FileNotFoundError(f"{path}: no such profile; choose one of {known} or pass a YAML path")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML ({e})") from e
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return profile_from_dict(raw, path=str(path.resolve()))
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path}: {e}") from e


TOP_KEYS = ("name", "description", "data", "models", "strategies", "seeds", "one_seed", "train", "eval", "synthetic", "sweeps", "budgets", "margins", "mirror", "prereg")
EVAL_KEYS = ("batch_size", "precision", "n_boot", "chunk", "pad_multiple")


def check_keys(section: str, given: dict, allowed: tuple[str, ...] | list[str], required: tuple[str, ...] = ()) -> None:
    """Raise ValueError naming the first unknown key of a profile section (with the closest allowed name) or the
    first missing required one.

    Args:
        section: where the keys are, for the message (``train``, ``data``, ``the profile``).
        given: the section as read from the YAML.
        allowed: every key the section may hold.
        required: the keys it must hold.
    """
    import difflib

    if not isinstance(given, dict):
        raise ValueError(f"{section} must be a mapping of keys to values, got {type(given).__name__} {given!r}")
    for key in given:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(f"unknown key {key!r} in {section}; {hint}allowed: {sorted(allowed)}")
    missing = [key for key in required if key not in given]
    if missing:
        raise ValueError(f"{section} lacks {missing[0]!r}; required: {list(required)}")


def _typed(section: str, values: dict, types: dict[str, type]) -> dict:
    """`values`, each known key checked against its type (an int passes for a float; a bool never for a number)."""
    for key, value in values.items():
        want = types.get(key)
        if want is None or value is None:
            continue
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        ok = isinstance(value, want) if want in (bool, str) else number and (want is float or isinstance(value, int))
        if not ok:
            raise ValueError(f"{section}.{key} must be {want.__name__}, got {type(value).__name__} {value!r}")
    return values


def _train_settings(raw: dict) -> TrainSettings:
    import dataclasses
    import typing

    fields = {f.name: f for f in dataclasses.fields(TrainSettings)}
    check_keys("train", raw, list(fields), required=("steps", "batch_size"))
    hints = typing.get_type_hints(TrainSettings)
    types = {name: hint for name, hint in hints.items() if hint in (int, float, bool, str)}
    return TrainSettings(**_typed("train", raw, types))


def profile_from_dict(raw: dict, path: str | None = None) -> Profile:
    """Validate a profile's YAML mapping into a `Profile`; the first mistake raises ValueError in one line."""
    check_keys("the profile", raw, TOP_KEYS, required=("name", "data", "models", "strategies", "seeds", "train"))
    data = raw["data"]
    check_keys("data", data, ("train", "train_languages", "eval", "held_out_every", "passage_context", "mtop_source", "mtop_max_items", "mlqa_every"),
               required=("train", "train_languages", "eval"))
    if data["train"] not in TRAIN_SOURCES:
        raise ValueError(f"data.train must be one of {list(TRAIN_SOURCES)}, got {data['train']!r}")
    bad = sorted(set(data["eval"]) - set(EVAL_DATASETS))
    if bad:
        raise ValueError(f"data.eval has unknown datasets {bad}; choose from {list(EVAL_DATASETS)}")
    _check_languages(data)
    split = _data_split(data)
    if not isinstance(raw["models"], dict) or not raw["models"]:
        raise ValueError("models must name at least one model: models: {NAME: {source: HUB_ID_OR_FOLDER}}")
    models = tuple(_model_spec(k, v) for k, v in raw["models"].items())
    if not raw["strategies"]:
        raise ValueError("strategies must list at least one strategy (off-the-shelf, en, xx-mixed, xx-mono, xy, hybrid-ALPHA)")
    strategies = tuple(Strategy.parse(str(s)) for s in raw["strategies"])
    if not isinstance(raw["seeds"], list) or not raw["seeds"]:
        raise ValueError(f"seeds must list at least one seed, e.g. [0, 1, 2]; got {raw['seeds']!r}")
    if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in raw["seeds"]):
        raise ValueError(f"seeds must be integers >= 0, got {raw['seeds']!r}")
    seeds = tuple(raw["seeds"])
    one_seed = tuple(Strategy.parse(str(s)).label for s in raw.get("one_seed") or [])
    sweeps = tuple((s["model"], tuple(Strategy.parse(str(x)) for x in s["strategies"])) for s in raw.get("sweeps") or [])
    budgets = tuple(_budget(b) for b in raw.get("budgets") or [])
    trained = {s.label for s in strategies} | {s.label for _, group in (*sweeps, *budgets) for s in group}
    stray = sorted(set(one_seed) - trained)
    if stray:
        raise ValueError(f"one_seed names {stray}, which are not among the strategies {sorted(trained)}")
    evaluation = _typed("eval", raw.get("eval") or {}, {"batch_size": int, "precision": str, "n_boot": int})
    check_keys("eval", evaluation, EVAL_KEYS)
    if evaluation.get("batch_size", 1) < 1 or evaluation.get("n_boot", 1) < 1:
        raise ValueError(f"eval.batch_size and eval.n_boot must be >= 1, got {evaluation}")
    if evaluation.get("precision", "auto") not in PRECISIONS:
        raise ValueError(f"eval.precision must be one of {list(PRECISIONS)}, got {evaluation['precision']!r}")
    profile = Profile(
        name=raw["name"],
        description=raw.get("description", ""),
        train_source=data["train"],
        train_languages=tuple(data["train_languages"]),
        eval_datasets=tuple(data["eval"]),
        models=models,
        strategies=strategies,
        seeds=seeds,
        train=_train_settings(raw["train"]),
        eval_batch_size=int(evaluation.get("batch_size", 128)),
        eval_precision=str(evaluation.get("precision", "auto")),
        eval_chunk=int(evaluation.get("chunk", 0)),
        eval_pad_multiple=int(evaluation.get("pad_multiple", 1)),
        n_boot=int(evaluation.get("n_boot", 1000)),
        **split,
        synthetic=dict(raw.get("synthetic") or {}),
        sweeps=sweeps,
        budgets=budgets,
        one_seed=one_seed,
        mirror=raw.get("mirror"),
        prereg=raw.get("prereg"),
        margins=_margins(raw.get("margins") or {}),
        path=path,
    )
    for name, _ in sweeps:
        profile.model(name)
    return profile


MARGIN_KEYS = ("map", "rank_distance_per1k")


def _margins(raw: object) -> dict[str, float]:
    """The profile's `margins` section, checked: δ > 0 for mAP and for rank distance per 1,000 candidates."""
    check_keys("margins", raw, MARGIN_KEYS)
    for key, value in raw.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
            raise ValueError(f"margins.{key} must be a number > 0 (the loss hybrid may have and still keep the strength), got {value!r}")
    return {key: float(value) for key, value in raw.items()}


def _budget(entry: object) -> tuple[int, tuple[Strategy, ...]]:
    """One `budgets` entry, ``{steps: N, strategies: [...]}``, checked."""
    check_keys("budgets entry", entry, ("steps", "strategies"), required=("steps", "strategies"))
    steps = entry["steps"]
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"budgets: steps must be an integer >= 1, got {steps!r}")
    strategies = tuple(Strategy.parse(str(s)) for s in entry["strategies"] or [])
    if not strategies or not all(s.trains for s in strategies):
        raise ValueError(f"budgets: steps {steps} must list strategies that train (off-the-shelf has no budget), got {entry['strategies']!r}")
    return steps, strategies


# The languages each training source has (the synthetic world's: `synthetic.WorldSpec`'s default)
TRAIN_SOURCE_LANGUAGES = {
    "squad-translate-train": ("ar", "de", "en", "es", "hi", "ru", "th", "tr", "zh"),
    "xquad-r-train": ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"),
}


def _check_languages(data: dict) -> None:
    languages = data["train_languages"]
    if not isinstance(languages, list) or not languages:
        raise ValueError(f"data.train_languages must list at least one language, got {languages!r}")
    have = TRAIN_SOURCE_LANGUAGES.get(data["train"])
    outside = [lang for lang in languages if have and lang not in have]
    if outside:
        raise ValueError(f"data.train_languages has {outside}, which {data['train']} does not have; it has {list(have)}")
    if not isinstance(data["eval"], list) or not data["eval"]:
        raise ValueError(f"data.eval must list at least one dataset from {list(EVAL_DATASETS)}, got {data['eval']!r}")


def _data_split(data: dict) -> dict:
    """The data keys beyond train/eval/languages, checked: the XQuAD-R article split, passage context, MTOP source."""
    every = int(data.get("held_out_every", 3 if data["train"] == "xquad-r-train" else 0))
    if data["train"] == "xquad-r-train" and every < 2:
        raise ValueError(f"data.held_out_every must be >= 2 with xquad-r-train (1 would hold out every article), got {every}")
    if data["train"] != "xquad-r-train" and every:
        raise ValueError("data.held_out_every applies to data.train: xquad-r-train only")
    mtop_source = data.get("mtop_source", "release")
    if mtop_source not in MTOP_SOURCES:
        raise ValueError(f"data.mtop_source must be one of {list(MTOP_SOURCES)}, got {mtop_source!r}")
    max_items = int(data.get("mtop_max_items", 0))
    if max_items < 0 or (max_items and mtop_source != "xsemplr"):
        raise ValueError(f"data.mtop_max_items must be >= 0 and applies to mtop_source: xsemplr only, got {max_items}")
    mlqa_every = data.get("mlqa_every", 0)
    if not isinstance(mlqa_every, int) or isinstance(mlqa_every, bool) or mlqa_every < 0:
        raise ValueError(f"data.mlqa_every must be an integer >= 0 (0: all of MLQA-R), got {mlqa_every!r}")
    if mlqa_every and "mlqa-r" not in data["eval"]:
        raise ValueError("data.mlqa_every applies only when data.eval lists mlqa-r")
    return {"held_out_every": every, "passage_context": bool(data.get("passage_context", True)),
            "mtop_source": mtop_source, "mtop_max_items": max_items, "mlqa_every": mlqa_every}
