"""Real git repositories in temporary folders, for the git, CI and pre-commit tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

# Who commits in the tests, and no user or system config leaking in.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}
# CI variables a test must not inherit from the machine running it.
CI_VARS = (
    "GITHUB_ACTIONS",
    "GITHUB_EVENT_NAME",
    "GITHUB_EVENT_PATH",
    "GITHUB_BASE_REF",
    "GITHUB_SHA",
    "GITHUB_REF_NAME",
    "GITLAB_CI",
    "CI_MERGE_REQUEST_IID",
    "CI_PIPELINE_SOURCE",
    "CI_MERGE_REQUEST_DIFF_BASE_SHA",
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
    "CI_COMMIT_BEFORE_SHA",
    "CI_COMMIT_SHA",
    "CI_DEFAULT_BRANCH",
    "CI_COMMIT_BRANCH",
    "CI_COMMIT_REF_NAME",
)


def git_env(home: Path) -> dict[str, str]:
    config = home / "gitconfig"
    if not config.exists():
        config.write_text(
            "[user]\n\tname = Test Author\n\temail = author@example.com\n[init]\n\tdefaultBranch = main\n"
        )
    return {**GIT_ENV, "GIT_CONFIG_GLOBAL": str(config), **{name: "" for name in CI_VARS}}


class Repo:
    def __init__(self, path: Path, env: dict[str, str]) -> None:
        self.path = path
        self.env = env

    def git(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run(
            ["git", *args], cwd=self.path, env={**os.environ, **self.env}, capture_output=True, text=True
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
        return proc.stdout.strip()

    def write(self, name: str, text: str | bytes) -> Path:
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text)
        return target

    def commit(self, message: str, *files: str) -> str:
        self.git("add", "--", *(files or (".",)))
        self.git("commit", "-q", "--no-verify", "-m", message)
        return self.git("rev-parse", "HEAD")

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")


def make_repo(path: Path, env: dict[str, str]) -> Repo:
    path.mkdir(parents=True, exist_ok=True)
    repo = Repo(path, env)
    repo.git("init", "-q", "-b", "main")
    return repo


def new_repo(root: Path) -> Repo:
    """An empty repository at `root/repo`, with its own git home in `root/home`."""
    home = root / "home"
    home.mkdir()
    return make_repo(root / "repo", git_env(home))


def scan_json(repo: Repo, *args: str, cwd: Path | None = None) -> tuple[int, dict[str, Any], str]:
    """`maniac-guard scan ARGS --format json` in the repository (or `cwd`):
    exit code, report, stderr. Run in-process (run_in_process: the verdict is
    the same, without ~0.3 CPU-s of start-up a call); the tests that need the
    console script itself call run_cli."""
    import json

    from tests.helpers import run_in_process

    proc = run_in_process("scan", *args, "--format", "json", cwd=cwd or repo.path, env=repo.env)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def push(repo: Repo, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """A real `git push origin ARGS` from the repository."""
    return subprocess.run(
        ["git", "push", "origin", *args],
        cwd=repo.path,
        capture_output=True,
        text=True,
        env={**os.environ, **repo.env},
        timeout=timeout,
    )


def started_repo(tmp_path: Path) -> Repo:
    """A repository with one commit (a README), its own git home, colours off."""
    repo = new_repo(tmp_path)
    repo.env["NO_COLOR"] = "1"
    repo.write("README.md", "hello\n")
    repo.commit("first")
    return repo
