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
    from maniac_guard.fix import FixOptions, fix_bytes
    from maniac_guard.report import FORMATS, ReportContext, render
    from maniac_guard.sources import SourceFile

DETECTORS = load_detectors()
FIX_OPTIONS = FixOptions(unsafe=True)
NAMES = [".env", "config.yaml", ".maniac/config.yaml", "app.py", "nb.ipynb", "maniac-keys.yaml", "x.js"]


def fix_module(name: str, body: bytes) -> None:
    """The fixer on Python and notebooks: no exception; a fix that changed the
    file changes nothing when run again."""
    result = fix_bytes(name, body, FIX_OPTIONS)
    if result.new is not None:
        again = fix_bytes(name, result.new, FIX_OPTIONS)
        assert again.new is None, f"fixing {name} did not converge"


def one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    name = NAMES[provider.ConsumeIntInRange(0, len(NAMES) - 1)]
    body = provider.ConsumeBytes(provider.remaining_bytes())
    findings = scan_source(SourceFile(name, body), DETECTORS)
    for fmt in FORMATS:
        render(ScanResult(findings=findings, files_scanned=1), fmt, ReportContext())
    if name.endswith((".py", ".ipynb")):
        fix_module(name, body)


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
