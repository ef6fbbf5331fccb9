"""Signals and helpers, through the console script: SIGTERM says so and exits
143; no forked helper scans on once the scan is gone (SIGTERM, SIGINT to the
parent alone, SIGKILL); a stopped helper does not hold the scan up, and its
files are still scanned.

The trees hold Python files the value flow analyses, so a helper has work
left when the signal comes (a helper killed mid-chunk, however long the
chunk: tests/test_forkshare.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import console_script, fake_key

KEY = fake_key("signals")
PYTHON = "".join(
    f'''
def handler_{i}(request, client=None):
    """Handle {i}."""
    from maniac import Maniac
    client = client or Maniac(api_key=request.get("api_key"), timeout={i})
    return client, {{"a": [x * {i} for x in range(10)], "b": {{"c": "{i}"}}}}
'''
    for i in range(20)
)


def _tree(root: Path, python_files: int, plain_files: int = 100) -> Path:
    """Python files spread among plain ones, so every chunk has some; the
    last Python file holds a key."""
    root.mkdir()
    for n in range(plain_files):
        (root / f"f{n:04d}.txt").write_text(f"plain text {n}\n")
    step = max(1, plain_files // python_files)
    for n in range(python_files):
        text = PYTHON + (f'\nKEY = "{KEY}"\n' if n == python_files - 1 else "")
        (root / f"f{n * step:04d}x.py").write_text(text)
    return root


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _is_a_scan(pid: int) -> bool:
    try:
        return b"maniac-guard" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@pytest.fixture
def scan() -> Iterator[list[subprocess.Popen[str] | int]]:
    """Started scans and their helpers; whatever is left of them (a helper
    that outlived its scan, too) is killed afterwards."""
    started: list[subprocess.Popen[str] | int] = []
    yield started
    # Helpers first: a scan's pipes stay open while a stopped one lives.
    for item in sorted(started, key=lambda item: not isinstance(item, int)):
        if isinstance(item, int):
            if _alive(item) and _is_a_scan(item):
                os.kill(item, signal.SIGKILL)
        else:
            if item.poll() is None:
                item.kill()
            item.communicate()


def _start(started: list[subprocess.Popen[str] | int], tree: Path) -> tuple[subprocess.Popen[str], list[int]]:
    """A cold `scan -j 2` of `tree`, once its helper is forked."""
    env = {**os.environ, "MANIAC_GUARD_CACHE_DIR": "", "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [console_script(), "scan", "-j", "2", str(tree)],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    started.append(proc)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        # Forked helpers only: a `git ls-files` the scan runs is a child too.
        helpers = [pid for pid in _children(proc.pid) if _is_a_scan(pid)]
        if helpers:
            started.extend(helpers)
            return proc, helpers
        time.sleep(0.01)
    raise AssertionError(f"no helper was forked: {proc.communicate()}")


def _gone_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(_alive(pid) for pid in pids):
            return True
        time.sleep(0.05)
    return False


def test_sigterm_says_terminated_exits_143_and_takes_the_helpers_along(
    tmp_path: Path, scan: list[subprocess.Popen[str] | int]
) -> None:
    proc, helpers = _start(scan, _tree(tmp_path / "t", python_files=60))
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143
    assert err.strip().splitlines() == ["maniac-guard: terminated"]
    assert _gone_within(helpers, 2), "a helper kept scanning after SIGTERM"


def test_sigint_to_the_parent_alone_takes_the_helpers_along(
    tmp_path: Path, scan: list[subprocess.Popen[str] | int]
) -> None:
    proc, helpers = _start(scan, _tree(tmp_path / "t", python_files=60))
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "maniac-guard: interrupted" in err and "Traceback" not in err
    assert _gone_within(helpers, 2), "a helper kept scanning after the parent was interrupted"


def test_helpers_die_when_the_parent_is_killed(tmp_path: Path, scan: list[subprocess.Popen[str] | int]) -> None:
    proc, helpers = _start(scan, _tree(tmp_path / "t", python_files=60))
    proc.kill()
    proc.communicate(timeout=30)
    assert _gone_within(helpers, 2), "a helper kept scanning after its parent was killed"


def test_a_stopped_helper_does_not_block_the_scan_and_its_files_are_scanned(
    tmp_path: Path, scan: list[subprocess.Popen[str] | int]
) -> None:
    proc, helpers = _start(scan, _tree(tmp_path / "t", python_files=12))
    for pid in helpers:
        os.kill(pid, signal.SIGSTOP)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 1, err  # the key was found, whoever had its file
    assert "MG101" in out or "MG202" in out
    assert "Scanned 112 files" in out
    assert _gone_within(helpers, 2)
