"""Bounded decompression for archives.py: each step of inflating a member
or a stream yields at most a chunk, is charged to a budget and checked
against a compression ratio, so a bomb stops early and never fills memory.

zipfile, gzip, bz2, lzma and zlib are imported only when used.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from maniac_guard.sources.magic import PEEK_SIZE

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (records.py)
if TYPE_CHECKING:
    import bz2
    import zipfile
    import zlib
    from typing import IO, Protocol

    class Ratio(Protocol):
        @property
        def max_ratio(self) -> int: ...  # decompressed/compressed

        @property
        def ratio_after(self) -> int: ...  # below this many bytes out, the ratio is not judged

    class Readable(Protocol):
        def read(self, size: int = -1, /) -> bytes: ...


CHUNK = 64 * 1024


class ArchiveBound(Exception):
    """A bound was passed. `whole`: the archive on disk is given up."""

    def __init__(self, reason: str, whole: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.whole = whole


def decompressing(kind: str, raw: IO[bytes]) -> IO[bytes]:
    if kind == "gzip":
        import gzip
        from typing import cast

        return cast("IO[bytes]", gzip.GzipFile(fileobj=raw, mode="rb"))
    if kind == "bzip2":
        import bz2

        return bz2.BZ2File(raw)
    import lzma

    return lzma.LZMAFile(raw)


_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_EOCD = b"PK\x06\x06"
_CENTRAL_ENTRY_MIN = 46  # bytes of a central-directory entry with an empty name


def declared_members(fileobj: IO[bytes]) -> tuple[int, int]:
    """How many members a zip's end records say it has, and how many its
    central directory's size has room for; (0, 0) when they cannot be
    found (zipfile will say why)."""
    import struct

    fileobj.seek(0, os.SEEK_END)
    size = fileobj.tell()
    start = max(0, size - (0xFFFF + 22 + 20))  # the longest comment, the zip64 locator
    fileobj.seek(start)
    tail = fileobj.read()
    fileobj.seek(0)
    at = tail.rfind(_EOCD)
    if at < 0 or at + 22 > len(tail):
        return 0, 0
    entries, directory = struct.unpack_from("<HI", tail, at + 10)
    locator = at - 20
    if locator >= 0 and tail[locator : locator + 4] == _ZIP64_LOCATOR:
        (record_at,) = struct.unpack_from("<Q", tail, locator + 8)
        fileobj.seek(record_at)
        record = fileobj.read(56)
        fileobj.seek(0)
        if len(record) == 56 and record.startswith(_ZIP64_EOCD):
            entries, directory = struct.unpack_from("<2Q", record, 32)
    return int(entries), int(directory) // _CENTRAL_ENTRY_MIN


class Counting:
    """A file's reads, counted: the compressed bytes a decompressor consumed."""

    def __init__(self, raw: Readable) -> None:
        self.raw = raw
        self.consumed = 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.consumed += len(data)
        return data

    def count(self) -> int:
        return self.consumed


class Inflating:
    """`read()` over decompressed chunks, each charged to the run's budget
    and checked against the compression ratio (`compressed`: the bytes
    consumed so far; None for data stored as it is)."""

    def __init__(
        self,
        chunks: Iterator[bytes],
        compressed: Callable[[], int] | None,
        charge: Callable[[int], None],
        limits: Ratio,
    ) -> None:
        self.chunks = chunks
        self.compressed = compressed
        self.charge = charge
        self.limits = limits
        self.buffer = b""
        self.out = 0

    def _pull(self) -> bool:
        chunk = next(self.chunks, b"")
        if not chunk:
            return False
        self.out += len(chunk)
        self.charge(len(chunk))
        if self.compressed is not None and self.out > self.limits.ratio_after:
            ratio = self.out // max(self.compressed(), 1)
            if ratio > self.limits.max_ratio:
                raise ArchiveBound(f"expands over {self.limits.max_ratio} times (a zip bomb?)")
        self.buffer += chunk
        return True

    def peek(self) -> bytes:
        while len(self.buffer) < PEEK_SIZE and self._pull():
            pass
        return self.buffer[:PEEK_SIZE]

    def read(self, size: int = -1) -> bytes:
        while (size < 0 or len(self.buffer) < size) and self._pull():
            pass
        if size < 0:
            size = len(self.buffer)
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data


