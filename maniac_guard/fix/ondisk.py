"""Writing a fixed file without losing the fix, the file or what points to it.

- A symbolic link stays a link: its target is fixed, if it lies inside the
  tree being fixed (the current folder, a folder named on the command line,
  or the git work tree holding them); otherwise the fix is refused.
- A file with other hard links is rewritten in place, so every name sees
  the fix (a rename would give this name a new file and leave the key in
  the others).
- A read-only file is refused: someone made it so on purpose.
- Otherwise the file is replaced atomically (temp file, fsync, rename) with
  its mode and owner; where the owner cannot be kept (not root) or the
  folder is not writable, in place.

A refused or failed write raises WriteError with a one-line reason; the
file is then as it was, and its findings stay in the report.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterable, Sequence

from maniac_guard.writer import WriteError


def fix_roots(paths: Iterable[str]) -> list[str]:
    """Where a link's target may be fixed: the current folder, the folders
    named, and the git work tree holding the current folder."""
    cwd = os.path.realpath(os.getcwd())
    roots = [cwd]
    roots += [os.path.realpath(p) for p in paths if os.path.isdir(p)]
    folder = cwd
    while True:
        if os.path.exists(os.path.join(folder, ".git")):
            roots.append(folder)
            break
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return roots


def _inside(path: str, roots: Sequence[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def resolve_target(path: str, shown: str, roots: Sequence[str]) -> str:
    """The file to write for `path`: itself, or the target of a link inside `roots`."""
    try:
        if not os.path.islink(path):
            return path
        target = os.path.realpath(path, strict=True)
    except OSError as exc:
        raise WriteError(f"{shown}: cannot follow the link: {exc.strerror}; not fixed") from None
    if not _inside(target, roots):
        raise WriteError(
            f"{shown}: a symbolic link to a file outside the fixed tree ({target}); not fixed (fix that file itself)"
        )
    return target


def write_fixed(path: str, shown: str, data: bytes, expected: bytes) -> None:
    """Replace the content of the regular file `path` (links resolved) by
    `data`, if it still holds `expected`."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise WriteError(f"{shown}: cannot write: {exc.strerror}; not fixed") from None
    if not stat.S_ISREG(info.st_mode):
        raise WriteError(f"{shown}: not a regular file; not fixed")
    if not info.st_mode & 0o222 or not os.access(path, os.W_OK):
        raise WriteError(f"{shown}: read-only; not fixed (make it writable to fix it)")
    if info.st_nlink > 1:
        _write_in_place(path, shown, data, expected)
        return
    if not _replace_keeping_owner(path, shown, data, expected, info):
        _write_in_place(path, shown, data, expected)


def _check_unchanged(current: bytes, expected: bytes, shown: str) -> None:
    if current != expected:
        raise WriteError(f"{shown}: changed on disk since it was read; not written")


def _replace_keeping_owner(path: str, shown: str, data: bytes, expected: bytes, info: os.stat_result) -> bool:
    """Atomic replace; False (nothing changed) when the owner cannot be kept
    or the folder does not take a temp file."""
    with open(path, "rb") as handle:
        _check_unchanged(handle.read(), expected, shown)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".maniac-guard-", dir=os.path.dirname(path))
    except PermissionError:
        return False  # a folder we may not add to, holding a file we may write
    except OSError as exc:
        raise WriteError(f"{shown}: cannot write: {exc.strerror}; not fixed") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            mine = os.fstat(handle.fileno())
            if (mine.st_uid, mine.st_gid) != (info.st_uid, info.st_gid):
                try:
                    os.fchown(handle.fileno(), info.st_uid, info.st_gid)
                except PermissionError:
                    os.unlink(tmp)
                    return False
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), stat.S_IMODE(info.st_mode))
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        # Disk full, interrupted: the original stays as it was.
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise WriteError(f"{shown}: cannot write: {exc.strerror or exc}; not fixed") from None
        raise
    return True


def _write_in_place(path: str, shown: str, data: bytes, expected: bytes) -> None:
    """Rewrite the file's own bytes (the inode every hard link shares).
    Space is reserved first, so a full disk fails before anything changes;
    a write that fails anyway puts the original bytes back."""
    try:
        fd = os.open(path, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise WriteError(f"{shown}: cannot write: {exc.strerror}; not fixed") from None
    try:
        with os.fdopen(fd, "r+b") as handle:
            _check_unchanged(handle.read(), expected, shown)
            _reserve(handle.fileno(), len(data), shown)
            try:
                handle.seek(0)
                handle.write(data)
                handle.truncate()
                handle.flush()
                os.fsync(handle.fileno())
            except BaseException as exc:  # disk full, Ctrl-C, SIGTERM: put the original back
                handle.seek(0)
                handle.write(expected)
                handle.truncate()
                handle.flush()
                if isinstance(exc, OSError):
                    raise WriteError(f"{shown}: cannot write: {exc.strerror or exc}; not fixed") from None
                raise
    except OSError as exc:
        raise WriteError(f"{shown}: cannot write: {exc.strerror or exc}; not fixed") from None


def _reserve(fd: int, size: int, shown: str) -> None:
    if size <= os.fstat(fd).st_size or not hasattr(os, "posix_fallocate"):
        return
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            return  # the file system cannot reserve: write and restore on failure
        raise WriteError(f"{shown}: cannot write: {exc.strerror}; not fixed") from None
