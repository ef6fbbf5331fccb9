"""Pieces of chunks handed on between the processes of a tree scan
(forkshare.run_streamed): a process that meets a slow file gives the rest
of its chunk to the other side, which scans it when free."""

from __future__ import annotations

import os
import select
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    import socket

Result = TypeVar("Result")

MAX_MESSAGE = 1 << 17  # a chunk's paths, in one socket message


def keep(rest: list[str]) -> bool:
    return False  # nobody to hand to


_PIECE = struct.Struct("<II")  # a handed-on piece: its chunk, and where in it the piece starts


class Pieces(Generic[Result]):
    """Pieces of chunks handed on by the process scanning them, for any
    process to take (run_streamed's `handing`)."""

    def __init__(self, send: socket.socket, receive: socket.socket, work: Callable[..., Result], handing: bool) -> None:
        send.setblocking(False)
        receive.setblocking(False)
        self.send: socket.socket | None = send
        self.receive, self.work, self.handing = receive, work, handing

    def stop_handing(self) -> None:
        """Hand nothing on any more; the other side sees the end (`wait_all`)."""
        if self.send is not None:
            self.send.close()
            self.send = None

    def fileno(self) -> int:
        return self.receive.fileno()

    def run(
        self, index: int, start: int, paths: list[str], handing: bool | None = None
    ) -> tuple[tuple[int, int], tuple[Result, int]]:
        """Scan `paths` (chunk `index` from `start` on): ((index, start),
        (result, where the next piece starts))."""
        end = start + len(paths)

        def hand(rest: list[str]) -> bool:
            nonlocal end
            at = len(paths) - len(rest)
            if not rest or at <= 0 or paths[at:] != rest:
                return False
            if self.send is None:  # nobody takes any more
                return False
            try:
                self.send.send(_PIECE.pack(index, start + at) + "\0".join(rest).encode("utf-8", "surrogateescape"))
            except (BlockingIOError, OSError):  # no room: scan them here
                return False
            end = start + at
            return True

        if not self.handing:
            return (index, start), (self.work(paths), end)
        result = self.work(paths, hand if handing is not False else keep)
        return (index, start), (result, end)

    def take(self) -> tuple[int, int, list[str]] | None:
        try:
            message = self.receive.recv(MAX_MESSAGE)
        except (BlockingIOError, OSError):
            return None
        if len(message) < _PIECE.size:
            return None
        index, start = _PIECE.unpack_from(message)
        return index, start, message[_PIECE.size :].decode("utf-8", "surrogateescape").split("\0")

    def take_all(self, handing: bool | None = None) -> list[tuple[tuple[int, int], tuple[Result, int]]]:
        """Scan every piece waiting now."""
        results: list[tuple[tuple[int, int], tuple[Result, int]]] = []
        while (piece := self.take()) is not None:
            results.append(self.run(*piece, handing=handing))
        return results

    def wait_all(self, parent: int) -> list[tuple[tuple[int, int], tuple[Result, int]]]:
        """In a helper whose chunks have run out: the pieces this process
        hands on while it still scans, until it hands on no more (it closed
        its end), so the helper is there to take the rest of a slow chunk."""
        results: list[tuple[tuple[int, int], tuple[Result, int]]] = []
        while True:
            if os.getppid() != parent:
                os._exit(1)
            ready, _, _ = select.select([self.receive], [], [], 0.5)
            if not ready:
                continue
            try:
                message = self.receive.recv(MAX_MESSAGE)
            except BlockingIOError:  # another helper took it
                continue
            except OSError:
                return results
            if not message:  # the other end is closed and nothing is left
                return results
            if len(message) >= _PIECE.size:
                index, start = _PIECE.unpack_from(message)
                paths = message[_PIECE.size :].decode("utf-8", "surrogateescape").split("\0")
                results.append(self.run(index, start, paths, handing=False))
