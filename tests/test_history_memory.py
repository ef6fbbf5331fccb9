"""Memory of the git modes: a large blob is sized, never loaded whole (by us
or by git), whether it is staged or added in a commit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gitrepo import Repo, git_env, make_repo
from tests.helpers import console_script

FILE_MB = 64
# Python with our imports is ~25 MB, hyperscan's compiled hints (the history
# scan's one-pass commit filter) add ~7 MB and git its own; reading the blob
# once would add 64 MB. (56 MB was already met exactly, not passed, before.)
BUDGET_MB = 72

PEAK = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)
"""


@pytest.fixture
def big_repo(tmp_path: Path) -> Repo:
    home = tmp_path / "home"
    home.mkdir()
    repo = make_repo(tmp_path / "repo", git_env(home))
    repo.write("README", "start\n")
    repo.commit("start")
    line = b"plain text with api_key and mk- words in it, over and over again.......\n"
    with open(repo.path / "big.txt", "wb") as handle:
        handle.writelines(line for _ in range(FILE_MB * 1024 * 1024 // len(line)))
    repo.git("add", "big.txt")
    return repo


def peak_mb(repo: Repo, *args: str) -> tuple[int, int]:
    """Exit code and peak RSS (MB) of the largest process of the scan, git included."""
    out = subprocess.run(
        [sys.executable, "-c", PEAK, console_script(), "scan", *args],
        cwd=repo.path,
        env={**os.environ, **repo.env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    code, peak = out.split()
    return int(code), int(peak)


def test_a_big_staged_blob_is_not_loaded(big_repo: Repo) -> None:
    code, peak = peak_mb(big_repo, "--staged")
    assert code == 0 and peak < BUDGET_MB, peak


def test_a_big_file_added_in_a_commit_is_not_loaded(big_repo: Repo) -> None:
    big_repo.commit("big")
    code, peak = peak_mb(big_repo, "--history")
    assert code == 0 and peak < BUDGET_MB, peak
