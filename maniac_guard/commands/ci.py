"""`maniac-guard ci`: scan what the CI event's commits add (see ci.py for
how each GitHub and GitLab event names its range)."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence

from maniac_guard.ci import CiRange, detect_range, range_base
from maniac_guard.ci_git import say
from maniac_guard.ci_trust import trusted_settings
from maniac_guard.commands.options import settings_for, severity, use_color
from maniac_guard.commands.scan import ScanRequest, run_scan
from maniac_guard.history import history_spec, scan_history
from maniac_guard.selection import select_findings
from maniac_guard.sources.git import repo_info
from maniac_guard.summary import ScanResult
from maniac_guard.target import ScanTarget


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
    fail_on_new_suppressions: bool = False,
) -> int:
    info = repo_info(os.getcwd())
    if rev_range is not None:
        spec = history_spec(info.root, range_=rev_range, shallow=info.shallow)
        found = CiRange(spec, "--range", f"--range: scanning {rev_range}", range_base(info.root, spec))
    else:
        found = detect_range(os.environ, info.root)
    print(f"maniac-guard: ci: {found.note}", file=sys.stderr)
    flags = {
        "fail_on": severity(fail_on),
        "baseline": os.path.abspath(baseline_file) if baseline_file else None,
    }
    with tempfile.TemporaryDirectory(prefix="maniac-guard-base-") as folder:
        if found.base is None:
            settings = settings_for((info.root,), config, **flags)
            say("no base commit to judge the change by: this checkout's configuration, ignore file and baseline")
        else:
            overrides = {k: v for k, v in flags.items() if v is not None}
            settings, lines = trusted_settings(info.root, found.base, folder, config, overrides)
            say(f"judged by its base, not by its own files: {'; '.join(lines)}")
        request = ScanRequest(
            paths=[info.root],
            settings=settings,
            fmt=fmt,
            output=output,
            color=use_color(color),
            quiet=quiet,
            cli_exclude=list(exclude),
            source=lambda target: _scan(target, found, info.root, fail_on_new_suppressions),
        )
        return run_scan(request)


def _scan(target: ScanTarget, found: CiRange, root: str, fail_on_new_suppressions: bool) -> ScanResult:
    """The range's findings, and the inline suppressions its added lines bring
    (listed; with --fail-on-new-suppressions, reported as findings)."""
    result = scan_history(target, found.spec, root, list_suppressions=True)
    hidden = select_findings(result.stages.suppressed or [], target.settings)
    result.stages.suppressed = hidden
    if not hidden:
        return result
    shown = ", ".join(f"{f.path}:{f.line} {f.rule_id}" for f in hidden[:10]) + (", …" if len(hidden) > 10 else "")
    count = f"{len(hidden)} inline suppression{'s' * (len(hidden) != 1)}"
    if fail_on_new_suppressions:
        why = " (hidden by a `maniac-guard: ignore` comment this change adds; --fail-on-new-suppressions)"
        result.findings += [f.replace(message=f.message + why) for f in hidden]
        result.stages.suppressed = []
        result.notes.append(f"{count} added by this change, reported (--fail-on-new-suppressions): {shown}")
    else:
        result.notes.append(f"{count} added by this change: {shown} (--fail-on-new-suppressions to fail on them)")
    return result
