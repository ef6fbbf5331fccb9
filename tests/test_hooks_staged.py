"""`scan --staged` and the installed hook where a key could slip through:
typos in PATHS, Git LFS pointers, file names that look like options."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.gitrepo import Repo, git_env, make_repo
from tests.helpers import fake_key, run_cli, run_in_process

LFS_ATTRIBUTES = "*.dat filter=lfs diff=lfs merge=lfs -text\n"


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    home = tmp_path / "home"
    home.mkdir()
    return make_repo(tmp_path / "repo", git_env(home))


def lfs_pointer(content: bytes) -> bytes:
    oid = hashlib.sha256(content).hexdigest()
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {len(content)}\n".encode()


def stage_lfs_file(repo: Repo, name: str, content: bytes) -> str:
    """What `git add` does for an LFS-tracked file, without git-lfs: the
    index gets the pointer; the work tree keeps the content."""
    pointer = lfs_pointer(content)
    blob = (
        subprocess.run(
            ["git", "hash-object", "-w", "--stdin"], cwd=repo.path, input=pointer, capture_output=True, check=True
        )
        .stdout.decode()
        .strip()
    )
    repo.git("update-index", "--add", "--cacheinfo", f"100644,{blob},{name}")
    repo.write(name, content)
    return hashlib.sha256(content).hexdigest()


def put_in_lfs_store(repo: Repo, content: bytes) -> None:
    oid = hashlib.sha256(content).hexdigest()
    target = repo.path / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)


def test_staged_with_a_path_that_does_not_exist_is_an_error(repo: Repo) -> None:
    repo.write("real.txt", "fine\n")
    repo.git("add", "real.txt")
    proc = run_cli("scan", "--staged", "typo.txt", cwd=repo.path, env=repo.env)
    assert proc.returncode == 2
    assert "typo.txt" in proc.stderr
    # A staged deletion is a real path, and an unstaged file is just not staged.
    repo.commit("real")
    repo.git("rm", "-q", "real.txt")
    repo.write("untracked.txt", "new\n")
    for path in ("real.txt", "untracked.txt"):
        ok = run_cli("scan", "--staged", path, cwd=repo.path, env=repo.env)
        assert ok.returncode == 0, (path, ok.stderr)


def test_staged_lfs_pointer_scans_the_work_tree_file_it_stands_for(repo: Repo) -> None:
    repo.write(".gitattributes", LFS_ATTRIBUTES)
    repo.git("add", ".gitattributes")
    content = f"api_key: {fake_key('lfs-staged')}\n".encode()
    stage_lfs_file(repo, "model.dat", content)

    proc = run_in_process("scan", "--staged", "--format", "json", cwd=repo.path, env=repo.env)
    assert proc.returncode == 1, proc.stderr
    [finding] = json.loads(proc.stdout)["findings"]
    assert finding["path"] == "model.dat"


def test_staged_lfs_pointer_whose_content_is_gone_fails_closed(repo: Repo) -> None:
    content = f"api_key: {fake_key('lfs-gone')}\n".encode()
    stage_lfs_file(repo, "model.dat", content)
    repo.write("model.dat", "edited after git add\n")

    proc = run_in_process("scan", "--staged", cwd=repo.path, env=repo.env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "model.dat" in proc.stderr and "LFS" in proc.stderr
    # The local LFS store has it (git lfs puts it there on `git add`): scanned.
    put_in_lfs_store(repo, content)
    assert run_in_process("scan", "--staged", cwd=repo.path, env=repo.env).returncode == 1


def test_history_reads_lfs_objects_it_has_and_fails_on_those_it_lacks(repo: Repo) -> None:
    present = f"api_key: {fake_key('lfs-present')}\n".encode()
    absent = f"api_key: {fake_key('lfs-absent')}\n".encode()
    repo.write(".gitattributes", LFS_ATTRIBUTES)
    repo.write("present.dat", lfs_pointer(present))
    repo.write("absent.dat", lfs_pointer(absent))
    added = repo.commit("lfs files")
    put_in_lfs_store(repo, present)

    proc = run_in_process("scan", "--history", "--format", "json", cwd=repo.path, env=repo.env)
    assert proc.returncode == 2, proc.stderr
    report = json.loads(proc.stdout)
    assert [(f["path"], f["commit"]) for f in report["findings"]] == [("present.dat", added)]
    [error] = [line for line in proc.stderr.splitlines() if "error" in line]
    assert "absent.dat" in error and added[:12] in error and hashlib.sha256(absent).hexdigest()[:12] in error
    put_in_lfs_store(repo, absent)
    assert run_in_process("scan", "--history", cwd=repo.path, env=repo.env).returncode == 1


def test_staged_pathspecs_are_literal(repo: Repo) -> None:
    repo.write("*.txt", "nothing here\n")
    repo.write("other.txt", f"{fake_key('glob')}\n")
    repo.git("add", "--", "*.txt", "other.txt")
    # The file named `*.txt` is what was asked: `other.txt` is not part of it.
    proc = run_in_process("scan", "--staged", "--format", "json", "--", "*.txt", cwd=repo.path, env=repo.env)
    assert proc.returncode == 0, proc.stdout
    assert json.loads(proc.stdout)["summary"]["files_scanned"] == 1
    assert run_in_process("scan", "--staged", "--", "other.txt", cwd=repo.path, env=repo.env).returncode == 1


def hook_commit(repo: Repo, message: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **repo.env, "PATH": "/usr/bin:/bin", "NO_COLOR": "1"}
    return subprocess.run(
        ["git", "commit", "-m", message], cwd=repo.path, env=env, capture_output=True, text=True, check=False
    )


def test_installed_hook_ends_options_so_file_names_stay_file_names(repo: Repo) -> None:
    assert run_in_process("install-hook", "--", "--fail-on", "low", cwd=repo.path, env=repo.env).returncode == 0
    text = (repo.path / ".git" / "hooks" / "pre-commit").read_text()
    runs = [line for line in text.splitlines() if "scan --staged" in line]
    assert runs and all(line.rstrip().endswith("--fail-on low --") for line in runs), runs

    # A wrapper that forwards file names to the hook cannot turn them into options.
    repo.write("--select=MG4", f"{fake_key('option-name')}\n")
    repo.write("-o", "x\n")
    repo.git("add", "--", "--select=MG4", "-o")
    blocked = hook_commit(repo, "names like options")
    assert blocked.returncode == 1, blocked.stderr
    assert "--select=MG4:1" in blocked.stdout + blocked.stderr
    proc = subprocess.run(
        ["sh", ".git/hooks/pre-commit", "--select=MG4", "-o"],
        cwd=repo.path,
        env={**os.environ, **repo.env, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert (repo.path / "-o").read_text() == "x\n"  # not overwritten by a report
