"""pre-receive's time budget ends the work cleanly wherever it runs out
(issue 22, item 19): before, SIGALRM raised inside whatever Python was
doing, and inside a class definition that became `internal error:
RuntimeError: Error calling __set_name__`, rejecting a push that
`--on-timeout accept` should have let through."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from maniac_guard.config import Settings
from tests.gitrepo import git_env, make_repo


class _Descriptor:
    """A descriptor whose `__set_name__` takes a while, as a cached_property's
    or an ORM field's can: class creation spends its time here."""

    def __set_name__(self, owner: type, name: str) -> None:
        end = time.monotonic() + 0.005
        while time.monotonic() < end:
            pass


def _defining_classes_for(seconds: float) -> None:
    """Work that is class definitions: where the alarm used to land."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        type("Made", (), {f"attribute{i}": _Descriptor() for i in range(20)})


@pytest.fixture
def unpushed(tmp_path: Path) -> tuple[Path, str]:
    """A repository and a commit no ref holds yet (what a push brings)."""
    home = tmp_path / "home"
    home.mkdir()
    repo = make_repo(tmp_path / "repo", git_env(home))
    repo.write("README.md", "hello\n")
    repo.commit("first")
    repo.write("a.txt", "clean\n")
    repo.git("add", "a.txt")
    tree = repo.git("write-tree")
    commit = repo.git("commit-tree", tree, "-p", "HEAD", "-m", "pushed")
    return repo.path, commit


def test_a_budget_that_runs_out_inside_any_code_accepts_as_configured(
    unpushed: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from maniac_guard import history
    from maniac_guard.commands import pre_receive

    root, commit = unpushed
    real = history.scan_revisions

    def slow_scan(git_dir: str, revs: Sequence[str], settings: Settings, *args: Any, **kwargs: Any) -> Any:
        _defining_classes_for(0.4)
        return real(git_dir, revs, settings, *args, **kwargs)

    monkeypatch.setattr(history, "scan_revisions", slow_scan)
    monkeypatch.setattr(pre_receive, "MIN_GRACE", 60.0, raising=False)  # the watchdog stays out of this test
    monkeypatch.chdir(root)
    for _ in range(5):  # the alarm used to land in a class definition nearly every time
        code = pre_receive.run_pre_receive(
            f"{'0' * 40} {commit} refs/heads/feature\n", Settings(), timeout=0.05, on_timeout="accept"
        )
        assert code == pre_receive.EXIT_ACCEPT
        assert "the push is ACCEPTED without a complete scan" in capsys.readouterr().err


def test_the_watchdog_gives_the_timeout_verdict_when_the_work_does_not_stop(
    unpushed: tuple[Path, str], tmp_path: Path
) -> None:
    """A scan stuck where it cannot check the deadline (here: a git that
    never answers) is ended by the watchdog with the configured verdict."""
    import os
    import subprocess
    import sys

    root, commit = unpushed
    fake_git = tmp_path / "bin" / "git"
    fake_git.parent.mkdir()
    fake_git.write_text(
        f'#!/bin/sh\ncase "$*" in *" log "*) exec 2>/dev/null; sleep 30 >/dev/null;; esac\nexec {_real_git()} "$@"\n'
    )
    fake_git.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake_git.parent}{os.pathsep}{os.environ['PATH']}"}
    for on_timeout, expected in (("accept", 0), ("reject", 2)):
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "maniac_guard", "pre-receive", "--timeout", "0.5", "--on-timeout", on_timeout],
            input=f"{'0' * 40} {commit} refs/heads/feature\n",
            capture_output=True,
            text=True,
            cwd=root,
            env=env,
            timeout=60,
        )
        assert proc.returncode == expected, proc.stderr
        assert "time budget ran out and the scan did not stop in time" in proc.stderr
        assert time.monotonic() - started < 30


def _real_git() -> str:
    import shutil

    found = shutil.which("git")
    assert found
    return found
