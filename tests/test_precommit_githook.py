"""`maniac-guard install-hook`: a plain git pre-commit hook running `scan --staged`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.gitrepo import Repo, git_env, make_repo
from tests.helpers import fake_key, run_cli


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    home = tmp_path / "home"
    home.mkdir()
    return make_repo(tmp_path / "repo", git_env(home))


def commit(repo: Repo, message: str) -> subprocess.CompletedProcess[str]:
    # A real `git commit`, hooks enabled; PATH without our venv proves the
    # hook finds maniac-guard through the interpreter it recorded.
    env = {**os.environ, **repo.env, "PATH": "/usr/bin:/bin", "NO_COLOR": "1"}
    return subprocess.run(["git", "commit", "-m", message], cwd=repo.path, env=env, capture_output=True, text=True)


def test_installed_hook_blocks_a_staged_key_and_passes_a_clean_commit(repo: Repo) -> None:
    proc = run_cli("install-hook", cwd=repo.path, env=repo.env)
    assert proc.returncode == 0, proc.stderr
    hook = repo.path / ".git" / "hooks" / "pre-commit"
    assert os.access(hook, os.X_OK)

    key = fake_key("hook")
    repo.write("settings.py", f"KEY = '{key}'\n")
    repo.git("add", "settings.py")
    blocked = commit(repo, "leak")
    assert blocked.returncode == 1
    shown = blocked.stdout + blocked.stderr  # git sends a hook's stdout to stderr
    assert "settings.py:1" in shown and "MG101" in shown
    assert key not in blocked.stdout + blocked.stderr
    assert repo.git("rev-parse", "--verify", "-q", "HEAD", check=False) == ""

    repo.write("settings.py", "import os\nKEY = os.environ['MANIAC_API_KEY']\n")
    repo.git("add", "settings.py")
    assert commit(repo, "clean").returncode == 0


def test_hook_checks_the_index_not_the_work_tree(repo: Repo) -> None:
    run_cli("install-hook", cwd=repo.path, env=repo.env)
    repo.write("a.txt", f"{fake_key('index')}\n")
    repo.git("add", "a.txt")
    repo.write("a.txt", "cleaned but not staged\n")
    assert commit(repo, "still leaks").returncode == 1


def test_install_hook_refuses_a_foreign_hook_unless_forced(repo: Repo) -> None:
    hook = repo.path / ".git" / "hooks" / "pre-commit"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text("#!/bin/sh\necho mine\n")

    refused = run_cli("install-hook", cwd=repo.path, env=repo.env)
    assert refused.returncode == 2
    assert "--force" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert hook.read_text() == "#!/bin/sh\necho mine\n"

    forced = run_cli("install-hook", "--force", cwd=repo.path, env=repo.env)
    assert forced.returncode == 0
    assert (hook.parent / "pre-commit.orig").read_text() == "#!/bin/sh\necho mine\n"
    assert "scan --staged" in hook.read_text()
    # Reinstalling over our own hook needs no --force.
    assert run_cli("install-hook", cwd=repo.path, env=repo.env).returncode == 0


def test_install_hook_honours_core_hookspath_and_passes_extra_args(repo: Repo) -> None:
    repo.git("config", "core.hooksPath", "githooks")
    proc = run_cli("install-hook", "--", "--fail-on", "high", cwd=repo.path, env=repo.env)
    assert proc.returncode == 0, proc.stderr
    text = (repo.path / "githooks" / "pre-commit").read_text()
    assert "scan --staged --fail-on high" in text


def test_install_hook_outside_git_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_cli("install-hook", cwd=tmp_path, env={"GIT_CEILING_DIRECTORIES": str(tmp_path.parent)})
    assert proc.returncode == 2 and "not inside a git repository" in proc.stderr
