"""`maniac-guard policy [PATHS]`: the MG4xx checks over a tree, through the
same scan pipeline (walk, excludes, baseline, reports, exit codes), with an
optional `--infer` of the scopes the Python code under PATHS needs."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from maniac_guard.config import Settings

if TYPE_CHECKING:
    from maniac_guard.summary import ScanResult
    from maniac_guard.permissions.infer import Inference
    from maniac_guard.scan import ScanRequest


def policy_path(settings: Settings) -> str | None:
    """The policy file: absolute (from --policy) or relative to the config file's folder."""
    if not settings.policy:
        return None
    if os.path.isabs(settings.policy):
        return settings.policy
    return os.path.join(settings.config_dir, settings.policy)


def activate_configured_policy(settings: Settings) -> None:
    """Load the user's policy (if any) for this process; a bad one is a config error (PolicyError)."""
    from maniac_guard.permissions.policy import activate

    activate(policy_path(settings))


def infer_paths(request: ScanRequest) -> Inference:
    from maniac_guard.permissions.infer import infer_files
    from maniac_guard.sources.files import Excluder, WalkReport, display_path, iter_paths

    settings = request.settings
    excluder = Excluder()
    excluder.add(settings.config_dir, settings.exclude)
    excluder.add(os.getcwd(), request.cli_exclude)
    cwd = os.getcwd()
    files = [
        (display_path(path, cwd), path)
        for path in iter_paths(request.paths, use_gitignore=settings.gitignore, excluder=excluder, report=WalkReport())
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
    from maniac_guard.permissions.infer import _json_ready, render_yaml
    from maniac_guard.scan import run_scan, scan_disk

    settings = request.settings
    if not settings.select:
        settings.select = ["MG4"]

    def source(req: ScanRequest) -> ScanResult:
        result = scan_disk(req)
        if infer:
            inference = infer_paths(req)
            result.messages.extend(inference.errors)
            if req.fmt == "json":
                result.stages.inferred = _json_ready(inference)
            else:
                where = ", ".join(req.paths)
                stream = sys.stdout if req.fmt == "text" else sys.stderr
                stream.write(render_yaml(inference, where) + ("\n" if req.fmt == "text" else ""))
                stream.flush()
        lines = _waived_lines(result)
        if lines:
            result.notes.extend(lines)
            result.stages.waived = len(lines) - 1
        return result

    request.source = source
    return run_scan(request)
