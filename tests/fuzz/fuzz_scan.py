"""Coverage-guided fuzzing of every detector, the fixer and every reporter.

Run by hand (not part of the test suite):

    .venv/bin/pip install atheris
    .venv/bin/python tests/fuzz/fuzz_scan.py -max_total_time=300 tests/fuzz/corpus

A crash is written by libFuzzer as crash-<hash>; keep it under
tests/fuzz/corpus/ as a regression input and add it to the hypothesis tests.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from maniac_guard.detectors import load_detectors
    from maniac_guard.engine import ScanResult, scan_source
    from maniac_guard.report import FORMATS, ReportContext, render
    from maniac_guard.sources import SourceFile

DETECTORS = load_detectors()
NAMES = [".env", "config.yaml", ".maniac/config.yaml", "app.py", "nb.ipynb", "maniac-keys.yaml", "x.js"]


def fix_module(text: str) -> None:
    """The fixer, where it exists in this version."""
    try:
        from maniac_guard.fix import fix_source  # type: ignore[attr-defined]
    except ImportError:
        return
    fix_source(text)


def one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    name = NAMES[provider.ConsumeIntInRange(0, len(NAMES) - 1)]
    body = provider.ConsumeBytes(provider.remaining_bytes())
    findings = scan_source(SourceFile(name, body), DETECTORS)
    for fmt in FORMATS:
        render(ScanResult(findings=findings, files_scanned=1), fmt, ReportContext())
    if name.endswith(".py"):
        fix_module(body.decode("utf-8", "replace"))


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
