"""Issue 15: text from scanned files in reports. A path that is not UTF-8
must not cost the report (it was a UnicodeEncodeError and no report); escape
bytes from a scanned line or a file name must not reach the terminal."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from maniac_guard.engine import ScanResult
from maniac_guard.findings import Finding, Location, Secret, Severity
from maniac_guard.report import ReportContext, render
from maniac_guard.report.escape import printable
from tests.helpers import fake_key, run_cli, run_in_process

KEY = fake_key("escaping")
LATIN1_NAME = b"caf\xe9.txt"
# Erase the line, move up: printed raw, the finding erases itself on screen.
ERASE = "\x1b[2K\x1b[1A"
FORMATS = ("text", "json", "sarif", "github", "gitlab", "junit")
NOT_A_REPO = "GIT_CEILING_DIRECTORIES"


@pytest.fixture()
def latin1_tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    (root / os.fsdecode(LATIN1_NAME)).write_text(f"token = {KEY}\n")
    return root


@pytest.fixture()
def hostile_tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    (root / f"evil{ERASE}.txt").write_text(f"token = {KEY} {ERASE}\x07\x9b2J\u202e\n")
    return root


def strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return []


def no_raw_controls(text: str) -> bool:
    return not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]", text)


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_file_is_written_when_a_path_is_not_utf8(latin1_tree: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"report.{fmt}"
    done = run_cli("scan", ".", "--format", fmt, "-o", str(out), cwd=latin1_tree, env={NOT_A_REPO: str(tmp_path)})
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    text = out.read_bytes().decode("utf-8")  # valid UTF-8 throughout
    assert KEY not in text
    if fmt == "json":
        [item] = json.loads(text)["findings"]
        assert os.fsencode(item["path"]) == LATIN1_NAME  # lossless
    elif fmt == "sarif":
        [result] = json.loads(text)["runs"][0]["results"]
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "caf%E9.txt"
    elif fmt == "gitlab":
        [item] = json.loads(text)["vulnerabilities"]
        assert item["location"]["file"] == "caf\\xe9.txt"
    elif fmt == "junit":
        assert "caf\\xe9.txt" in ET.fromstring(text).find(".//testcase").get("name", "")  # type: ignore[union-attr]
    else:
        assert "caf\\xe9.txt" in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_stdout_is_written_when_a_path_is_not_utf8(latin1_tree: Path, tmp_path: Path, fmt: str) -> None:
    done = run_in_process("scan", ".", "--format", fmt, cwd=latin1_tree, env={NOT_A_REPO: str(tmp_path)})
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and done.stdout


def test_text_output_neutralises_escape_sequences_from_lines_and_names(hostile_tree: Path) -> None:
    done = run_in_process("scan", ".", cwd=hostile_tree)
    assert done.returncode == 1, done.stderr
    assert no_raw_controls(done.stdout), repr(done.stdout)
    assert "evil\\x1b[2K\\x1b[1A.txt:1:9" in done.stdout  # visible, not acted on
    assert "\\x1b[2K\\x1b[1A\\x07\\x9b2J\\u202e" in done.stdout


def test_github_annotations_neutralise_escape_sequences(hostile_tree: Path) -> None:
    done = run_in_process("scan", ".", "--format", "github", cwd=hostile_tree)
    assert done.returncode == 1, done.stderr
    assert no_raw_controls(done.stdout), repr(done.stdout)
    [command] = [line for line in done.stdout.splitlines() if line.startswith("::")]
    assert "file=evil\\x1b[2K\\x1b[1A.txt," in command


@pytest.mark.parametrize("fmt", ["json", "sarif", "gitlab"])
def test_json_formats_keep_controls_escaped(hostile_tree: Path, fmt: str) -> None:
    done = run_in_process("scan", ".", "--format", fmt, cwd=hostile_tree, env={"CI_COMMIT_SHA": ""})
    assert done.returncode == 1, done.stderr
    assert no_raw_controls(done.stdout), repr(done.stdout)
    # Escaped in the text, the real characters once parsed.
    assert any("\x1b[2K" in text for text in strings(json.loads(done.stdout)))


def test_junit_shows_controls_visibly() -> None:
    finding = Finding(
        rule_id="MG101",
        severity=Severity.CRITICAL,
        message=f"key {ERASE}",
        location=Location(f"a{ERASE}.txt", 1, 1, 1, 40),
        secret=Secret(KEY),
        snippet=f"x {ERASE}",
    )
    text = render(ScanResult(findings=[finding]), "junit", ReportContext())
    assert no_raw_controls(text)
    [case] = ET.fromstring(text).iter("testcase")
    assert "a\\x1b[2K\\x1b[1A.txt" in case.get("name", "")


def test_printable_keeps_what_it_is_told_and_ordinary_text() -> None:
    assert printable("tab\there é ✓") == "tab\\x09here é ✓"
    assert printable("tab\there", keep="\t") == "tab\there"
    assert printable("caf\udce9\x1b\x7f\x85\u202e") == "caf\\xe9\\x1b\\x7f\\x85\\u202e"
    # ASCII text takes a smaller pattern (escape.py): every ASCII control still shows.
    assert printable("".join(map(chr, range(128))), keep="\n") == "".join(
        c if c == "\n" or 32 <= ord(c) < 127 else f"\\x{ord(c):02x}" for c in map(chr, range(128))
    )


def test_text_without_a_control_is_returned_before_any_pattern() -> None:
    """`printable` and `undecodable` return text as it is when a C test says
    the pattern cannot match (`isprintable`, a UTF-8 encode): never when one
    of the characters it escapes is there, over every code point."""
    from maniac_guard.report import escape

    everything = "".join(map(chr, range(0x110000)))
    controls = re.compile(escape._CONTROL).findall(everything)
    assert len(controls) > 2_000 and not any(c.isprintable() for c in controls)
    surrogates = re.compile(escape._SURROGATE).findall(everything)
    assert len(surrogates) == 2_048 and all(escape._has_surrogate(c) for c in surrogates)
    assert not escape._has_surrogate(re.sub(escape._SURROGATE, "", everything))
    assert printable("plain … text é") == "plain … text é"
    assert printable("a\u202eb … \x9b") == "a\\u202eb … \\x9b"
    assert escape.undecodable("caf\udce9 …") == "caf\\xe9 …"
    assert escape.undecodable("café …") == "café …"
