"""Shared test helpers. Keys are generated at run time, so this repository's
own test code holds no key literal for `maniac-guard scan .` to find."""

from __future__ import annotations

import logging
import os
import random
import shutil
import string
import subprocess
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from maniac_guard.python.analyzer import Analysis

FIXTURES = Path(__file__).parent / "fixtures"
_ALPHABET = string.ascii_letters + string.digits


def fake_key(seed: int | str) -> str:
    """A random-looking, reproducible key that passes the shape checks."""
    from maniac_guard.keyshape import looks_like_key

    rng = random.Random(f"maniac-guard-test-{seed}")
    while True:
        key = "mk" + "-" + "".join(rng.choice(_ALPHABET) for _ in range(32))
        if looks_like_key(key):
            return key


def console_script() -> str:
    """The installed `maniac-guard` next to this interpreter (or on PATH)."""
    candidate = Path(sys.executable).parent / "maniac-guard"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("maniac-guard")
    assert found, "the maniac-guard console script is not installed"
    return found


def run_cli(
    *args: str,
    cwd: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [console_script(), *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        input=input,
        timeout=timeout,
    )


def run_in_process(
    *args: str,
    cwd: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """What `run_cli` gives, from the CLI run in this process (click's
    CliRunner): no Python start-up and imports per call, the bulk of a small
    test's time. For tests of what a command decides (findings, exit codes,
    messages) on a small tree; what only a process shows (a terminal, signals,
    writing to /dev/stdout, the installed script itself) stays on `run_cli`.
    Every cache the package keeps between calls is emptied first, as a new
    process would have it."""
    from click.testing import CliRunner

    from maniac_guard.cli import main

    _clear_package_caches()
    before = os.getcwd()
    logger = logging.getLogger("maniac_guard")  # `-v` sets its level and adds a handler
    logged = (logger.level, list(logger.handlers))
    try:
        if cwd is not None:
            os.chdir(cwd)
        with warnings.catch_warnings():
            # As in a process: a library's DeprecationWarning is not shown.
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            result = CliRunner().invoke(
                main, list(args), env={"NO_COLOR": "1", **(env or {})}, input=input, prog_name="maniac-guard"
            )
    finally:
        os.chdir(before)
        logger.setLevel(logged[0])
        logger.handlers[:] = logged[1]
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess([console_script(), *args], result.exit_code, result.stdout, result.stderr)


# Flags that choose what a command reads or does (its code path); the rest
# (--format, -o and its file) only choose how the report is written.
MODES = frozenset(
    {"--history", "--staged", "--verify", "--only-live", "--infer", "--diff", "--unsafe-fixes", "--fix", "-v"}
    | {"--verbose", "--no-gitignore", "--baseline", "--range", "create", "update", "--add-new"}
)


def _mode(args: tuple[str, ...]) -> tuple[str, ...]:
    return (args[0], *sorted(a for a in args[1:] if a in MODES))


def split_by_mode(commands: list[tuple[str, ...]]) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """(the first command of each mode, to run as the console script; the
    others, which differ from it only in --format / -o, to run in-process).
    For output audits: every code path still runs once as a process, where
    whatever only a process shows (a child's stderr, output at exit) is seen."""
    seen: set[tuple[str, ...]] = set()
    first, others = [], []
    for args in commands:
        (others if _mode(args) in seen else first).append(args)
        seen.add(_mode(args))
    return first, others


# The package's per-process state besides functools caches (module, name,
# value a new process starts with); tests/test_in_process.py lists what it finds.
PER_PROCESS_STATE = (
    ("maniac_guard.permissions.policy", "_active", None),  # the policy `activate` set
    ("maniac_guard.python.modules", "_PARSED", {}),  # parsed modules, by content
    ("maniac_guard.python.resolve", "_HANDLERS", {}),  # the resolver's visitor per node type (no scan's data)
    ("maniac_guard.ci_git", "_fetched_from", {}),  # where fetched commits came from
    ("maniac_guard.sources.gitstart", "_early", None),  # git started by the console script, not yet taken
    ("maniac_guard.sources.gitproject", "_started", {}),  # git greps started ahead of their reader
)


def _clear_package_caches() -> None:
    """Leave the package as a new process would find it."""
    for name, module in list(sys.modules.items()):
        if name == "maniac_guard" or name.startswith("maniac_guard."):
            for value in list(vars(module).values()):
                clear = getattr(value, "cache_clear", None)
                if callable(clear) and getattr(value, "__module__", None) == name:
                    clear()
    for name, attribute, fresh in PER_PROCESS_STATE:
        module = sys.modules.get(name)
        if module is not None:
            setattr(module, attribute, type(fresh)() if isinstance(fresh, dict) else fresh)


def analyze_tree(root: Path, files: dict[str, str], main: str) -> Analysis:
    """Writes `files` under `root` and runs the value-flow analysis on
    `main`, its imports read from that tree."""
    import ast
    import textwrap

    from maniac_guard.python.analyzer import analyze_project
    from maniac_guard.sources.worktree import WorkTreeReader

    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    text = (root / main).read_text()
    return analyze_project(ast.parse(text), text, path=main, reader=WorkTreeReader(str(root)))
