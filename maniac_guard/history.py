"""`scan --history` and `ci`: scan what commits added, then report each leaked
key once.

A key that sits in many commits is one finding per (rule, key, path) — the
finding's fingerprint — carrying the FIRST commit that added it, how many
commits added it, and whether it is still there at HEAD. A key that was
added and later deleted is still a finding: anyone with a clone has it, so
it must be rotated.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from typing import TYPE_CHECKING

from maniac_guard.findings import Finding
from maniac_guard.historyhead import dedupe
from maniac_guard.records import dataclass
from maniac_guard.sources import SourceFile
from maniac_guard.sources.git import (
    GitError,
    HistoryState,
    RepoInfo,
    repo_info,
    report_incomplete,
    run_git,
)
from maniac_guard.sources.gitlog import PatchStream, hint_groups
from maniac_guard.sources.gitmessages import (
    MessageLog,
    TagList,
    is_message_path,
    stash_commits,
    tag_sources,
)
from maniac_guard.summary import HistorySummary
from maniac_guard.words import counted

if TYPE_CHECKING:
    from maniac_guard.config import Settings
    from maniac_guard.detectors import Detector
    from maniac_guard.sources.files import Excluder
    from maniac_guard.sources.gitbig import BigBlobs
    from maniac_guard.sources.gitblobs import BlobReader
    from maniac_guard.sources.gitproject import WholeFileTracker
    from maniac_guard.summary import ScanResult
    from maniac_guard.target import ScanTarget
    from maniac_guard.versions import Ahead, Versions, WholeFiles

SHALLOW_NOTE = "shallow clone: commits beyond its depth are not scanned (`git fetch --unshallow` for the full history)"


@dataclass(frozen=True)
class HistorySpec:
    revs: tuple[str, ...]  # revision arguments for `git log`
    label: str  # what is scanned, in words
    max_commits: int | None = None
    # Also what no commit diff shows: tag messages, tags of blobs and trees,
    # every stash entry (for `--all`-style scans, not for a range).
    whole_repository: bool = False
    # The caller made sure every commit of the range is in this clone (`ci`
    # fetches or deepens until it is), so a shallow clone misses nothing.
    complete: bool = False


def resolve_commit(root: str, ref: str, shallow: bool = False, option: str = "") -> str:
    """The full commit id of `ref`, or a GitError that says what to do."""
    try:
        out = run_git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"], root)
    except GitError:
        hint = " (this is a shallow clone: fetch more history, e.g. `git fetch --unshallow`)" if shallow else ""
        takes = f"{option} takes a revision (a commit, branch or tag, not a date): " if option else ""
        raise GitError(f"{takes}unknown revision '{ref}'{hint}") from None
    return out.decode("ascii").strip()


def history_spec(
    root: str,
    *,
    since: str | None = None,
    range_: str | None = None,
    max_commits: int | None = None,
    shallow: bool = False,
) -> HistorySpec:
    """`--range A..B` (or A...B), `--since REF` (all refs, minus what REF holds), or every ref.
    An empty value (a CI variable that is not set) is an error, never "every ref"."""
    for option, value in (("--range", range_), ("--since", since)):
        if value is not None and not value.strip():
            raise GitError(
                f"{option} is empty (an unset CI variable?): name the commits to scan, e.g. {option} "
                + ("origin/main..HEAD" if option == "--range" else "origin/main")
            )
    if since is not None and range_ is not None:
        raise GitError("--since and --range cannot be combined")
    if range_ is not None:
        dots = "..." if "..." in range_ else ".."
        if dots not in range_:
            raise GitError(f"--range wants A..B, got '{range_}'")
        start, end = range_.split(dots, 1)
        start_id = resolve_commit(root, start or "HEAD", shallow, "--range")
        end_id = resolve_commit(root, end or "HEAD", shallow, "--range")
        revs = (f"{start_id}{dots}{end_id}",)
        return HistorySpec(revs, f"range {range_}", max_commits)
    if since is not None:
        since_id = resolve_commit(root, since, shallow, "--since")
        return HistorySpec(("--all", f"^{since_id}"), f"all refs since {since}", max_commits, whole_repository=True)
    return HistorySpec(("--all",), "all refs", max_commits, whole_repository=True)


def _filtered(sources: Iterable[SourceFile], excluder: Excluder, root: str) -> Iterator[SourceFile]:
    for source in sources:
        if excluder and not is_message_path(source.path) and excluder.excluded(os.path.join(root, source.path)):
            continue
        yield source


def _revisions(root: str, spec: HistorySpec, git_dir: str = "") -> list[str]:
    """`git log` arguments for the spec: its own, and every stash entry for a whole-repository scan."""
    revs = list(spec.revs)
    if spec.whole_repository:
        revs += stash_commits(root, git_dir)
    return revs


def _all_sources(
    root: str,
    spec: HistorySpec,
    stream: PatchStream,
    messages: MessageLog,
    state: HistoryState,
    max_size: int,
    progress: bool,
    whole: WholeFileTracker | None = None,
    blobs: BlobReader | None = None,
    expired: Callable[[], bool] | None = None,
    tags: TagList | None = None,
    after_stream: Callable[[], None] | None = None,
    idle: Callable[[], bool] | None = None,
) -> Iterator[SourceFile]:
    """File diffs, then commit messages, then (whole-repository scans) tags.
    `blobs`: the reader of objects for all of them (else one each);
    `expired`: the deadline, checked where no source comes out; `tags`:
    the tags' listing, if started earlier; `after_stream`: called once the
    diffs are read; `idle`: work for the parser while git's pipe is empty."""
    from contextlib import nullcontext

    from maniac_guard.prefilter import match_ends
    from maniac_guard.sources.gitblobs import BlobReader

    hints = fragment_hints()
    groups = hint_groups(hints, whole)
    matches = match_ends(groups, family="history-hints-") if groups is not None else None
    yield from stream.sources(
        state, progress=progress, hints=hints, whole=whole, matches=matches, blobs=blobs, expired=expired, idle=idle
    )
    if after_stream is not None:
        after_stream()
    # Group 0 holds every fragment detector's hints: a message without a
    # match is counted (state.order, files scanned), not scanned.
    yield from messages.sources(
        max_size, matches, lambda commit: state.order.setdefault(commit, len(state.order)), expired
    )
    if spec.whole_repository:
        with nullcontext(blobs) if blobs is not None else BlobReader(root) as reader:
            yield from tag_sources(root, reader, max_size, state.messages, tags)


