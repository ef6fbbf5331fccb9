"""Files the user names: atomic writes (a temp file in the same folder,
fsync, then rename: a reader never sees half a file, and a failed write
leaves the old one), and bounded reads."""

from __future__ import annotations

import errno
import os
import stat

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (records.py)
if TYPE_CHECKING:
    from typing import TextIO


class WriteError(Exception):
    pass


# A config, baseline, ignore file or policy the user names is read whole;
# `--baseline /dev/zero` (or a 10 GB file) must end in one line, not fill memory.
USER_FILE_LIMIT = 64 * 1024 * 1024


def read_user_file(path: str, limit: int = USER_FILE_LIMIT) -> bytes:
    """The bytes of a file the user named, at most `limit`: a longer one (or
    an endless device) raises OSError (EFBIG) whose strerror says so."""
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than the {limit // 1048576} MiB limit for this file")
    return data


def read_user_text(path: str, limit: int = USER_FILE_LIMIT) -> str:
    """`read_user_file` decoded as UTF-8 (UnicodeDecodeError when it is not)."""
    return read_user_file(path, limit).decode("utf-8")


def write_bytes_atomic(path: str, data: bytes, *, expected: bytes | None = None) -> None:
    """Replace `path` with `data`, keeping its mode. With `expected`, refuse if
    the file on disk no longer holds those bytes (changed since it was read)."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = 0o644 if expected is None else -1
    except OSError as exc:
        raise WriteError(f"{path}: cannot write: {exc.strerror}") from None
    if mode < 0:
        raise WriteError(f"{path}: deleted since it was read; not written")
    if expected is not None:
        with open(path, "rb") as handle:
            if handle.read() != expected:
                raise WriteError(f"{path}: changed on disk since it was read; not written")
    import tempfile  # here: every scan writes its report, few write files (~3 ms)

    try:
        fd, tmp = tempfile.mkstemp(prefix=".maniac-guard-", dir=folder)
    except OSError as exc:
        raise WriteError(f"{path}: cannot write: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        # Disk full, interrupted, killed by Ctrl-C: the original stays as it was.
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise WriteError(f"{path}: cannot write: {exc.strerror or exc}") from None
        raise


def write_text_atomic(path: str, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_report(path: str, text: str) -> None:
    """A report for `-o PATH`: a regular file is replaced atomically; a FIFO,
    terminal or device (`/dev/stdout`, `/dev/null`, `>(...)`) is written in
    place, never replaced by a file."""
    try:
        special = not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        special = False  # missing: a new regular file
    if not special:
        write_text_atomic(path, text)
        return
    try:
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(text)
    except OSError as exc:
        raise WriteError(f"{path}: cannot write: {exc.strerror or exc}") from None


def write_stdout(text: str) -> None:
    """Write a report to stdout, or raise WriteError (a full disk, a closed
    pipe) with nothing left in Python's buffer to fail again at exit."""
    import sys

    stream = sys.stdout
    try:
        fd = stream.fileno()
    except (OSError, ValueError):  # captured output (pytest, click's runner): no descriptor
        fd = -1
    if fd < 0 or os.linesep != "\n":  # no descriptor, or newlines to translate (Windows)
        _write_stream(stream, text)
        return
    data = memoryview(text.encode(stream.encoding or "utf-8", stream.errors or "strict"))
    try:
        stream.flush()  # what is already in the buffer goes first
        while data:
            data = data[os.write(fd, data) :]
    except OSError as exc:
        # What is left in the buffer would fail again at exit (exit status
        # 120, another traceback): let it go nowhere.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
        raise WriteError(f"stdout: cannot write: {exc.strerror or exc}") from None


def _write_stream(stream: TextIO, text: str) -> None:
    try:
        stream.write(text)
        stream.flush()
    except OSError as exc:
        raise WriteError(f"stdout: cannot write: {exc.strerror or exc}") from None
