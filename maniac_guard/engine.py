"""The scan: sources → detectors → findings, then merging and inline ignores.

Whole trees are split into chunks that this process and forked helpers
read and scan (forkshare.py); a small scan (a pre-commit hook) stays in one
process to avoid start-up cost.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence

from maniac_guard.config import find_config
from maniac_guard.detectorcache import DetectorCache, Learnt
from maniac_guard.detectors import Detector, load_detectors
from maniac_guard.detectors.python_callers import RULE_IDS, SDK_IMPORT, imports_sdk, scan_callers
from maniac_guard.findings import Finding, sort_key
from maniac_guard.prefilter import PendingPrefilter, Prefilter
from maniac_guard.scanfile import PARALLEL_MIN_FILES, Scanned, ScanScope, scan_source
from maniac_guard.selection import enabled_rules, select_findings
from maniac_guard.sources import SourceFile
from maniac_guard.sources.files import (
    Excluder,
    WalkReport,
    display_path_under,
    is_binary,
    iter_path_batches,
    iter_paths,
    read_file,
    to_source,
    utf8_problem,
)
from maniac_guard.sources.magic import archive_on_disk
from maniac_guard.sources.windows import windows
from maniac_guard.sources.worktree import WorkTreeReader
from maniac_guard.summary import ScanResult
from maniac_guard.target import ScanTarget

# What other modules import from here (scan_source and the rest moved to scanfile.py).
__all__ = [
    "PARALLEL_MIN_FILES",
    "ScanResult",
    "name_findings",
    "scan_bytes",
    "scan_disk",
    "scan_paths",
    "scan_source",
    "scan_sources",
]

CHUNK_SIZE = 64  # at most; small enough to balance the processes when slow files cluster
# A file that took longer hands the rest of its chunk to whichever process is
# free: on a cold cache the Maniac SDK's own modules (~0.2 s of analysis
# each, neighbours in one chunk) kept one process busy ~0.5 s while the
# other waited at the end.
SLOW_FILE = 0.03


def scan_bytes(path: str, data: bytes, detectors: Sequence[Detector] | None = None) -> list[Finding]:
    """Findings in one file's bytes, as a scan of that file on disk would
    report them (a fixed file's new text, a file's version at HEAD)."""
    source, _, _ = to_source(path, data)
    if source is None:  # binary, or not text in any encoding we read
        return []
    return scan_source(source, load_detectors() if detectors is None else detectors)


def _scan_files(
    paths: Sequence[str],
    scope: ScanScope,
    cache: DetectorCache | None = None,
    prefilter: Prefilter | None = None,
    hand: Callable[[list[str]], bool] | None = None,
) -> Scanned:
    """Read and scan these files (absolute, normalized paths). `hand(rest)`:
    after a slow file, offer the files not scanned yet to another process
    (forkshare.run_streamed); True: they are its to scan, stop here."""
    result = Scanned()
    detectors = load_detectors(scope.enabled)
    shown_from = display_path_under(scope.cwd)  # its prefix worked out once, not per file
    project = WorkTreeReader(scope.cwd)  # where the Python analysis reads imported modules
    last = time.perf_counter()
    for at, path in enumerate(paths):
        if hand is not None and at:
            now = time.perf_counter()
            if now - last > SLOW_FILE and hand(list(paths[at:])):
                break
            last = now
        shown = shown_from(path)
        follow = path in scope.explicit
        read = read_file(path, shown, scope.max_size, scope.roots, follow=follow, skip_binary=True)
        kind = archive_on_disk(path, read.data, read.skipped, follow)
        if kind is not None:  # opened in place, whatever its size
            from maniac_guard.engine_archives import scan_archive

            scan_archive(path, shown, kind, read.data, scope, detectors, cache, prefilter, result)
            continue
        if read.skipped == "too-large":
            _scan_big_file(path, shown, scope, detectors, result)
            continue
        if read.skipped == "directory":
            _scan_nested_repository(path, shown, scope, cache, prefilter, result)
            continue
        if read.data is None:
            result.findings += name_findings(shown, scope.enabled)
            if read.error and read.message:
                result.errors.append(read.message)
                continue
            result.skipped[read.skipped or "unreadable"] += 1
            if read.message:
                result.messages.append(read.message)
            continue
        source, skipped, message = to_source(shown, read.data)
        if source is None:
            result.findings += name_findings(shown, scope.enabled)
            result.skipped[skipped or "unreadable"] += 1
            if message:
                result.messages.append(message)
            continue
        result.files_scanned += 1
        source.project = project
        # The SDK's import is one of the Python rules' hints: its `re` search
        # runs only on the files where the prefilter's pass woke them.
        woken = sdk_hint = None
        if prefilter is not None:
            woken = prefilter.woken(read.data)
            sdk_hint = prefilter.may_match(woken, SDK_IMPORT.pattern)
        if sdk_hint is not False and imports_sdk(shown, read.data):
            result.sdk_modules.append(path)
        findings = scan_source(source, detectors, cache, result.learnt, prefilter, result.suppressed, woken)
        if findings:
            note = utf8_problem(source)
            if note:
                result.messages.append(note)
        if source.notes:
            result.messages.extend(source.notes)
        if findings:
            result.findings.extend(findings)
    return result


def _scan_big_file(path: str, shown: str, scope: ScanScope, detectors: Sequence[Detector], result: Scanned) -> None:
    """A file over the size limit: the key patterns over overlapping windows
    (sources/windows.py); the whole-file analyses (Python, YAML) skip it."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        result.errors.append(f"{shown}: cannot read: {exc.strerror}")
        return
    try:
        size = os.fstat(fd).st_size
        for window in windows(shown, lambda n: os.read(fd, n)):
            if window.owned_from == 0 and is_binary(window.data):
                result.skipped["binary"] += 1
                return
            result.findings.extend(scan_source(window, detectors))
            result.messages.extend(window.notes)
    except OSError as exc:
        result.errors.append(f"{shown}: cannot read: {exc.strerror}")
        return
    finally:
        os.close(fd)
    result.files_scanned += 1
    result.messages.append(
        f"{shown}: {size / 1048576:.1f} MiB is over the {scope.max_size / 1048576:.1f} MiB limit: "
        "scanned for key patterns only (no Python or YAML analysis)"
    )