def read_up_to(stream: IO[bytes] | Inflating, size: int) -> bytes:
    parts: list[bytes] = []
    while size > 0:
        data = stream.read(min(size, CHUNK))
        if not data:
            break
        parts.append(data)
        size -= len(data)
    return b"".join(parts)


def zip_member_chunks(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo
) -> tuple[Iterator[bytes], Callable[[], int] | None]:
    """A zip member's bytes, decompressed here with a bound on each step:
    zipfile's own readers inflate bzip2 and LZMA without one (a few KB of
    bzip2 can expand to gigabytes in memory)."""
    import zipfile
    import zlib

    method = info.compress_type
    if method == zipfile.ZIP_LZMA:
        # LZMA expands at most ~7,000 times per 4 KiB zipfile reads: bounded.
        lzma_file = archive.open(info)
        return iter(lambda: lzma_file.read(CHUNK), b""), lambda: info.compress_size
    if method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2):
        raise NotImplementedError(f"compression method {method} is not supported, not opened")
    # The compressed bytes, read where the member's local header says they
    # start (zipfile's own reader, opened per member, cost more than zlib).
    raw = Counting(StoredBytes(archive.fp, info))
    if method == zipfile.ZIP_STORED:
        return iter(lambda: raw.read(CHUNK), b""), None
    if method == zipfile.ZIP_DEFLATED:
        return _inflate_deflate(raw, zlib.decompressobj(-15)), raw.count
    import bz2

    return _inflate_bz2(raw, bz2.BZ2Decompressor()), raw.count


_LOCAL_HEADER = 30  # bytes of a zip member's local header before its name and extra field


class StoredBytes:
    """A zip member's bytes as stored, from the archive file: after its local
    header (whose name and extra field lengths may differ from the central
    directory's), `compress_size` of them at most."""

    def __init__(self, fileobj: IO[bytes] | None, info: zipfile.ZipInfo) -> None:
        import struct
        import zipfile

        if fileobj is None:
            raise ValueError("the archive is closed")
        fileobj.seek(info.header_offset)
        header = fileobj.read(_LOCAL_HEADER)
        if len(header) < _LOCAL_HEADER or not header.startswith(b"PK\x03\x04"):
            raise zipfile.BadZipFile("bad magic number for a member's local header")
        name_length, extra_length = struct.unpack_from("<HH", header, 26)
        self.fileobj = fileobj
        self.at = info.header_offset + _LOCAL_HEADER + name_length + extra_length
        self.left = info.compress_size

    def read(self, size: int = -1, /) -> bytes:
        if size < 0:
            size = self.left
        if self.left <= 0:
            return b""
        self.fileobj.seek(self.at)  # nested readers may have moved it
        data = self.fileobj.read(min(size, self.left))
        if not data:
            raise EOFError("the archive ends inside a member")
        self.at += len(data)
        self.left -= len(data)
        return data


def _inflate_deflate(raw: Counting, decompressor: zlib._Decompress) -> Iterator[bytes]:
    while not decompressor.eof:
        data = decompressor.unconsumed_tail or raw.read(CHUNK)
        if not data:
            return
        out = decompressor.decompress(data, CHUNK)
        if out:
            yield out


def _inflate_bz2(raw: Counting, decompressor: bz2.BZ2Decompressor) -> Iterator[bytes]:
    while not decompressor.eof:
        data = raw.read(CHUNK) if decompressor.needs_input else b""
        if decompressor.needs_input and not data:
            return
        out = decompressor.decompress(data, CHUNK)
        if out:
            yield out


def format_errors() -> tuple[type[Exception], ...]:
    """What a broken, truncated or hostile archive makes the standard
    library raise: zipfile, tarfile, zlib and lzma errors, gzip's (an
    OSError), EOFError for a stream cut short, and what zipfile raises on
    fields it does not check (a negative seek: ValueError; a bad name:
    UnicodeDecodeError; a short extra field: IndexError or struct.error; an
    unknown version: NotImplementedError). Found by fuzzing each kind."""
    import struct
    import tarfile
    import zipfile
    import zlib

    errors: tuple[type[Exception], ...] = (
        zipfile.BadZipFile,
        tarfile.TarError,
        zlib.error,
        struct.error,
        OSError,
        EOFError,
        ValueError,
        IndexError,
        NotImplementedError,
    )
    try:
        import lzma

        errors += (lzma.LZMAError,)
    except ImportError:  # a Python built without liblzma
        pass
    return errors
