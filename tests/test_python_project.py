"""End to end: the console script on a mixed Python project (SARIF), and on
the machine's standard library (no 2xx finding)."""

from __future__ import annotations

import json
import os
import sys
import sysconfig
import time
from pathlib import Path

from maniac_guard.sources import SourceFile
from tests.helpers import FIXTURES, run_cli

PROJECT = FIXTURES / "python_project"

EXPECTED = {
    ("app/client.py", 10, "MG202"),
    ("app/client.py", 11, "MG202"),
    ("app/client.py", 15, "MG201"),
    ("app/client.py", 19, "MG201"),
    ("app/client.py", 29, "MG203"),
    ("app/client.py", 31, "MG203"),
    ("app/http_calls.py", 11, "MG206"),
    ("app/http_calls.py", 9, "MG206"),  # TOKEN, sent as "Bearer " + TOKEN to a Maniac URL at line 12
    ("app/http_calls.py", 15, "MG206"),
    ("app/mistakes.py", 4, "MG207"),
    ("app/mistakes.py", 6, "MG207"),
    ("app/mistakes.py", 8, "MG208"),
    ("app/mistakes.py", 9, "MG208"),
    ("app/mistakes.py", 10, "MG208"),
    ("app/settings.py", 8, "MG202"),
    ("app/settings.py", 14, "MG202"),
    ("app/settings.py", 20, "MG204"),
    ("app/settings.py", 21, "MG204"),
    ("app/settings.py", 22, "MG204"),
    ("app/settings.py", 23, "MG205"),
    ("app/settings.py", 24, "MG205"),
    # Issue 16: non-mk literals reaching the SDK through common idioms.
    ("app/reach_defaults.py", 5, "MG202"),  # positional default
    ("app/reach_defaults.py", 9, "MG202"),  # keyword-only default (async)
    ("app/reach_defaults.py", 14, "MG202"),  # method default
    ("app/reach_defaults.py", 18, "MG202"),  # lambda default
    ("app/reach_containers.py", 4, "MG202"),  # CONFIG["maniac"]["api_key"]
    ("app/reach_containers.py", 5, "MG202"),  # KEYS[0]
    ("app/reach_partial.py", 7, "MG201"),  # partial(maniac.Maniac, api_key=…)
    ("app/reach_partial.py", 8, "MG201"),  # functools.partial(…, "…")
    ("app/reach_wrappers.py", 15, "MG202"),  # self._connect("…") → make_client → Maniac
    ("app/reach_wrappers.py", 18, "MG202"),  # make_client("…")
    ("app/reach_strings.py", 7, "MG203"),  # %
    ("app/reach_strings.py", 8, "MG203"),  # str.format
    ("app/reach_strings.py", 9, "MG203"),  # "".join
    ("app/reach_strings.py", 10, "MG203"),  # Template.substitute({…})
    ("app/reach_strings.py", 11, "MG203"),  # Template.safe_substitute(a=…)
    ("app/reach_strings.py", 12, "MG203"),  # backslash continuation
    ("app/reach_strings.py", 22, "MG203"),  # f-string without interpolation
    ("app/reach_attributes.py", 6, "MG202"),  # cls.API_KEY
    ("app/reach_attributes.py", 9, "MG202"),  # self.backup_key
    ("app/reach_fields.py", 10, "MG202"),  # dataclass default, via an instance
    ("app/reach_fields.py", 11, "MG202"),  # field(default=…), via self
    ("app/reach_fields.py", 18, "MG202"),  # pydantic Field("…")
    # app/reach_right_forms.py: the same shapes done right, no finding.
    # Python 2: does not parse, the key patterns still find the key.
    ("legacy/py2_script.py", 4, "MG101"),
    # Notebook: code cells analyzed, lines are lines of the .ipynb file.
    ("notebooks/explore.ipynb", 23, "MG202"),  # KEY = "mk-…" in cell 1, used in cell 2
    ("notebooks/explore.ipynb", 36, "MG101"),  # a key printed in a cell's output
    ("notebooks/explore.ipynb", 64, "MG201"),  # `%time other = Maniac(api_key="…")`
    ("notebooks/explore.ipynb", 65, "MG207"),
    ("notebooks/explore.ipynb", 86, "MG205"),  # a cell whose source is one string
}


