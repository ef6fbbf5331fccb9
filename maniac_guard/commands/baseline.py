"""`maniac-guard baseline create|update`: record today's findings so that
scans report only new ones (the file format and matching are in
maniac_guard/baseline.py)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from maniac_guard.baseline import (
    BASELINE_FILE,
    configured,
    entries_for,
    entries_text,
    load,
    plural,
    stale_entries,
    write,
)
from maniac_guard.commands.scan import report_messages
from maniac_guard.config import Settings
from maniac_guard.engine import scan_disk
from maniac_guard.ignorefile import anchor_dir, apply_ignore_file, shown_path
from maniac_guard.selection import check_selectors
from maniac_guard.summary import ScanResult
from maniac_guard.target import ScanTarget


def _scan(paths: Sequence[str], settings: Settings, cli_exclude: Sequence[str]) -> ScanResult | None:
    """Today's findings, as `scan` sees them (rules selected, ignore file applied)."""
    check_selectors(settings.select + settings.ignore)
    target = ScanTarget(paths=list(paths), settings=settings, cli_exclude=list(cli_exclude))
    result = scan_disk(target)  # rules selected per path, by each one's config
    apply_ignore_file(result, settings, list(paths))
    report_messages(result, target)
    if result.missing_paths and len(result.missing_paths) == len(paths):
        return None  # nothing was scanned: writing a baseline now would empty it
    if result.stages.incomplete:
        # An archive it could not open (named above): its entries would be
        # left out, or pruned by `update` as if fixed.
        print("maniac-guard: error: baseline not written: not everything could be scanned", file=sys.stderr)
        return None
    return result


def target_path(output: str | None, settings: Settings) -> str:
    return output or configured(settings) or BASELINE_FILE


def create(paths: Sequence[str], output: str | None, settings: Settings, cli_exclude: Sequence[str] = ()) -> int:
    """`baseline create`: record every current finding. Returns the exit code."""
    where = target_path(output, settings)
    result = _scan(paths, settings, cli_exclude)
    if result is None:
        return 2
    entries = entries_for(result.findings, anchor_dir(where))
    write(where, entries)
    print(
        f"Recorded {plural(len(entries), 'finding')} in {shown_path(os.path.abspath(where))} "
        f"({plural(result.files_scanned, 'file')} scanned). Commit it, then gate on new findings "
        f"with `maniac-guard scan --baseline {where}`."
    )
    return 0


def update(
    paths: Sequence[str],
    output: str | None,
    settings: Settings,
    cli_exclude: Sequence[str] = (),
    *,
    add_new: bool = False,
) -> int:
    """`baseline update`: prune entries that no longer match; add new findings only with `add_new`."""
    where = target_path(output, settings)
    baseline = load(where)
    result = _scan(paths, settings, cli_exclude)
    if result is None:
        return 2
    stale = set(stale_entries(baseline, result.findings, paths, settings))
    kept = [e for e in baseline.entries if e not in stale]
    new = [f for f in result.findings if not baseline.matches(f)]
    added = entries_for(new, baseline.folder) if add_new else []
    write(where, kept + added)
    shown = shown_path(os.path.abspath(where))
    left = f"{len(kept) + len(added)} left" + (f", {len(added)} added" if add_new else "")
    print(f"Removed {entries_text(len(stale))} that no longer match a finding from {shown} ({left}).")
    if new and not add_new:
        print(
            f"{plural(len(new), 'finding')} not in the baseline {'was' if len(new) == 1 else 'were'} not added "
            "(`--add-new` accepts them; better: fix and rotate the key)."
        )
    return 0


def run_create(paths: Sequence[str], output: str | None, exclude: Sequence[str], config: str | None) -> int:
    from maniac_guard.commands.options import settings_for

    paths = paths or (".",)
    return create(list(paths), output, settings_for(paths, config), list(exclude))


def run_update(
    paths: Sequence[str], output: str | None, add_new: bool, exclude: Sequence[str], config: str | None
) -> int:
    from maniac_guard.commands.options import settings_for

    paths = paths or (".",)
    return update(list(paths), output, settings_for(paths, config), list(exclude), add_new=add_new)
