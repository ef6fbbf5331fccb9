"""Reporters: one module per format, each `render(result, context) -> str`."""

from __future__ import annotations

from maniac_guard.records import NamedTuple
from maniac_guard.summary import ScanResult

FORMATS = {
    "text": "maniac_guard.report.text",
    "json": "maniac_guard.report.json_report",
    "sarif": "maniac_guard.report.sarif",
    "github": "maniac_guard.report.github",
    "gitlab": "maniac_guard.report.gitlab",
    "junit": "maniac_guard.report.junit",
}


class ReportContext(NamedTuple):  # not a frozen dataclass: a quarter of the start-up cost
    color: bool = False
    verbose: bool = False
    # -q: the findings alone (no notes, no summary line).
    quiet: bool = False
    fail_on: str = "low"
    # The folder disk findings' paths are relative to ("": the current one)
    # and the repository root SARIF's URIs are relative to (None: git's
    # top level of `cwd`, or `cwd` outside a repository). History findings
    # (those with a commit) are relative to the repository root already.
    cwd: str = ""
    source_root: str | None = None


def render(result: ScanResult, fmt: str, context: ReportContext) -> str:
    from maniac_guard.findings import mask_real_keys
    from maniac_guard.report.escape import undecodable

    # __import__, not importlib.import_module: importing importlib costs a hook ~0.4 ms.
    module = __import__(FORMATS[fmt], fromlist=["render"])
    text: str = module.render(result, context)
    # Each format escapes what it shows; this keeps any text it missed from
    # failing the whole report with UnicodeEncodeError. A key in a path (a
    # file named `mk-<key>.json`) is masked in every format, here, once.
    return undecodable(mask_real_keys(text))
