"""GitLab secret-detection report (security report schema 15.2.1), for
`artifacts: reports: secret_detection:` in a GitLab CI job.

GitLab tells findings apart by their primary identifier (the rule) and
`file:start_line:end_line`, not by `id`: a finding whose lines move is a new
vulnerability there (the old one shows as no longer detected). `id` is only
unique within the report; we derive it from our fingerprint all the same.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from typing import Any

from maniac_guard import __version__
from maniac_guard.catalog import get_rule
from maniac_guard.findings import Finding, Severity
from maniac_guard.report import ReportContext
from maniac_guard.report.escape import json_text, undecodable
from maniac_guard.report.paths import from_root, rev_parse, source_root
from maniac_guard.summary import ScanResult

SCHEMA_VERSION = "15.2.1"
NO_COMMIT = "0000000"  # what GitLab's own analyzers write when there is no commit
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
TOOL: dict[str, Any] = {
    "id": "maniac-guard",
    "name": "maniac-guard",
    "version": __version__,
    "vendor": {"name": "maniac-guard"},
}
SEVERITIES = {
    Severity.CRITICAL: "Critical",
    Severity.HIGH: "High",
    Severity.MEDIUM: "Medium",
    Severity.LOW: "Low",
    Severity.INFO: "Info",
}


def head_sha() -> str:
    """The commit being scanned: CI's variable first, then git, else GitLab's placeholder."""
    sha = os.environ.get("CI_COMMIT_SHA", "").strip()
    return sha or rev_parse("--verify", "--quiet", "HEAD") or NO_COMMIT


def vulnerability_id(finding: Finding, occurrence: int = 1) -> str:
    """Unique in the report (the same key twice in a file is two findings with
    one fingerprint: `occurrence` tells them apart); the same on every run."""
    seed = f"maniac-guard:{finding.fingerprint}" + (f":{occurrence}" if occurrence > 1 else "")
    raw = hashlib.sha256(seed.encode()).hexdigest()
    # UUID-shaped, as GitLab's analyzers emit.
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:32]}"


def vulnerability(finding: Finding, sha: str, occurrence: int = 1, shown_path: str | None = None) -> dict[str, Any]:
    rule = get_rule(finding.rule_id)
    loc = finding.location
    commit: dict[str, Any] = {"sha": finding.commit or sha}
    if finding.author:
        commit["author"] = finding.author
    if finding.date:
        commit["date"] = finding.date
    description = finding.message
    remediation = str(rule.data.get("remediation", "")).strip()
    if remediation:
        description += f"\n\n{remediation}"
    item: dict[str, Any] = {
        "id": vulnerability_id(finding, occurrence),
        "category": "secret_detection",
        "name": f"{rule.name} ({finding.rule_id})",
        "description": description,
        "severity": SEVERITIES[finding.severity],
        "identifiers": [
            {
                "type": "maniac_guard_rule_id",
                "name": f"maniac-guard rule {finding.rule_id}",
                "value": finding.rule_id,
            }
        ],
        "location": {
            # A name that is not UTF-8 has no exact JSON text a Ruby parser
            # accepts: its bytes show as `\xNN`.
            "file": undecodable(shown_path or loc.path),
            "start_line": loc.line,
            "end_line": max(loc.end_line, loc.line),
            "commit": commit,
        },
    }
    if remediation:
        item["solution"] = remediation[:7000]  # the schema's limit
    # The extract is the masked line: GitLab shows it, so it must not hold the key.
    if finding.snippet:
        item["raw_source_code_extract"] = finding.snippet
    return item


def vulnerabilities(
    findings: list[Finding], sha: str, cwd: str | None = None, root: str | None = None
) -> list[dict[str, Any]]:
    """`cwd`/`root`: paths are shown from the repository root (history
    findings already are)."""
    seen: dict[str, int] = {}
    items = []
    for finding in findings:
        seen[finding.fingerprint] = seen.get(finding.fingerprint, 0) + 1
        shown = None
        if cwd is not None and root is not None and finding.commit is None:
            shown = from_root(finding.path, cwd, root)
        items.append(vulnerability(finding, sha, seen[finding.fingerprint], shown))
    return items


def render(result: ScanResult, context: ReportContext) -> str:
    end = dt.datetime.now(dt.UTC).replace(microsecond=0)
    start = end - dt.timedelta(seconds=int(result.elapsed + 0.999))
    sha = head_sha() if any(f.commit is None for f in result.findings) else NO_COMMIT
    cwd = context.cwd or os.getcwd()
    root = source_root(cwd, context.source_root) if result.findings else cwd
    document = {
        "version": SCHEMA_VERSION,
        "vulnerabilities": vulnerabilities(result.findings, sha, cwd, root),
        "remediations": [],
        "scan": {
            "analyzer": TOOL,
            "scanner": TOOL,
            "type": "secret_detection",
            "status": "success",
            "start_time": start.strftime(TIME_FORMAT),
            "end_time": end.strftime(TIME_FORMAT),
        },
    }
    return json_text(document, lossless_paths=False, items=len(result.findings))
