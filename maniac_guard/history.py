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
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from maniac_guard.findings import Finding, sort_key
from maniac_guard.records import dataclass
from maniac_guard.sources import SourceFile
from maniac_guard.sources.git import (
    GitError,
    HistoryState,
    encode_path,
    history_sources,
    repo_info,
    report_incomplete,
    run_git,
)
from maniac_guard.sources.gitmessages import (
    MessageLog,
    is_message_path,
    stash_commits,
    tag_sources,
)
from maniac_guard.summary import HistorySummary
from maniac_guard.words import counted

if TYPE_CHECKING:
    from maniac_guard.changes import WholeFiles
    from maniac_guard.config import Settings
    from maniac_guard.detectors import Detector
    from maniac_guard.sources.files import Excluder
    from maniac_guard.sources.gitbig import BigBlobs
    from maniac_guard.sources.gitproject import WholeFileTracker
    from maniac_guard.summary import ScanResult
    from maniac_guard.target import ScanTarget

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


def follow_renames(path: str, renames: dict[str, str]) -> str:
    seen = {path}
    while path in renames and renames[path] not in seen:
        path = renames[path]
        seen.add(path)
    return path


def _presence(finding: Finding) -> str:
    """What "still at HEAD" is about: the key itself, whichever rule reports
    it there (a plain key that HEAD passes to the SDK is MG201 there, not
    MG101); a finding without a key, by its rule and subject."""
    if finding.secret is not None:
        return f"secret:{finding.secret.digest}"
    return f"{finding.rule_id}:{finding.subject}"


def _head_blobs(root: str, paths: Sequence[str]) -> dict[str, str]:
    """Blob id of each path at HEAD (paths of any bytes, newlines included)."""
    wanted = {encode_path(p): p for p in paths}
    found: dict[str, str] = {}
    names = sorted(wanted)
    for start in range(0, len(names), 500):  # keep each command line short
        chunk = [n.decode("utf-8", "surrogateescape") for n in names[start : start + 500]]
        out = run_git(["--literal-pathspecs", "ls-tree", "-r", "-z", "--full-tree", "HEAD", "--", *chunk], root)
        for entry in out.split(b"\0"):
            meta, _, path = entry.partition(b"\t")
            parts = meta.split()
            if len(parts) == 3 and parts[1] == b"blob" and path in wanted:
                found[wanted[path]] = parts[2].decode("ascii")
    return found


def _present_at_head(root: str, paths: Sequence[str], max_size: int = 1 << 62) -> dict[str, set[str]]:
    """For each path, what a scan of its HEAD version finds (`_presence`)."""
    from maniac_guard.changes import whole_file_source
    from maniac_guard.detectors import load_detectors
    from maniac_guard.engine import name_findings, scan_source
    from maniac_guard.sources.gitblobs import BlobReader
    from maniac_guard.sources.gitproject import CommitReader

    try:
        head_id = run_git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], root).decode("ascii").strip()
    except GitError:
        return {}
    blobs = _head_blobs(root, paths)
    detectors = load_detectors()
    found: dict[str, set[str]] = {}
    with BlobReader(root) as reader:
        head = CommitReader(reader, head_id, max_size)  # imports as they are at HEAD
        for path, oid in blobs.items():
            data = reader.read(oid, max_size)[1]
            source = whole_file_source(path, data, head) if data is not None else None
            if source is not None:
                found[path] = {_presence(f) for f in scan_source(source, detectors)}
            elif data is not None:  # binary: only its name can hold a key (MG105)
                found[path] = {_presence(f) for f in name_findings(path, None)}
    return found


def dedupe(findings: Sequence[Finding], state: HistoryState, root: str, *, annotate_head: bool = True) -> list[Finding]:
    """One finding per fingerprint: the first commit's, annotated for HEAD
    (not on a server, whose HEAD says nothing about what is being pushed)."""
    never = len(state.order) + 1
    groups: dict[str, list[Finding]] = {}
    for finding in findings:
        groups.setdefault(finding.fingerprint, []).append(finding)
    firsts = [
        (min(group, key=lambda f: (state.order.get(f.commit or "", never), f.line)), len({f.commit for f in group}))
        for group in groups.values()
    ]
    wanted = {
        p for f, _ in firsts if not is_message_path(f.path) for p in (f.path, follow_renames(f.path, state.renames))
    }
    at_head = _present_at_head(root, sorted(wanted)) if annotate_head else {}
    out = []
    for first, commits in firsts:
        if not annotate_head:
            out.append(first)
            continue
        present_path = None
        for path in (first.path, follow_renames(first.path, state.renames)):
            if _presence(first) in at_head.get(path, set()):
                present_path = path
                break
        extra = {**first.extra, "present_at_head": present_path is not None, "commits": commits}
        if present_path is not None and present_path != first.path:
            extra["path_at_head"] = present_path
        if is_message_path(first.path):
            note = "in git metadata every clone has: rotate the key"
        elif present_path is None:
            note = "no longer at HEAD but still in the history: rotate the key"
        elif present_path != first.path:
            note = f"still at HEAD in {present_path}"
        else:
            note = "still at HEAD"
        message = f"{first.message} (first added in {(first.commit or '?')[:12]}; {note})"
        out.append(first.replace(extra=extra, message=message))
    out.sort(key=sort_key)
    return out


