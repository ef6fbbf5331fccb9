"""Issue 7: `.maniac-guard-ignore`, accepted findings with a required reason."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from maniac_guard.config import ConfigError
from maniac_guard.findings import Secret
from maniac_guard.ignorefile import parse
from tests.helpers import fake_key, run_cli, run_in_process

ACCEPTED = fake_key("ignore-accepted")
OTHER = fake_key("ignore-other")
FP = "0123456789abcdef0123456789abcdef"


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def scan_json(cwd: Path, *args: str) -> tuple[int, dict[str, Any]]:
    done = run_cli("scan", *args, "--format", "json", cwd=cwd)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    write(tmp_path, "docs/vendor.md", f"Example from the vendor: {ACCEPTED}\n")
    write(tmp_path, "src/app.py", f'KEY = "{OTHER}"\n')
    return tmp_path


def fingerprint_of(root: Path, masked: str) -> str:
    _, document = scan_json(root, ".")
    [found] = [f for f in document["findings"] if f["masked_secret"] == masked]
    fingerprint: str = found["fingerprint"]
    return fingerprint


def test_parse_reads_fingerprints_reasons_and_comments() -> None:
    text = f"# accepted findings\n\n{FP}  # vendor doc example, revoked\n  {FP.upper()[:-1]}0 #why\n"
    parsed = parse(text, ".maniac-guard-ignore")
    assert parsed.entries[FP].reason == "vendor doc example, revoked"
    assert parsed.entries[FP].line == 3
    assert parsed.entries[FP[:-1] + "0"].reason == "why"


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (FP, "needs a reason"),
        (f"{FP}  #   ", "needs a reason"),
        (f"{FP} because I said so", "put the reason after '#'"),
        ("abc123  # short", "is not a fingerprint"),
    ],
)
def test_parse_rejects_entries_naming_file_and_line(line: str, says: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse(f"# header\n{FP}  # fine\n{line}\n", "conf/.maniac-guard-ignore")
    assert str(error.value).startswith("conf/.maniac-guard-ignore:3: ")
    assert says in str(error.value)


def test_a_key_pasted_instead_of_a_fingerprint_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as error:
        parse(f"{ACCEPTED}  # oops\n", ".maniac-guard-ignore")
    assert ACCEPTED not in str(error.value) and ACCEPTED[3:] not in str(error.value)
    assert Secret(ACCEPTED).masked in str(error.value)


def test_ignored_findings_are_dropped_and_counted(repo: Path) -> None:
    fingerprint = fingerprint_of(repo, Secret(ACCEPTED).masked)
    write(repo, ".maniac-guard-ignore", f"{fingerprint}  # vendor docs example key, revoked by the vendor\n")
    code, document = scan_json(repo, ".")
    assert code == 1
    assert [f["masked_secret"] for f in document["findings"]] == [Secret(OTHER).masked]
    assert document["summary"]["ignored"] == 1
    assert document["summary"]["ignore_file"] == ".maniac-guard-ignore"
    text = run_cli("scan", ".", cwd=repo).stdout
    assert "1 finding ignored by .maniac-guard-ignore." in text


def test_ignore_file_is_found_from_a_subfolder_and_matches_there(repo: Path) -> None:
    fingerprint = fingerprint_of(repo, Secret(ACCEPTED).masked)
    write(repo, ".maniac-guard-ignore", f"{fingerprint}  # vendor docs example\n")
    # From docs/ the finding's path is "vendor.md", yet the root's fingerprint still matches.
    code, document = scan_json(repo / "docs", ".")
    assert code == 0 and document["findings"] == []
    assert document["summary"]["ignored"] == 1
    code, document = scan_json(repo, "docs")
    assert code == 0 and document["summary"]["ignored"] == 1


def test_entry_without_reason_fails_the_scan_with_exit_2(repo: Path) -> None:
    write(repo, ".maniac-guard-ignore", f"# accepted\n{FP}\n")
    done = run_in_process("scan", ".", cwd=repo)
    assert done.returncode == 2
    assert ".maniac-guard-ignore:2:" in done.stderr and "needs a reason" in done.stderr
    assert done.stderr.count("\n") == 1


def test_ignore_file_from_config_and_from_the_command_line(repo: Path) -> None:
    fingerprint = fingerprint_of(repo, Secret(OTHER).masked)
    write(repo, "security/accepted.txt", f"{fingerprint}  # test fixture, never a real key\n")
    write(repo, ".maniac-guard.toml", 'ignore-file = "security/accepted.txt"\n')
    code, document = scan_json(repo / "src", ".")
    assert code == 0 and document["summary"]["ignored"] == 1
    (repo / ".maniac-guard.toml").unlink()
    code, document = scan_json(repo, ".", "--ignore-file", "security/accepted.txt")
    assert document["summary"]["ignored"] == 1
    assert [f["masked_secret"] for f in document["findings"]] == [Secret(ACCEPTED).masked]
    done = run_in_process("scan", ".", "--ignore-file", "missing.txt", cwd=repo)
    assert done.returncode == 2 and "missing.txt: ignore file not found" in done.stderr


def test_baseline_create_leaves_ignored_findings_out(repo: Path) -> None:
    fingerprint = fingerprint_of(repo, Secret(ACCEPTED).masked)
    write(repo, ".maniac-guard-ignore", f"{fingerprint}  # vendor docs example\n")
    done = run_in_process("baseline", "create", cwd=repo)
    assert done.returncode == 0, done.stderr
    entries = json.loads((repo / ".maniac-guard-baseline.json").read_text())["findings"]
    assert [e["path"] for e in entries] == ["src/app.py"]
    code, document = scan_json(repo, ".", "--baseline", ".maniac-guard-baseline.json")
    assert code == 0
    assert document["summary"]["ignored"] == 1 and document["summary"]["baselined"] == 1
