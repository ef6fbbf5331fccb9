"""GitHub Actions workflow commands: one `::error file=…::message` line per
finding, so findings show as annotations on the pull request's diff.

Escaping follows GitHub's runner (actions/toolkit `issueCommand`): in the
message `%`, CR and LF are percent-encoded; in properties `:` and `,` too.
Other control characters from scanned text (ESC would colour or rewrite the
log view) are shown as visible `\\x1b` escapes first.
"""

from __future__ import annotations

from maniac_guard.catalog import get_rule
from maniac_guard.findings import Finding, Severity
from maniac_guard.report import ReportContext
from maniac_guard.report.escape import printable
from maniac_guard.report.text import summary_line
from maniac_guard.summary import ScanResult


def escape_data(text: str) -> str:
    text = printable(text, keep="\r\n")
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command_for(severity: Severity) -> str:
    if severity >= Severity.HIGH:
        return "error"
    if severity == Severity.MEDIUM:
        return "warning"
    return "notice"


def annotation(finding: Finding) -> str:
    loc = finding.location
    rule = get_rule(finding.rule_id)
    properties = {
        "file": loc.path,
        "line": str(loc.line),
        "endLine": str(max(loc.end_line, loc.line)),
        "title": f"{finding.rule_id} {rule.name} ({finding.severity.label})",
    }
    # GitHub only honours columns on single-line annotations.
    if loc.end_line == loc.line:
        properties["col"] = str(loc.column)
        properties["endColumn"] = str(max(loc.end_column, loc.column))
    head = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    message = finding.message
    if finding.commit:
        message += f"\ncommit {finding.commit[:12]} by {finding.author or '?'} on {finding.date or '?'}"
    remediation = str(rule.data.get("remediation", "")).strip()
    if remediation:
        message += f"\n{remediation}"
    message += f"\nfingerprint {finding.fingerprint}"
    return f"::{command_for(finding.severity)} {head}::{escape_data(message)}"


def render(result: ScanResult, context: ReportContext) -> str:
    lines = [annotation(f) for f in result.findings]
    # Plain lines are ordinary log output in a workflow run.
    lines += [printable(line) for line in result.notes]
    lines.append(summary_line(result))
    return "\n".join(lines) + "\n"
