"""A tar's plain members read without tarfile (archives.py): its import
(~5 ms in each scanning process) and its ~25 µs of Python per member were
most of what a tarball cost (an sdist, pre-commit's Ruby tarballs).

Plain means a POSIX ustar, GNU or v7 header whose numbers are octal digits
(padded with spaces or NULs) and whose type is a file, a folder, a link, a device or a FIFO: what most
tarballs hold throughout. Such a header is read as tarfile reads it (the
checksum, every number field, the ustar prefix, a v7 folder's trailing
slash, the name in the file system's encoding with surrogateescape). At
the first header that is anything else (a pax or GNU long-name header, a
sparse file, a base-256 or signed number, an unknown type) or that is broken before
any member was read, `Fallback` hands the rest of the stream, that header
first, to tarfile. A header broken after a member was read ends the
listing with `Broken` (tarfile would end it without a word).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (records.py)
if TYPE_CHECKING:
    from typing import Protocol

    class Readable(Protocol):
        def read(self, size: int = -1, /) -> bytes: ...


BLOCK = 512
_FILES = frozenset(b"07\0")  # tarfile.REGULAR_TYPES, less GNU sparse
_OTHERS = frozenset(b"123456")  # links, devices, folders, FIFOs: no data read
_ENCODING = sys.getfilesystemencoding()  # tarfile's default, with surrogateescape
_SKIP = 1 << 16
_BASE_256 = (0o200, 0o377)  # a number field's first byte when it is binary
_PLAIN_NUMBER = re.compile(rb" *[0-7]* *(?:\0.*)?", re.S)  # octal as tar programs write it: nti reads it alike
# The number fields, in the order tarfile reads them: the checksum, mode,
# uid, gid, size, mtime, device major and minor.
_NUMBERS = ((148, 156), (100, 108), (108, 116), (116, 124), (124, 136), (136, 148), (329, 337), (337, 345))


class Fallback(Exception):
    """Read the rest with tarfile, starting with `header`."""

    def __init__(self, header: bytes) -> None:
        super().__init__("not a plain header")
        self.header = header


class Broken(Exception):
    """A header after the first that tarfile would refuse (and stop at)."""


class Member:
    """One regular member's bytes, `size` of them at most, from the stream."""

    def __init__(self, stream: Readable, size: int) -> None:
        self.stream = stream
        self.left = size

    def read(self, size: int = -1, /) -> bytes:
        if size < 0 or size > self.left:
            size = self.left
        if size <= 0:
            return b""
        data = self.stream.read(size)
        if len(data) < size:
            raise EOFError("unexpected end of data")  # tarfile's words for it
        self.left -= size
        return data


def _text(field: bytes) -> str:
    end = field.find(b"\0")
    return (field if end < 0 else field[:end]).decode(_ENCODING, "surrogateescape")


def _number(field: bytes) -> int:
    """An octal field as tarfile's nti reads it; ValueError where it refuses it."""
    end = field.find(b"\0")
    return int((field if end < 0 else field[:end]).decode("ascii").strip() or "0", 8)


def _checked(header: bytes) -> tuple[str, int, int] | None:
    """(name, type, size) of a plain header; None when it is not plain.
    Raises Broken where tarfile's check of a header fails, with its words
    and in its order: the length, the checksum, the other numbers."""
    if len(header) < BLOCK:
        raise Broken("truncated header")
    fields = [header[start:end] for start, end in _NUMBERS]
    # Digits padded with spaces and NULs (what tar programs write) are read
    # at once; anything else as tarfile reads it, for its verdict.
    plain = all(map(_PLAIN_NUMBER.fullmatch, fields))
    if fields[0][0] in _BASE_256:
        return None  # tarfile's to read
    try:
        checksum = _number(fields[0])
    except ValueError:
        raise Broken("invalid header") from None
    unsigned = 256 + sum(header) - sum(fields[0])
    if checksum != unsigned:
        high = sum(1 for byte in header if byte > 127) - sum(1 for byte in fields[0] if byte > 127)
        if checksum != unsigned - 256 * high:  # tarfile also accepts the sum of signed bytes
            raise Broken("bad checksum")
    if not plain:  # base-256, signs, underscores...: tarfile's to read, unless it refuses them
        try:
            for field in fields[1:]:
                if field[0] not in _BASE_256:
                    _number(field)
        except ValueError:
            raise Broken("invalid header") from None
        return None
    kind = header[156]
    if kind not in _FILES and kind not in _OTHERS:
        return None
    name = _text(header[0:100])
    if kind == 0 and name.endswith("/"):
        kind = ord("5")  # a v7 folder
    prefix = _text(header[345:500])
    if prefix:
        name = prefix + "/" + name
    return name, kind, _number(fields[4])


def members(stream: Readable) -> Iterator[tuple[str, Member | None]]:
    """(name, its bytes) of each member in order (None for one without
    any: a folder, a link); raises Fallback or Broken as said above."""
    listed = False
    while True:
        header = stream.read(BLOCK)
        if not listed and len(header) < BLOCK:
            raise Fallback(header)  # empty or cut short: tarfile says which
        if not header or header.count(0) == BLOCK:
            return  # the end, where tarfile ends (at the first zero block)
        try:
            plain = _checked(header)
        except Broken:
            if not listed:
                raise Fallback(header) from None  # tarfile's own error
            raise
        if plain is None:
            raise Fallback(header)
        name, kind, size = plain
        listed = True
        if kind in _OTHERS:  # no data read (tarfile reads none for them, whatever their size)
            yield name.rstrip("/") if kind == ord("5") else name, None
            continue
        member = Member(stream, size)
        yield name, member
        while member.left > 0:  # what the scan left, a chunk at a time
            member.read(min(member.left, _SKIP))
        padding = -size % BLOCK
        if padding and len(stream.read(padding)) < padding:
            raise EOFError("unexpected end of data")


class Replay:
    """`head` (bytes already read), then the rest of `stream`: where tarfile
    takes over, it reads the header that made the fallback first."""

    def __init__(self, head: bytes, stream: Readable) -> None:
        self.head = head
        self.stream = stream

    def read(self, size: int = -1, /) -> bytes:
        if not self.head:
            return self.stream.read(size)
        if size < 0:
            data, self.head = self.head + self.stream.read(), b""
            return data
        data, self.head = self.head[:size], self.head[size:]
        return data + self.stream.read(size - len(data)) if len(data) < size else data