def _sarif_results(stdout: str) -> set[tuple[str, int, str]]:
    sarif = json.loads(stdout)
    (run,) = sarif["runs"]
    # SARIF URIs are relative to the repository root this project lies in.
    return {
        (
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].split("python_project/", 1)[-1],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            r["ruleId"],
        )
        for r in run["results"]
    }


def test_mixed_project_gives_exactly_the_expected_findings_in_sarif() -> None:
    result = run_cli("scan", ".", "--format", "sarif", cwd=PROJECT)
    assert result.returncode == 1, result.stderr
    assert _sarif_results(result.stdout) == EXPECTED
    # The file that does not parse is named in a note (not an error: the exit
    # code is the findings'), so nobody takes its missing MG2xx for a clean bill.
    notes = [line for line in result.stderr.splitlines() if "py2_script" in line]
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert notes == [
        f"maniac-guard: legacy/py2_script.py: does not parse as Python {version} (line 3); "
        "Python rules skipped, key patterns only"
    ]


def test_reach_findings_name_the_sdk_call_and_the_wrapper_in_sarif() -> None:
    result = run_cli("scan", "app", "--format", "sarif", "--select", "MG2", cwd=PROJECT)
    messages = {
        (
            # SARIF URIs are relative to the repository root this project lies in.
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].split("python_project/", 1)[-1],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
        ): r["message"]["text"]
        for r in json.loads(result.stdout)["runs"][0]["results"]
    }
    assert "passed to make_client() and on to Maniac()" in messages[("app/reach_wrappers.py", 18)]
    assert "passed to AsyncManiac()" in messages[("app/reach_defaults.py", 9)]
    assert "passed to AsyncManiac()" in messages[("app/reach_partial.py", 8)]
    assert not any(uri == "app/reach_right_forms.py" for uri, _ in messages)


def test_mixed_project_sarif_rules_carry_the_python_rule_docs() -> None:
    result = run_cli("scan", ".", "--format", "sarif", "--select", "MG2", cwd=PROJECT)
    sarif = json.loads(result.stdout)
    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert {f"MG20{i}" for i in range(1, 9)} <= set(rules)
    assert {r[2] for r in _sarif_results(result.stdout)} == {f"MG20{i}" for i in range(1, 9)}


def _stdlib() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def test_standard_library_has_no_python_rule_findings() -> None:
    stdlib = _stdlib()
    started = time.perf_counter()
    # site-packages holds third-party code, not the standard library.
    result = run_cli(
        "scan",
        ".",
        "--select",
        "MG2",
        "--format",
        "json",
        "--no-gitignore",
        "--exclude",
        "site-packages/",
        cwd=stdlib,
        timeout=900,
    )
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["findings"] == []
    assert report["summary"]["files_scanned"] > 500
    print(f"stdlib scan: {report['summary']['files_scanned']} files in {elapsed:.1f} s")


BROAD_MARKERS = (b"Maniac", b"maniac", b"MANIAC_", b"mk-", b"api_key", b"apiKey", b"Authorization")


def test_standard_library_files_the_prefilter_selects_have_no_issues_under_full_analysis() -> None:
    """The console scan above parses no stdlib file (none names Maniac).
    Here every file holding one of the issue's broad markers is analyzed in
    full, so the analyzer itself is shown quiet on real code."""
    from maniac_guard.python.analyzer import analyze_text

    stdlib = _stdlib()
    analyzed = 0
    for root, dirs, files in os.walk(stdlib):
        dirs[:] = [d for d in dirs if d not in ("site-packages", "__pycache__")]
        for name in files:
            if not name.endswith((".py", ".pyi")):
                continue
            path = Path(root, name)
            source = SourceFile(path.relative_to(stdlib).as_posix(), path.read_bytes())
            if not any(marker in source.data for marker in BROAD_MARKERS):
                continue
            try:
                issues = analyze_text(source.text, path=source.path)
            except SyntaxError:
                continue  # lib2to3 test data and friends
            assert issues == [], (source.path, [(i.rule_id, i.message) for i in issues])
            analyzed += 1
    assert analyzed >= 5
