"""`maniac-guard policy [PATHS]`: the MG4xx checks over a tree, through the
same scan pipeline (walk, excludes, baseline, reports, exit codes), with an
optional `--infer` of the scopes the Python code under PATHS needs."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from maniac_guard import records

if TYPE_CHECKING:
    from maniac_guard.commands.scan import ScanRequest
    from maniac_guard.permissions.infer import Inference
    from maniac_guard.summary import ScanResult
    from maniac_guard.target import ScanTarget


def infer_paths(target: ScanTarget) -> Inference:
    from maniac_guard.permissions.infer import infer_files
    from maniac_guard.sources.files import Excluder, WalkReport, display_path, iter_paths

    settings = target.settings
    excluder = Excluder.of(settings, target.cli_exclude)
    cwd = os.getcwd()
    files = [
        (display_path(path, cwd), path)
        for path in iter_paths(target.paths, use_gitignore=settings.gitignore, excluder=excluder, report=WalkReport())
        if path.endswith(".py")
    ]
    return infer_files(files)


def _waived_lines(result: ScanResult) -> list[str]:
    waived = [f for f in result.findings if "waived" in f.extra]
    if not waived:
        return []
    lines = [f"Waived: {len(waived)} finding{'s' if len(waived) != 1 else ''} (listed above as info, not hidden):"]
    for finding in waived:
        info = finding.extra["waived"]
        lines.append(f"  {finding.rule_id} {finding.path}:{finding.line} until {info['expires']}: {info['reason']}")
    return lines


def run_policy(request: ScanRequest, infer: bool) -> int:
    from maniac_guard.commands.scan import run_scan
    from maniac_guard.engine import scan_disk
    from maniac_guard.permissions.infer import _json_ready, render_yaml

    settings = request.settings
    if not settings.select:
        request.settings = settings = records.replace(settings, select=["MG4"])

    def source(target: ScanTarget) -> ScanResult:
        result = scan_disk(target)
        if infer:
            inference = infer_paths(target)
            result.messages.extend(inference.errors)
            if request.fmt == "json":
                result.stages.inferred = _json_ready(inference)
            else:
                where = ", ".join(target.paths)
                stream = sys.stdout if request.fmt == "text" else sys.stderr
                stream.write(render_yaml(inference, where) + ("\n" if request.fmt == "text" else ""))
                stream.flush()
        lines = _waived_lines(result)
        if lines:
            result.notes.extend(lines)
            result.stages.waived = len(lines) - 1
        return result

    request.source = source
    return run_scan(request)


def run_command(
    paths: Sequence[str],
    policy_file: str | None,
    infer: bool,
    fmt: str,
    output: str | None,
    exclude: Sequence[str],
    select: Sequence[str],
    ignore_rules: Sequence[str],
    fail_on: str | None,
    config: str | None,
    color: bool | None,
    quiet: bool,
) -> int:
    from maniac_guard.commands.options import settings_for, severity, split_ids, use_color
    from maniac_guard.commands.scan import ScanRequest

    paths = paths or (".",)
    settings = settings_for(
        paths,
        config,
        select=split_ids(select),
        ignore=split_ids(ignore_rules, "--ignore"),
        fail_on=severity(fail_on),
        policy=os.path.abspath(policy_file) if policy_file else None,
    )
    request = ScanRequest(
        paths=list(paths),
        settings=settings,
        fmt=fmt,
        output=output,
        color=use_color(color),
        quiet=quiet,
        cli_exclude=list(exclude),
    )
    return run_policy(request, infer)