def _start_caller_greps(root: str, picker: WholeFileTracker | None, detectors: Sequence[Detector]) -> None:
    """The `git grep`s of `changes._scan_callers` (`wrappers_at`: the files
    naming "maniac" at the first and last commits that change modules),
    started as the diffs end (the commits are known then), so that git runs
    them while the messages and the changed files are scanned."""
    from maniac_guard.sources.gitproject import start_naming

    if picker is None or not picker.modules or not any(d.name == "python_code" for d in detectors):
        return
    modules = list(picker.modules.values())
    for rev in sorted({modules[0].commit, modules[-1].commit}):
        start_naming(root, rev, ("maniac",), words=False)


def fragment_hints() -> list[bytes] | None:
    """What a commit must contain for any detector to fire on its added lines
    (None: a detector gives no hint, so every commit is parsed). Detectors
    that need a whole file never see added lines."""
    from maniac_guard.detectors import load_detectors

    hints: list[bytes] = []
    for detector in load_detectors():
        if detector.needs_whole_file:
            continue
        if detector.hints is None:
            return None
        hints.extend(detector.hints)
    return hints


def history_result(
    root: str,
    spec: HistorySpec,
    settings: Settings,
    *,
    cli_exclude: Sequence[str] = (),
    progress: bool = False,
    deadline: float | None = None,
    annotate_head: bool = True,
    list_suppressions: bool = False,
    big_blobs: BigBlobs | None = None,
    info: RepoInfo | None = None,
) -> ScanResult:
    """Scan what the commits of `spec` added in the repository at `root` (a
    work tree, or a bare repository's git folder), their messages, and for a
    whole-repository spec its tags and stashes. The findings are deduplicated
    (`dedupe`); what could not be read is in `result.stages.incomplete`.
    Past `deadline` (time.monotonic) the scan stops between two files and
    says so in `result.stages.history.timed_out`; what it found is kept.
    `list_suppressions`: the findings that inline comments on added lines
    hide go to `result.stages.suppressed` (`ci`). `big_blobs`: the check
    for blobs over the size limit, if the caller started it (this closes it);
    `info`: `repo_info(root)`, if the caller has it."""
    from maniac_guard.changes import merge_by_file, whole_file_detectors
    from maniac_guard.engine import name_findings, scan_sources
    from maniac_guard.historytracker import tracker
    from maniac_guard.selection import enabled_rules
    from maniac_guard.sources.files import Excluder
    from maniac_guard.sources.gitbig import BigBlobs
    from maniac_guard.sources.gitblobs import BlobReader
    from maniac_guard.sources.gitproject import stop_naming

    if big_blobs is None:
        big_blobs = BigBlobs(root, settings.max_file_size)  # git reads object headers while we set up
    with ExitStack() as running:
        running.callback(big_blobs.close)
        info = info or repo_info(root)
        revs = _revisions(info.root, spec, info.git_dir)
        # git log -p starts before the rest of the setup (its output is read
        # ahead meanwhile); the messages' git log runs beside it, on the core
        # that parsing leaves idle.
        stream = PatchStream(
            info.root, revs, max_commits=spec.max_commits, max_size=settings.max_file_size, big_blobs=big_blobs
        )
        running.callback(stream.close)
        messages = running.enter_context(MessageLog(info.root, revs, spec.max_commits))
        tags = TagList(info.root) if spec.whole_repository else None
        if tags is not None:
            running.callback(tags.close)
        # One reader of objects (two git processes) for every step below.
        blobs = running.enter_context(BlobReader(info.root))
        excluder = Excluder.of(settings, cli_exclude)
        state = HistoryState()
        enabled = enabled_rules(settings)
        whole_detectors = whole_file_detectors(enabled)
        picker = tracker(whole_detectors, settings.max_file_size) if whole_detectors else None
        running.callback(stop_naming)  # greps started for the whole-file step that never came
        clock = _Deadline(deadline)
        watch = _Suppressions(enabled) if list_suppressions else None
        marked = watch.marked if watch else None
        ahead = (
            _ahead(info.root, picker, whole_detectors, settings, excluder, clock, marked, blobs)
            if picker is not None
            else None
        )
        sources = _all_sources(
            info.root,
            spec,
            stream,
            messages,
            state,
            settings.max_file_size,
            progress,
            picker,
            blobs,
            clock.expired,
            tags,
            lambda: _start_caller_greps(info.root, picker, whole_detectors),
            ahead.step if ahead is not None else None,
        )
        filtered = _filtered(sources, excluder, info.root)
        result = scan_sources(clock.until(watch.watch(filtered) if watch else filtered), enabled)
        result.files_scanned += messages.skipped
        # The range's parents outside it: their files are the importers the range left unchanged.
        boundaries = sorted(
            {p for c in (picker.modules.values() if picker else ()) for p in c.parents} - set(state.order)
        )
        whole = _whole_files(
            info.root,
            picker,
            whole_detectors,
            settings,
            excluder,
            clock,
            marked,
            boundaries,
            blobs,
            ahead.versions if ahead is not None else None,
        )
        named = [
            finding
            for path, commit in state.binary_named_mk
            if not (excluder and excluder.excluded(os.path.join(info.root, path)))
            for finding in name_findings(path, enabled, commit.sha, commit.author, commit.date)
        ]
        result.findings = dedupe(
            merge_by_file([*result.findings, *whole.findings, *named]),
            state,
            info.root,
            annotate_head=annotate_head,
            blobs=blobs,
        )
    if watch is not None:
        hidden = merge_by_file([*watch.found, *whole.suppressed])
        result.stages.suppressed = dedupe(hidden, state, info.root, annotate_head=False)
    result.messages.extend(whole.messages)
    report_incomplete(result, state.unreadable)
    notes = [SHALLOW_NOTE] if info.shallow and not spec.complete else []
    if not state.order:
        notes.append(f"no commits to scan ({spec.label})")
    result.messages[:0] = notes + state.messages
    for reason, count in (("binary", state.binary), ("submodule", state.submodules), ("too-large", state.too_large)):
        if count:
            result.skipped[reason] += count
    capped = f", capped at {spec.max_commits}" if spec.max_commits is not None else ""
    line = (
        f"history: {counted(len(state.order), 'commit')} scanned ({spec.label}{capped}), added lines and messages, "
        f"{counted(whole.files, 'changed file')} analyzed whole"
    )
    result.notes.append(line)
    result.stages.history = HistorySummary(len(state.order), spec.label, info.shallow, timed_out=clock.passed)
    return result


