"""The pre-commit tests' shared hook home: a committed snapshot of this
checkout that sample repositories name as `repo: ../snapshot`, and one
PRE_COMMIT_HOME, so pre-commit builds the hooks' environment (a pip install,
~8 CPU-seconds) once per session.

The fixture lives here and is registered by conftest.py only: a test module
that defined or imported it would register a second session fixture of the
same name, and its tests would build a second environment
(tests/test_xdist_groups.py checks no test module holds a session fixture).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.gitrepo import Repo, git_env, make_repo
from tests.helpers import console_script

ROOT = Path(__file__).resolve().parent.parent
# The hooks pre-commit hands file names to, and the one it does not (pre-push).
FILE_HOOK_IDS = ("maniac-guard", "maniac-guard-fix", "maniac-guard-policy", "maniac-guard-commit-msg")
HOOK_IDS = (*FILE_HOOK_IDS, "maniac-guard-pre-push")


@dataclass
class HookRepo:
    base: Path  # holds the snapshot and every sample repo, so `../snapshot` is stable
    rev: str
    env: dict[str, str]
    count: int = 0

    def sample(self) -> Repo:
        self.count += 1
        return make_repo(self.base / f"sample{self.count}", self.env)

    def configured(self, **scan_hook: object) -> Repo:
        """A sample repository whose config lists this repo's three hooks
        (`scan_hook`: keys set on the maniac-guard hook, e.g. its args)."""
        repo = self.sample()
        hooks = [{"id": hook, **(scan_hook if hook == "maniac-guard" else {})} for hook in HOOK_IDS]
        config = {"repos": [{"repo": "../snapshot", "rev": self.rev, "hooks": hooks}]}
        repo.write(".pre-commit-config.yaml", yaml.safe_dump(config))
        repo.commit("config", ".pre-commit-config.yaml")
        return repo


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HookRepo]:
    base = tmp_path_factory.mktemp("precommit")
    home = base / "home"
    home.mkdir()
    env = {**git_env(home), "PRE_COMMIT_HOME": str(base / "cache"), "NO_COLOR": "1", "PRE_COMMIT_COLOR": "never"}
    snapshot = make_repo(base / "snapshot", env)
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            target = snapshot.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    yield HookRepo(base, snapshot.commit("snapshot"), env)


def pre_commit(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    exe = str(Path(console_script()).parent / "pre-commit")
    return subprocess.run(
        [exe, *args], cwd=repo.path, env={**os.environ, **repo.env}, capture_output=True, text=True, timeout=900
    )