def _filtered(sources: Iterable[SourceFile], excluder: Excluder, root: str) -> Iterator[SourceFile]:
    for source in sources:
        if excluder and not is_message_path(source.path) and excluder.excluded(os.path.join(root, source.path)):
            continue
        yield source


def _revisions(root: str, spec: HistorySpec) -> list[str]:
    """`git log` arguments for the spec: its own, and every stash entry for a whole-repository scan."""
    revs = list(spec.revs)
    if spec.whole_repository:
        revs += stash_commits(root)
    return revs


def _all_sources(
    root: str,
    spec: HistorySpec,
    revs: list[str],
    state: HistoryState,
    max_size: int,
    progress: bool,
    whole: WholeFileTracker | None = None,
    big_blobs: BigBlobs | None = None,
) -> Iterator[SourceFile]:
    """File diffs, then commit messages, then (whole-repository scans) tags."""
    from maniac_guard.prefilter import any_match
    from maniac_guard.sources.gitblobs import BlobReader

    # The messages' git log runs beside the patch stream (on the core that
    # parsing leaves idle) instead of after it.
    with MessageLog(root, revs, spec.max_commits) as messages:
        yield from history_sources(
            root,
            revs,
            state,
            max_commits=spec.max_commits,
            max_size=max_size,
            progress=progress,
            hints=fragment_hints(),
            whole=whole,
            # Not "anymatch-…": the tracker keeps the Python hints under that name.
            one_pass=lambda patterns: any_match(patterns, family="history-hints-"),
            big_blobs=big_blobs,
        )
        for message in messages.sources(max_size):
            state.order.setdefault(message.commit or "", len(state.order))  # commits that only touched big files
            yield message
    if spec.whole_repository:
        with BlobReader(root) as reader:
            yield from tag_sources(root, reader, max_size, state.messages)


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
) -> ScanResult:
    """Scan what the commits of `spec` added in the repository at `root` (a
    work tree, or a bare repository's git folder), their messages, and for a
    whole-repository spec its tags and stashes. The findings are deduplicated
    (`dedupe`); what could not be read is in `result.stages.incomplete`.
    Past `deadline` (time.monotonic) the scan stops between two files and
    says so in `result.stages.history.timed_out`; what it found is kept.
    `list_suppressions`: the findings that inline comments on added lines
    hide go to `result.stages.suppressed` (`ci`)."""
    from maniac_guard.changes import merge_by_file, tracker, whole_file_detectors
    from maniac_guard.engine import name_findings, scan_sources
    from maniac_guard.selection import enabled_rules
    from maniac_guard.sources.files import Excluder
    from maniac_guard.sources.gitbig import BigBlobs

    info = repo_info(root)
    big_blobs = BigBlobs(info.root, settings.max_file_size)  # git reads object headers while we set up
    try:
        excluder = Excluder.of(settings, cli_exclude)
        state = HistoryState()
        revs = _revisions(info.root, spec)
        enabled = enabled_rules(settings)
        whole_detectors = whole_file_detectors(enabled)
        picker = tracker(whole_detectors, settings.max_file_size) if whole_detectors else None
        sources = _all_sources(info.root, spec, revs, state, settings.max_file_size, progress, picker, big_blobs)
        clock = _Deadline(deadline)
        watch = _Suppressions(enabled) if list_suppressions else None
        filtered = _filtered(sources, excluder, info.root)
        result = scan_sources(clock.until(watch.watch(filtered) if watch else filtered), enabled)
    finally:
        big_blobs.close()
    # The range's parents outside it: their files are the importers the range left unchanged.
    boundaries = sorted({p for c in (picker.modules.values() if picker else ()) for p in c.parents} - set(state.order))
    whole = _whole_files(
        info.root, picker, whole_detectors, settings, excluder, clock, watch.marked if watch else None, boundaries
    )
    named = [
        finding
        for path, commit in state.binary_named_mk
        if not (excluder and excluder.excluded(os.path.join(info.root, path)))
        for finding in name_findings(path, enabled, commit.sha, commit.author, commit.date)
    ]
    result.findings = dedupe(
        merge_by_file([*result.findings, *whole.findings, *named]), state, info.root, annotate_head=annotate_head
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
) -> WholeFiles:
    """What the commits added as the whole-file detectors see it (changes.py)."""
    from maniac_guard.changes import WholeFiles, added_by_commits, not_excluded

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
    )
    clock.passed = clock.passed or found.timed_out
    return found


class _Suppressions:
    """What inline suppressions on the added lines hide (`ci` lists them)."""

    def __init__(self, enabled: frozenset[str] | None) -> None:
        from maniac_guard.detectors import load_detectors

        self.detectors = load_detectors(enabled)
        self.found: list[Finding] = []
        self.marked: dict[tuple[str, str], set[int]] = {}

    def watch(self, sources: Iterator[SourceFile]) -> Iterator[SourceFile]:
        from maniac_guard.changes import marked_lines, suppressed_inline

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
    target: ScanTarget, spec: HistorySpec, root: str | None = None, *, list_suppressions: bool = False
) -> ScanResult:
    """`scan --history` / `ci`: `history_result` with the target's settings."""
    return history_result(
        root or os.getcwd(),
        spec,
        target.settings,
        cli_exclude=target.cli_exclude,
        progress=sys.stderr.isatty() and not target.quiet,
        list_suppressions=list_suppressions,
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
