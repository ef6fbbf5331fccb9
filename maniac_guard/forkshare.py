"""Share a list of chunks between this process and forked helpers.

Every process (this one included) takes the next chunk index from one pipe
until it is empty, so a slow chunk never holds up the others; each helper
sends its results back in one piece when the pipe is empty. Helpers are
forked after the chunks exist, so they inherit them (and every loaded module
and cache) and only 4-byte indexes cross the pipe.

A tree scan's chunks are streamed to the helpers as the walk makes them
(`run_streamed`), and a process that meets a slow file hands the rest of
its chunk on to the other side (`Pieces`), so two slow files in one chunk
no longer run one after the other while a core waits.

This replaces concurrent.futures for the scan: its import (multiprocessing,
tempfile, socket: ~20 ms), queue-feeding thread and per-chunk pickling were
a tenth of a tree scan's wall time. Where fork is missing, a helper dies,
stays stopped (SIGSTOP) or stops answering, the chunks nobody finished run
in this process. Helpers die with this process: killed when it leaves
run_shared by an exception (Ctrl-C, SIGTERM), and on Linux sent SIGKILL by
the kernel when it dies any other way (PR_SET_PDEATHSIG); elsewhere they
notice their new parent between chunks.
"""

from __future__ import annotations

import itertools
import os
import pickle
import select
import signal
import struct
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from maniac_guard.debuglog import debug
from maniac_guard.forkpieces import MAX_MESSAGE, Pieces, keep

if TYPE_CHECKING:
    import socket

Chunk = TypeVar("Chunk")
Result = TypeVar("Result")
Key = TypeVar("Key")

_INDEX = struct.Struct("<I")  # 4 bytes: one atomic pipe read or write

# Every index goes into the pipe before anyone reads it, so they must fit in
# the smallest pipe buffer there is: one 4 KiB page (Linux gives new pipes
# just that once a user holds too many; macOS starts at 16 KiB). A longer
# list runs in rounds.
MAX_CHUNKS = 4096 // _INDEX.size
# A streamed chunk's paths, in one socket message (the engine keeps it below).
_MAX_MESSAGE = MAX_MESSAGE
CHUNK_BYTES = _MAX_MESSAGE - _INDEX.size

# A helper stopped (SIGSTOP, SIGTSTP) this long while this process runs is
# killed and its chunks redone here; a job stopped and resumed as a whole
# (Ctrl-Z, fg) resumes its helpers too, so they are not taken for stuck.
STOPPED_GRACE = 1.0
# Once this process has run out of chunks, each helper has at most one left:
# a helper that has not answered after this long, or ten times this
# process's average chunk, is stuck (a hang in native code) and is killed.
STALL_SECONDS = 60.0
_POLL = 0.05
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run_shared(chunks: Sequence[Chunk], work: Callable[[Chunk], Result], helpers: int) -> list[Result]:
    """`work(chunk)` for every chunk, spread over this process and up to
    `helpers` forked ones; results in chunk order."""
    if len(chunks) > MAX_CHUNKS:
        rounds = (chunks[start : start + MAX_CHUNKS] for start in range(0, len(chunks), MAX_CHUNKS))
        return [result for part in rounds for result in run_shared(part, work, helpers)]
    if helpers < 1 or len(chunks) < 2 or not hasattr(os, "fork"):
        return [work(chunk) for chunk in chunks]
    tasks_read, tasks_write = os.pipe()
    os.write(tasks_write, b"".join(_INDEX.pack(index) for index in range(len(chunks))))
    os.close(tasks_write)
    os.set_blocking(tasks_read, False)
    pipes: dict[int, int] = {}  # read end of a helper's result pipe -> its pid
    try:
        for _ in range(min(helpers, len(chunks) - 1)):
            forked = _fork_helper(tasks_read, chunks, work)
            if forked is None:  # out of processes or memory: fewer helpers, same result
                break
            pipes[forked[1]] = forked[0]
        done: dict[int, Result] = {}
        _scan_and_gather(lambda: _take(tasks_read, chunks, work), pipes, done)
    finally:
        # Leaving early (Ctrl-C, SIGTERM): no helper scans on without us.
        for read_end, pid in pipes.items():
            _kill(pid)
            os.close(read_end)
        os.close(tasks_read)
    return [done[index] if index in done else work(chunks[index]) for index in range(len(chunks))]


