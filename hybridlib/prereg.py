"""The pre-registration check: a confirmatory profile names the file that fixed its hypotheses, tests, margins,
seeds and data before it was run (``prereg:`` in the profile), and no run of it is evaluated unless git shows that
file committed, unchanged since, and committed before the evaluation starts.

`check` is what `pipeline.evaluate_all` calls; it returns the commit that each evaluation records in its
``config.json`` (and the snapshot's MANIFEST names).
"""

from __future__ import annotations

import subprocess
from datetime import datetime, timezone
from pathlib import Path


def check(path: str | Path, *, now: datetime | None = None) -> dict[str, str]:
    """The commit that added the pre-registration at `path`, once it is shown to predate `now`.

    Args:
        path: the pre-registration file, inside a git checkout.
        now: the evaluation's start (default: the current time).

    Returns:
        ``{"file", "commit", "committed_at"}``: the file relative to the checkout, the commit that last changed it
        and that commit's time (ISO 8601, UTC).

    Raises:
        ValueError: the file is missing, not committed, changed since its commit, or committed after `now`.
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise ValueError(f"{path}: the profile's pre-registration (prereg:) does not exist; write it and commit it before evaluating")
    root = Path(_git(path.parent, "rev-parse", "--show-toplevel"))
    relative = path.relative_to(root).as_posix()
    try:
        log = _git(root, "log", "-1", "--format=%H %ct", "--", relative)
    except ValueError:  # a repository without commits
        log = ""
    if not log:
        raise ValueError(f"{relative}: the pre-registration is not committed; commit it (git add + git commit) before evaluating")
    if _git(root, "status", "--porcelain", "--", relative):
        raise ValueError(f"{relative}: the pre-registration changed since its commit; a confirmatory run is evaluated "
                         "against the committed file: restore it (git checkout -- FILE) or register anew in a new commit")
    commit, seconds = log.split()
    committed = datetime.fromtimestamp(int(seconds), tz=timezone.utc)
    now = now or datetime.now(timezone.utc)
    if committed > now:
        raise ValueError(f"{relative}: the pre-registration was committed at {committed.isoformat()}, after this evaluation "
                         f"started ({now.isoformat()}): it did not predate the evaluation, so the run is not confirmatory")
    return {"file": relative, "commit": commit, "committed_at": committed.isoformat()}


def _git(cwd: Path, *args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as e:
        raise ValueError(f"{cwd}: the pre-registration check needs a git checkout ({e}); run from a clone of the repository") from e
