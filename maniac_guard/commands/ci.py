"""`maniac-guard ci`: scan what the CI event's commits add (see ci.py for
how each GitHub and GitLab event names its range)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from maniac_guard.ci import CiRange, detect_range
from maniac_guard.commands.options import settings_for, severity, use_color
from maniac_guard.commands.scan import ScanRequest, run_scan
from maniac_guard.history import history_spec, scan_history
from maniac_guard.sources.git import repo_info


def run_command(
    fmt: str,
    output: str | None,
    rev_range: str | None,
    fail_on: str | None,
    baseline_file: str | None,
    exclude: Sequence[str],
    config: str | None,
    color: bool | None,
    quiet: bool,
) -> int:
    info = repo_info(os.getcwd())
    if rev_range is not None:
        spec = history_spec(info.root, range_=rev_range, shallow=info.shallow)
        found = CiRange(spec, "--range", f"--range: scanning {rev_range}")
    else:
        found = detect_range(os.environ, info.root)
    print(f"maniac-guard: ci: {found.note}", file=sys.stderr)
    settings = settings_for(
        (info.root,),
        config,
        fail_on=severity(fail_on),
        baseline=os.path.abspath(baseline_file) if baseline_file else None,
    )
    request = ScanRequest(
        paths=[info.root],
        settings=settings,
        fmt=fmt,
        output=output,
        color=use_color(color),
        quiet=quiet,
        cli_exclude=list(exclude),
        source=lambda target: scan_history(target, found.spec, info.root),
    )
    return run_scan(request)
