"""`maniac-guard scan`: settings → engine → filters → report → exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from maniac_guard.config import ConfigError, Settings
from maniac_guard.errors import EXIT_USAGE
from maniac_guard.selection import (
    check_selectors,
    enabled_rules,
    exit_code,
    select_findings,
)
from maniac_guard.summary import ScanResult

if TYPE_CHECKING:
    from maniac_guard.fix.apply import FixRequest



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


def path_groups(request: ScanRequest) -> list[tuple[Settings, list[str]]]:
    """The paths named on the command line, grouped by the settings each is
    scanned with (its own nearest config; one group for `--config`)."""
    from maniac_guard.config import find_config, settings_for_path

    groups: dict[str | None, tuple[Settings, list[str]]] = {}
    for path in request.paths:
        found = None if request.settings.config_explicit else find_config(path)
        key = str(found[0]) if found else None
        if key not in groups:  # settings built once per config, not per file
            groups[key] = (settings_for_path(path, request.settings), [])
        groups[key][1].append(path)
    return list(groups.values())


def scan_disk(request: ScanRequest) -> ScanResult:
    from maniac_guard.engine import scan_paths
    from maniac_guard.sources.files import Excluder

    run = request.settings
    result: ScanResult | None = None
    for settings, paths in path_groups(request):
        if settings is not run:
            try:
                check_selectors(settings.select + settings.ignore)
            except ConfigError as exc:
                raise ConfigError(f"{settings.config_path}: {exc}") from None
        excluder = Excluder()
        excluder.add(settings.config_dir, settings.exclude, where=f"{settings.config_path}: 'exclude'")
        excluder.add(os.getcwd(), request.cli_exclude)
        part = scan_paths(
            paths,
            excluder=excluder,
            use_gitignore=run.gitignore,
            max_file_size=settings.max_file_size,
            jobs=run.jobs,
            enabled=enabled_rules(settings),
        )
        # Each group's own select/ignore, before the groups are merged.
        part.findings = select_findings(part.findings, settings)
        if result is None:
            result = part
        else:
            result.merge(part)
            result.missing_paths += part.missing_paths
            result.elapsed += part.elapsed
    assert result is not None  # request.paths is never empty
    if len(request.paths) > 1:
        from maniac_guard.findings import sort_key

        result.findings.sort(key=sort_key)
    return result


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
    if request.source is None and len(path_groups(request)) > 1:
        # Each path's own config has selected its rules already; the run's
        # select/ignore must not drop another config's findings afterwards
        # (from the keys sent for verification, or a fixed file's re-scan).
        request.settings = settings = replace(settings, select=[], ignore=[])
    if settings.verify or settings.only_live:
        from maniac_guard.verify import verify_result

        verify_result(result, settings, quiet=request.quiet)
    if request.source is not None:  # disk scans select per group (scan_disk)
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
        return EXIT_USAGE
    if result.stages.incomplete:  # a git source could not read what was asked
        return EXIT_USAGE
    return exit_code(result.findings, settings.fail_on)
