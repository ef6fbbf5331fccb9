"""Issue 17: SARIF as GitHub code scanning takes it (URIs from the repository
root, our own line hashes, the 25,000-result limit, rule descriptors)."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from maniac_guard.catalog import load_rules
from maniac_guard.engine import ScanResult
from maniac_guard.findings import Finding, Location, Secret, Severity
from maniac_guard.report import ReportContext, render
from maniac_guard.report import sarif as sarif_report
from tests.gitrepo import git_env, make_repo
from tests.helpers import FIXTURES, fake_key, run_cli, run_in_process

KEY_A = fake_key("sarif-a")
KEY_B = fake_key("sarif-b")
OASIS_SCHEMA = FIXTURES / "sarif-schema-2.1.0.json"
# The copy github/codeql-action's upload-sarif validates with before uploading.
CODEQL_ACTION_SCHEMA = FIXTURES / "schemas" / "codeql-action-sarif-schema-2.1.0.json"
GITHUB_MAX_RESULTS = 25_000


def validate(sarif: dict[str, Any]) -> None:
    oasis = json.loads(OASIS_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(oasis, format_checker=jsonschema.FormatChecker()).validate(sarif)
    codeql_action = json.loads(CODEQL_ACTION_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(codeql_action, format_checker=jsonschema.FormatChecker()).validate(sarif)


def test_the_codeql_action_schema_rejects_what_upload_sarif_rejects() -> None:
    # The vendored copy is a working schema, not an empty shell.
    codeql_action = json.loads(CODEQL_ACTION_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(codeql_action)
    assert not validator.is_valid({"version": "2.1.0", "runs": [{"results": []}]})  # no tool
    assert not validator.is_valid({"version": "2.2.0", "runs": []})
    assert validator.is_valid({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": []}]})


def scan_sarif(cwd: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = run_cli("scan", *args, "--format", "sarif", cwd=cwd, env=env)
    assert done.returncode == 1, done.stderr
    sarif: dict[str, Any] = json.loads(done.stdout)
    validate(sarif)
    return sarif


def uris(sarif: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {
        (
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["artifactLocation"].get("uriBaseId"),
        )
        for r in sarif["runs"][0]["results"]
    }


def finding(line: int, severity: Severity = Severity.CRITICAL, key: str = KEY_A, path: str = "a.txt") -> Finding:
    secret = Secret(key)
    return Finding(
        rule_id="MG101",
        severity=severity,
        message="Maniac API key in plain text",
        location=Location(path, line, 1, line, 40),
        secret=secret,
        snippet=f"key = {secret.masked}",
    )


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    env = git_env(tmp_path)
    repository = make_repo(tmp_path / "repo", env)
    repository.write("svc/prod.env", f"TOKEN={KEY_A}\n")
    repository.write("top.txt", f"token {KEY_B}\n")
    repository.commit("leak")
    return repository.path


# --- URIs -----------------------------------------------------------------


def test_uris_are_relative_to_the_repository_root_from_a_subfolder(repo: Path) -> None:
    sarif = scan_sarif(repo / "svc", ".")
    assert uris(sarif) == {("svc/prod.env", "%SRCROOT%")}
    base = sarif["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base == repo.resolve().as_uri() + "/"


def test_uris_from_the_root_and_for_a_path_outside_the_current_folder(repo: Path) -> None:
    assert uris(scan_sarif(repo, ".")) == {("svc/prod.env", "%SRCROOT%"), ("top.txt", "%SRCROOT%")}
    assert uris(scan_sarif(repo / "svc", "../top.txt")) == {("top.txt", "%SRCROOT%")}


def test_history_findings_are_relative_to_the_root_too(repo: Path, tmp_path: Path) -> None:
    sarif = scan_sarif(repo / "svc", "--history", env=git_env(tmp_path))
    assert uris(sarif) == {("svc/prod.env", "%SRCROOT%"), ("top.txt", "%SRCROOT%")}


def test_outside_a_repository_uris_are_relative_to_the_current_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "prod.env").write_text(f"TOKEN={KEY_A}\n")
    sarif = scan_sarif(tmp_path / "sub", ".", env={"GIT_CEILING_DIRECTORIES": str(tmp_path)})
    assert uris(sarif) == {("prod.env", "%SRCROOT%")}
    assert sarif["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == (tmp_path / "sub").resolve().as_uri() + "/"


def test_uris_are_percent_encoded_so_any_name_is_a_valid_uri(tmp_path: Path) -> None:
    name = os.fsdecode(b"a b%c#d:\xe9.txt")
    (tmp_path / name).write_text(f"token {KEY_A}\n")
    done = run_cli("scan", ".", "--format", "sarif", cwd=tmp_path, env={"GIT_CEILING_DIRECTORIES": str(tmp_path)})
    assert done.returncode == 1, done.stderr
    sarif = json.loads(done.stdout)
    validate(sarif)
    assert uris(sarif) == {("a%20b%25c%23d%3A%E9.txt", "%SRCROOT%")}


# --- fingerprints ---------------------------------------------------------


def test_primary_location_line_hash_is_ours_and_survives_moved_lines(repo: Path) -> None:
    def hashes() -> dict[str, dict[str, str]]:
        sarif = scan_sarif(repo, ".")
        return {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r["partialFingerprints"]
            for r in sarif["runs"][0]["results"]
        }

    before = hashes()
    for prints in before.values():
        head, _, occurrence = prints["primaryLocationLineHash"].partition(":")
        assert len(head) == 16 and int(head, 16) >= 0 and occurrence == "1"
        assert len(prints["maniacGuard/v1"]) == 32
    assert len({p["primaryLocationLineHash"] for p in before.values()}) == 2
    env_file = repo / "svc" / "prod.env"
    env_file.write_text("# moved\n\n" + env_file.read_text())
    after = hashes()
    assert after == before


def test_the_same_line_twice_in_a_file_gets_occurrence_numbers() -> None:
    sarif = json.loads(render(ScanResult(findings=[finding(1), finding(5)]), "sarif", ReportContext()))
    prints = [r["partialFingerprints"]["primaryLocationLineHash"] for r in sarif["runs"][0]["results"]]
    assert [p.split(":")[1] for p in prints] == ["1", "2"]
    assert prints[0].split(":")[0] == prints[1].split(":")[0]


def test_line_hash_holds_no_key_and_differs_per_key() -> None:
    one = render(ScanResult(findings=[finding(1, key=KEY_A)]), "sarif", ReportContext())
    two = render(ScanResult(findings=[finding(1, key=KEY_B)]), "sarif", ReportContext())
    hash_one = json.loads(one)["runs"][0]["results"][0]["partialFingerprints"]["primaryLocationLineHash"]
    hash_two = json.loads(two)["runs"][0]["results"][0]["partialFingerprints"]["primaryLocationLineHash"]
    assert hash_one != hash_two
    assert KEY_A not in one and KEY_A[3:] not in one


# --- the 25,000-result limit ----------------------------------------------


def test_most_severe_findings_are_kept_first() -> None:
    findings = [
        finding(1, Severity.LOW),
        finding(2, Severity.CRITICAL),
        finding(3, Severity.MEDIUM),
        finding(4, Severity.CRITICAL),
    ]
    kept = sarif_report.most_severe(findings, limit=3)
    assert [f.location.line for f in kept] == [2, 4, 3]


def test_more_than_25000_results_are_cut_with_a_notification_and_a_stderr_line(tmp_path: Path) -> None:
    # 26 files of 962 keys (the same keys in each: a key's fingerprint holds its path).
    keys = [fake_key(f"many-{i}") for i in range(962)]
    for n in range(26):
        (tmp_path / f"many{n}.txt").write_text("".join(f"k{i} = {key}\n" for i, key in enumerate(keys)))
    # One high finding among them: a committed .env holding a key (MG101 and MG302).
    (tmp_path / ".env").write_text(f"MANIAC_API_KEY={KEY_B}\n")
    done = run_cli("scan", ".", "--format", "sarif", "-o", "out.sarif", cwd=tmp_path, timeout=600)
    assert done.returncode == 1, done.stderr
    raw = (tmp_path / "out.sarif").read_bytes()
    sarif = json.loads(raw)
    run = sarif["runs"][0]
    assert len(run["results"]) == GITHUB_MAX_RESULTS
    total = 26 * 962 + 2
    left = total - GITHUB_MAX_RESULTS
    assert {r["level"] for r in run["results"]} == {"error"}
    assert "MG302" not in {r["ruleId"] for r in run["results"]}  # the most severe (critical) are kept
    [note] = run["invocations"][0]["toolExecutionNotifications"]
    assert note["level"] == "warning" and f"{left:,} of {total:,} results left out" in note["message"]["text"]
    assert run["invocations"][0]["executionSuccessful"] is True
    [warning] = [line for line in done.stderr.splitlines() if "left out" in line]
    assert warning.startswith("maniac-guard: warning: SARIF:") and f"{left:,} of {total:,}" in warning
    # GitHub's other limit: 10 MB gzipped per upload.
    assert len(gzip.compress(raw)) < 10 * 1024 * 1024


def test_no_notification_and_no_warning_under_the_limit(repo: Path) -> None:
    done = run_in_process("scan", ".", "--format", "sarif", cwd=repo)
    assert "left out" not in done.stderr
    assert "toolExecutionNotifications" not in json.loads(done.stdout)["runs"][0]["invocations"][0]


# --- rules ----------------------------------------------------------------


def test_rule_descriptors_fit_code_scanning(repo: Path) -> None:
    sarif = scan_sarif(repo, ".")
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules} == set(load_rules())
    for rule in rules:
        assert len(rule["fullDescription"]["text"]) <= 1024, rule["id"]
        assert rule["helpUri"].startswith("https://") and rule["helpUri"].endswith(f"{rule['id']}.yaml")
        if "security-severity" in rule["properties"]:
            assert "security" in rule["properties"]["tags"], rule["id"]


def test_a_long_description_is_cut_and_kept_whole_in_help() -> None:
    mg101 = load_rules()["MG101"]
    what = mg101.doc["what"].strip()
    assert len(what) > 1024  # the case that made GitHub reject the upload
    sarif = json.loads(render(ScanResult(), "sarif", ReportContext()))
    [rule] = [r for r in sarif["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "MG101"]
    text = rule["fullDescription"]["text"]
    assert len(text) <= 1024 and text.endswith("…")
    assert what.startswith(text[:-1].rstrip())
    assert what in rule["help"]["text"]


def test_security_tag_is_added_where_a_rule_lacks_it() -> None:
    rule = load_rules()["MG101"]
    untagged = type(rule)(**{**rule.__dict__, "tags": ("secret",)})
    descriptor = sarif_report.rule_descriptor(untagged)
    assert descriptor["properties"]["tags"][0] == "security" and "secret" in descriptor["properties"]["tags"]
