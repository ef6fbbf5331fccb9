from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Let tests import `tests.helpers` whatever the rootdir mode.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import xdist_groups  # after the path above
from tests.precommit_home import hook_repo  # noqa: F401 - the one definition of this session fixture


def pytest_configure(config: pytest.Config) -> None:
    xdist_groups.register(config)


@pytest.fixture(autouse=True, scope="session")
def _own_cache_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Scans in tests (and the console scripts they start) keep their caches
    in a folder of this session, not the user's."""
    previous = os.environ.get("MANIAC_GUARD_CACHE_DIR")
    os.environ["MANIAC_GUARD_CACHE_DIR"] = str(tmp_path_factory.mktemp("maniac-guard-cache"))
    yield
    if previous is None:
        del os.environ["MANIAC_GUARD_CACHE_DIR"]
    else:
        os.environ["MANIAC_GUARD_CACHE_DIR"] = previous


# Fixtures that take seconds to build (a generated tree scanned by every
# command, a pip install, pre-commit's hook environment). Under xdist each
# worker builds its own copy of a module or session fixture, so every test
# using one goes to the same worker (`--dist loadgroup`); xdist hands out
# the biggest groups first, so these start early. Fixture -> group name.
_SHARED_FIXTURE_GROUPS = {
    "audit": "redaction-audit",
    "generated": "redaction-generated",
    "invalid_tree": "entry-matrix-invalid",
    "valid_tree": "entry-matrix-valid",
    "installed": "built-wheel",  # tests/test_footprint.py installs the built wheel
    "built_wheel": "built-wheel",
    "hook_repo": "pre-commit-home",  # also used by tests/test_prepush.py
}


# tryfirst: xdist's own hook reads the marks to name each test's group.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture in getattr(item, "fixturenames", ()):
            group = _SHARED_FIXTURE_GROUPS.get(fixture)
            if group is not None:
                item.add_marker(pytest.mark.xdist_group(group))
                break


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout's wheel, built once (as `pip wheel .` does: isolated
    build, hatchling) for the tests that read or install it."""
    folder = tmp_path_factory.mktemp("wheel")
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder), str(root)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return next(folder.glob("maniac_guard-*.whl"))