def _scan_nested_repository(
    path: str,
    shown: str,
    scope: ScanScope,
    cache: DetectorCache | None,
    prefilter: Prefilter | None,
    result: Scanned,
) -> None:
    """A folder in git's listing: a nested repository (an untracked clone, a
    linked worktree, a gitlink without .gitmodules). Its work-tree files are
    files in the tree, as gitleaks and trufflehog users expect: listed by its
    own git (its .gitignore applies) and scanned."""
    walk = WalkReport()
    files = list(iter_paths([path], use_gitignore=scope.use_gitignore, excluder=scope.excluder, report=walk))
    result.messages.extend(walk.messages)
    result.errors.extend(walk.errors)
    if not files and not walk.errors:
        result.messages.append(f"{shown}: nested repository with no files on disk; nothing to scan")
        return
    result.merge(_scan_files(files, scope, cache, prefilter))


def name_findings(
    shown: str,
    enabled: frozenset[str] | None,
    commit: str | None = None,
    author: str | None = None,
    date: str | None = None,
) -> list[Finding]:
    """A file not read as text (binary, too big, unreadable) is still named
    after a key or not (MG105)."""
    if "mk" not in shown:
        return []
    from maniac_guard.detectors.file_names import RULE_IDS, path_findings

    wanted = enabled is None or not RULE_IDS.isdisjoint(enabled)
    return list(path_findings(shown, commit, author, date)) if wanted else []


