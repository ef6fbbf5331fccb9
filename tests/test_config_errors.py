"""Issues 13 and 15: a hostile or mistaken config is one line on stderr and
exit 2, never a traceback, never a scan that quietly checks less."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import fake_key, run_cli, run_in_process


def _leaky_tree(tmp_path: Path) -> Path:
    (tmp_path / "app.env").write_text(f"MANIAC_API_KEY={fake_key('config-errors')}\n")
    return tmp_path


def _assert_one_line_error(proc: object, *needles: str) -> None:
    import subprocess

    assert isinstance(proc, subprocess.CompletedProcess)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("maniac-guard: error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.mark.parametrize("name", ["pyproject.toml", ".maniac-guard.toml"])
@pytest.mark.parametrize("text", ['tool = "x"\n', "tool = 3\n", '[tool]\nmaniac-guard = "x"\n'])
def test_a_tool_key_that_is_not_a_table_is_a_config_error(tmp_path: Path, name: str, text: str) -> None:
    tree = _leaky_tree(tmp_path)
    (tree / name).write_text(text)
    _assert_one_line_error(run_cli("scan", ".", cwd=tree), name, "tool")


@pytest.mark.parametrize("name", ["pyproject.toml", ".maniac-guard.toml"])
def test_a_config_that_is_not_utf8_is_a_config_error(tmp_path: Path, name: str) -> None:
    tree = _leaky_tree(tmp_path)
    (tree / name).write_bytes(b"# caf\xe9 au lait\n[tool.maniac-guard]\nfail-on = 'high'\n")
    _assert_one_line_error(run_in_process("scan", ".", cwd=tree), name, "UTF-8")


def test_an_exclude_ending_in_a_backslash_is_named_on_the_command_line(tmp_path: Path) -> None:
    tree = _leaky_tree(tmp_path)
    _assert_one_line_error(run_in_process("scan", ".", "--exclude", "foo\\", cwd=tree), "--exclude", "foo\\")


def test_an_exclude_ending_in_a_backslash_is_named_in_the_config(tmp_path: Path) -> None:
    tree = _leaky_tree(tmp_path)
    (tree / ".maniac-guard.toml").write_text('exclude = ["logs/", "foo\\\\"]\n')
    _assert_one_line_error(run_in_process("scan", ".", cwd=tree), ".maniac-guard.toml", "exclude", "foo\\")


def test_a_baseline_nested_deeply_is_a_config_error(tmp_path: Path) -> None:
    tree = _leaky_tree(tmp_path)
    (tree / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    _assert_one_line_error(run_in_process("scan", ".", "--baseline", "deep.json", cwd=tree), "deep.json")
    (tree / "deep.json").write_text('{"version": 1, "findings": ' + "[" * 100_000 + "]" * 100_000 + "}")
    _assert_one_line_error(run_in_process("scan", ".", "--baseline", "deep.json", cwd=tree), "deep.json")


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('select = [""]', "select"),
        ('select = ["  "]', "select"),
        ("select = []", "select"),
        ('ignore = [""]', "ignore"),
        ("max-file-size = 0", "max-file-size"),
        ("max-file-size = -1", "max-file-size"),
        ("max-file-size = 1.5", "max-file-size"),
        ("jobs = -2", "jobs"),
        ("jobs = true", "jobs"),
        ('fail-on = "none"', "fail-on"),
        ("fail-on = 3", "fail-on"),
        ("exclude = [1]", "exclude"),
        ('exclude = [""]', "exclude"),
        ("gitignore = 1", "gitignore"),
        ('env-var = "not a name"', "env-var"),
        ('baseline = ""', "baseline"),
        ('policy = ""', "policy"),
        ('ignore-file = ""', "ignore-file"),
        ("verify-timeout = 0", "verify-timeout"),
        ("verify-timeout = nan", "verify-timeout"),
        ("verify-budget = inf", "verify-budget"),
        ("verify-retries = -1", "verify-retries"),
    ],
)
def test_every_config_key_is_checked_like_its_flag(tmp_path: Path, line: str, key: str) -> None:
    tree = _leaky_tree(tmp_path)
    (tree / ".maniac-guard.toml").write_text(line + "\n")
    _assert_one_line_error(run_in_process("scan", ".", cwd=tree), ".maniac-guard.toml", f"'{key}'")


def test_the_same_values_on_the_command_line_are_refused_too(tmp_path: Path) -> None:
    tree = _leaky_tree(tmp_path)
    for args in (["--select", ""], ["--select", " , "], ["--max-file-size", "0"]):
        proc = run_in_process("scan", ".", *args, cwd=tree)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)


def test_valid_config_values_still_scan(tmp_path: Path) -> None:
    tree = _leaky_tree(tmp_path)
    (tree / ".maniac-guard.toml").write_text(
        'select = ["MG1"]\nmax-file-size = 1000\njobs = 0\nverify-timeout = 2.5\nenv-var = "MY_KEY"\n'
    )
    proc = run_in_process("scan", ".", cwd=tree)
    assert proc.returncode == 1, proc.stderr
    assert "MG101" in proc.stdout