# Names of archives, which are opened in place: each takes as long as a
# whole chunk of other files or more (a 2 MB wheel: ~35 ms), so each is a
# chunk of its own, which another process can take while this one scans on.
ARCHIVE_NAMES = (".whl", ".zip", ".jar", ".war", ".egg", ".apk", ".tar", ".gz", ".tgz", ".bz2", ".xz")


def path_chunks(walked: list[str], batches: Iterable[list[str]], first: int, size: int) -> Iterator[list[str]]:
    """The paths walked so far, then those the walk goes on to find, in
    chunks of `first` paths (smaller while few files are known, so a small
    tree still spreads), then of `size`, each within one socket message;
    an archive is a chunk of its own."""
    chunk: list[str] = []
    length = 0
    limit = first
    for batch in itertools.chain((walked,), batches):
        for path in batch:
            if path.endswith(ARCHIVE_NAMES):  # the files before it stay before it
                if chunk:
                    yield chunk
                    chunk, length, limit = [], 0, size
                yield [path]
                continue
            path_bytes = len(path.encode("utf-8", "surrogateescape")) + 1
            if chunk and length + path_bytes > CHUNK_BYTES:
                yield chunk
                chunk, length = [], 0
            chunk.append(path)
            length += path_bytes
            if len(chunk) >= limit:
                yield chunk
                chunk, length, limit = [], 0, size
    if chunk:
        yield chunk


def run_streamed(
    chunks: Iterable[list[str]], work: Callable[..., Result], helpers: int, handing: bool = False
) -> list[Result]:
    """`run_shared` for chunks of paths still being made (a walk in
    progress): the helpers are forked first and take each chunk from a
    socket as soon as it is made, so no core waits for the whole listing.
    While the helpers are busy (the socket is full) this process keeps what
    it made and walks on; once the chunks end, it scans what the socket had
    no room for, then takes from the socket too.

    `handing`: `work(paths, hand)` may give the paths it has not scanned
    yet (a suffix of `paths`) to whichever process is free, by
    `hand(rest)` (False: no room, scan them yourself), and return the result
    of what it scanned: a chunk with two slow files in it (the Maniac SDK's
    own modules, analyzed on a cold cache) then costs the time of one, not
    both, while the other process waits. Results come in walk order, one per
    piece a chunk was scanned in."""
    import socket

    if helpers < 1 or not hasattr(os, "fork") or not hasattr(socket, "SOCK_SEQPACKET"):
        return [work(chunk, keep) if handing else work(chunk) for chunk in chunks]
    # SEQPACKET keeps each chunk one message, whichever process reads it.
    give, take = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    # Pieces handed on go to the other side: a helper's to this process, this
    # process's to the helpers (a process that took back its own piece at
    # once would gain nothing).
    to_parent = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    to_helpers = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pieces = Pieces(to_helpers[0], to_parent[1], work, handing)
    helper_pieces = Pieces(to_parent[0], to_helpers[1], work, handing)

    def helper_ends() -> None:
        """In a helper: close this process's ends, so that each side sees the
        other's end once it is closed."""
        give.close()
        to_helpers[0].close()
        to_parent[1].close()

    made: list[list[str]] = []
    done: dict[tuple[int, int], tuple[Result, int]] = {}  # (chunk, first path) -> (result, path after the last)
    pipes: dict[int, int] = {}
    try:
        for _ in range(helpers):
            forked = _fork(lambda parent: _take_streamed(take, helper_pieces, parent), helper_ends)
            if forked is None:
                break
            pipes[forked[1]] = forked[0]
        give.setblocking(False)
        # Chunks the socket had no room for yet, oldest first. This process
        # walks on instead of scanning them: while it scanned one that was
        # slow (a chunk with four wheels in it: ~150 ms), the walk stopped
        # and the helpers ran out of chunks.
        backlog: deque[int] = deque()

        def offer(index: int) -> bool:
            if not pipes:
                return False
            try:
                give.send(_INDEX.pack(index) + "\0".join(made[index]).encode("utf-8", "surrogateescape"))
            except (BlockingIOError, OSError):  # helpers busy (or gone)
                return False
            return True

        def flush() -> None:
            while backlog and offer(backlog[0]):
                backlog.popleft()

        for chunk in chunks:
            made.append(chunk)
            flush()
            if backlog or not offer(len(made) - 1):
                backlog.append(len(made) - 1)
        # The walk is over: this process scans the backlog in walk order,
        # offering the helpers its next chunks between two of its own, so
        # everyone ends on the listing's last chunks, not on one in the
        # middle that may be slow.
        while True:
            flush()
            done.update(pieces.take_all())
            if not backlog:
                break
            index = backlog.popleft()
            done.update([pieces.run(index, 0, made[index])])
        give.close()  # the helpers read what is queued, then the end
        _scan_and_gather(lambda: _take_streamed(take, pieces), pipes, done, pieces)
        # Handed on by helpers that are gone, or by this process after they went.
        done.update(pieces.take_all(handing=False) + helper_pieces.take_all(handing=False))
    finally:
        for read_end, pid in pipes.items():
            _kill(pid)
            os.close(read_end)
        give.close()
        take.close()
        for pair in (to_parent, to_helpers):
            pair[0].close()
            pair[1].close()
    results: list[Result] = []
    for index, chunk in enumerate(made):
        start = 0
        while True:
            piece = done.get((index, start))
            if piece is None or not (piece[1] == len(chunk) or start < piece[1] < len(chunk)):
                piece = pieces.run(index, start, chunk[start:], handing=False)[1]  # nobody finished it: here
            results.append(piece[0])
            if piece[1] >= len(chunk):
                break
            start = piece[1]
    return results


