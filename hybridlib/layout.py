"""Where a profile's files live: ``data/<profile>/``, ``results/<profile>/`` and ``figures/<profile>/`` under one root
(``HYBRIDLIB_HOME``, else the repository, or the current folder for an installed package). `pipeline`'s docstring draws the whole tree."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hybridlib.config import Profile, RunSpec, default_home


@dataclass(frozen=True)
class Paths:
    root: Path
    profile: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))  # a str root works too

    @classmethod
    def for_profile(cls, profile: Profile, root: str | Path | None = None) -> Paths:
        return cls(Path(root or os.environ.get("HYBRIDLIB_HOME") or default_home()), profile.name)

    @property
    def data(self) -> Path:
        return self.root / "data" / self.profile

    @property
    def results(self) -> Path:
        return self.root / "results" / self.profile

    @property
    def figures(self) -> Path:
        return self.root / "figures" / self.profile

    def run_dir(self, run: RunSpec) -> Path:
        return self.results / "runs" / run.model.name / run.strategy.label / f"seed{run.seed}"

    def eval_dir(self, dataset: str, run: RunSpec) -> Path:
        return self.results / "eval" / dataset / run.model.name / run.strategy.label / f"seed{run.seed}"