def _whole_files(
    root: str,
    picker: WholeFileTracker | None,
    detectors: list[Detector],
    settings: Settings,
    excluder: Excluder,
    clock: _Deadline,
    marked: dict[tuple[str, str], set[int]] | None = None,
    boundaries: Sequence[str] = (),
    blobs: BlobReader | None = None,
    ahead: Versions | None = None,
) -> WholeFiles:
    """What the commits added as the whole-file detectors see it (changes.py;
    `ahead`: what analysed some of them while the history was read)."""
    from maniac_guard.changes import added_by_commits, not_excluded
    from maniac_guard.engine import worker_count
    from maniac_guard.versions import WholeFiles

    if clock.passed or picker is None or not (picker.changes or picker.modules):
        return WholeFiles()
    found = added_by_commits(
        root,
        picker.changes,
        detectors,
        max_size=settings.max_file_size,
        keep=not_excluded(excluder, root),
        expired=clock.expired,
        marked=marked,
        modules=list(picker.modules.values()),
        boundaries=boundaries,
        blobs=blobs,
        helpers=worker_count(settings.jobs) - 1,
        ahead=ahead,
    )
    clock.passed = clock.passed or found.timed_out
    return found


def _ahead(
    root: str,
    picker: WholeFileTracker,
    detectors: list[Detector],
    settings: Settings,
    excluder: Excluder,
    clock: _Deadline,
    marked: dict[tuple[str, str], set[int]] | None,
    blobs: BlobReader,
) -> Ahead:
    """The picked versions' analyses, done while the parser waits for git
    (`versions.Ahead`), with what `added_by_commits` would build."""
    from maniac_guard.changes import not_excluded
    from maniac_guard.versions import Ahead

    def make() -> Versions:
        from maniac_guard.detectorcache import DetectorCache
        from maniac_guard.versions import Versions, WholeFiles

        return Versions(blobs, detectors, settings.max_file_size, WholeFiles(), marked, DetectorCache.open())

    return Ahead(make, picker.changes, not_excluded(excluder, root), clock.expired)


