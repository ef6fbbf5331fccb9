"""GitLab secret-detection report (security report schema 15.0.7), for
`artifacts: reports: secret_detection:` in a GitLab CI job."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
from typing import Any

from maniac_guard import __version__
from maniac_guard.catalog import get_rule
from maniac_guard.summary import ScanResult
from maniac_guard.findings import Finding, Severity
from maniac_guard.report import ReportContext

SCHEMA_VERSION = "15.0.7"
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
    if sha:
        return sha
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return NO_COMMIT
    return done.stdout.strip() or NO_COMMIT


def vulnerability_id(finding: Finding) -> str:
    """Stable across runs (lines may move): derived from the fingerprint only."""
    raw = hashlib.sha256(f"maniac-guard:{finding.fingerprint}".encode()).hexdigest()
    # UUID-shaped, as GitLab's analyzers emit.
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:32]}"


def vulnerability(finding: Finding, sha: str) -> dict[str, Any]:
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
        "id": vulnerability_id(finding),
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
            "file": loc.path,
            "start_line": loc.line,
            "end_line": max(loc.end_line, loc.line),
            "commit": commit,
        },
    }
    # The extract is the masked line: GitLab shows it, so it must not hold the key.
    if finding.snippet:
        item["raw_source_code_extract"] = finding.snippet
    return item


def render(result: ScanResult, context: ReportContext) -> str:
    end = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    start = end - dt.timedelta(seconds=int(result.elapsed + 0.999))
    sha = head_sha() if any(f.commit is None for f in result.findings) else NO_COMMIT
    document = {
        "version": SCHEMA_VERSION,
        "vulnerabilities": [vulnerability(f, sha) for f in result.findings],
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
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
