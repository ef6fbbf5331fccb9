"""Issue 13: what the user names on the command line is scanned, even when
git ignores it, and a submodule is scanned or named, never silently skipped."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.gitrepo import git_env, make_repo
from tests.helpers import fake_key, run_cli, run_in_process


def _paths(stdout: str) -> set[str]:
    return {f["path"] for f in json.loads(stdout)["findings"]}


def test_a_git_ignored_folder_named_on_the_command_line_is_scanned(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", git_env(tmp_path))
    repo.write(".gitignore", "dist/\n*.log\n")
    repo.write("dist/bundle.js", f'const key = "{fake_key("dist")}";\n')
    repo.write("src/app.log", f"token={fake_key('log')}\n")
    repo.commit("ignore dist")

    named = run_cli("scan", "dist/", "--format", "json", cwd=repo.path, env=repo.env)
    assert named.returncode == 1, named.stderr
    assert _paths(named.stdout) == {"dist/bundle.js"}
    assert "dist/: ignored by git; scanned because it was named" in named.stderr
    # `scan .` still honours .gitignore, and so does a folder that is not ignored itself.
    assert run_cli("scan", ".", cwd=repo.path, env=repo.env).returncode == 0
    assert run_cli("scan", "src", cwd=repo.path, env=repo.env).returncode == 0
    # A git-ignored file named on the command line is scanned too.
    assert run_cli("scan", "src/app.log", cwd=repo.path, env=repo.env).returncode == 1


def test_a_checked_out_submodule_is_scanned(tmp_path: Path) -> None:
    env = git_env(tmp_path)
    inner = make_repo(tmp_path / "inner", env)
    inner.write("settings.env", f"MANIAC_API_KEY={fake_key('submodule')}\n")
    inner.commit("inner")
    outer = make_repo(tmp_path / "outer", env)
    outer.write("README.md", "outer\n")
    outer.commit("outer")
    outer.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner.path), "vendor/inner")
    outer.commit("add submodule")

    proc = run_in_process("scan", ".", "--format", "json", cwd=outer.path, env=outer.env)
    assert proc.returncode == 1, proc.stderr
    assert _paths(proc.stdout) == {"vendor/inner/settings.env"}


def test_a_submodule_not_checked_out_is_named_on_stderr(tmp_path: Path) -> None:
    env = git_env(tmp_path)
    inner = make_repo(tmp_path / "inner", env)
    inner.write("settings.env", "nothing\n")
    inner.commit("inner")
    outer = make_repo(tmp_path / "outer", env)
    outer.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner.path), "vendor/inner")
    outer.commit("add submodule")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(outer.path), str(clone)], env={**os.environ, **env}, check=True)

    proc = run_in_process("scan", ".", cwd=clone, env=env)
    assert "vendor/inner: git submodule not checked out; not scanned" in proc.stderr