class _Suppressions:
    """What inline suppressions on the added lines hide (`ci` lists them)."""

    def __init__(self, enabled: frozenset[str] | None) -> None:
        from maniac_guard.detectors import load_detectors

        self.detectors = load_detectors(enabled)
        self.found: list[Finding] = []
        self.marked: dict[tuple[str, str], set[int]] = {}

    def watch(self, sources: Iterator[SourceFile]) -> Iterator[SourceFile]:
        from maniac_guard.changes import marked_lines
        from maniac_guard.versions import suppressed_inline

        for source in sources:
            if b"maniac-guard" in source.data:
                self.found.extend(suppressed_inline(source, self.detectors))
                if source.commit:
                    self.marked[(source.commit, source.path)] = marked_lines(source)
            yield source


class _Deadline:
    def __init__(self, deadline: float | None) -> None:
        self.deadline = deadline
        self.passed = False

    def expired(self) -> bool:
        import time

        if self.deadline is not None and time.monotonic() > self.deadline:
            self.passed = True
        return self.passed

    def until(self, sources: Iterator[SourceFile]) -> Iterator[SourceFile]:
        """`sources` until the deadline passes (then the generator below is
        closed, which stops `git log`)."""
        import time

        for source in sources:
            if self.deadline is not None and time.monotonic() > self.deadline:
                self.passed = True
                return
            yield source


def scan_history(
    target: ScanTarget,
    spec: HistorySpec,
    root: str | None = None,
    *,
    list_suppressions: bool = False,
    big_blobs: BigBlobs | None = None,
    info: RepoInfo | None = None,
) -> ScanResult:
    """`scan --history` / `ci`: `history_result` with the target's settings
    (`info`: the repository's, if the caller has it)."""
    return history_result(
        root or os.getcwd(),
        spec,
        target.settings,
        cli_exclude=target.cli_exclude,
        progress=sys.stderr.isatty() and not target.quiet,
        list_suppressions=list_suppressions,
        big_blobs=big_blobs,
        info=info,
    )


def scan_revisions(
    git_dir: str,
    revs: Sequence[str],
    settings: Settings,
    label: str | None = None,
    *,
    cli_exclude: Sequence[str] = (),
    deadline: float | None = None,
) -> ScanResult:
    """For server-side hooks (pre-receive) and audits of bare mirrors: scan the
    commits `git log REVS` lists in the repository at `git_dir`, e.g.
    `[new, "--not", "--all"]` or `[f"{old}..{new}"]`, and their messages. Run
    with the hook's environment (GIT_DIR, GIT_QUARANTINE_PATH...) so git sees
    pushed objects."""
    spec = HistorySpec(tuple(revs), label or " ".join(revs))
    return history_result(git_dir, spec, settings, cli_exclude=cli_exclude, deadline=deadline, annotate_head=False)
