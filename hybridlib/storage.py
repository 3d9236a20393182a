"""Atomic file writes: a result file either exists whole or not at all.

Every writer in hybridlib goes through these helpers, so an interrupted run never leaves a partial
`metrics.json`, `summary.csv` or model folder behind, and "the output exists" is a safe test for
"this step is done".
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for annotations only
    import numpy as np
    import pandas as pd


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path` (same suffix, so writers infer the format); rename it to `path`
    only if the block succeeds, else delete it. Every file writer in hybridlib goes through this."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix="".join(path.suffixes) or ".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise _named(e, path) from e
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _named(error: OSError, path: Path) -> OSError:
    """An OSError that names the file being written and the fix (a full disk raises one that names neither)."""
    why = error.strerror or str(error)
    return OSError(error.errno, f"{path}: not written ({why}); nothing partial was left: free space or fix the folder's "
                                "permissions, then rerun (finished steps are kept)")


def write_text(path: str | Path, text: str) -> None:
    """Write `text` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, obj: Any) -> None:
    """Write `obj` as indented, key-sorted JSON, atomically."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def read_json(path: str | Path) -> Any:
    """Read a JSON file; a broken file raises ValueError naming it and the fix."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e}); delete it and rerun the step that writes it") from e


def write_jsonl(path: str | Path, rows: list[dict[str, Any]]) -> None:
    """Write one JSON object per line, atomically."""
    write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSON-lines file; a malformed line raises ValueError naming the file and line."""
    path = Path(path)
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{n}: not a JSON object ({e}); regenerate the file") from e
    return rows


def write_npy(path: str | Path, array: np.ndarray) -> None:
    """Save a numpy array to `path` (.npy) atomically."""
    import numpy as np

    with atomic_path(path) as tmp:
        np.save(tmp, array)


def write_csv_gz(path: str | Path, frame: pd.DataFrame) -> None:
    """Write a pandas frame as gzip-compressed CSV, atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, compression="gzip")


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling folder that is renamed to `path` only if the block succeeds.

    An existing `path` is replaced. On error the temporary folder is removed, so `path` either holds a
    complete output or is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _named(e, path) from e
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


LOCK_NAME = ".hybridlib.lock"


@contextmanager
def home_lock(root: str | Path) -> Iterator[None]:
    """Hold ``<root>/.hybridlib.lock`` while a stage writes under `root`, so that two runs never interleave their
    writes: a second process stops at once with a message naming the first. The lock is the operating system's
    (``flock``), so it is released when its process ends, however it ends; the file itself stays behind, harmless.
    Re-entrant within a process. `run_all.sh` takes the same lock for its whole life and sets
    ``HYBRIDLIB_HOME_LOCKED`` for its notebooks, which then take none; neither do torchrun's workers (``LOCAL_RANK``
    set), whose launcher holds it.

    Raises:
        RuntimeError: another process holds the lock.
    """
    import fcntl
    import sys

    root = Path(root)
    key = str(root.resolve())
    held_by_parent = os.environ.get("HYBRIDLIB_HOME_LOCKED") == key  # run_all.sh holds it for its whole life
    if key in _HELD or held_by_parent or "LOCAL_RANK" in os.environ:  # or a stage inside a stage, a torchrun worker
        yield
        return
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK_NAME
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held open for the lock's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise RuntimeError(f"{root}: in use by {holder}; wait for it to finish (or stop it), or set HYBRIDLIB_HOME to "
                           "another folder") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()} ({' '.join(sys.argv)[:120]})")
    handle.flush()
    _HELD.add(key)
    try:
        yield
    finally:
        _HELD.discard(key)
        handle.close()  # releases the lock


_HELD: set[str] = set()
