"""Archives on disk in a tree scan: their members scanned as files are,
and a clean archive remembered by the detector cache (detectorcache.py), so
an unchanged wheel is not inflated again on the next scan.

Imported by the engine only when a scan meets an archive.
"""

from __future__ import annotations

from collections.abc import Sequence

from maniac_guard.detectorcache import DetectorCache
from maniac_guard.detectors import Detector
from maniac_guard.prefilter import Prefilter
from maniac_guard.scanfile import PARALLEL_MIN_FILES, Scanned, ScanScope, scan_source
from maniac_guard.sources import archives
from maniac_guard.sources.archives import NOT_OPENED, READ_WHOLE_MAX, ArchiveLimits, ArchiveReport
from maniac_guard.sources.files import read_file


def scan_archive(
    path: str,
    shown: str,
    kind: str,
    data: bytes | None,
    scope: ScanScope,
    detectors: Sequence[Detector],
    cache: DetectorCache | None,
    prefilter: Prefilter | None,
    result: Scanned,
) -> None:
    """The text files inside an archive, scanned as files on disk are; what
    it could not open goes to `stages.incomplete` (exit 2)."""
    if kind in NOT_OPENED and path not in scope.explicit:
        # Found while walking a tree: counted and named, as before; named
        # on the command line, it is a file the user asked for (exit 2).
        result.skipped["binary"] += 1
        result.messages.append(f"{shown}: {kind} archive, not opened")
        return
    entry = None
    if cache is not None and cache.remembers_archives():
        if data is None:
            data = read_file(path, shown, READ_WHOLE_MAX, scope.roots, follow=path in scope.explicit).data
        if data is not None:
            entry = cache.archive_entry(shown, data, scope.enabled, scope.max_size)
            counts = cache.archive_lookup(entry)
            if counts is not None:  # unchanged since a scan that found nothing in it
                result.files_scanned += counts[0]
                result.skipped.update(counts[1])
                return
    report = ArchiveReport()
    limits = ArchiveLimits(max_member_size=scope.max_size)
    if data is not None:
        members = archives.archive_sources(shown, data, kind, limits, report)
    else:
        members = archives.open_archive(path, shown, kind, limits, report, follow=path in scope.explicit)
    part = Scanned()
    # Remembered only if nothing is reported, and no member woke a detector
    # whose verdict depends on more than its bytes (Detector.reads_more).
    remember = entry is not None
    reads_more = [d.reads_more for d in detectors if d.reads_more is not None]  # asked of each member
    for count, source in enumerate(members, 1):
        if prefilter is None and count == PARALLEL_MIN_FILES:  # a wheel named alone: thousands of members
            prefilter = Prefilter.build(detectors)
        part.files_scanned += 1
        part.findings.extend(scan_source(source, detectors, cache, part.learnt, prefilter, part.suppressed))
        part.messages.extend(source.notes)
        if remember and any(asks(source) for asks in reads_more):
            remember = False
    part.messages.extend(report.messages)
    part.skipped.update(report.skipped)
    if report.problems:
        part.stages.incomplete = list(report.problems)
    if cache is not None and entry is None:
        part.learnt.archives_passed += 1
    elif remember and entry is not None and not (part.findings or part.suppressed or part.messages or report.problems):
        part.learnt.add_archive(entry, part.files_scanned, dict(part.skipped))
    result.merge(part)
