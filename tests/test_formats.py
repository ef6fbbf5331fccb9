"""Issue 7: the CI formats `github`, `gitlab` and `junit`."""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from maniac_guard.findings import Finding, Location, Secret, Severity
from maniac_guard.report import ReportContext, render
from maniac_guard.report.github import escape_data, escape_property
from maniac_guard.summary import ScanResult
from tests.helpers import fake_key, run_cli, run_in_process

KEY_A = fake_key("formats-a")
KEY_B = fake_key("formats-b")
ANNOTATION_RE = re.compile(r"^::(error|warning|notice) ([^:]*)::(.*)$")
GITLAB_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
NO_SHA = {"CI_COMMIT_SHA": ""}  # as on a laptop, even when the tests run in GitLab CI


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    return write_tree(
        tmp_path,
        {
            "app.py": f'import os\n\nclient_key = "{KEY_A}"\n',
            ".env": f"MANIAC_API_KEY={KEY_B}\n",
        },
    )


def finding(
    *,
    path: str = "src/app.py",
    message: str = "Maniac API key in plain text",
    severity: Severity = Severity.CRITICAL,
    snippet: str = "",
    line: int = 3,
) -> Finding:
    secret = Secret(KEY_A)
    return Finding(
        rule_id="MG101",
        severity=severity,
        message=message,
        location=Location(path, line, 5, line, 5 + len(KEY_A)),
        secret=secret,
        snippet=snippet or f'key = "{secret.masked}"',
    )


def rendered(fmt: str, *findings: Finding, fail_on: str = "low") -> str:
    return render(ScanResult(findings=list(findings)), fmt, ReportContext(fail_on=fail_on))


def unescape(text: str) -> str:
    for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(code, char)
    return text


def parse_annotation(line: str) -> tuple[str, dict[str, str], str]:
    match = ANNOTATION_RE.match(line)
    assert match, f"not a workflow command: {line!r}"
    properties = dict(part.split("=", 1) for part in match.group(2).split(","))
    return match.group(1), properties, match.group(3)


# --- github ---------------------------------------------------------------


def test_github_escapes_data_and_properties_as_the_runner_does() -> None:
    assert escape_data("100% done\r\nnext: a,b") == "100%25 done%0D%0Anext: a,b"
    assert escape_property("C:\\dir,x%\n") == "C%3A\\dir%2Cx%25%0A"


def test_github_annotation_with_percent_colon_comma_and_newlines_stays_one_line() -> None:
    weird = finding(path="we%ird:na,me/app.py", message="50% sure: key, here\nsecond line\r\nthird")
    out = rendered("github", weird)
    commands = [line for line in out.splitlines() if line.startswith("::")]
    assert len(commands) == 1
    raw = commands[0]
    assert "file=we%25ird%3Ana%2Cme/app.py," in raw
    command, properties, message = parse_annotation(raw)
    assert command == "error"
    assert unescape(properties["file"]) == "we%ird:na,me/app.py"
    assert properties["line"] == "3" and properties["endLine"] == "3" and properties["col"] == "5"
    assert unescape(properties["title"]).startswith("MG101 ")
    assert unescape(message).startswith("50% sure: key, here\nsecond line\r\nthird")
    assert "\n" not in message and "\r" not in message


def test_github_severity_maps_to_error_warning_notice() -> None:
    expected = {
        Severity.CRITICAL: "error",
        Severity.HIGH: "error",
        Severity.MEDIUM: "warning",
        Severity.LOW: "notice",
        Severity.INFO: "notice",
    }
    for severity, command in expected.items():
        line = rendered("github", finding(severity=severity)).splitlines()[0]
        assert parse_annotation(line)[0] == command


