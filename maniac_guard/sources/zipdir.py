"""A zip's central directory, read as the standard library's `zipfile`
reads it (the end record, zip64, data before the archive, member names),
into plain tuples: archives.py needs five fields per member, and zipfile's
import (pathlib, shutil, urllib, ipaddress: ~6 ms in each scanning process)
and its `ZipInfo` per member (~5 µs each: a wheel holds thousands) cost
more than inflating a small member. The errors and their wording are
zipfile's (`cannot read the zip archive (File is not a zip file)`), raised
as ValueError, which archives.py names as any archive error.
"""

from __future__ import annotations

import os
import struct

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (records.py)
if TYPE_CHECKING:
    from typing import IO

_END = b"PK\x05\x06"
_END_SIZE = 22
_LOCATOR = b"PK\x06\x07"
_LOCATOR_SIZE = 20
_END64 = b"PK\x06\x06"
_END64_SIZE = 56
_ENTRY = b"PK\x01\x02"
ENTRY_SIZE = 46  # bytes of a central-directory entry with an empty name
_ENTRY_FIELDS = struct.Struct("<4s4B4HL2L5H2L")
_MAX_EXTRACT_VERSION = 63  # zipfile's
_LOCAL = b"PK\x03\x04"
_LOCAL_SIZE = 30  # bytes of a member's local header before its name and extra field

STORED, DEFLATED, BZIP2, LZMA = 0, 8, 12, 14


class BadZip(ValueError):
    """A zip that cannot be read (zipfile would raise BadZipFile)."""


class End:
    """What the end records say: where the central directory is and how big."""

    def __init__(self, entries: int, size: int, offset: int, concat: int, problem: str = "") -> None:
        self.entries = entries  # members, as declared
        self.size = size  # bytes of the central directory
        self.start = offset + concat  # where it starts in this file
        self.concat = concat  # bytes before the archive (a zipapp's shebang line)
        # Raised by read_entries: the caller checks the sizes above first.
        self.problem = problem or ("Bad offset for central directory" if self.start < 0 else "")


def read_end(fileobj: IO[bytes]) -> End:
    """The end of central directory record (zip64's when there is one), as
    zipfile's `_EndRecData` finds it."""
    fileobj.seek(0, 2)
    file_size = fileobj.tell()
    tail_start = max(file_size - (1 << 16) - _END_SIZE - _LOCATOR_SIZE - _END64_SIZE, 0)
    fileobj.seek(tail_start)
    tail = fileobj.read()
    last = tail[-_END_SIZE:]
    if len(last) == _END_SIZE and last.startswith(_END) and last.endswith(b"\0\0"):
        at = len(tail) - _END_SIZE  # no comment: the usual case
    else:
        comment_start = max(file_size - (1 << 16) - _END_SIZE, 0) - tail_start
        at = tail.rfind(_END, comment_start)
        if at < 0 or len(tail) - at < _END_SIZE:
            raise BadZip("File is not a zip file")
    _, _, _, _, entries, size, offset, _ = struct.unpack_from("<4s4H2LH", tail, at)
    location = tail_start + at
    concat = location - size - offset
    locator = at - _LOCATOR_SIZE
    if locator >= 0 and tail[locator : locator + 4] == _LOCATOR:
        _, disk, _, disks = struct.unpack_from("<4sLQL", tail, locator)
        if disk != 0 or disks > 1:
            return End(entries, size, offset, concat, "zipfiles that span multiple disks are not supported")
        record = locator - _END64_SIZE
        if record >= 0 and tail[record : record + 4] == _END64:
            fields = struct.unpack_from("<4sQ2H2L4Q", tail, record)
            entries, size, offset = fields[7], fields[8], fields[9]
            concat = location - size - offset - _END64_SIZE - _LOCATOR_SIZE
    return End(entries, size, offset, concat)


# (name, flag bits, compression method, compressed size, size, local header offset)
Entry = tuple[str, int, int, int, int, int]


def read_entries(fileobj: IO[bytes], end: End) -> list[Entry]:
    """Every member the central directory lists, as zipfile's
    `_RealGetContents` reads them (the caller has bounded `end.size`)."""
    if end.problem:
        raise BadZip(end.problem)
    fileobj.seek(end.start)
    directory = fileobj.read(end.size)
    entries: list[Entry] = []
    unpack = _ENTRY_FIELDS.unpack_from
    at = 0
    while at < end.size:
        if len(directory) - at < ENTRY_SIZE:
            raise BadZip("Truncated central directory")
        fields = unpack(directory, at)
        if fields[0] != _ENTRY:
            raise BadZip("Bad magic number for central directory")
        flags, method, compressed, size = fields[5], fields[6], fields[10], fields[11]
        name_length, extra_length, comment_length, offset = fields[12], fields[13], fields[14], fields[18]
        start = at + ENTRY_SIZE
        raw = directory[start : start + name_length]
        name = raw.decode("utf-8") if flags & 0x800 else raw.decode("cp437")
        if "\0" in name:
            name = name[: name.find("\0")]
        if os.sep != "/" and os.sep in name:
            name = name.replace(os.sep, "/")
        if fields[3] > _MAX_EXTRACT_VERSION:
            raise NotImplementedError(f"zip file version {fields[3] / 10:.1f}")
        if extra_length:
            extra = directory[start + name_length : start + name_length + extra_length]
            size, compressed, offset = _zip64_sizes(extra, size, compressed, offset)
        entries.append((name, flags, method, compressed, size, offset + end.concat))
        at = start + name_length + extra_length + comment_length
    return entries


def _zip64_sizes(extra: bytes, size: int, compressed: int, offset: int) -> tuple[int, int, int]:
    """The sizes and offset a zip64 extra field holds for the fields at their
    maximum (zipfile's `ZipInfo._decodeExtra`)."""
    while len(extra) >= 4:
        kind, length = struct.unpack_from("<HH", extra)
        if length + 4 > len(extra):
            raise BadZip(f"Corrupt extra field {kind:04x} (size={length})")
        if kind == 0x0001:
            data = extra[4 : length + 4]
            field = ""
            try:
                if size in (0xFFFF_FFFF_FFFF_FFFF, 0xFFFF_FFFF):
                    field = "File size"
                    (size,) = struct.unpack_from("<Q", data)
                    data = data[8:]
                if compressed == 0xFFFF_FFFF:
                    field = "Compress size"
                    (compressed,) = struct.unpack_from("<Q", data)
                    data = data[8:]
                if offset == 0xFFFF_FFFF:
                    field = "Header offset"
                    (offset,) = struct.unpack_from("<Q", data)
            except struct.error:
                raise BadZip(f"Corrupt zip64 extra field. {field} not found.") from None
        extra = extra[length + 4 :]
    return size, compressed, offset


def data_start(fileobj: IO[bytes], header_offset: int) -> int:
    """Where a member's stored bytes start: after its local header, whose
    name and extra field lengths may differ from the central directory's."""
    fileobj.seek(header_offset)
    header = fileobj.read(_LOCAL_SIZE)
    if len(header) < _LOCAL_SIZE or not header.startswith(_LOCAL):
        raise BadZip("bad magic number for a member's local header")
    name_length, extra_length = struct.unpack_from("<HH", header, 26)
    return header_offset + _LOCAL_SIZE + int(name_length) + int(extra_length)
