"""The work tree as a `ProjectReader`: the other files of the project, read
from disk relative to the folder the scan's paths are shown from, for the
Python analysis to follow imports."""

from __future__ import annotations

import os
import stat

MAX_READ_BYTES = 256 * 1024  # as the Python analyzer's own limit


class WorkTreeReader:
    def __init__(self, base: str, max_size: int = MAX_READ_BYTES) -> None:
        self.base = base
        self.max_size = max_size
        self._listed: dict[str, list[str] | None] = {}

    def read(self, path: str) -> bytes | None:
        """The bytes of a regular file at `path` (POSIX, relative to the base);
        None when absent, unreadable, not a file or over the size limit."""
        if not path or path.startswith("/") or "\0" in path:
            return None
        full = os.path.join(self.base, *path.split("/"))
        try:
            fd = os.open(full, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except (OSError, ValueError):
            return None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_size > self.max_size:
                return None
            data = os.read(fd, self.max_size + 1)
        except OSError:
            return None
        finally:
            os.close(fd)
        return data if len(data) <= self.max_size else None

    def key(self) -> str:
        return ""

    def names(self, folder: str) -> list[str] | None:
        """The entries of `folder` (POSIX, relative to the base; "" the base
        itself); None when it is not a readable folder."""
        if folder.startswith("/") or "\0" in folder:
            return None
        if folder not in self._listed:  # kept: each analysis of the scan asks for the same few folders
            try:
                self._listed[folder] = os.listdir(os.path.join(self.base, *folder.split("/")) if folder else self.base)
            except (OSError, ValueError):
                self._listed[folder] = None
        return self._listed[folder]
