"""Issue 9: hostile input never raises out of a detector or a reporter.

Example counts are bounded so CI stays fast; run with
`HYPOTHESIS_PROFILE=long` for a deeper search.
"""

from __future__ import annotations

import os
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maniac_guard.detectors import load_detectors
from maniac_guard.engine import ScanResult, scan_source
from maniac_guard.findings import Finding, Location, Secret, Severity
from maniac_guard.report import FORMATS, ReportContext, render
from maniac_guard.sources import SourceFile
from maniac_guard.verification import Verification
from tests.helpers import fake_key

# CI runs a fixed, reproducible search; elsewhere each run explores anew.
settings.register_profile(
    "ci",
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=bool(os.environ.get("CI")),
)
settings.register_profile("long", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

DETECTORS = load_detectors()
NAMES = st.sampled_from(
    [
        ".env",
        ".env.prod",
        "config.yaml",
        ".maniac/config.yml",
        "app.py",
        "nb.ipynb",
        "keys.yaml",
        "maniac-keys.yaml",
        "secret.yaml",
        "x.js",
        "README.md",
        "a.pyi",
    ]
)
KEY = fake_key("fuzz")
# Text made of the pieces detectors look for, so fuzzing reaches deep paths.
FRAGMENTS = st.sampled_from(
    [
        KEY,
        "mk-",
        "mk%2D",
        "%3D",
        "bWst",
        "1rL",
        "tay",
        "MANIAC_API_KEY=",
        "api_key: ",
        "Maniac(",
        "api_key=",
        "from maniac import Maniac\n",
        "import os\n",
        "os.environ[",
        '"',
        "'",
        "\n",
        "\r\n",
        "\t",
        "{",
        "}",
        "[",
        "]",
        "permissions:\n  - ",
        "keys:\n  - name: x\n",
        "containers:*",
        "*",
        "&a ",
        "*a",
        "!!python/object ",
        "\\",
        '{"cells": [',
        '"source": ["',
        "maniac-guard: ignore",
        "# ",
        "= ",
        "\x00",
        "\udcff",
    ]
)
TEXTS = st.lists(st.one_of(FRAGMENTS, st.text(max_size=20)), max_size=40).map("".join)


def _scan(name: str, data: bytes) -> list[Finding]:
    return scan_source(SourceFile(name, data), DETECTORS)


@given(NAMES, st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(name: str, data: bytes) -> None:
    for finding in _scan(name, data):
        assert finding.line >= 1 and finding.location.column >= 1


@given(NAMES, TEXTS)
def test_key_shaped_text_never_raises_and_never_shows_a_key(name: str, text: str) -> None:
    data = text.encode("utf-8", "surrogateescape")
    for finding in _scan(name, data):
        assert KEY not in finding.message and KEY not in finding.snippet
        assert KEY not in repr(finding)


FINDINGS = st.builds(
    Finding,
    rule_id=st.sampled_from(["MG101", "MG102", "MG301", "MG302"]),
    severity=st.sampled_from(list(Severity)),
    message=st.text(max_size=80),
    location=st.builds(
        Location,
        path=st.text(string.printable, min_size=1, max_size=30),
        line=st.integers(1, 10**6),
        column=st.integers(1, 10**4),
        end_line=st.integers(1, 10**6),
        end_column=st.integers(1, 10**4),
    ),
    secret=st.one_of(st.none(), st.just(Secret(KEY))),
    subject=st.text(max_size=20),
    snippet=st.text(max_size=80),
    commit=st.one_of(st.none(), st.text("0123456789abcdef", min_size=40, max_size=40)),
    verification=st.one_of(
        st.none(),
        st.builds(
            Verification,
            st.sampled_from(["live", "revoked", "unknown"]),
            st.one_of(st.none(), st.integers(100, 599)),
            st.text(max_size=30),
        ),
    ),
)


@given(st.lists(FINDINGS, max_size=5), st.sampled_from(sorted(FORMATS)))
def test_every_reporter_renders_any_finding_without_the_key(findings: list[Finding], fmt: str) -> None:
    result = ScanResult(findings=findings, files_scanned=len(findings))
    out = render(result, fmt, ReportContext())
    assert isinstance(out, str) and KEY not in out
