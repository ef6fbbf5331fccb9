from __future__ import annotations

import logging
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
    if not hasattr(config, "workerinput"):  # once, in the controller, before any worker starts
        _write_bytecode()


def _write_bytecode() -> None:
    """The checkout's bytecode, written once. The tests import the package
    from the checkout (the path above), as do the processes some tests
    start; with PYTHONDONTWRITEBYTECODE set (this CI machine sets it), each
    of them compiled every module from source again: ~7 s of the suite's
    wall time on 2 cores, against 0.5 s here. compileall writes regardless
    of that setting, and only what is stale; a folder it cannot write to is
    only slower (quiet=2: no message)."""
    import compileall

    root = Path(__file__).resolve().parent.parent
    compileall.compile_dir(root / "maniac_guard", quiet=2)
    compileall.compile_dir(root / "tests", maxlevels=0, quiet=2)


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


_PACKAGE_LOGGER = logging.getLogger("maniac_guard")
_LOGGER_AT_START = (_PACKAGE_LOGGER.level, list(_PACKAGE_LOGGER.handlers))


@pytest.fixture(autouse=True)
def _package_logger_as_at_start() -> Iterator[None]:
    """`-v` run in-process (CliRunner) sets the package logger's level and
    adds a handler; a process ends with them, a test must too, or a later
    test in the same xdist worker prints tracebacks it never asked for.
    Restored to the session's start, not to the test's: a module fixture
    that ran `-v` (the redaction audit's) is set up before this."""
    yield
    _PACKAGE_LOGGER.setLevel(_LOGGER_AT_START[0])
    _PACKAGE_LOGGER.handlers[:] = _LOGGER_AT_START[1]


# Module and session fixtures of tests/ take seconds to build (a generated
# tree scanned by every command, a pip install, pre-commit's hook
# environment). Under xdist each worker builds its own copy of one, so every
# test using one goes to the same worker (`--dist loadgroup`), in a group
# named after the fixture: a new fixture is grouped without being listed
# (the entry matrix's changed_module, foreign_wrapper and binary_cases were
# not, and both workers built each). Fixtures whose tests share a group of
# another name: fixture -> group.
_SHARED_FIXTURE_GROUPS = {
    "installed": "built-wheel",  # tests/test_footprint.py installs the built wheel
    "built_wheel": "built-wheel",
    "hook_repo": "pre-commit-home",  # also used by tests/test_prepush.py
}


def shared_fixture_group(item: pytest.Item) -> str | None:
    """The group of the first module or session fixture of tests/ the test uses."""
    info = getattr(item, "_fixtureinfo", None)
    for name in getattr(item, "fixturenames", ()):
        fixturedefs = info.name2fixturedefs.get(name) if info is not None else None
        if not fixturedefs or name.startswith("_"):
            continue  # a plain argument, or this file's autouse cache folder
        fixturedef = fixturedefs[-1]
        if fixturedef.scope in ("module", "session") and fixturedef.baseid.startswith("tests"):
            return _SHARED_FIXTURE_GROUPS.get(name, name)
    return None


# The longest work units (a group, or one test), longest first: xdist hands
# work out in collection order (`--no-loadscope-reorder` in pyproject.toml),
# so these start first and the run does not end waiting on one of them
# while the other worker is idle. CPU-seconds of a whole-suite run on the
# 2-core machine at load 5-6 (docs/development.md); a unit not listed runs
# in file order after them.
RUN_FIRST = (
    "pre-commit-home",  # 24: pre-commit builds the hooks' environment, try-repo another
    "generated",  # 14: tests/test_redaction_audit.py, fix --diff over ~630 generated keys
    "tests/test_ci_action.py::test_install_step_builds_its_own_venv_from_the_actions_checkout",  # 9
    "audit",  # 8: tests/test_redaction_audit.py, ~60 commands
    "built-wheel",  # 7: pip wheel, then an install
    "tests/test_scan.py::test_this_repository_scans_clean",  # 6
    "tests/test_xdist_groups.py::test_each_xdist_group_runs_on_one_worker",  # 5: it ran last, alone
    "tests/test_fuzz_more.py::test_generated_notebooks_scan_and_fix_cleanly",  # 5
    "tests/test_fix_property.py::test_fixed_modules_parse_hold_no_key_are_stable_and_change_only_the_keys",  # 4
    "tests/test_report_sarif.py::test_more_than_25000_results_are_cut_with_a_notification_and_a_stderr_line",  # 4
    "tests/test_resource_limits.py::test_hundred_thousand_tiny_files",  # 4
    "invalid_tree",  # 4: the entry matrix's gates
    "foreign_wrapper",  # 4: the gates, twice
    "stub_sdk",  # 3
    "valid_tree",  # 3
)


def _rank(item: pytest.Item) -> int:
    group = shared_fixture_group(item) or next(
        (str(m.args[0]) for m in item.iter_markers("xdist_group") if m.args), None
    )
    for rank, unit in enumerate(RUN_FIRST):
        if unit in (group, item.nodeid):
            return rank
    return len(RUN_FIRST)


# tryfirst: xdist's own hook reads the marks to name each test's group.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        group = shared_fixture_group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=_rank)  # stable: the rest keep their order


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
