"""`scan --verify`: ask the Maniac API whether each found key is live,
revoked or unknown. GET only, HTTPS only (plain HTTP to loopback), the key
only in the Authorization header, each key once per run."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from maniac_guard.config import Settings
    from maniac_guard.summary import ScanResult


def verify_result(result: ScanResult, settings: Settings, *, quiet: bool = False) -> None:
    """Put a verdict on every finding in `result` that holds a key (the scan's verify step)."""
    from maniac_guard.selection import select_findings
    from maniac_guard.verify.options import resolve_options
    from maniac_guard.verify.run import verify_findings

    options = resolve_options(settings, quiet=quiet)
    # Keys only in findings the rule selection drops are not sent.
    wanted = select_findings(result.findings, settings)
    result.findings, report = verify_findings(result.findings, options, only_live=settings.only_live, send=wanted)
    summary = report.summary(options.base_url)
    result.stages.verification = summary
    line = (
        f"Verified {summary['keys']} distinct key(s) against {options.base_url}: "
        f"{summary['live']} live, {summary['revoked']} revoked, {summary['unknown']} unknown "
        f"({summary['requests']} requests, {summary['cached']} from cache"
        + (f"; {summary['not_sent']} not sent: named for another vendor" if summary["not_sent"] else "")
        + ")."
    )
    result.notes.append(line)
