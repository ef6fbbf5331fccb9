"""JSON output. The schema is documented in the README and kept stable:
`version` changes only when a field is removed or changes meaning.

Controls in strings are JSON escapes (`\\u001b`); a path that is not UTF-8
keeps its bytes as `\\udcNN` escapes, which a JSON parser turns back into
Python's `surrogateescape` form (`os.fsencode` gives the exact name)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from maniac_guard import __version__
from maniac_guard.catalog import get_rule
from maniac_guard.findings import Finding
from maniac_guard.report import ReportContext
from maniac_guard.report.escape import json_text
from maniac_guard.summary import ScanResult

SCHEMA_VERSION = 1


def finding_dict(finding: Finding) -> dict[str, Any]:
    loc = finding.location
    verification = None
    if finding.verification is not None:
        v = finding.verification
        verification = {"state": v.state, "status": v.status, "reason": v.reason}
    return {
        "rule_id": finding.rule_id,
        "rule_name": get_rule(finding.rule_id).name,
        "severity": finding.severity.label,
        "message": finding.message,
        "path": loc.path,
        "line": loc.line,
        "column": loc.column,
        "end_line": loc.end_line,
        "end_column": loc.end_column,
        "masked_secret": finding.masked or None,
        "fingerprint": finding.fingerprint,
        "snippet": finding.snippet,
        "commit": finding.commit,
        "author": finding.author,
        "date": finding.date,
        "verification": verification,
        "fixable": finding.fixable,
        **({"details": finding.extra} if finding.extra else {}),
        **({"flow": [flow_step(step) for step in finding.flow]} if finding.flow else {}),
    }


def flow_step(step: tuple[str, int, int, str]) -> dict[str, Any]:
    path, line, column, label = step
    return {"path": path, "line": line, "column": column, "label": label}


def summary_dict(result: ScanResult) -> dict[str, Any]:
    counts = Counter(f.severity.label for f in result.findings)
    return {
        "files_scanned": result.files_scanned,
        "files_skipped": dict(sorted(result.skipped.items())),
        "findings": len(result.findings),
        "by_severity": dict(sorted(counts.items())),
        "elapsed_seconds": round(result.elapsed, 3),
        **result.stages.to_json(),
    }


def render(result: ScanResult, context: ReportContext) -> str:
    document = {
        "version": SCHEMA_VERSION,
        "tool": {"name": "maniac-guard", "version": __version__},
        "findings": [finding_dict(f) for f in result.findings],
        "summary": summary_dict(result),
    }
    return json_text(document, lossless_paths=True, items=len(result.findings))
