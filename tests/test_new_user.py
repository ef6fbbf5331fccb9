"""What a new user meets on the command line (issue 24): a report written to a
file still says what happened, -q means quiet, counts read as English, the
help describes each command whole, and messages say what is true."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import fake_key, run_cli


def _leaky_tree(tmp_path: Path) -> tuple[Path, str]:
    key = fake_key("new-user")
    (tmp_path / "settings.py").write_text(f"KEY = '{key}'\n")
    return tmp_path, key


def test_a_report_written_to_a_file_leaves_a_summary_on_stderr(tmp_path: Path) -> None:
    tree, key = _leaky_tree(tmp_path)
    proc = run_cli("scan", ".", "--format", "sarif", "-o", "results.sarif", cwd=tree)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "Scanned 1 file in" in proc.stderr and "1 finding (1 critical)" in proc.stderr
    assert "results.sarif" in proc.stderr and key not in proc.stderr
    assert json.loads((tree / "results.sarif").read_text())["runs"][0]["results"]

    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "a.py").write_text("import os\n")
    proc = run_cli("scan", ".", "--format", "json", "-o", "out.json", cwd=clean)
    assert proc.returncode == 0 and "0 findings" in proc.stderr and "out.json" in proc.stderr


def test_quiet_prints_the_findings_alone_and_nothing_when_clean(tmp_path: Path) -> None:
    tree, _ = _leaky_tree(tmp_path)
    proc = run_cli("scan", "-q", ".", "-o", "report.txt", cwd=tree)
    assert proc.returncode == 1 and proc.stderr == ""
    proc = run_cli("scan", "-q", ".", cwd=tree)
    assert proc.returncode == 1 and "MG101" in proc.stdout
    assert "Scanned" not in proc.stdout and proc.stderr == ""
    (tree / "settings.py").write_text("import os\n")
    proc = run_cli("scan", "-q", ".", cwd=tree)
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == ""


def test_counts_of_one_are_singular(tmp_path: Path) -> None:
    tree, _ = _leaky_tree(tmp_path)
    proc = run_cli("scan", "settings.py", cwd=tree)
    assert "Scanned 1 file in " in proc.stdout and "1 files" not in proc.stdout


def test_top_level_help_describes_each_command_whole() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split("Commands:")[1].split())
    assert "..." not in text
    assert "Scan the lines a CI change adds (GitHub Actions, GitLab CI; else HEAD~1..HEAD)." in text
    assert "Print the documentation of RULE_ID (e.g. MG101)." in text


def test_a_missing_path_is_an_error_without_a_clean_looking_summary(tmp_path: Path) -> None:
    proc = run_cli("scan", "nope/", cwd=tmp_path)
    assert proc.returncode == 2
    assert "nope/: no such file or directory" in proc.stderr
    assert "Scanned" not in proc.stdout + proc.stderr and "0 findings" not in proc.stdout


def test_an_env_file_outside_git_is_not_called_committed(tmp_path: Path) -> None:
    key = fake_key("env-file")
    (tmp_path / ".env").write_text(f"MANIAC_API_KEY={key}\n")
    proc = run_cli("scan", ".", "--format", "json", cwd=tmp_path)
    findings = json.loads(proc.stdout)["findings"]
    mg302 = [f for f in findings if f["rule_id"] == "MG302"]
    assert mg302 and "committed" not in mg302[0]["message"]
    assert "env file sets MANIAC_API_KEY" in mg302[0]["message"]


def test_fix_says_why_a_header_in_a_plain_http_call_is_not_fixed(tmp_path: Path) -> None:
    key = fake_key("header")
    (tmp_path / "app.py").write_text(
        "import requests\n\n"
        f'requests.get("https://platform.maniac.ai/v1/models", headers={{"Authorization": "Bearer {key}"}})\n'
    )
    for args in (("--diff", "--unsafe-fixes"), ("--fix",)):
        proc = run_cli("scan", *args, "app.py", cwd=tmp_path)
        assert "app.py: MG206 not fixed: no automatic fix for this case" in proc.stderr, proc.stderr
        assert key not in proc.stdout + proc.stderr


def test_an_api_url_without_a_scheme_says_loopback_http_is_allowed(tmp_path: Path) -> None:
    proc = run_cli("scan", ".", "--verify", "--api-url", "127.0.0.1:8765", cwd=tmp_path)
    assert proc.returncode == 2
    assert "https://" in proc.stderr and "http:// to a loopback address" in proc.stderr
