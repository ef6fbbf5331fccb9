"""`maniac-guard scan`: settings → engine → filters → report → exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from maniac_guard.config import ConfigError, Settings
from maniac_guard.engine import ScanResult
from maniac_guard.findings import Finding, Severity

if TYPE_CHECKING:
    from maniac_guard.fix.apply import FixRequest

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


@dataclass
class ScanRequest:
    paths: list[str]
    settings: Settings
    fmt: str = "text"
    output: str | None = None
    color: bool = False
    verbose: bool = False
    quiet: bool = False
    cli_exclude: list[str] = field(default_factory=list)
    # Where findings come from; the default walks `paths` on disk. Other
    # sources (staged blobs, git history) plug in here.
    source: Callable[[ScanRequest], ScanResult] | None = None
    # --fix / --diff (maniac_guard.fix.apply.FixRequest); None: report only.
    fix: FixRequest | None = None


def rule_matches(rule_id: str, selectors: Sequence[str]) -> bool:
    """ruff-style: `MG1` selects MG100–MG199, `MG101` just that rule."""
    return any(rule_id.startswith(s.strip().upper()) for s in selectors if s.strip())


def check_selectors(selectors: Sequence[str]) -> None:
    from maniac_guard.catalog import load_rules

    ids = load_rules()
    for selector in selectors:
        if not any(rule_id.startswith(selector.strip().upper()) for rule_id in ids):
            raise ConfigError(f"unknown rule selector '{selector}' (see `maniac-guard rules`)")


def select_findings(findings: list[Finding], settings: Settings) -> list[Finding]:
    kept = findings
    if settings.select:
        kept = [f for f in kept if rule_matches(f.rule_id, settings.select)]
    if settings.ignore:
        kept = [f for f in kept if not rule_matches(f.rule_id, settings.ignore)]
    return kept


def enabled_rules(settings: Settings) -> frozenset[str] | None:
    """The rules --select/--ignore leave on, or None when all are."""
    if not settings.select and not settings.ignore:
        return None
    from maniac_guard.catalog import load_rules

    return frozenset(
        rule_id
        for rule_id in load_rules()
        if (not settings.select or rule_matches(rule_id, settings.select))
        and not rule_matches(rule_id, settings.ignore)
    )


def exit_code(findings: Sequence[Finding], fail_on: Severity) -> int:
    return EXIT_FINDINGS if any(f.severity >= fail_on for f in findings) else EXIT_CLEAN


def scan_disk(request: ScanRequest) -> ScanResult:
    from maniac_guard.engine import scan_paths
    from maniac_guard.sources.files import Excluder

    settings = request.settings
    excluder = Excluder()
    excluder.add(settings.config_dir, settings.exclude)
    excluder.add(os.getcwd(), request.cli_exclude)
    return scan_paths(
        request.paths,
        excluder=excluder,
        use_gitignore=settings.gitignore,
        max_file_size=settings.max_file_size,
        jobs=settings.jobs,
        enabled=enabled_rules(settings),
    )


def emit(result: ScanResult, request: ScanRequest) -> None:
    from maniac_guard.report import ReportContext, render

    context = ReportContext(
        color=request.color and request.output is None,
        verbose=request.verbose,
        fail_on=request.settings.fail_on.label,
    )
    text = render(result, request.fmt, context)
    from maniac_guard.writer import WriteError, write_report, write_stdout

    try:
        if request.output:
            write_report(request.output, text)
        elif not (request.quiet and request.fmt == "text" and not result.findings):
            write_stdout(text)
    except WriteError as exc:
        raise ConfigError(str(exc)) from None


def report_messages(result: ScanResult, request: ScanRequest) -> None:
    for path in result.missing_paths:
        print(f"maniac-guard: {path}: no such file or directory", file=sys.stderr)
    if request.quiet:
        return
    for message in result.messages:
        print(f"maniac-guard: {message}", file=sys.stderr)


def drop_accepted(result: ScanResult, request: ScanRequest) -> None:
    """The ignore file, then the baseline: accepted findings are counted, not reported."""
    from maniac_guard.baseline import apply_baseline
    from maniac_guard.ignorefile import apply_ignore_file

    apply_ignore_file(result, request.settings, request.paths)
    apply_baseline(result, request.settings, request.paths, disk_scan=request.source is None)


def run_scan(request: ScanRequest) -> int:
    settings = request.settings
    check_selectors(settings.select + settings.ignore)
    if request.fix is not None and request.source is not None:
        raise ConfigError("--fix and --diff work on files on disk, not on staged or historical content")
    if settings.policy:  # a least-privilege policy file (MG4xx); loaded only when configured
        from maniac_guard.permissions.command import activate_configured_policy

        activate_configured_policy(settings)
    source = request.source or scan_disk
    result = source(request)
    if settings.verify or settings.only_live:
        from maniac_guard.verify import verify_result

        verify_result(result, settings, quiet=request.quiet)
    result.findings = select_findings(result.findings, settings)
    drop_accepted(result, request)
    if request.fix is not None:
        from maniac_guard.fix.apply import apply_fixes

        diff_exit = apply_fixes(result, request)
        if diff_exit is not None:
            report_messages(result, request)
            return diff_exit
    report_messages(result, request)
    emit(result, request)
    if result.missing_paths and len(result.missing_paths) == len(request.paths):
        return EXIT_ERROR
    return exit_code(result.findings, settings.fail_on)