def _take_streamed(
    take: socket.socket, pieces: Pieces[Result], parent: int | None = None
) -> list[tuple[tuple[int, int], tuple[Result, int]]]:
    """Chunks from the socket until its sending end is closed and it is
    empty, and the pieces other processes handed on meanwhile."""
    import socket as _socket  # loaded already: run_streamed made the sockets

    results: list[tuple[tuple[int, int], tuple[Result, int]]] = []
    while True:
        if parent is not None and os.getppid() != parent:
            os._exit(1)
        results += pieces.take_all()
        try:
            # This process (no `parent`) has closed its sending end and
            # queued every chunk, so an empty socket is the end here: a
            # helper stopped before it closed its inherited copy of that end
            # must not keep this process waiting for an end of file.
            message = take.recv(_MAX_MESSAGE, 0 if parent is not None else _socket.MSG_DONTWAIT)
        except BlockingIOError:
            message = b""
        if len(message) < _INDEX.size:
            return results + (pieces.wait_all(parent) if parent is not None else pieces.take_all())
        (index,) = _INDEX.unpack_from(message)
        paths = message[_INDEX.size :].decode("utf-8", "surrogateescape").split("\0")
        results.append(pieces.run(index, 0, paths))


def _fork_helper(tasks: int, chunks: Sequence[Chunk], work: Callable[[Chunk], Result]) -> tuple[int, int] | None:
    """(pid, read end of its result pipe), or None when fork fails."""
    return _fork(lambda parent: _take(tasks, chunks, work, parent))


def _fork(
    take: Callable[[int], list[tuple[Key, Result]]], close: Callable[[], None] = lambda: None
) -> tuple[int, int] | None:
    """A helper that runs `take(parent pid)` and sends back what it returns;
    `close` runs in the helper first (ends of sockets it must not hold)."""
    result_read, result_write = os.pipe()
    parent = os.getpid()
    # Signals wait until the child has its own handlers: this process's
    # (raise an exception) must never run in a child.
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        pid = os.fork()
    except OSError:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        os.close(result_read)
        os.close(result_write)
        return None
    if pid == 0:  # the helper
        os.close(result_read)
        close()
        _helper(take, result_write, parent, blocked)
    signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    os.close(result_write)
    return pid, result_read


def _scan_and_gather(
    scan_mine: Callable[[], list[tuple[Key, Result]]],
    pipes: dict[int, int],
    done: dict[Key, Result],
    pieces: Pieces[Any] | None = None,
) -> None:
    """This process scans what it takes, then gathers the helpers' results
    (scanning the `pieces` they hand on meanwhile); a helper is given up on
    after ten times this process's average chunk."""
    started = time.monotonic()
    mine = scan_mine()
    average = (time.monotonic() - started) / max(1, len(mine))
    done.update(mine)
    if pieces is not None:
        pieces.stop_handing()  # the helpers waiting for pieces may finish

    def take_pieces() -> None:
        if pieces is not None:
            done.update(pieces.take_all(handing=False))  # type: ignore[arg-type]  # Key is (chunk, start) here

    for payload in _collect(pipes, max(STALL_SECONDS, 10 * average), pieces, take_pieces):
        try:
            done.update(pickle.loads(payload))
        except Exception:  # noqa: BLE001 - a helper that died mid-way: its chunks are redone by the caller
            pass