def test_github_format_end_to_end_on_a_file_name_needing_escapes(tmp_path: Path) -> None:
    write_tree(tmp_path, {"odd%na:me,1.txt": f"token {KEY_A}\n"})
    done = run_cli("scan", ".", "--format", "github", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    [line] = [text for text in done.stdout.splitlines() if text.startswith("::")]
    command, properties, message = parse_annotation(line)
    assert command == "error"
    assert unescape(properties["file"]) == "odd%na:me,1.txt"
    assert properties["line"] == "1"
    assert "MG101" in unescape(properties["title"])
    assert Secret(KEY_A).masked in unescape(message)
    assert "Scanned 1 file" in done.stdout  # the summary is an ordinary log line


# --- gitlab ---------------------------------------------------------------


def gitlab_report(tree: Path, env: dict[str, str] | None = None) -> dict[str, object]:
    done = run_cli("scan", ".", "--format", "gitlab", cwd=tree, env={**NO_SHA, **(env or {})})
    assert done.returncode == 1, done.stderr
    report: dict[str, object] = json.loads(done.stdout)
    return report


def test_gitlab_report_carries_every_required_field(tree: Path) -> None:
    report = gitlab_report(tree)
    assert report["version"] == "15.2.1"
    vulnerabilities = report["vulnerabilities"]
    assert isinstance(vulnerabilities, list)
    by_file: dict[tuple[str, str], dict] = {}
    for vuln in vulnerabilities:
        assert isinstance(vuln["id"], str) and vuln["id"]
        assert vuln["category"] == "secret_detection"
        assert isinstance(vuln["name"], str) and vuln["name"]
        assert isinstance(vuln["description"], str) and vuln["description"]
        assert vuln["severity"] in {"Critical", "High", "Medium", "Low", "Info"}
        [identifier] = vuln["identifiers"]
        assert set(identifier) >= {"type", "name", "value"}
        assert all(isinstance(identifier[k], str) and identifier[k] for k in ("type", "name", "value"))
        location = vuln["location"]
        assert isinstance(location["file"], str)
        assert isinstance(location["start_line"], int) and location["start_line"] >= 1
        assert location["end_line"] >= location["start_line"]
        assert location["commit"]["sha"] == "0000000"  # not a git repository
        by_file[(location["file"], identifier["value"])] = vuln
    assert len({v["id"] for v in vulnerabilities}) == len(vulnerabilities)
    assert set(by_file) == {("app.py", "MG101"), (".env", "MG101"), (".env", "MG302")}
    assert by_file[("app.py", "MG101")]["location"]["start_line"] == 3
    assert by_file[("app.py", "MG101")]["severity"] == "Critical"
    assert by_file[(".env", "MG302")]["severity"] == "High"
    scan = report["scan"]
    assert isinstance(scan, dict)
    for part in ("analyzer", "scanner"):
        tool = scan[part]
        assert tool["id"] == "maniac-guard" and tool["name"] == "maniac-guard"
        assert isinstance(tool["version"], str) and tool["version"]
        assert tool["vendor"]["name"]
    assert scan["type"] == "secret_detection"
    assert scan["status"] == "success"
    assert GITLAB_TIME_RE.match(scan["start_time"]) and GITLAB_TIME_RE.match(scan["end_time"])
    assert scan["start_time"] <= scan["end_time"]


def test_gitlab_ids_are_stable_when_lines_move(tree: Path) -> None:
    before = {
        v["location"]["file"] + v["identifiers"][0]["value"]: v["id"] for v in gitlab_report(tree)["vulnerabilities"]
    }  # type: ignore[union-attr]
    app = tree / "app.py"
    app.write_text("# moved down\n\n\n" + app.read_text())
    after_report = gitlab_report(tree)["vulnerabilities"]
    after = {v["location"]["file"] + v["identifiers"][0]["value"]: v["id"] for v in after_report}  # type: ignore[union-attr]
    assert after == before
    [moved] = [v for v in after_report if v["location"]["file"] == "app.py"]  # type: ignore[union-attr]
    assert moved["location"]["start_line"] == 6


def test_gitlab_commit_is_head_in_a_git_repository_or_ci_commit_sha(tree: Path) -> None:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q"], cwd=tree, check=True)
    subprocess.run([*git, "add", "."], cwd=tree, check=True)
    subprocess.run([*git, "commit", "-qm", "leak"], cwd=tree, check=True)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tree, check=True, capture_output=True, text=True
    ).stdout.strip()
    shas = {v["location"]["commit"]["sha"] for v in gitlab_report(tree)["vulnerabilities"]}  # type: ignore[union-attr]
    assert shas == {head}
    ci_sha = "a" * 40
    shas = {v["location"]["commit"]["sha"] for v in gitlab_report(tree, {"CI_COMMIT_SHA": ci_sha})["vulnerabilities"]}  # type: ignore[union-attr]
    assert shas == {ci_sha}


