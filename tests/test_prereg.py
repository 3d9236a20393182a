"""The pre-registration check refuses an evaluation that its pre-registration does not predate."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone

import pytest

from hybridlib import prereg


def git(repo, *args, when: datetime | None = None):
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "PATH": "/usr/bin:/bin:/usr/local/bin"}
    if when:
        env |= {"GIT_AUTHOR_DATE": when.isoformat(), "GIT_COMMITTER_DATE": when.isoformat()}
    return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True).stdout


@pytest.fixture
def repo(tmp_path):
    git(tmp_path, "init", "-q")
    return tmp_path


def test_a_pre_registration_committed_before_the_evaluation_passes_and_names_its_commit(repo):
    registered = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
    (repo / "prereg.md").write_text("H1: hybrid keeps xx-mono's Mo mAP within 0.007\n")
    git(repo, "add", "prereg.md")
    git(repo, "commit", "-qm", "register", when=registered)
    result = prereg.check(repo / "prereg.md", now=registered + timedelta(hours=1))
    assert result["commit"] == git(repo, "rev-parse", "HEAD").strip()
    assert result["file"] == "prereg.md" and result["committed_at"].startswith("2026-12-07T12:00:00")


def test_a_pre_registration_newer_than_the_evaluation_fails(repo):
    registered = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
    (repo / "prereg.md").write_text("H1\n")
    git(repo, "add", "prereg.md")
    git(repo, "commit", "-qm", "register", when=registered)
    with pytest.raises(ValueError, match="after this evaluation started"):
        prereg.check(repo / "prereg.md", now=registered - timedelta(minutes=5))


def test_an_uncommitted_or_edited_pre_registration_fails(repo):
    (repo / "prereg.md").write_text("H1\n")
    with pytest.raises(ValueError, match="not committed"):
        prereg.check(repo / "prereg.md")
    git(repo, "add", "prereg.md")
    git(repo, "commit", "-qm", "register")
    (repo / "prereg.md").write_text("H1, with another margin\n")
    with pytest.raises(ValueError, match="changed since its commit"):
        prereg.check(repo / "prereg.md")
    with pytest.raises(ValueError, match="does not exist"):
        prereg.check(repo / "missing.md")
