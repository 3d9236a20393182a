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
CONFIG_DIR = REPO_ROOT / "configs"
TRAIN_SOURCES = ("synthetic", "squad-translate-train")
EVAL_DATASETS = ("synthetic", "xquad-r", "mlqa-r", "mtop-parallel", "mtop-intent")
SMOKE_MODEL = "smoke"  # a model source that means "build the smoke encoder in data prep"


@dataclass(frozen=True)
class ModelSpec:
    name: str  # short name used in paths and tables, e.g. "xlmr"
    source: str  # hub id, local path, or "smoke"
    revision: str | None = None


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
    eval_precision: str = "auto"  # GPU evaluation: bf16/fp16 autocast matmuls (encoder.encode); fp32 on CPU
    n_boot: int = 1000
    synthetic: dict = field(default_factory=dict)  # WorldSpec overrides
    sweeps: tuple[tuple[str, tuple[Strategy, ...]], ...] = ()  # extra (model name, strategies) runs
    mirror: str | None = None  # download mirror (see hybridlib.download), or None
    path: str | None = None  # the YAML it was read from (so torchrun workers can read it again)

    def runs(self) -> list[RunSpec]:
        """Every run of the grid; off-the-shelf once per model (it has no seed)."""
        runs = []
        grid = [(m, self.strategies) for m in self.models]
        grid += [(self.model(name), strategies) for name, strategies in self.sweeps]
        seen = set()
        for model, strategies in grid:
            for strategy in strategies:
                seeds = self.seeds[:1] if not strategy.trains else self.seeds
                for seed in seeds:
                    run = RunSpec(model, strategy, seed)
                    if run.key not in seen:
                        seen.add(run.key)
                        runs.append(run)
        return runs

    def model(self, name: str) -> ModelSpec:
        for m in self.models:
            if m.name == name:
                return m
        raise ValueError(f"profile {self.name}: unknown model {name!r}; models are {[m.name for m in self.models]}")


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


def profile_from_dict(raw: dict, path: str | None = None) -> Profile:
    known = {"name", "description", "data", "models", "strategies", "seeds", "train", "eval", "synthetic", "sweeps", "mirror"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"unknown keys {unknown}; allowed: {sorted(known)}")
    data = raw["data"]
    if data["train"] not in TRAIN_SOURCES:
        raise ValueError(f"data.train must be one of {list(TRAIN_SOURCES)}, got {data['train']!r}")
    bad = sorted(set(data["eval"]) - set(EVAL_DATASETS))
    if bad:
        raise ValueError(f"data.eval has unknown datasets {bad}; choose from {list(EVAL_DATASETS)}")
    models = tuple(ModelSpec(name=k, source=v["source"], revision=v.get("revision")) for k, v in raw["models"].items())
    strategies = tuple(Strategy.parse(str(s)) for s in raw["strategies"])
    seeds = tuple(int(s) for s in raw["seeds"])
    if not seeds:
        raise ValueError("seeds must list at least one seed")
    sweeps = tuple((s["model"], tuple(Strategy.parse(str(x)) for x in s["strategies"])) for s in raw.get("sweeps") or [])
    evaluation = raw.get("eval") or {}
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
        train=TrainSettings(**raw["train"]),
        eval_batch_size=int(evaluation.get("batch_size", 128)),
        eval_precision=str(evaluation.get("precision", "auto")),
        n_boot=int(evaluation.get("n_boot", 1000)),
        synthetic=dict(raw.get("synthetic") or {}),
        sweeps=sweeps,
        mirror=raw.get("mirror"),
        path=path,
    )
    for name, _ in sweeps:
        profile.model(name)
    return profile
