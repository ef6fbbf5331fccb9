"""`git log -p`'s output as runs of whole commits, and which of them are worth parsing.

What git has written (one read of its pipe) is cut at the last commit
record into one run of whole commits, and one native pass over the run
(`Marker`) finds where the hints match: only the commits holding a match
are parsed line by line. The previous filter made two native passes per
commit (the detectors' hints, then the Python rules' hints); on the
benchmark's 2,000 commits the per-commit calls cost as much as the passes.
"""

from __future__ import annotations

import os
import sys
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO

from maniac_guard.sources.gitcore import GitError

READ_SIZE = 1 << 20
BATCH = 512 << 10  # bytes of read-ahead output parsed between two looks at the pipe
HELD_LIMIT = 32 << 20  # bytes of git's output held unparsed (gitstart.AHEAD_LIMIT's bound)
FIONREAD = 0x541B  # Linux's ioctl: bytes waiting in a pipe (no import of termios)
# A record (a commit's: NUL, sha, NUL, author, NUL, date, NUL, parents)
# starts a line with NUL.
RECORD = b"\n\0"

# A run's matches: (group, end offset) pairs, or None when the native scan
# failed (every commit of the run then counts as matched).
Matches = Callable[[bytes], "list[tuple[int, int]] | None"]


def read_chunks(stream: IO[bytes], idle: Callable[[], bool] | None = None) -> Iterator[bytes]:
    """git's output in reads of up to READ_SIZE (what the pipe holds). A
    thread reading ahead into a queue was measured slower than this (the
    GIL passed to it and back on every chunk: 673 against 597 ms median,
    taking turns): git runs ahead by its pipe (1 MiB, `widen_pipe`).
    `idle`: work to do while the pipe is empty and git still writing, one
    step a call (False: none now), instead of waiting for git (Linux). Not
    once git has ended: what is left is its caller's (which may share it
    between processes)."""
    fd = stream.fileno()
    if idle is not None and sys.platform != "linux":
        idle = None
    while True:
        try:
            while idle is not None and not _readable(fd) and idle():
                pass
            chunk = os.read(fd, READ_SIZE)
        except OSError as exc:
            raise GitError(f"cannot read git's output: {exc.strerror}") from None
        if not chunk:
            return
        yield chunk


def behind(backlog: list[bytes], stream: IO[bytes], idle: Callable[[], bool] | None = None) -> Iterator[bytes]:
    """What a thread read ahead of the parser (`backlog`, git's small writes)
    in batches of about BATCH bytes, then the rest of `stream` as
    `read_chunks` reads it. Between two batches, what git has written
    meanwhile joins the backlog, read without waiting: the thread that read
    ahead has stopped, and git, stopped at its pipe's 1 MiB while the
    backlog is parsed, was ~35 ms slower on the benchmark's history."""
    fd = stream.fileno()
    at, held = 0, sum(map(len, backlog))
    while at < len(backlog):
        end, size = at, 0
        while end < len(backlog) and size < BATCH:
            size += len(backlog[end])
            end += 1
        batch = backlog[at] if end == at + 1 else b"".join(backlog[at:end])
        backlog[at:end] = [b""] * (end - at)  # let the batch's pieces go
        at, held = end, held - size
        if held < HELD_LIMIT:  # else git waits, as it would without the thread
            waiting = _waiting(fd)
            backlog += waiting
            held += sum(map(len, waiting))
        yield batch
    yield from read_chunks(stream, idle)


def _waiting(fd: int) -> list[bytes]:
    """What the pipe `fd` holds now, read without blocking (FIONREAD: Linux,
    where the thread that reads ahead runs)."""
    try:
        count = _held(fd)
        chunks = []
        while count > 0:
            chunk = os.read(fd, min(count, READ_SIZE))
            if not chunk:
                break
            chunks.append(chunk)
            count -= len(chunk)
        return chunks
    except OSError as exc:
        raise GitError(f"cannot read git's output: {exc.strerror}") from None


def _readable(fd: int) -> bool:
    """Whether a read of `fd` returns at once: bytes are waiting, or git ended."""
    import select

    return bool(select.select([fd], [], [], 0)[0])


def _held(fd: int) -> int:
    """Bytes waiting in the pipe `fd` (FIONREAD, Linux)."""
    import fcntl

    return int.from_bytes(fcntl.ioctl(fd, FIONREAD, bytes(4)), sys.byteorder, signed=True)


def record_starts(run: bytes, strays: list[int] | None = None) -> list[int]:
    """Where each record of `run` starts (a commit's, or a message's). A
    record is the only line that starts with NUL (every diff line starts
    with its prefix), so NULs are found with memchr and the byte before
    checked; `strays` collects the NULs outside record lines (text git was
    told to diff, which may read as UTF-16)."""
    starts = []
    at = run.find(b"\0")
    while at >= 0:
        if at == 0 or run[at - 1] == 10:
            starts.append(at)
            line_end = run.find(b"\n", at)
            if line_end < 0:
                break
            at = run.find(b"\0", line_end)
        else:
            if strays is not None:
                strays.append(at)
            at = run.find(b"\0", at + 1)
    return starts


def commit_runs(chunks: Iterable[bytes], limit: int) -> Iterator[tuple[bytes, list[int], list[int]]]:
    """The log as runs of whole commits: (run, where each commit starts, the
    NULs outside record lines). A commit larger than `limit` comes in pieces
    cut at line ends, each a run without starts (to be parsed whole, as is
    the rest of that commit)."""
    rest = b""
    pieced = False  # `rest` continues a commit already sent in pieces
    for chunk in chunks:
        data = rest + chunk if rest else chunk
        if pieced and data[:1] == b"\0":
            # A piece ends at a line end, so what follows starts a line: one
            # that starts with NUL is the next commit's record.
            pieced = False
        last = data.rfind(RECORD) + 1
        if last > 0:
            run, rest = data[:last], data[last:]
            if pieced:
                first = run.find(RECORD) + 1
                if first > 0:
                    yield run[:first], [], []
                    run = run[first:]
                else:
                    yield run, [], []
                    run = b""
                pieced = False
            if run:
                strays: list[int] = []
                yield run, record_starts(run, strays), strays
        elif len(data) > limit:
            end = data.rfind(b"\n") + 1
            if end > 0:
                yield data[:end], [], []
                rest, pieced = data[end:], True
            else:
                rest = data
        else:
            rest = data
    if rest:
        strays = []
        yield (rest, [], []) if pieced else (rest, record_starts(rest, strays), strays)


class Marker:
    """Which commits of a run hold a match: group 0 (the detectors' hints:
    parse it), group 1 (the whole-file detectors' hints: its files are not
    known clean without a look), found in one native pass."""

    def __init__(self, matches: Matches) -> None:
        self.matches = matches

    def mark(self, run: bytes, starts: Sequence[int], strays: Sequence[int] = ()) -> tuple[set[int], set[int]]:
        """(records to parse, records whose files need a look), by index;
        `strays`: NULs outside record lines (`record_starts`), whose records
        need a look too (their text may read as UTF-16)."""
        found = self.matches(run)
        if found is None:  # the native scan failed: never lose a finding
            every = set(range(len(starts)))
            return every, set(every)
        parse: set[int] = set()
        loud = {bisect_right(starts, at) - 1 for at in strays}
        for group, end in found:
            index = max(0, bisect_right(starts, max(0, end - 1)) - 1)
            (parse if group == 0 else loud).add(index)
        return parse, loud
