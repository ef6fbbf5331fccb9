"""Issue 17: JUnit valid against Jenkins xUnit's junit-10.xsd with stable
test names; the GitLab report valid against secret-detection schema 15.2.1.
Both schemas are vendored under tests/fixtures/schemas (their sources are in
that folder's README)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import xmlschema

from maniac_guard.engine import ScanResult
from maniac_guard.findings import Finding, Location, Secret, Severity
from maniac_guard.report import ReportContext, render
from tests.helpers import FIXTURES, fake_key, run_cli

SCHEMAS = FIXTURES / "schemas"
KEY_A = fake_key("junit-a")
KEY_B = fake_key("junit-b")
NO_SHA = {"CI_COMMIT_SHA": ""}


@pytest.fixture(scope="module")
def junit_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd"))


@pytest.fixture(scope="module")
def gitlab_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS / "secret-detection-report-format-15.2.1.json").read_text())
    return schema


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(f'import os\n\nclient_key = "{KEY_A}"\nother = "{KEY_A}"\n')
    (tmp_path / ".env").write_text(f"MANIAC_API_KEY={KEY_B}\n")
    (tmp_path / "notes.txt").write_text(f"low {KEY_B}\n")
    return tmp_path


def finding(path: str = "a.txt", severity: Severity = Severity.CRITICAL, message: str = "key") -> Finding:
    return Finding(
        rule_id="MG101",
        severity=severity,
        message=message,
        location=Location(path, 1, 1, 1, 40),
        secret=Secret(KEY_A),
        snippet="k = x",
    )


def junit(tree: Path, *args: str) -> str:
    done = run_cli("scan", ".", "--format", "junit", *args, cwd=tree)
    assert done.returncode in (0, 1), done.stderr
    return done.stdout


# --- JUnit ----------------------------------------------------------------


@pytest.mark.parametrize("fail_on", ["low", "critical"])
def test_junit_is_valid_against_jenkins_xunit_schema(
    tree: Path, junit_schema: xmlschema.XMLSchema, fail_on: str
) -> None:
    # --fail-on critical makes the high finding a <skipped> testcase.
    text = junit(tree, "--fail-on", fail_on)
    junit_schema.validate(text)
    root = ET.fromstring(text)
    assert len(list(root.iter("testcase"))) == 5


def test_junit_clean_scan_is_valid_too(tmp_path: Path, junit_schema: xmlschema.XMLSchema) -> None:
    (tmp_path / "ok.py").write_text("import os\n")
    junit_schema.validate(junit(tmp_path))


def test_junit_is_valid_with_hostile_text(junit_schema: xmlschema.XMLSchema) -> None:
    bad = finding(path="a<b>&\x1b[2K\udce9.py", message='"quoted" \x00 nul \x07 bell \ufffe')
    junit_schema.validate(render(ScanResult(findings=[bad]), "junit", ReportContext()))


def test_junit_test_names_are_stable_when_lines_move(tree: Path) -> None:
    def names() -> list[str]:
        return sorted(case.get("name", "") for case in ET.fromstring(junit(tree)).iter("testcase"))

    before = names()
    assert len(set(before)) == len(before) == 5  # unique, the repeated key included
    assert all(":" not in name for name in before)  # no line:col
    app = tree / "app.py"
    app.write_text("# moved\n\n\n" + app.read_text())
    assert names() == before


def test_junit_test_name_is_rule_path_and_fingerprint(tree: Path) -> None:
    findings = json.loads(run_cli("scan", ".", "--format", "json", cwd=tree).stdout)["findings"]
    expected = {f"{f['rule_id']} {f['path']} {f['fingerprint']}" for f in findings}
    names = {case.get("name", "").removesuffix(" #2") for case in ET.fromstring(junit(tree)).iter("testcase")}
    assert names == expected


# --- GitLab ---------------------------------------------------------------


def gitlab(tree: Path) -> dict[str, Any]:
    done = run_cli("scan", ".", "--format", "gitlab", cwd=tree, env=NO_SHA)
    assert done.returncode == 1, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def test_gitlab_report_is_valid_against_schema_15_2_1(tree: Path, gitlab_schema: dict[str, Any]) -> None:
    report = gitlab(tree)
    assert report["version"] == "15.2.1"
    jsonschema.Draft7Validator(gitlab_schema, format_checker=jsonschema.FormatChecker()).validate(report)
    assert len(report["vulnerabilities"]) == 5
    assert all(v.get("solution") for v in report["vulnerabilities"])


def test_gitlab_ids_are_unique_for_the_same_key_twice_in_a_file(tree: Path) -> None:
    vulnerabilities = gitlab(tree)["vulnerabilities"]
    twice = [v for v in vulnerabilities if v["location"]["file"] == "app.py"]
    assert len(twice) == 2
    assert len({v["id"] for v in vulnerabilities}) == len(vulnerabilities)


def test_gitlab_report_with_an_undecodable_path_is_valid(gitlab_schema: dict[str, Any]) -> None:
    text = render(ScanResult(findings=[finding(path="caf\udce9\x1b.env")]), "gitlab", ReportContext())
    text.encode("utf-8")
    report = json.loads(text)
    jsonschema.Draft7Validator(gitlab_schema).validate(report)
    assert report["vulnerabilities"][0]["location"]["file"] == "caf\\xe9\x1b.env"
    assert "\x1b" not in text  # escaped in the JSON text


def test_gitlab_paths_are_relative_to_the_repository_root_from_a_subfolder(tmp_path: Path) -> None:
    """GitLab links `location.file` from the project's root, whatever folder
    the job ran the scan in (SARIF does the same with %SRCROOT%)."""
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    service = tmp_path / "services" / "billing"
    service.mkdir(parents=True)
    (service / ".env").write_text(f"MANIAC_API_KEY={KEY_B}\n")
    done = run_cli("scan", ".", "--format", "gitlab", cwd=service, env=NO_SHA)
    assert done.returncode == 1, done.stderr
    files = {v["location"]["file"] for v in json.loads(done.stdout)["vulnerabilities"]}
    assert files == {"services/billing/.env"}
