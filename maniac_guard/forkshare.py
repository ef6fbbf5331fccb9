"""Share a list of chunks between this process and forked helpers.

Every process (this one included) takes the next chunk index from one pipe
until it is empty, so a slow chunk never holds up the others; each helper
sends its results back in one piece when the pipe is empty. Helpers are
forked after the chunks exist, so they inherit them (and every loaded module
and cache) and only 4-byte indexes cross the pipe.

This replaces concurrent.futures for the scan: its import (multiprocessing,
tempfile, socket: ~20 ms), queue-feeding thread and per-chunk pickling were
a tenth of a tree scan's wall time. Where fork is missing, or a helper dies,
the chunks nobody finished run in this process.
"""

from __future__ import annotations

import os
import pickle
import struct
from collections.abc import Callable, Sequence
from typing import TypeVar

Chunk = TypeVar("Chunk")
Result = TypeVar("Result")

_INDEX = struct.Struct("<I")  # 4 bytes: one atomic pipe read or write


# Every index goes into the pipe before anyone reads it, so they must fit in
# the smallest pipe buffer there is: one 4 KiB page (Linux gives new pipes
# just that once a user holds too many; macOS starts at 16 KiB). A longer
# list runs in rounds.
MAX_CHUNKS = 4096 // _INDEX.size


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
    pipes: list[tuple[int, int]] = []  # (pid, read end of its result pipe)
    for _ in range(min(helpers, len(chunks) - 1)):
        result_read, result_write = os.pipe()
        try:
            pid = os.fork()
        except OSError:  # out of processes or memory: fewer helpers, same result
            os.close(result_read)
            os.close(result_write)
            break
        if pid == 0:  # the helper
            os.close(result_read)
            _helper(tasks_read, result_write, chunks, work)
        os.close(result_write)
        pipes.append((pid, result_read))
    done: dict[int, Result] = dict(_take(tasks_read, chunks, work))
    for pid, result_read in pipes:
        with os.fdopen(result_read, "rb") as stream:
            payload = stream.read()
        os.waitpid(pid, 0)
        try:
            done.update(pickle.loads(payload))
        except Exception:
            pass  # a helper that died mid-way: its chunks are redone below
    os.close(tasks_read)
    return [done[index] if index in done else work(chunks[index]) for index in range(len(chunks))]


def _take(tasks: int, chunks: Sequence[Chunk], work: Callable[[Chunk], Result]) -> list[tuple[int, Result]]:
    """Work through chunk indexes from the pipe until it is empty."""
    results: list[tuple[int, Result]] = []
    while True:
        try:
            raw = os.read(tasks, _INDEX.size)
        except BlockingIOError:
            return results
        if len(raw) < _INDEX.size:
            return results
        (index,) = _INDEX.unpack(raw)
        results.append((index, work(chunks[index])))


def _helper(tasks: int, out: int, chunks: Sequence[Chunk], work: Callable[[Chunk], Result]) -> None:
    status = 1
    try:
        payload = pickle.dumps(_take(tasks, chunks, work), protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(out, "wb") as stream:
            stream.write(payload)
        status = 0
    finally:
        # Never return into the parent's code, flush its buffers or run its atexit hooks.
        os._exit(status)
