"""Reporters: one module per format, each `render(result, context) -> str`."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from maniac_guard.summary import ScanResult

FORMATS = {
    "text": "maniac_guard.report.text",
    "json": "maniac_guard.report.json_report",
    "sarif": "maniac_guard.report.sarif",
    "github": "maniac_guard.report.github",
    "gitlab": "maniac_guard.report.gitlab",
    "junit": "maniac_guard.report.junit",
}


@dataclass(frozen=True)
class ReportContext:
    color: bool = False
    verbose: bool = False
    fail_on: str = "low"


def render(result: ScanResult, fmt: str, context: ReportContext) -> str:
    module = importlib.import_module(FORMATS[fmt])
    text: str = module.render(result, context)
    return text
