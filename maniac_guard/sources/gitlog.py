"""History as `SourceFile`s: one `git log -p` stream parsed as it arrives.

Each file of each commit becomes one `SourceFile` holding only the lines that
commit added, with `line_numbers` mapping them to their lines in that
commit's version. git's own idea of "binary" (a NUL byte, but also the
`binary` / `-diff` attributes and UTF-16 text) is not trusted: every file git
will not diff is read from the object database and judged by content, as a
disk scan judges files (`gitbinary.py`).

Memory stays bounded: commits are cut into blocks of at most BLOCK_LIMIT
bytes, a file's added text is kept only up to the size limit, and git itself
is told (`core.bigFileThreshold`) not to diff larger blobs, which then take
the blob path where their size is read without reading them.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from maniac_guard.sources import SourceFile
from maniac_guard.sources.gitblobs import BlobReader
from maniac_guard.sources.gitcore import (
    GitError,
    decode_path,
    diff_header_path,
    git_command,
    run_git,
    unquote_path,
    widen_pipe,
)
from maniac_guard.sources.gitmodel import Commit, FileDiff, HistoryState
from maniac_guard.sources.gitproject import WholeFileTracker
from maniac_guard.sources.gitstart import Spawned, SplitLog, claim_log, error_file, log_args

if TYPE_CHECKING:
    from maniac_guard.sources.gitbig import BigBlobs
    from maniac_guard.sources.gitstream import Matches

__all__ = ["Commit", "FileDiff", "HistoryState", "PatchStream", "hint_groups", "history_sources", "log_args"]

SUBMODULE_MODE = b"160000"
# A record separator no diff line can start with: every diff content line
# begins with its +/-/space prefix.
COMMIT_MARK = b"\0"
HUNK_RE = re.compile(rb"^@@+ (?:-\d+(?:,\d+)? )+\+(\d+)(?:,\d+)? @@")
ZERO_OID = re.compile(rb"^0+$")
BLOCK_LIMIT = 8 << 20  # bytes of one commit's diff held at once before parsing starts
MAX_EXCLUDED = 2000  # paths of over-limit blobs read apart from the patch stream


def count_commits(root: str, revs: Sequence[str], max_commits: int | None) -> int | None:
    try:
        out = run_git(["rev-list", "--count", *revs, "--"], root)
        total = int(out.strip() or 0)
    except (GitError, ValueError):
        return None
    return min(total, max_commits) if max_commits is not None else total


class Progress:
    """`N/M commits` on a terminal's stderr, at most ten times a second."""

    def __init__(self, total: int | None) -> None:
        self.total = total
        self.last = 0.0
        self.shown = False

    def update(self, done: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.1:
            return
        self.last = now
        self.shown = True
        of = f"/{self.total}" if self.total else ""
        sys.stderr.write(f"\rmaniac-guard: history: {done}{of} commits")
        sys.stderr.flush()

    def done(self) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


class PatchStream:
    """`git log -p` over `revs`, started at once, so git works while the
    scan sets itself up (up to what its pipe holds); `sources()` parses it. `big_blobs`: the check for blobs over the size
    limit, if started earlier (their paths are read apart, `gitbig.py`).
    Close it (or read `sources()` to the end) to stop git."""

    def __init__(
        self,
        root: str,
        revs: Sequence[str],
        *,
        max_commits: int | None = None,
        max_size: int = 10 * 1024 * 1024,
        big_blobs: BigBlobs | None = None,
    ) -> None:
        from maniac_guard.sources.gitbig import big_paths, exclude_pathspecs

        self.root, self.revs, self.max_commits, self.max_size = root, list(revs), max_commits, max_size
        big = big_paths(root, revs, max_commits, max_size, big_blobs)
        self.big = [] if len(big) > MAX_EXCLUDED else big  # a command line that long may not run: let git load them
        argv = [*git_command(), *log_args(revs, max_commits, max_size), *exclude_pathspecs(self.big)]
        self.closed = False
        self.proc: subprocess.Popen[bytes] | Spawned | SplitLog
        early = claim_log(argv, root)  # started by the console script before it loaded the rest (gitstart.py)
        if early is not None:
            self.proc, self.errors = early
            return
        self.errors = error_file()  # closed by close(), which owns the process too
        try:
            self.proc = subprocess.Popen(argv, cwd=root, stdout=subprocess.PIPE, stderr=self.errors)
        except OSError as exc:
            self.errors.close()
            raise GitError(f"cannot run git: {exc.strerror}") from None
        assert self.proc.stdout is not None
        widen_pipe(self.proc.stdout)  # git runs up to 1 MiB ahead of us while we set up or parse

    def close(self) -> int:
        """Stops git if it is still writing; its exit code."""
        if not self.closed:
            self.closed = True
            if self.proc.poll() is None:
                self.proc.kill()
            if isinstance(self.proc, Spawned | SplitLog):
                self.proc.release()  # its reading threads end with git
            else:
                assert self.proc.stdout is not None
                self.proc.stdout.close()
            self.errors.close()
        return self.proc.wait()

    def _finish(self) -> None:
        """After git's output ended: its exit code, as an error if it failed."""
        code = self.proc.wait()
        self.errors.seek(0)
        reason = self.errors.read().decode("utf-8", "replace").strip().splitlines()
        self.close()
        if code != 0:
            raise GitError(reason[-1] if reason else "git log failed")

    def sources(
        self,
        state: HistoryState,
        *,
        progress: bool = False,
        hints: Sequence[bytes] | None = None,
        whole: WholeFileTracker | None = None,
        matches: Matches | None = None,
        blobs: BlobReader | None = None,
        expired: Callable[[], bool] | None = None,
        idle: Callable[[], bool] | None = None,
    ) -> Iterator[SourceFile]:
        """One SourceFile per (commit, file) with lines added by that commit.
        `hints`: byte patterns one of which a commit must hold to be worth
        parsing (the detectors' hints); None parses every commit. `whole`
        collects the changed files the whole-file detectors must see.
        `matches`: the native matcher of `hint_groups(hints, whole)`
        (`prefilter.match_ends`); without one, `re` searches one at a time.
        `blobs`: the caller's reader of objects (else one of its own).
        Once `expired()` says so, the stream stops between two runs of
        commits (most commits make no source, so the caller's check between
        two sources may never come) and git is stopped. `idle`: work done a
        step at a time while git's pipe is empty (`gitstream.read_chunks`)."""
        from contextlib import nullcontext

        from maniac_guard.sources.gitbig import big_path_sources
        from maniac_guard.sources.gitstream import read_chunks

        meter = Progress(count_commits(self.root, self.revs, self.max_commits)) if progress else None
        with nullcontext(blobs) if blobs is not None else BlobReader(self.root) as reader:
            try:
                assert self.proc.stdout is not None
                chunks: Iterable[bytes] = (
                    _early_chunks(self.proc, idle)
                    if isinstance(self.proc, Spawned | SplitLog)
                    else read_chunks(self.proc.stdout, idle)
                )
                if expired is not None:
                    chunks = _until(chunks, expired)
                lines = _lines_worth_parsing(chunks, hints, whole, matches)
                yield from _parse(lines, state, self.max_size, meter, reader, whole)
                if expired is not None and expired():
                    return  # git may still be writing: close() stops it
                self._finish()
            finally:
                self.close()
                if meter is not None:
                    meter.done()
            if self.big:
                yield from big_path_sources(
                    self.root, self.revs, self.max_commits, self.big, state, reader, self.max_size
                )


def _early_chunks(proc: Spawned | SplitLog, idle: Callable[[], bool] | None) -> Iterator[bytes]:
    """The output of git started early, part after part: what its thread
    read ahead, then its pipe (`gitstream.behind`)."""
    from maniac_guard.sources.gitstream import behind

    for part in proc.parts if isinstance(proc, SplitLog) else [proc]:
        try:
            ahead = part.take_ahead()
        except OSError as exc:
            raise GitError(f"cannot read git's output: {exc.strerror}") from None
        yield from behind(ahead, part.stdout, idle)


def _until(chunks: Iterable[bytes], expired: Callable[[], bool]) -> Iterator[bytes]:
    for chunk in chunks:
        if expired():
            return
        yield chunk


def history_sources(
    root: str,
    revs: Sequence[str],
    state: HistoryState,
    *,
    max_commits: int | None = None,
    max_size: int = 10 * 1024 * 1024,
    progress: bool = False,
    hints: Sequence[bytes] | None = None,
    whole: WholeFileTracker | None = None,
    matches: Matches | None = None,
    big_blobs: BigBlobs | None = None,
) -> Iterator[SourceFile]:
    """`PatchStream(...).sources(...)`: git starts when this is first read."""
    stream = PatchStream(root, revs, max_commits=max_commits, max_size=max_size, big_blobs=big_blobs)
    try:
        yield from stream.sources(state, progress=progress, hints=hints, whole=whole, matches=matches)
    finally:
        stream.close()


# Header lines whose facts the parser records even when no key can be near
# (and a Git LFS pointer's line: plain text, as `\n[ +]+oid sha256:` tripled
# the native pass over a commit without any match).
_ALWAYS_PARSE = (rb"\nrename from ", rb"\nBinary files ", SUBMODULE_MODE, rb"oid sha256:")


def hint_groups(hints: Sequence[bytes] | None, tracker: WholeFileTracker | None) -> list[list[bytes]] | None:
    """What the native matcher of the history stream looks for: group 0, what
    makes a commit worth parsing (the detectors' `hints` and the header lines
    the parser records); group 1, the whole-file detectors' hints (the
    tracker's). None: `hints` is None, every commit is parsed."""
    if hints is None:
        return None
    # dict.fromkeys: a hint two detectors share is searched once.
    return [list(dict.fromkeys([*_ALWAYS_PARSE, *hints])), list(tracker.quiet_hints) if tracker is not None else []]


def _lines_worth_parsing(
    chunks: Iterable[bytes],
    hints: Sequence[bytes] | None,
    tracker: WholeFileTracker | None = None,
    matches: Matches | None = None,
) -> Iterator[bytes]:
    """Most commits hold nothing a detector looks for: parsing their diffs
    line by line in Python was 4x the time of `git log` itself. Such a commit
    keeps only its record line (for the commit order and the progress),
    unless the whole-file tracker must see one of its files."""
    from maniac_guard.sources.gitstream import Marker, commit_runs

    groups = hint_groups(hints, tracker)
    patterns = None if groups is None else groups[0]
    # One native pass over each run of commits for both hint groups instead
    # of two per commit.
    marker = Marker(matches) if matches is not None and patterns is not None else None
    wanted = [re.compile(p) for p in patterns] if patterns is not None and marker is None else []
    for run, starts, strays in commit_runs(chunks, BLOCK_LIMIT):
        if not starts or patterns is None:  # a piece of a commit too big to hold, or nothing to filter with
            yield from run.splitlines(keepends=True)
            continue
        parse, loud = marker.mark(run, starts, strays) if marker is not None else (set(), set())
        bounds = [*starts, len(run)]
        for index in range(len(starts)):
            block = run[bounds[index] : bounds[index + 1]]
            if (index in parse if marker is not None else any(hint.search(block) for hint in wanted)) or (
                tracker is not None and not tracker.block_is_clean(block, index in loud if marker is not None else None)
            ):
                yield from block.splitlines(keepends=True)
            else:
                yield block[: block.find(b"\n") + 1] or block


def _parse(
    stream: Iterable[bytes],
    state: HistoryState,
    max_size: int,
    meter: Progress | None,
    reader: BlobReader | None = None,
    whole: WholeFileTracker | None = None,
) -> Iterator[SourceFile]:
    """The parser; without a `reader` (tests of the parser alone), files git
    calls binary are only counted and LFS pointers are scanned as text."""
    from maniac_guard.sources.gitbinary import blob_sources, lfs_source

    commit = Commit()
    current: FileDiff | None = None
    in_hunks = False

    def flush() -> list[SourceFile]:
        if current is None or current.submodule or current.path is None:
            return []
        if whole is not None and reader is not None:
            added = None if current.binary or current.too_large else b"\n".join(current.lines)
            whole.consider(commit, decode_path(current.path), current, added, reader)
        if current.binary:
            if reader is None:
                state.binary += 1
                return []
            return blob_sources(current, commit, reader, max_size, state)
        if current.too_large:
            state.too_large += 1
            state.messages.append(
                f"{decode_path(current.path)} at {(commit.sha or '')[:12]}: added text over the size limit, skipped"
            )
            return []
        if not current.lines:
            return []
        lfs = lfs_source(current, commit, reader, max_size, state) if reader is not None else None
        if lfs is not None:
            return [lfs] if isinstance(lfs, SourceFile) else []
        return [
            SourceFile(
                path=decode_path(current.path),
                data=b"\n".join(current.lines) + b"\n",
                commit=commit.sha,
                author=commit.author,
                date=commit.date,
                line_numbers=current.numbers,
            )
        ]

    for raw in stream:
        line = raw[:-1] if raw.endswith(b"\n") else raw
        if line.startswith(COMMIT_MARK):
            yield from flush()
            current, in_hunks = None, False
            fields = line.split(b"\0")
            sha = fields[1].decode("ascii", "replace")
            author = fields[2].decode("utf-8", "replace") if len(fields) > 2 else None
            date = fields[3].decode("ascii", "replace") if len(fields) > 3 else None
            parents = tuple(fields[4].decode("ascii", "replace").split()) if len(fields) > 4 else ()
            commit = Commit(sha, author, date, parents)
            state.order.setdefault(sha, len(state.order))
            if meter is not None:
                meter.update(len(state.order))
            continue
        if line.startswith((b"diff --git ", b"diff --cc ", b"diff --combined ")):
            yield from flush()
            current, in_hunks = FileDiff(path=diff_header_path(line)), False
            continue
        if current is None:
            continue
        if not in_hunks:
            _header_line(line, current, state)
            if line.startswith(b"@@"):
                in_hunks = True
                _hunk_start(line, current)
            continue
        if line.startswith(b"@@"):
            _hunk_start(line, current)
            continue
        if line.startswith(b"\\"):  # "\ No newline at end of file"
            continue
        prefix = line[: current.width]
        if b"-" in prefix:
            continue  # a removed line: not in the new version
        if prefix == b"+" * current.width and not current.submodule:
            text = line[current.width :]
            current.size += len(text) + 1
            if current.size > max_size:
                current.too_large = True
                current.lines, current.numbers = [], []
            elif not current.too_large:
                current.lines.append(text)
                current.numbers.append(current.line)
        current.line += 1
    yield from flush()


def _strip(path: bytes, prefix: bytes) -> bytes:
    return path.removeprefix(prefix)


def _header_line(line: bytes, current: FileDiff, state: HistoryState) -> None:
    if line.startswith(b"+++ "):
        target = line[4:].rstrip(b"\t")
        if target != b"/dev/null":
            # Our --dst-prefix is always there: strip exactly it.
            current.path = _strip(unquote_path(target), b"b/")
    elif line.startswith((b"new file mode ", b"deleted file mode ", b"old mode ", b"new mode ")):
        if line.endswith(SUBMODULE_MODE):
            _mark_submodule(current, state)
    elif line.startswith(b"index "):
        if line.endswith(b" " + SUBMODULE_MODE):
            _mark_submodule(current, state)
        ids = line[len(b"index ") :].split(b" ", 1)[0]
        old, _, new = ids.partition(b"..")
        current.old_blobs = [o.decode("ascii") for o in old.split(b",") if o and not ZERO_OID.match(o)]
        current.parent_blobs = [None if ZERO_OID.match(o) else o.decode("ascii") for o in old.split(b",") if o]
        current.new_blob = None if ZERO_OID.match(new) else new.decode("ascii")
    elif line.startswith(b"Binary files "):
        current.binary = True
    elif line.startswith((b"rename from ", b"copy from ")):
        current.renamed_from = decode_path(unquote_path(line.split(b" ", 2)[2]))
    elif line.startswith((b"rename to ", b"copy to ")):
        current.path = unquote_path(line.split(b" ", 2)[2])
        if current.renamed_from is not None and line.startswith(b"rename"):
            state.renames[current.renamed_from] = decode_path(current.path)


def _mark_submodule(current: FileDiff, state: HistoryState) -> None:
    if not current.submodule:
        current.submodule = True
        state.submodules += 1


def _hunk_start(line: bytes, current: FileDiff) -> None:
    at = len(line) - len(line.lstrip(b"@"))
    current.width = max(1, at - 1)
    match = HUNK_RE.match(line)
    current.line = int(match.group(1)) if match else 0
    # `+N,0`: nothing added; the start names the line before, which is harmless
    # since no added line follows.