def available_cores() -> int:
    """The cores this process may run on (a container's or taskset's limit)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def worker_count(requested: int) -> int:
    """Processes for a tree scan: one per available core, or fewer if asked.
    More than the cores only adds start-up and switching: `-j 64` on 2 cores
    took 12 s against 4.9 s for `-j 2` (when each helper imported libcst)."""
    cores = available_cores()
    return min(requested, cores) if requested > 0 else cores


def scan_paths(
    paths: Sequence[str],
    *,
    excluder: Excluder,
    use_gitignore: bool = True,
    max_file_size: int,
    jobs: int = 0,
    enabled: frozenset[str] | None = None,
) -> ScanResult:
    """Scan files on disk; `enabled` limits the detectors to those that can
    report one of these rules (a scan with --select MG1 parses no Python)."""
    started = time.perf_counter()
    walk = WalkReport()
    explicit = frozenset(os.path.abspath(p) for p in paths if not os.path.isdir(p))
    scope = ScanScope(
        max_file_size,
        tuple(os.path.realpath(p) for p in paths),
        os.getcwd(),
        explicit,
        enabled,
        excluder=excluder,
        use_gitignore=use_gitignore,
    )
    # The native prefilter pays on trees, not on a hook's handful of files
    # (hyperscan's import costs ~3 ms): it is built once the walk has found
    # that many files, while the walk goes on. Then the helpers are forked
    # and scan chunks as the walk makes them (_scan_streamed). The detector
    # cache reads its files only when a file first needs it.
    files: list[str] = []
    batches = iter_path_batches(paths, use_gitignore=use_gitignore, excluder=excluder, report=walk)
    pending: PendingPrefilter | None = None
    for batch in batches:
        files.extend(batch)
        if len(files) >= PARALLEL_MIN_FILES:
            pending = PendingPrefilter(load_detectors(enabled))
            break
    tree = pending is not None
    cache = DetectorCache.open()
    workers = worker_count(jobs)
    if workers > 1 and pending is not None:
        import socket  # noqa: F401  (what the fork needs, loaded while hyperscan compiles)

        import maniac_guard.forkshare  # noqa: F401

        for batch in batches:  # walk on while hyperscan compiles (no fork while its thread runs)
            files.extend(batch)
            if pending.ready():
                break
        prefilter = pending.result()
        from maniac_guard.forkshare import path_chunks

        chunks = path_chunks(files, batches, max(8, min(CHUNK_SIZE, len(files) // (workers * 4))), CHUNK_SIZE)
        result = _scan_streamed(chunks, scope, workers, cache and cache.load(), prefilter)
    else:
        for batch in batches:
            files.extend(batch)
        prefilter = pending.result() if pending is not None else None
        result = _scan_files(files, scope, cache, prefilter)
    if enabled is None or enabled & RULE_IDS:  # files calling a wrapper of the SDK, never naming it
        anchors = [os.path.abspath(path) for path in paths if os.path.isdir(path)]
        scan_callers(files, scope.cwd, result, max_file_size, not tree, scan_source, anchors)
    if cache is not None:
        cache.save(result.learnt.clean, result.learnt.found, mark=result.learnt.archives_passed > 0)
    result.learnt = Learnt()  # frees what the cache now holds
    if walk.binary_by_name:
        result.skipped["binary"] += walk.binary_by_name
        shown_from = display_path_under(scope.cwd)
        for path in walk.binary_named_mk:
            result.findings += name_findings(shown_from(path), scope.enabled)
    result.messages[:0] = walk.messages
    if tree and jobs > workers:
        result.messages.insert(0, f"-j {jobs}: only {workers} core{'s' * (workers != 1)} available, using {workers}")
    result.missing_paths = walk.missing_paths
    result.errors[:0] = walk.errors
    if result.errors:  # not "clean": what could not be read is named, and the run ends with exit 2
        result.messages[:0] = result.errors
        result.stages.incomplete = list(result.errors)
    result.findings.sort(key=sort_key)
    result.elapsed = time.perf_counter() - started
    return result


def _scan_streamed(
    chunks: Iterable[list[str]],
    scope: ScanScope,
    workers: int,
    cache: DetectorCache | None,
    prefilter: Prefilter | None,
) -> Scanned:
    """Chunks of files shared between this process and workers - 1 forked
    helpers, which inherit the loaded detectors, the cache and the prefilter
    and take each chunk as the walk makes it."""
    from maniac_guard.forkshare import run_streamed

    load_detectors(scope.enabled)
    result = Scanned()

    def scan(chunk: list[str], hand: Callable[[list[str]], bool]) -> Scanned:
        return _scan_files(chunk, scope, cache, prefilter, hand)

    for part in run_streamed(chunks, scan, workers - 1, handing=True):
        result.merge(part)  # in walk order, so messages keep path order
    return result


def unread_configs(target: ScanTarget) -> list[str]:
    """Notes for the named paths whose nearest config is not the run's: one
    config governs a run (config.py), and one the user may expect to apply
    is named, not skipped without a word."""
    if target.settings.config_explicit:
        return []
    notes: list[str] = []
    for path in target.paths:
        found = find_config(path)
        if found is not None and str(found[0]) != target.settings.config_path and str(found[0]) not in notes:
            notes.append(str(found[0]))
    governing = target.settings.config_path or "the defaults"
    return [f"{os.path.relpath(n)}: not read; one config governs a run ({governing})" for n in notes]


def scan_disk(target: ScanTarget) -> ScanResult:
    """The paths of `target` on disk, under the run's one config."""
    settings = target.settings
    result = scan_paths(
        target.paths,
        excluder=Excluder.of(settings, target.cli_exclude),
        use_gitignore=settings.gitignore,
        max_file_size=settings.max_file_size,
        jobs=settings.jobs,
        enabled=enabled_rules(settings),
    )
    result.findings = select_findings(result.findings, settings)
    result.suppressed = select_findings(result.suppressed, settings)
    result.messages[:0] = unread_configs(target)
    if result.stages.incomplete:  # archives not opened: one error line each, exit 2
        from maniac_guard.sources.git import report_incomplete

        report_incomplete(result, result.stages.incomplete)
    return result


def scan_sources(
    sources: Iterable[SourceFile], enabled: frozenset[str] | None = None, *, cached: bool = False, many: bool = False
) -> ScanResult:
    """Scan text that does not come from the work tree (staged blobs, history).
    `cached`: use the detector cache, as a disk scan does (whole files only);
    `many`: enough files that the native prefilter pays."""
    started = time.perf_counter()
    detectors = load_detectors(enabled)
    cache = DetectorCache.open() if cached else None
    prefilter = Prefilter.build(detectors) if many else None
    result = Scanned()
    for source in sources:
        result.files_scanned += 1
        result.findings.extend(scan_source(source, detectors, cache, result.learnt, prefilter, result.suppressed))
        result.messages.extend(source.notes)
    if cache is not None:
        cache.save(result.learnt.clean, result.learnt.found)
    result.learnt = Learnt()
    result.findings.sort(key=sort_key)
    result.elapsed = time.perf_counter() - started
    return result
