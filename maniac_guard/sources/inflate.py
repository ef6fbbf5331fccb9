"""Bounded decompression for archives.py: each step of inflating a member
or a stream yields at most a chunk, is charged to a budget and checked
against a compression ratio, so a bomb stops early and never fills memory.

gzip, bz2, lzma and zlib are imported only when used (zipfile only to name
its errors, when one is raised). Deflate goes through ISA-L (the `isal`
package, a dependency where it has wheels) when it is installed: the same
bytes out, in about half of zlib's time (a wheel is mostly deflate); gzip
streams (a tarball's) keep the standard library's reader.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

from maniac_guard.sources import zipdir
from maniac_guard.sources.magic import PEEK_SIZE

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (records.py)
if TYPE_CHECKING:
    import bz2
    import lzma
    import zlib
    from typing import IO, Any, Protocol

    from maniac_guard.sources.zipdir import Entry

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


@functools.cache
def deflate_library() -> Any:
    """isal's zlib-compatible module where it is installed, else zlib."""
    try:
        from isal import isal_zlib
    except ImportError:
        import zlib

        return zlib
    return isal_zlib


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


def read_up_to(stream: Readable, size: int) -> bytes:
    parts: list[bytes] = []
    while size > 0:
        data = stream.read(min(size, CHUNK))
        if not data:
            break
        parts.append(data)
        size -= len(data)
    return b"".join(parts)


def zip_member_chunks(fileobj: IO[bytes], entry: Entry) -> tuple[Iterator[bytes], Callable[[], int] | None]:
    """A zip member's bytes, decompressed here with a bound on each step
    (zipfile's own readers inflate bzip2 and LZMA without one: a few KB of
    bzip2 can expand to gigabytes in memory)."""
    method = entry[2]
    if method not in (zipdir.STORED, zipdir.DEFLATED, zipdir.BZIP2, zipdir.LZMA):
        raise NotImplementedError(f"compression method {method} is not supported, not opened")
    raw = Counting(StoredBytes(fileobj, entry))
    if method == zipdir.STORED:
        return iter(lambda: raw.read(CHUNK), b""), None
    if method == zipdir.DEFLATED:
        return _inflate_deflate(raw, deflate_library().decompressobj(-15)), raw.count
    if method == zipdir.LZMA:
        return _inflate_lzma(raw), raw.count
    import bz2

    return _inflate_demanding(raw, bz2.BZ2Decompressor()), raw.count


def small_member(fileobj: IO[bytes], entry: Entry) -> bytes | None:
    """A stored or deflated member of at most CHUNK bytes, stored and
    inflated, read whole: what `zip_member_chunks` would give as its first and
    only chunk, without the layers around it (most members of a wheel are
    small). None: the member is bigger, not whole, or held otherwise; read
    it in chunks."""
    _, _, method, compressed, declared, offset = entry
    if compressed > CHUNK or declared > CHUNK or method not in (zipdir.STORED, zipdir.DEFLATED):
        return None  # (a size declared falsely small costs one inflating of CHUNK bytes, then chunks)
    fileobj.seek(zipdir.data_start(fileobj, offset))
    raw = fileobj.read(compressed)
    if len(raw) < compressed:
        return None  # the archive ends inside it: the chunks say so where they meet the end
    if method == zipdir.STORED:
        return raw
    decompressor = deflate_library().decompressobj(-15)
    data = decompressor.decompress(raw, CHUNK)
    return data if decompressor.eof else None


class StoredBytes:
    """A zip member's bytes as stored, from the archive file: after its local
    header, `compress_size` of them at most."""

    def __init__(self, fileobj: IO[bytes], entry: Entry) -> None:
        self.fileobj = fileobj
        self.at = zipdir.data_start(fileobj, entry[5])
        self.left = entry[3]

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


def _inflate_deflate(raw: Counting, decompressor: zlib._Decompress) -> Iterator[bytes]:  # or isal's
    while not decompressor.eof:
        data = decompressor.unconsumed_tail or raw.read(CHUNK)
        if not data:
            return
        out = decompressor.decompress(data, CHUNK)
        if out:
            yield out


def _inflate_demanding(raw: Counting, decompressor: bz2.BZ2Decompressor | lzma.LZMADecompressor) -> Iterator[bytes]:
    """A stream whose decompressor says when it needs input (bzip2, LZMA)."""
    while not decompressor.eof:
        data = raw.read(CHUNK) if decompressor.needs_input else b""
        if decompressor.needs_input and not data:
            return
        out = decompressor.decompress(data, CHUNK)
        if out:
            yield out


def _inflate_lzma(raw: Counting) -> Iterator[bytes]:
    """A zip's LZMA member: a 4-byte header (version, properties' size), the
    properties, then a raw LZMA1 stream (zipfile's LZMADecompressor)."""
    import lzma
    import struct

    header = raw.read(4)
    (size,) = struct.unpack_from("<H", header, 2)
    properties = raw.read(size)
    if len(properties) < size:
        raise EOFError("the archive ends inside a member")
    lzma_filter = lzma._decode_filter_properties(lzma.FILTER_LZMA1, properties)  # type: ignore[attr-defined]
    yield from _inflate_demanding(raw, lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[lzma_filter]))


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
    if deflate_library() is not zlib:
        errors += (deflate_library().error,)
    return errors
