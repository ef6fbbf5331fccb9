"""`git log -p`'s output as runs of whole commits, and which of them are worth parsing.

A thread reads git's pipe in 1 MiB reads into a bounded queue (READ_AHEAD
chunks), so git keeps writing while the scan sets itself up, reads a blob
or parses a commit; before, git stopped whenever its 1 MiB pipe was full.

The consumer takes what has arrived as one run of whole commits (cut at the
last commit record) and asks one native pass over the run where the hints
match (`Marker`): only the commits holding a match are parsed line by line.
The previous filter made two native passes per commit (the detectors'
hints, then the Python rules' hints); on the benchmark's 2,000 commits the
per-commit calls cost as much as the passes.
"""

from __future__ import annotations

import os
import queue
import threading
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO

from maniac_guard.sources.gitcore import GitError

READ_SIZE = 1 << 20
READ_AHEAD = 16  # chunks of at most READ_SIZE held between git and the parser
RUN_SIZE = 4 << 20  # what has arrived is joined into runs of about this size
# A record (a commit's: NUL, sha, NUL, author, NUL, date, NUL, parents)
# starts a line with NUL.
RECORD = b"\n\0"

# A run's matches: (group, end offset) pairs, or None when the native scan
# failed (every commit of the run then counts as matched).
Matches = Callable[[bytes], "list[tuple[int, int]] | None"]


class PipeReader:
    """Reads `stream` on a thread; `chunks()` gives what it read, joined up
    to RUN_SIZE. `stop()` (then ending the writer) releases the thread."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._fd = stream.fileno()
        self._queue: queue.Queue[bytes | BaseException | None] = queue.Queue(READ_AHEAD)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="git-log-reader", daemon=True)
        self._thread.start()

    def _put(self, item: bytes | BaseException | None) -> bool:
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            while chunk := os.read(self._fd, READ_SIZE):
                if not self._put(chunk):
                    return
        except BaseException as exc:  # noqa: BLE001 - raised again in the reading thread, never lost
            self._put(exc)
            return
        self._put(None)

    def chunks(self) -> Iterator[bytes]:
        ended = False
        while not ended:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise _error(item)
            parts, size = [item], len(item)
            while size < RUN_SIZE:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    ended = True
                    break
                if isinstance(more, BaseException):
                    raise _error(more)
                parts.append(more)
                size += len(more)
            yield parts[0] if len(parts) == 1 else b"".join(parts)

    def stop(self) -> None:
        """Unblocks the thread (the caller then stops git, which ends its read)."""
        self._stopped.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break

    def join(self) -> None:
        self._thread.join()


def _error(exc: BaseException) -> BaseException:
    """What the reading thread met, raised in the parser's thread."""
    if isinstance(exc, OSError):
        return GitError(f"cannot read git's output: {exc.strerror}")
    return exc


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
