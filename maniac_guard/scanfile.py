"""One file's scan (`scan_source`), and what the engine's workers share:
the scope of a scan and the result of a chunk of files (engine.py,
engine_archives.py)."""

from __future__ import annotations

from collections.abc import Sequence

from maniac_guard.detectorcache import DetectorCache, Learnt, keeps
from maniac_guard.detectors import Detector
from maniac_guard.findings import Finding
from maniac_guard.inline import drop_suppressed, hide_each_other, merge_duplicates
from maniac_guard.prefilter import Prefilter
from maniac_guard.records import dataclass, field, replace
from maniac_guard.sources import SourceFile
from maniac_guard.sources.files import Excluder
from maniac_guard.sources.windows import WindowSource
from maniac_guard.summary import ScanResult

# Below this, one process: a hook's handful of files costs less than a fork.
# Above, helpers pay even on a small repository (measured when the MG2xx
# analysis ran on libcst, ~0.1 s per Python file that reached it;
# docs/speed.md has today's numbers).
PARALLEL_MIN_FILES = 100


@dataclass
class Scanned(ScanResult):
    """A chunk's result plus the detector-cache entries it learnt (never shown)."""

    learnt: Learnt = field(default_factory=Learnt, repr=False)
    # Files or folders that are there but could not be read: exit 2.
    errors: list[str] = field(default_factory=list)
    sdk_modules: list[str] = field(default_factory=list)  # .py files importing the SDK (python_callers)

    def merge(self, other: ScanResult) -> None:
        super().merge(other)
        if isinstance(other, Scanned):
            self.learnt.clean.extend(other.learnt.clean)
            self.learnt.found.extend(other.learnt.found)
            self.learnt.archives_passed += other.learnt.archives_passed
            self.errors.extend(other.errors)
            self.sdk_modules.extend(other.sdk_modules)


def scan_source(
    source: SourceFile,
    detectors: Sequence[Detector],
    cache: DetectorCache | None = None,
    learnt: Learnt | None = None,
    prefilter: Prefilter | None = None,
    suppressed: list[Finding] | None = None,
    woken: set[int] | None = None,
) -> list[Finding]:
    """Run every interested detector on one file; merge and apply inline ignores
    (what they drop is added to `suppressed`, for the summary's count).

    With a cache, cacheable detectors reuse what they found in this file before,
    and what they find in new files is added to `learnt`. A prefilter built
    for `detectors` skips those whose hints the file lacks (`woken`: what it
    found in this file, when the caller asked it already)."""
    found: list[Finding] = []
    fragment = source.line_numbers is not None  # added lines of a diff, not a whole file
    if woken is None and prefilter is not None:
        woken = prefilter.woken(source.data)
    for index, detector in enumerate(detectors):
        if woken is not None and index not in woken and not detector.on_path:
            continue
        if fragment and detector.needs_whole_file:
            continue
        if not detector.wants(source):
            continue
        entry = None
        if cache is not None and detector.cacheable:
            entry = cache.entry(detector.name, source)
            remembered = cache.lookup(entry, source)
            if remembered is not None:
                found.extend(remembered)
                continue
        notes = len(source.notes)
        try:
            produced = list(detector.detect(source))
        except RecursionError:
            # One detector out of its depth must not cost the others' findings.
            source.notes.append(f"{source.path}: too deeply nested for {detector.name}; other rules still ran")
            continue
        fresh = source.notes[notes:]  # a result is cached with its notes only if they are its own (keeps)
        if entry is not None and all(keeps(n) for n in fresh) and not source.partial and learnt is not None:
            learnt.add(entry, produced, source.data, source, fresh)
        found.extend(produced)
    if not found:
        return found
    if len(found) > 1:
        found = hide_each_other(merge_duplicates(found))
    if b"maniac-guard" in source.data:
        found, dropped = drop_suppressed(source, found)
        if suppressed is not None:
            suppressed.extend(dropped)
    if isinstance(source, WindowSource):
        found = _owned_by_window(found, source)
    return found


def _owned_by_window(findings: list[Finding], window: WindowSource) -> list[Finding]:
    """The findings that start in the part of a big file this window owns
    (sources/windows.py), with columns counted from the real line start."""
    low = window.position(window.owned_from)
    high = window.position(window.owned_until) if window.owned_until is not None else None
    first_line = window.real_line(1)
    kept = []
    for finding in findings:
        at = (finding.line, finding.location.column)
        if at < low or (high is not None and at >= high):
            continue
        if window.first_column and finding.line == first_line:
            where = finding.location
            end_column = where.end_column + window.first_column if where.end_line == first_line else where.end_column
            finding = finding.replace(
                location=replace(where, column=where.column + window.first_column, end_column=end_column)
            )
        kept.append(finding)
    return kept


@dataclass(frozen=True)
class ScanScope:
    """What every worker needs to know about this scan."""

    max_size: int
    roots: tuple[str, ...]
    cwd: str  # paths are shown relative to it
    explicit: frozenset[str]  # files named on the command line (symlinks followed)
    enabled: frozenset[str] | None = None  # rule ids; None: all
    # How a nested repository's folder met in a listing is listed in turn.
    excluder: Excluder = field(default_factory=Excluder)
    use_gitignore: bool = True
