"""What a file's first bytes say it is: an archive `archives.py` opens, one
it names and does not open (7z, rar), or neither. Apart from the archive
code so that a scan that meets no archive imports none of it (issue 26: a
hook's start)."""

from __future__ import annotations

import os

PEEK_SIZE = 512  # enough for every archive's magic (tar's sits at byte 257)

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a first member, or an empty archive
_COMPRESSED_MAGIC = {b"\x1f\x8b\x08": "gzip", b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz"}
_UNREAD_MAGIC = {b"7z\xbc\xaf\x27\x1c": "7z", b"Rar!\x1a\x07": "rar"}
# Every first bytes `archive_kind` can answer for, for one cheap `startswith`.
_ANY_MAGIC = (*_ZIP_MAGIC, *_COMPRESSED_MAGIC, *_UNREAD_MAGIC)
# bzip2's "BZh" could start a text file: the level and a block's magic follow.
_BZIP2_BLOCKS = (b"1AY&SY", b"\x17rE8P\x90")  # a first block, or an empty stream
# POSIX and GNU tar headers; both hold a NUL, which no text file does.
_TAR_MAGIC = (b"ustar\x0000", b"ustar  \x00")
OPENED = ("zip", "tar", "gzip", "bzip2", "xz")
NOT_OPENED = ("7z", "rar")


def archive_kind(head: bytes) -> str | None:
    """What these first bytes of a file say it is: one of OPENED or
    NOT_OPENED, or None for anything else. A few ns for most files."""
    if head.startswith(_ANY_MAGIC):
        if head.startswith(_ZIP_MAGIC):
            return "zip"
        if head.startswith(b"BZh"):
            return "bzip2" if head[3:4] in b"123456789" and head[4:10] in _BZIP2_BLOCKS else None
        for table in (_COMPRESSED_MAGIC, _UNREAD_MAGIC):
            for magic, kind in table.items():
                if head.startswith(magic):
                    return kind
    if head[257:265].startswith(_TAR_MAGIC):
        return "tar"
    if head.startswith(b"#!"):  # a zipapp (.pyz): a shebang line, then the zip
        after = head.find(b"\n", 0, 256) + 1
        if after and head.startswith(_ZIP_MAGIC, after):
            return "zip"
    return None


def read_head(path: str, follow: bool) -> bytes:
    """The first PEEK_SIZE bytes of a file on disk (b"" when it cannot be read)."""
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | (0 if follow else getattr(os, "O_NOFOLLOW", 0))
    try:
        fd = os.open(path, flags)
    except OSError:
        return b""
    try:
        return os.pread(fd, PEEK_SIZE, 0)
    except OSError:
        return b""
    finally:
        os.close(fd)


def archive_on_disk(path: str, data: bytes | None, skipped: str | None, follow: bool) -> str | None:
    """The archive kind of a file a disk scan has read (`data`) or refused
    as binary or too large without reading it whole; None for all others."""
    if data is not None:
        return archive_kind(data)
    if skipped in ("binary", "too-large"):
        return archive_kind(read_head(path, follow))
    return None
