"""Progress of long runs: on stderr, on a terminal only, never in a CI log
unless asked (MANIAC_GUARD_PROGRESS=1), and never holding a key."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from maniac_guard.progress import ProgressLine, progress_wanted
from tests.fake_maniac import FakeManiac
from tests.helpers import fake_key, run_cli


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def api() -> Iterator[FakeManiac]:
    with FakeManiac() as server:
        yield server


def verify_many(api: FakeManiac, tmp_path: Path, **env: str) -> tuple[str, list[str]]:
    root = tmp_path / "many"
    root.mkdir()
    keys = [api.add(fake_key(f"progress-{i}"), "live") for i in range(8)]
    (root / "keys.txt").write_text("\n".join(keys) + "\n")
    proc = run_cli(
        "scan",
        ".",
        "--verify",
        "--api-url",
        api.url,
        "--format",
        "json",
        "-o",
        str(tmp_path / "r.json"),
        cwd=root,
        env={"XDG_CACHE_HOME": str(tmp_path / "cache"), "MANIAC_BASE_URL": "", **env},
    )
    assert proc.returncode == 1, proc.stderr
    return proc.stderr, keys


def test_no_progress_in_a_log(api: FakeManiac, tmp_path: Path) -> None:
    stderr, _ = verify_many(api, tmp_path, MANIAC_GUARD_PROGRESS="")
    assert "Verifying keys" not in stderr and "\r" not in stderr


def test_progress_in_a_log_when_asked_plain_lines_without_keys(api: FakeManiac, tmp_path: Path) -> None:
    stderr, keys = verify_many(api, tmp_path, MANIAC_GUARD_PROGRESS="1")
    lines = [line for line in stderr.splitlines() if "Verifying keys" in line]
    assert lines[0].startswith("maniac-guard: Verifying keys 0/8") and "Verifying keys 8/8" in lines[-1]
    assert "\r" not in stderr and "\033" not in stderr  # a log gets plain lines, not redraws
    assert not any(key[3:] in stderr for key in keys)


def test_wanted_on_a_terminal_only_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MANIAC_GUARD_PROGRESS", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert progress_wanted(stream=Terminal()) and not progress_wanted(stream=io.StringIO())
    assert not progress_wanted(quiet=True, stream=Terminal())
    monkeypatch.setenv("MANIAC_GUARD_PROGRESS", "0")
    assert not progress_wanted(stream=Terminal())
    monkeypatch.setenv("MANIAC_GUARD_PROGRESS", "1")
    assert progress_wanted(stream=io.StringIO())


def test_a_terminal_line_is_redrawn_in_place_and_cleared() -> None:
    out = Terminal()
    line = ProgressLine("history", 3, stream=out)
    line.update(1)
    line.close()
    assert out.getvalue() == "\r\033[Kmaniac-guard: history 1/3 (0s)\r\033[K"
