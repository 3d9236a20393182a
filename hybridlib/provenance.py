"""What every result file records about how it was made: versions, git commit, device."""

from __future__ import annotations

import functools
import hashlib
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from hybridlib.config import REPO_ROOT
from hybridlib.encoder import WEIGHT_FILES

PACKAGES = ("torch", "transformers", "sentence-transformers", "datasets", "tokenizers", "accelerate", "numpy", "scikit-learn", "faiss-cpu")


def git_commit() -> str:
    """HEAD's sha, with '+dirty' when tracked files differ from it; 'unknown' outside a git checkout."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def device_name() -> str:
    import torch

    if torch.cuda.is_available():
        return f"cuda x{torch.cuda.device_count()}: {torch.cuda.get_device_name(0)}"
    return f"cpu ({cpu_model()}, {torch.get_num_threads()} threads)"


# the CPU features that pick the bf16 kernels a CPU run computes with (AVX-512 BF16, AMX): runs on CPUs that differ
# in them agree only within a tolerance, not to every digit (docs/speed.md)
KERNEL_FLAGS = ("avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo on Linux), else the platform's processor string."""
    for line in _cpuinfo():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def cpu_flags() -> list[str]:
    """Which of `KERNEL_FLAGS` this CPU has ([] where /proc/cpuinfo cannot be read)."""
    for line in _cpuinfo():
        if line.startswith("flags"):
            have = set(line.split(":", 1)[1].split())
            return [flag for flag in KERNEL_FLAGS if flag in have]
    return []


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def environment() -> dict:
    """Versions of Python and the packages that shape the numbers, the git commit, the device and the CPU (model
    and bf16 kernel features: a CPU run's last digits depend on them)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": platform.python_version(), "packages": versions, "git": git_commit(), "device": device_name(),
            "cpu": {"model": cpu_model(), "flags": cpu_flags()}}


def folder_weights(folder: str | Path) -> dict:
    """``{"file", "sha256"}`` of a local model folder's weights: what identifies weights that have no hub commit.

    Raises:
        ValueError: the folder holds no weights file.
    """
    folder = Path(folder)
    path = next((folder / name for name in WEIGHT_FILES if (folder / name).is_file()), None)
    if path is None:
        raise ValueError(f"{folder}: no weights ({' or '.join(WEIGHT_FILES)}); build or download the model folder again")
    stat = path.stat()
    return {"file": path.name, "sha256": _sha256(str(path), stat.st_size, stat.st_mtime_ns)}


@functools.lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime_ns: int) -> str:  # size and mtime: a rewritten file is hashed again
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
