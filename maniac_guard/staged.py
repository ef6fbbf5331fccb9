"""What a commit is about to record, for git hooks: the staged version of
each staged file (`scan --staged`) and the commit message
(`scan --commit-msg FILE`)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

from maniac_guard.detectors.python_callers import RULE_IDS, scan_listed_callers
from maniac_guard.engine import name_findings, scan_source, scan_sources
from maniac_guard.findings import Finding, sort_key
from maniac_guard.selection import enabled_rules
from maniac_guard.sources import SourceFile
from maniac_guard.sources.files import Excluder, read_file, to_source
from maniac_guard.sources.git import (
    GitError,
    lfs_content,
    repo_info,
    report_incomplete,
    staged_files,
    unknown_paths,
)
from maniac_guard.sources.gitbig import blob_windows, over_limit_note
from maniac_guard.sources.gitblobs import BlobReader, read_many
from maniac_guard.sources.gitmessages import SCISSORS
from maniac_guard.sources.gitproject import CommitReader
from maniac_guard.sources.magic import archive_kind
from maniac_guard.summary import ScanResult
from maniac_guard.target import ScanTarget


def scan_staged(target: ScanTarget) -> ScanResult:
    """`scan --staged`: the index's version of each staged file, not the work tree's.

    Paths are shown relative to the current folder, as `scan` shows disk files,
    and lines are those of the staged version.
    """
    cwd = os.getcwd()
    info = repo_info(cwd)
    if info.bare:
        raise GitError("--staged needs a work tree, and this is a bare repository")
    pathspecs = [p for p in target.paths if p != "."]
    missing = unknown_paths(cwd, pathspecs)
    staged = staged_files(cwd, pathspecs)
    settings = target.settings
    excluder = Excluder.of(settings, target.cli_exclude)
    wanted = [f for f in staged.files if not (excluder and excluder.excluded(os.path.join(info.root, f.path)))]
    enabled = enabled_rules(settings)
    result = ScanResult()
    result.skipped.update(staged.skipped)
    errors: list[str] = []

    at_root = os.path.realpath(cwd) == os.path.realpath(info.root)
    index_reader = BlobReader(info.root)

    # The Python analysis reads imports from the index too, as they are about to be committed.
    prefix = "" if at_root else os.path.relpath(cwd, info.root).replace(os.sep, "/")
    project = CommitReader(index_reader, "", settings.max_file_size, prefix=prefix, key=_index_key(info.git_dir))

    def sources() -> Iterator[SourceFile]:
        blobs = read_many(info.root, [item.blob for item in wanted], settings.max_file_size)
        for item, (found, data) in zip(wanted, blobs):
            abs_path = os.path.join(info.root, item.path)
            shown = item.path if at_root else os.path.relpath(abs_path, cwd).replace(os.sep, "/")
            if found is None:
                errors.append(f"{shown}: staged blob {item.blob[:12]} cannot be read")
                continue
            if data is None:  # over the size limit: the key patterns, in windows
                binary = yield from blob_windows(info.root, item.blob, shown)
                if binary:
                    result.skipped["binary"] += 1
                    result.findings += name_findings(shown, enabled)
                else:
                    result.messages.append(f"{shown}: {over_limit_note(found.size, settings.max_file_size)}")
                continue
            data, why = lfs_content(info.root, abs_path, shown, data, settings.max_file_size)
            if data is None:
                errors.append(why or f"{shown}: cannot be read")
                continue
            if archive_kind(data) is not None:  # a staged wheel or zip: its members, as `scan` reads them
                yield from _archive_members(shown, data, settings.max_file_size, result, errors)
                continue
            source, skipped, message = to_source(shown, data)
            if source is None:
                result.skipped[skipped or "unreadable"] += 1
                result.findings += name_findings(shown, enabled)  # a key as a binary file's name
                if message:
                    result.messages.append(message)
                continue
            source.project = project
            if source.suffix == ".py":
                python.append(source)
            yield source

    python: list[SourceFile] = []  # for the callers of a wrapper that never name the SDK
    # Staged blobs are mostly files a disk scan saw: the detector cache serves them too.
    with index_reader:
        scanned = scan_sources(sources(), enabled, cached=True, many=len(wanted) >= 100)
        if enabled is None or enabled & RULE_IDS:
            scan_listed_callers(python, scanned, scan_source)
            scanned.findings.sort(key=sort_key)
    scanned.findings += result.findings
    findings, notes = _through_importers(info.root, [f.path for f in staged.files], target, excluder, prefix)
    if findings:  # one finding per key and line, as scan . gives (MG101 and a flow on one literal)
        from maniac_guard.changes import merge_by_file

        scanned.findings = merge_by_file([*scanned.findings, *findings])
    scanned.messages[:0] = result.messages + notes
    scanned.skipped.update(result.skipped)
    scanned.missing_paths = missing
    report_incomplete(scanned, errors)
    return scanned


def _through_importers(
    root: str, paths: Sequence[str], target: ScanTarget, excluder: Excluder, prefix: str
) -> tuple[list[Finding], list[str]]:
    """What the staged Python modules add through the unchanged files that
    import them (settings.py's new KEY reaching client.py's SDK), as the
    history gates see it (changes.py): findings, and notes on what the
    budget left out."""
    from maniac_guard.changes import added_to_index, not_excluded, whole_file_detectors

    modules = [path for path in paths if path.endswith(".py")]
    detectors = whole_file_detectors(enabled_rules(target.settings))
    if not modules or not detectors:
        return [], []
    found = added_to_index(
        root,
        modules,
        detectors,
        max_size=target.settings.max_file_size,
        keep=not_excluded(excluder, root),
        prefix=prefix,
    )
    return found.findings, found.messages


def _index_key(git_dir: str) -> str:
    """What identifies the index's version for caches: its file's size and time."""
    try:
        found = os.stat(os.path.join(git_dir, "index"))
    except OSError:
        return "index"
    return f"index:{found.st_size}:{found.st_mtime_ns}"


def _archive_members(
    shown: str, data: bytes, max_size: int, result: ScanResult, errors: list[str]
) -> Iterator[SourceFile]:
    from maniac_guard.sources.archives import ArchiveLimits, ArchiveReport, archive_sources

    report = ArchiveReport()
    yield from archive_sources(shown, data, archive_kind(data) or "", ArchiveLimits(max_member_size=max_size), report)
    result.messages.extend(report.messages)
    result.skipped.update(report.skipped)
    errors.extend(report.problems)


def scan_commit_msg(target: ScanTarget) -> ScanResult:
    """`scan --commit-msg FILE`: the message git is about to record (the
    commit-msg hook gets its file as $1), up to git's scissors line."""
    files = [p for p in target.paths if p != "."]
    if not files:
        raise GitError("--commit-msg needs the message file (git passes it to a commit-msg hook as $1)")
    result = ScanResult()
    sources = []
    for path in files:
        if not os.path.lexists(path):
            result.missing_paths.append(path)
            continue
        read = read_file(path, path, target.settings.max_file_size, roots=[], follow=True)
        if read.data is None:
            raise GitError(read.message or f"{path}: cannot read the commit message")
        cut = SCISSORS.search(read.data)
        source, skipped, message = to_source(path, read.data[: cut.start()] if cut else read.data)
        if source is None:
            raise GitError(message or f"{path}: the commit message is {skipped}, cannot scan it")
        sources.append(source)
    scanned = scan_sources(sources, enabled_rules(target.settings))
    scanned.missing_paths = result.missing_paths
    return scanned
