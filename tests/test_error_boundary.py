"""One error boundary: usage, config and input errors are one line and exit 2;
a bug of ours is one line and exit 3 (never 0 or 1, which a CI gate reads as
"clean" or "findings"); -v shows the traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from maniac_guard import cli, engine
from tests.helpers import fake_key, run_cli


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize("broken", ["empty", "bad-yaml", "missing", "bad-yaml-beside-the-shipped-parse"])
def test_a_broken_rules_folder_is_one_line_and_exit_2(tmp_path: Path, broken: str) -> None:
    rules = tmp_path / "rules"
    if broken == "bad-yaml-beside-the-shipped-parse":
        # rules/catalog.json no longer matches the YAML bytes: it must not stand in for them.
        import shutil

        from maniac_guard.catalog import rules_dir

        shutil.copytree(rules_dir(), rules)
    elif broken != "missing":
        rules.mkdir()
    if broken.startswith("bad-yaml"):
        (rules / "MG101.yaml").write_text("id: [unclosed\n")
    (tmp_path / "a.txt").write_text("nothing here\n")
    cache = tmp_path / "cache"  # a fresh cache: nothing cached may stand in for the rules
    proc = run_cli(
        "scan", "a.txt", cwd=tmp_path, env={"MANIAC_GUARD_RULES_DIR": str(rules), "MANIAC_GUARD_CACHE_DIR": str(cache)}
    )
    assert proc.returncode == 2, proc.stderr
    line = _one_line(proc.stderr)
    assert line.startswith("maniac-guard: error: ") and str(rules) in line


def test_an_unreadable_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    # Latin-1 bytes are not TOML (which is UTF-8 by definition).
    (tmp_path / "pyproject.toml").write_bytes(b'[tool.maniac-guard]\n# caf\xe9\nselect = ["MG1"]\n')
    (tmp_path / "a.txt").write_text("nothing here\n")
    proc = run_cli("scan", "a.txt", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "pyproject.toml" in _one_line(proc.stderr)


def _crash_with_key_in_message(*args: object, **kwargs: object) -> None:
    raise RuntimeError(f"boom near {fake_key('boundary')}\nsecond line")


def test_an_internal_error_is_one_line_exit_3_and_never_shows_a_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "scan_paths", _crash_with_key_in_message)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("x\n")
    result = CliRunner().invoke(cli.main, ["scan", "a.txt"])
    assert result.exit_code == 3
    line = _one_line(result.stderr)
    assert "internal error: RuntimeError: boom near mk-" in line and "rerun with -v" in line
    assert fake_key("boundary") not in result.output + result.stderr


def test_verbose_shows_the_traceback_of_an_internal_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "scan_paths", _crash_with_key_in_message)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("x\n")
    result = CliRunner().invoke(cli.main, ["scan", "-v", "a.txt"])
    assert result.exit_code == 3
    assert "Traceback (most recent call last)" in result.stderr
    assert fake_key("boundary") not in result.stderr


def test_a_reader_that_leaves_early_is_no_internal_error() -> None:
    """`maniac-guard rules | head -1`: SIGPIPE's exit, no traceback, no error line."""
    import os
    import subprocess

    from tests.helpers import console_script

    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first byte is written
    proc = subprocess.run([console_script(), "rules"], stdout=write, stderr=subprocess.PIPE, text=True, timeout=60)
    os.close(write)
    assert proc.returncode == 141, proc.stderr
    assert proc.stderr == ""