def test_gitlab_source_extract_is_masked() -> None:
    report = json.loads(rendered("gitlab", finding()))
    extract = report["vulnerabilities"][0]["raw_source_code_extract"]
    assert Secret(KEY_A).masked in extract and KEY_A not in extract


# --- junit ----------------------------------------------------------------


def case_path(case: ET.Element) -> str:
    """The path in a testcase's name (`MG101 path fingerprint`)."""
    return case.get("name", "").split(" ")[1]


def test_junit_has_one_failing_testcase_per_finding(tree: Path) -> None:
    done = run_in_process("scan", ".", "--format", "junit", cwd=tree)
    assert done.returncode == 1, done.stderr
    root = ET.fromstring(done.stdout)
    assert root.tag == "testsuites"
    [suite] = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == 3
    assert all(case.find("failure") is not None for case in cases)
    assert suite.get("tests") == "3" and suite.get("failures") == "3"
    files = sorted((case_path(case), case.find("failure").get("type")) for case in cases)  # type: ignore[union-attr]
    assert files == [(".env", "MG101"), (".env", "MG302"), ("app.py", "MG101")]


def test_junit_findings_below_fail_on_are_skipped_not_failed(tree: Path) -> None:
    done = run_in_process("scan", ".", "--format", "junit", "--fail-on", "critical", cwd=tree)
    root = ET.fromstring(done.stdout)
    outcome = {
        (case_path(case), case.get("classname")): "failure" if case.find("failure") is not None else "skipped"
        for case in root.iter("testcase")
        if case.find("failure") is not None or case.find("skipped") is not None
    }
    assert outcome[(".env", "maniac-guard.MG302")] == "skipped"
    assert outcome[(".env", "maniac-guard.MG101")] == "failure"
    assert root.get("failures") == "2" and root.find("testsuite").get("skipped") == "1"  # type: ignore[union-attr]


def test_junit_clean_scan_is_one_passing_testcase(tmp_path: Path) -> None:
    write_tree(tmp_path, {"ok.py": "import os\nkey = os.environ['MANIAC_API_KEY']\n"})
    done = run_in_process("scan", ".", "--format", "junit", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    root = ET.fromstring(done.stdout)
    cases = list(root.iter("testcase"))
    assert len(cases) == 1 and len(list(cases[0])) == 0
    assert root.get("failures") == "0" and root.get("tests") == "1"


def test_junit_is_well_formed_even_with_control_characters() -> None:
    bad = finding(path="a<b>&c.py", message='quote " and \x01 bell \x07', snippet="x = 1\x00\x1b[31m")
    root = ET.fromstring(rendered("junit", bad))
    [case] = root.iter("testcase")
    assert case_path(case) == "a<b>&c.py"
    assert 'quote "' in (case.find("failure").get("message") or "")  # type: ignore[union-attr]


# --- every format ---------------------------------------------------------


@pytest.mark.parametrize("fmt", ["github", "gitlab", "junit"])
def test_no_format_holds_a_full_key(tree: Path, fmt: str) -> None:
    done = run_in_process("scan", ".", "--format", fmt, cwd=tree, env=NO_SHA)
    assert done.returncode == 1, done.stderr
    for key in (KEY_A, KEY_B):
        assert key not in done.stdout and key[3:] not in done.stdout
        assert key not in done.stderr
        assert Secret(key).masked in done.stdout


PARSERS = {
    "github": lambda text: [parse_annotation(line) for line in text.splitlines() if line.startswith("::")],
    "gitlab": lambda text: json.loads(text)["vulnerabilities"],
    "junit": lambda text: list(ET.fromstring(text).iter("failure")),
}


@pytest.mark.parametrize("fmt", sorted(PARSERS))
def test_format_written_to_a_file_with_output(tree: Path, fmt: str) -> None:
    target = tree / "out" / f"report.{fmt}"
    target.parent.mkdir()
    done = run_in_process("scan", "app.py", ".env", "--format", fmt, "-o", str(target), cwd=tree, env=NO_SHA)
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert len(PARSERS[fmt](target.read_text(encoding="utf-8"))) == 3
