"""Human output: one block per finding, then a summary line."""

from __future__ import annotations

from collections import Counter

from maniac_guard.catalog import get_rule
from maniac_guard.findings import Finding, Severity
from maniac_guard.report import ReportContext
from maniac_guard.report.escape import printable
from maniac_guard.summary import ScanResult
from maniac_guard.words import counted

SEVERITY_COLORS = {
    Severity.CRITICAL: "bright_red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "blue",
}
DEFAULT_HINT = (
    "Remove it and load the key from the environment (MANIAC_API_KEY); then rotate it: "
    "create a new key, update the environment, test, delete the old one."
)


def _style(text: str, context: ReportContext, **kwargs: object) -> str:
    if not context.color:
        return text
    import click  # only for colour: a hook's plain run stays without click

    return click.style(text, **kwargs)  # type: ignore[arg-type]


def _block(finding: Finding, context: ReportContext) -> str:
    # Paths, lines, authors and server replies come from outside: printed as
    # they are, their escape sequences could rewrite the terminal.
    rule = get_rule(finding.rule_id)
    loc = finding.location
    head = " ".join(
        part
        for part in (
            _style(finding.rule_id, context, bold=True),
            _style(finding.severity.label, context, fg=SEVERITY_COLORS[finding.severity], bold=True),
            _style(f"{printable(loc.path)}:{loc.line}:{loc.column}", context, bold=True),
            printable(finding.masked),
        )
        if part
    )
    lines = [head, f"  {printable(finding.message)}"]
    if finding.commit:
        who, when = printable(finding.author or "?"), printable(finding.date or "?")
        lines.append(f"  commit {printable(finding.commit[:12])} by {who} on {when}")
    if finding.verification is not None:
        v = finding.verification
        status = f" (HTTP {v.status})" if v.status else ""
        lines.append(f"  verified: {printable(v.state)}{status}: {printable(v.reason)}")
    if finding.snippet:
        snippet = printable(finding.snippet.strip(), keep="\t")
        lines.append(_style(f"  {loc.line:>5} | {snippet}", context, dim=True))
    if finding.flow:
        steps = " → ".join(f"{printable(path)}:{line}" for path, line, _, _ in finding.flow)
        lines.append(f"  via {steps}")
    # A verdict (live / revoked key) brings its own, more urgent remediation.
    hint = str(finding.extra.get("remediation") or rule.data.get("remediation", DEFAULT_HINT)).strip()
    lines.append(f"  help: {printable(hint, keep=chr(10))}")
    return "\n".join(lines)


def summary_line(result: ScanResult) -> str:
    counts = Counter(f.severity for f in result.findings)
    by_severity = ", ".join(f"{counts[s]} {s.label}" for s in sorted(counts, reverse=True))
    skipped = sum(result.skipped.values())
    skipped_text = ""
    if skipped:
        reasons = ", ".join(f"{n} {printable(why)}" for why, n in sorted(result.skipped.items()))
        skipped_text = f" ({skipped} skipped: {reasons})"
    total = len(result.findings)
    found = counted(total, "finding") + (f" ({by_severity})" if total else "")
    if result.suppressed:  # what inline `maniac-guard: ignore` comments hid is said, never silent
        found += f"; {counted(len(result.suppressed), 'suppressed by inline comment')}"
    return f"Scanned {counted(result.files_scanned, 'file')}{skipped_text} in {result.elapsed:.2f}s: {found}."


def render(result: ScanResult, context: ReportContext) -> str:
    blocks = [_block(f, context) for f in result.findings]
    if context.quiet:
        return "".join(block + "\n\n" for block in blocks)
    notes = ["\n".join(printable(line) for line in result.notes)] if result.notes else []
    return "\n\n".join([*blocks, *notes, summary_line(result)]) + "\n"
