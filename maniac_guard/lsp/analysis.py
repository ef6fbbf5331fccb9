"""One open document, scanned as `maniac-guard scan` would scan that file.

The editor must never disagree with `scan`: the same nearest config (and its
per-path settings), the same detectors (`engine.scan_source`, so the Python
analysis, which follows imports into the files on disk as `scan` does, and
inline suppressions too), then the same filters as
`commands.scan.drop_accepted` (the ignore file, then the baseline). What is
scanned is the editor's text, not the file on disk. A file that `scan .`
would pass over (config `exclude`, git-ignored and untracked, a binary name)
gets no diagnostics here either.
"""

from __future__ import annotations

import os
import subprocess

from maniac_guard.config import Settings
from maniac_guard.errors import UsageError
from maniac_guard.findings import Finding, mask_keys_in_text, sort_key
from maniac_guard.records import dataclass, field
from maniac_guard.summary import ScanResult


@dataclass
class DocumentScan:
    """What the editor shows for one document."""

    findings: list[Finding] = field(default_factory=list)
    settings: Settings | None = None
    # One line each, keys masked: a note (shown in the log) or why the
    # document could not be scanned (shown to the user: never a silent pass).
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None  # why `scan .` would not scan this file
    # Findings `scan` places in another file (a literal imported from it),
    # by that file's absolute path: shown there, not in this document.
    elsewhere: dict[str, list[Finding]] = field(default_factory=dict)


def encode_document(text: str) -> tuple[bytes, str | None]:
    """The editor's text as the bytes the scanner reads, and a note when it is
    not valid Unicode (lone surrogates: JSON can carry them, UTF-8 cannot)."""
    try:
        return text.encode("utf-8"), None
    except UnicodeEncodeError as exc:
        # surrogateescape gives back the bytes an editor decoded that way;
        # other lone surrogates are replaced. Scanned as bytes, as `scan` does.
        data = text.encode("utf-8", "surrogateescape" if _escaped_bytes_only(text) else "replace")
        return data, f"not valid UTF-8 (character {exc.start}); scanned as bytes"


def _escaped_bytes_only(text: str) -> bool:
    return all(not 0xD800 <= ord(ch) <= 0xDFFF or 0xDC80 <= ord(ch) <= 0xDCFF for ch in text)


def reported_path(path: str) -> str:
    """The path as `scan` run from this process's folder shows it (fingerprints hang on it)."""
    from maniac_guard.sources.files import display_path

    return display_path(os.path.abspath(path), os.getcwd())


def _settings(path: str) -> Settings:
    """The settings `maniac-guard scan PATH` uses: the nearest config (one config governs a run)."""
    from maniac_guard import config
    from maniac_guard.commands.options import settings_for

    # Config files change while the editor runs: read them again (a few stats
    # and one small TOML parse, against a cache that would go stale).
    config._nearest_config.cache_clear()
    return settings_for([path], None)


def passed_over(path: str, settings: Settings) -> str | None:
    """Why a scan of the whole tree would not read this file, or None."""
    from maniac_guard.sources.files import BINARY_SUFFIXES, Excluder

    if path.lower().endswith(BINARY_SUFFIXES):
        return "a binary file by its name"
    if Excluder.of(settings, []).excluded(os.path.abspath(path)):
        return f"excluded by {settings.config_path or 'config'}"
    if settings.gitignore and git_ignores(path):
        return "ignored by git (and not tracked)"
    return None


def git_ignores(path: str) -> bool:
    """Untracked and ignored: what `git ls-files --cached --others --exclude-standard`
    (the tree walk) leaves out. False outside a git work tree."""
    from maniac_guard.sources.files import _maybe_in_git

    folder, name = os.path.split(os.path.abspath(path))
    if not os.path.isdir(folder) or not _maybe_in_git(folder):
        return False
    try:
        proc = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", name],
            cwd=folder,
            capture_output=True,
            check=False,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    if proc.returncode != 0:  # not a work tree after all (a bare repository's folder)
        return False
    return not proc.stdout


def scan_document(path: str, data: bytes) -> DocumentScan:
    """The findings `maniac-guard scan PATH` would report if PATH held `data`."""
    from maniac_guard.baseline import apply_baseline
    from maniac_guard.detectors import load_detectors
    from maniac_guard.engine import scan_source
    from maniac_guard.ignorefile import apply_ignore_file
    from maniac_guard.selection import check_selectors, enabled_rules, select_findings
    from maniac_guard.sources.files import to_source
    from maniac_guard.sources.worktree import WorkTreeReader

    out = DocumentScan()
    try:
        settings = out.settings = _settings(path)
        check_selectors(settings.select + settings.ignore)
        if settings.policy:
            from maniac_guard.permissions.policy import activate_configured_policy

            activate_configured_policy(settings)
        out.skipped = passed_over(path, settings)
        if out.skipped is not None:
            return out
        shown = reported_path(path)
        if len(data) > settings.max_file_size:
            out.skipped = f"over the {settings.max_file_size / 1048576:.1f} MiB limit"
            return out
        source, skipped, message = to_source(shown, data)
        if source is None:
            out.skipped = skipped
            if message:
                out.notes.append(message)
            return out
        # As the disk scan: imported modules are read from the work tree, the
        # paths below the folder `scan` shows them from.
        source.project = WorkTreeReader(os.getcwd())
        findings = scan_source(source, load_detectors(enabled_rules(settings)))
        out.notes.extend(source.notes)
        result = ScanResult(findings=select_findings(findings, settings))
        # As `commands.scan.drop_accepted`, less the baseline's stale count (a whole-tree question).
        apply_ignore_file(result, settings, [path])
        apply_baseline(result, settings, [path], disk_scan=False)
    except UsageError as exc:  # a broken config, ignore file, baseline or policy: as `scan` exits 2
        out.error = mask_keys_in_text(" ".join(str(exc).split()))
        return out
    for finding in sorted(result.findings, key=sort_key):
        if finding.location.path == shown:
            out.findings.append(finding)
        else:
            target = os.path.normpath(os.path.join(os.getcwd(), finding.location.path))
            out.elsewhere.setdefault(target, []).append(finding)
    out.notes = [mask_keys_in_text(note) for note in out.notes + result.notes]
    return out
