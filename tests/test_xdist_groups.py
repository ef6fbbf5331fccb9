"""The README's test command relies on `--dist loadgroup`: tests that share
an expensive fixture (a pre-commit home, a generated tree, an install) run
on one worker, which builds it once. pytest 9.2 broke xdist's grouping
silently (tests/xdist_groups.py); this runs a small suite with this
repository's grouping plugin and checks each group stayed on one worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GROUPS = 4
PER_GROUP = 3

# Group members interleave (0 1 2 3 0 1 …): plain `load` would split them.
SUITE = f"""
import json, os
import pytest

@pytest.mark.parametrize("index", range({GROUPS * PER_GROUP}))
def test_member(index):
    with open(os.environ["WHERE"], "a") as out:
        out.write(json.dumps([index % {GROUPS}, os.environ["PYTEST_XDIST_WORKER"]]) + "\\n")
"""

CONFTEST = """
import pytest
from tests import xdist_groups

def pytest_configure(config):
    xdist_groups.register(config)

@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    for item in items:
        index = item.callspec.params["index"]
        item.add_marker(pytest.mark.xdist_group(f"g{index % %d}"))
""".replace("%d", str(GROUPS))


def test_each_xdist_group_runs_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_grouped.py").write_text(SUITE)
    where = tmp_path / "where.jsonl"
    # Only xdist: the other installed plugins cost seconds of start-up per worker.
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}  # the outer run's options are not ours
    env.update(WHERE=str(where), PYTHONPATH=str(ROOT), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "xdist",
            "-p",
            "no:cacheprovider",
            "-n",
            "2",
            "--dist",
            "loadgroup",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [json.loads(line) for line in where.read_text().splitlines()]
    assert len(rows) == GROUPS * PER_GROUP
    workers: dict[int, set[str]] = {}
    for group, worker in rows:
        workers.setdefault(group, set()).add(worker)
    assert all(len(found) == 1 for found in workers.values()), workers


def test_no_test_module_holds_a_session_fixture() -> None:
    """pytest registers a fixture from every module whose namespace holds it,
    defined there or imported: a session fixture one test module imports
    from another is built twice (tests/test_prepush.py once imported
    `hook_repo`, and so built pre-commit's hook environment a second time).
    Session fixtures live in conftest.py (or a module it imports them from)."""
    import importlib

    from _pytest.fixtures import FixtureFunctionDefinition

    held = []
    for path in sorted(Path(__file__).parent.glob("test_*.py")):
        module = importlib.import_module(f"tests.{path.stem}")
        for name, value in vars(module).items():
            if isinstance(value, FixtureFunctionDefinition) and value._fixture_function_marker.scope == "session":
                held.append(f"{path.name}: {name}")
    assert held == []
