"""Which config governs a run (issue 13, then issue 22 item 14): one config,
the one nearest to the folder the run starts from, governs every path named
on the command line. So the first path's config never governs the others,
and `scan .`, `scan --staged` and a pre-commit hook's file list give one
verdict; a nearer config that is not read is named on stderr."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import fake_key, run_cli, run_in_process


def _tree(tmp_path: Path) -> Path:
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "src").mkdir()
    (tmp_path / "fixtures" / ".maniac-guard.toml").write_text('ignore = ["MG1", "MG3"]\n')
    (tmp_path / "fixtures" / "a.txt").write_text(f"sample = {fake_key('fixture-sample')}\n")
    (tmp_path / "src" / "leak.env").write_text(f"MANIAC_API_KEY={fake_key('per-file-leak')}\n")
    return tmp_path


def _found(stdout: str) -> set[tuple[str, str]]:
    return {(f["path"], f["rule_id"]) for f in json.loads(stdout)["findings"]}


ALL = {("fixtures/a.txt", "MG101"), ("src/leak.env", "MG101"), ("src/leak.env", "MG302")}


def test_the_first_paths_config_does_not_govern_the_others(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    proc = run_cli("scan", "fixtures/a.txt", "src/leak.env", "--format", "json", cwd=tree)
    assert proc.returncode == 1, proc.stderr
    assert _found(proc.stdout) == ALL


def test_order_of_the_paths_does_not_matter(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    one = run_in_process("scan", "fixtures/a.txt", "src/leak.env", "--format", "json", cwd=tree)
    other = run_in_process("scan", "src/leak.env", "fixtures/a.txt", "--format", "json", cwd=tree)
    assert _found(one.stdout) == _found(other.stdout) and one.returncode == other.returncode == 1


def test_a_folders_own_config_applies_when_the_run_starts_there(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    assert run_in_process("scan", "a.txt", cwd=tree / "fixtures").returncode == 0
    assert run_in_process("scan", ".", cwd=tree / "fixtures").returncode == 0
    # From the root, the root's config (none: the defaults) governs it, as `scan .` there does.
    proc = run_in_process("scan", "fixtures/a.txt", cwd=tree)
    assert proc.returncode == 1
    assert "fixtures/.maniac-guard.toml: not read; one config governs a run (the defaults)" in proc.stderr
    assert run_in_process("scan", ".", cwd=tree).returncode == 1


def test_the_root_config_governs_every_named_file(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    (tree / "pyproject.toml").write_text('[tool.maniac-guard]\nexclude = ["src/leak.env"]\n')
    (tree / "other.env").write_text(f"MANIAC_API_KEY={fake_key('root-governed')}\n")
    proc = run_in_process("scan", "fixtures/a.txt", "src/leak.env", "other.env", "--format", "json", cwd=tree)
    assert _found(proc.stdout) == {("fixtures/a.txt", "MG101"), ("other.env", "MG101"), ("other.env", "MG302")}


def test_cli_flags_apply_over_the_config(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    (tree / "pyproject.toml").write_text('[tool.maniac-guard]\nignore = ["MG1"]\n')
    # --ignore replaces the config's `ignore`, as flags replace config values.
    proc = run_in_process("scan", "fixtures/a.txt", "src/leak.env", "--ignore", "MG3", "--format", "json", cwd=tree)
    assert _found(proc.stdout) == {("fixtures/a.txt", "MG101"), ("src/leak.env", "MG101")}


def test_an_explicit_config_governs_every_path(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    (tree / "strict.toml").write_text('fail-on = "low"\n')
    proc = run_in_process(
        "scan", "--config", "strict.toml", "fixtures/a.txt", "src/leak.env", "--format", "json", cwd=tree
    )
    assert ("fixtures/a.txt", "MG101") in _found(proc.stdout)
    assert "not read" not in proc.stderr


def test_a_bad_key_in_the_runs_config_is_an_error(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    (tree / "fixtures" / ".maniac-guard.toml").write_text("max-file-size = 0\n")
    proc = run_in_process("scan", "a.txt", cwd=tree / "fixtures")
    assert proc.returncode == 2 and ".maniac-guard.toml" in proc.stderr and "max-file-size" in proc.stderr
    (tree / "fixtures" / ".maniac-guard.toml").write_text('select = ["MG9"]\n')
    proc = run_in_process("scan", "a.txt", cwd=tree / "fixtures")
    assert proc.returncode == 2 and ".maniac-guard.toml" in proc.stderr and "MG9" in proc.stderr


def test_the_runs_selection_holds_in_the_report_and_the_baseline(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.maniac-guard]\nselect = ["MG3"]\n')
    (tmp_path / "leak.env").write_text(f"MANIAC_API_KEY={fake_key('root-mg3')}\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / ".maniac-guard.toml").write_text('select = ["MG1"]\n')
    (tmp_path / "src" / "key.txt").write_text(f"key = {fake_key('src-mg1')}\n")
    proc = run_in_process("scan", "leak.env", "src/key.txt", "--format", "json", cwd=tmp_path)
    assert _found(proc.stdout) == {("leak.env", "MG302")}
    created = run_in_process("baseline", "create", "leak.env", "src/key.txt", "-o", "b.json", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    recorded = {(e["path"], e["rule_id"]) for e in json.loads((tmp_path / "b.json").read_text())["findings"]}
    assert recorded == {("leak.env", "MG302")}