def _collect(
    pipes: dict[int, int],
    stall: float,
    pieces: Pieces[Any] | None = None,
    take_pieces: Callable[[], None] = lambda: None,
) -> list[bytes]:
    """Each helper's whole result payload; a helper that dies, stays stopped
    or stalls is reaped and left out (its chunks are redone by the caller).
    Entries leave `pipes` as they are dealt with. Pieces handed on
    meanwhile are scanned here (`take_pieces`) as they come."""
    payloads: list[bytes] = []
    received: dict[int, list[bytes]] = {fd: [] for fd in pipes}
    stopped_at: dict[int, float] = {}
    deadline = time.monotonic() + stall
    while pipes:
        watched: list[int] = [*pipes, pieces.fileno()] if pieces is not None else list(pipes)
        ready, _, _ = select.select(watched, [], [], _POLL)
        if pieces is not None and pieces.fileno() in ready:
            take_pieces()
            deadline = max(deadline, time.monotonic() + stall)  # time spent here is not the helpers'
            ready.remove(pieces.fileno())
        for fd in ready:
            data = os.read(fd, 1 << 20)
            if data:
                received[fd].append(data)
                continue
            payloads.append(b"".join(received.pop(fd)))  # end of file: all sent
            _kill(pipes.pop(fd))
            os.close(fd)
        now = time.monotonic()
        for fd, pid in list(pipes.items()):
            if _stopped(pid, stopped_at, now) or now > deadline:
                debug(__name__, "helper %d %s; its chunks run here", pid, "stalled" if now > deadline else "stopped")
                _kill(pipes.pop(fd))
                os.close(fd)
    return payloads


def _stopped(pid: int, stopped_at: dict[int, float], now: float) -> bool:
    """True once `pid` has stayed stopped for STOPPED_GRACE."""
    try:
        got, status = os.waitpid(pid, os.WNOHANG | os.WUNTRACED | os.WCONTINUED)
    except ChildProcessError:
        return False
    if got == pid and os.WIFSTOPPED(status):
        stopped_at[pid] = now
    elif got == pid and os.WIFCONTINUED(status):
        stopped_at.pop(pid, None)
    return pid in stopped_at and now - stopped_at[pid] >= STOPPED_GRACE


def _kill(pid: int) -> None:
    """SIGKILL (which ends a stopped process too) and reap."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _take(
    tasks: int, chunks: Sequence[Chunk], work: Callable[[Chunk], Result], parent: int | None = None
) -> list[tuple[int, Result]]:
    """Work through chunk indexes from the pipe until it is empty (or, in a
    helper, until its parent is gone)."""
    results: list[tuple[int, Result]] = []
    while True:
        if parent is not None and os.getppid() != parent:
            os._exit(1)
        try:
            raw = os.read(tasks, _INDEX.size)
        except BlockingIOError:
            return results
        if len(raw) < _INDEX.size:
            return results
        (index,) = _INDEX.unpack(raw)
        results.append((index, work(chunks[index])))


def _die_with_parent(parent: int, out: int) -> None:
    """Ends this helper as soon as its parent is gone, even mid-chunk: the
    parent holds the only read end of the helper's result pipe, and a pipe
    with no reader left reports an error on its write end. (A thread waits
    for it: prctl's death signal needed ctypes, ~3 ms of every helper's start.)"""
    if not hasattr(select, "poll"):
        return  # the getppid check between chunks remains

    def watch() -> None:
        poller = select.poll()
        poller.register(out, 0)  # no events asked: an error or a hang-up only
        for _, happened in poller.poll():
            if happened & (select.POLLERR | select.POLLHUP):
                os._exit(1)

    import threading

    threading.Thread(target=watch, daemon=True).start()
    if os.getppid() != parent:  # it died before the thread started
        os._exit(1)


def _helper(take: Callable[[int], list[tuple[Key, Result]]], out: int, parent: int, blocked: Iterable[int]) -> None:
    status = 1
    try:
        for signum in _SIGNALS:
            signal.signal(signum, signal.SIG_DFL)  # die at once, no traceback
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        _die_with_parent(parent, out)
        payload = pickle.dumps(take(parent), protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(out, "wb") as stream:
            stream.write(payload)
        status = 0
    finally:
        # Never return into the parent's code, flush its buffers or run its atexit hooks.
        os._exit(status)
