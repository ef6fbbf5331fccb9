"""Archives: the text files inside zip-family files (.zip, .whl, .jar,
.docx, .egg, .apk, ...), tar (plain or compressed) and single compressed
files (.gz, .bz2, .xz), as `SourceFile`s named `dist/pkg-1.0.whl!/pkg/.env`.

Archives are found by their first bytes (a zip named `.bin` is still a
zip), so a scan only pays where one is present. Nothing is extracted: each
member is read into memory, scanned and dropped, and its name is only ever
shown, never used as a path. Hostile archives are bounded per archive given
on disk (nested ones included): a budget of decompressed bytes, a
compression-ratio limit, a member count and a nesting depth. Whatever passes
a bound, is encrypted or cannot be read is a *problem*: named, and the run
ends with exit 2, never clean.

tarfile, gzip, bz2 and lzma are imported only when an archive is met; zip's
central directory is read here (zipdir.py), without zipfile.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator

from maniac_guard.findings import mask_keys_in_text
from maniac_guard.records import dataclass, field
from maniac_guard.sources import SourceFile, zipdir
from maniac_guard.sources.inflate import (
    CHUNK,
    ArchiveBound,
    Counting,
    Inflating,
    decompressing,
    format_errors,
    read_up_to,
    small_member,
    zip_member_chunks,
)

# Re-exported: what the first bytes say (the engine, history and tests read it here too).
from maniac_guard.sources.magic import NOT_OPENED as NOT_OPENED
from maniac_guard.sources.magic import OPENED
from maniac_guard.sources.magic import archive_kind as archive_kind

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (records.py)
if TYPE_CHECKING:
    from typing import IO

    from maniac_guard.sources.tarstream import Member, Replay

SEPARATOR = "!/"  # `outer.zip!/inner/path`, as Java's jar: URLs write it

# Names of single compressed files, and what the file inside is called.
_STRIP_SUFFIXES = {".gz": "", ".bz2": "", ".xz": "", ".tgz": ".tar", ".tbz2": ".tar", ".tbz": ".tar", ".txz": ".tar"}


def archive_member_path(shown: str, cwd: str) -> bool:
    """Whether a finding's path names a member of an archive (`a.whl!/x.py`):
    the part before the first `!/` is a file, not a folder."""
    outer, separator, _ = shown.partition(SEPARATOR)
    return bool(separator) and os.path.isfile(os.path.join(cwd, outer))


# An archive on disk up to this size is read whole when the detector cache
# may remember it (its bytes are the cache's key); a bigger one is streamed.
READ_WHOLE_MAX = 64 << 20


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on the work one archive on disk may cause, nested ones included."""

    max_member_size: int  # --max-file-size: a member over it is skipped as a file would be
    max_depth: int = 3  # archives inside archives: the one on disk is depth 1
    max_members: int = 50_000  # big wheels (plotly, tensorflow) hold ~20,000 files
    max_total_bytes: int = 1 << 30  # decompressed or read from members
    max_ratio: int = 100  # decompressed/compressed, as Apache POI's zip-bomb check
    ratio_after: int = 1 << 20  # small members cannot be bombs; their ratio is noise


@dataclass
class ArchiveReport:
    """What opening archives met, besides the text files it yields."""

    problems: list[str] = field(default_factory=list)  # not scanned: exit 2
    messages: list[str] = field(default_factory=list)  # notes, as for files on disk
    skipped: Counter[str] = field(default_factory=Counter)  # members not scanned, by reason
    archives: int = 0  # archives opened, nested ones included


def _size(count: int) -> str:
    return f"{count >> 20:,} MiB" if count >= 1 << 20 else f"{count:,} bytes"


def _shown(text: str) -> str:
    return mask_keys_in_text(text)  # a member's name could hold a key


def _member_name(name: str) -> str:
    """A member's name as shown: `/`-separated, no leading `/`, no `.`/`..`
    (which would move the shown path out of its archive), as zipfile's
    extraction cleans it."""
    parts = [part for part in name.replace("\\", "/").split("/") if part not in ("", ".", "..")]
    return "/".join(parts) or "_"


class _Run:
    """One archive on disk and everything inside it."""

    def __init__(self, limits: ArchiveLimits, report: ArchiveReport) -> None:
        self.limits = limits
        self.report = report
        self.total = 0
        self.members = 0

    def charge(self, count: int) -> None:
        self.total += count
        if self.total > self.limits.max_total_bytes:
            raise ArchiveBound(
                f"more than {_size(self.limits.max_total_bytes)} decompressed (the budget per archive)", True
            )

    def stream(self, chunks: Iterator[bytes], compressed: Callable[[], int] | None) -> Inflating:
        return Inflating(chunks, compressed, self.charge, self.limits)

    def count_member(self) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise ArchiveBound(f"more than {self.limits.max_members:,} members", True)

    def archive(self, fileobj: IO[bytes], shown: str, kind: str, depth: int) -> Iterator[SourceFile]:
        """The text members of one archive (any depth). A bound passed by the
        archive on disk propagates; one passed inside a nested archive ends
        only that one."""
        self.report.archives += 1
        try:
            if kind == "zip":
                yield from self._zip(fileobj, shown, depth)
            elif kind == "tar":
                yield from self._tar(self.stream(iter(lambda: fileobj.read(CHUNK), b""), None), shown, depth)
            else:
                yield from self._compressed(fileobj, shown, kind, depth)
        except ArchiveBound as bound:
            if bound.whole and depth > 1:
                raise  # the archive on disk is given up, not only this one
            self.report.problems.append(f"{_shown(shown)}: {bound.reason}; not scanned further")
        except format_errors() as exc:
            self.report.problems.append(f"{_shown(shown)}: cannot read the {kind} archive ({_why(exc)}); not scanned")

    def _zip(self, fileobj: IO[bytes], shown: str, depth: int) -> Iterator[SourceFile]:
        from maniac_guard.sources.files import BINARY_SUFFIXES

        # The central directory is read whole (10 million entries:
        # gigabytes): its declared size is checked first.
        end = zipdir.read_end(fileobj)
        if self.members + end.entries > self.limits.max_members:
            raise ArchiveBound(f"{end.entries:,} members, over the limit of {self.limits.max_members:,}", True)
        room = end.size // zipdir.ENTRY_SIZE
        if self.members + room > self.limits.max_members:
            raise ArchiveBound(f"a central directory with room for {room:,} members, over the limit", True)
        entries = zipdir.read_entries(fileobj, end)
        if self.members + len(entries) > self.limits.max_members:
            raise ArchiveBound(f"{len(entries):,} members, over the limit of {self.limits.max_members:,}", True)
        ratio_after, max_ratio = self.limits.ratio_after, self.limits.max_ratio
        for entry in entries:
            member_name, flags, _, compressed, declared, _ = entry
            self.count_member()
            if member_name[-1] == "/":  # a folder (an empty name fails here, as in zipfile)
                continue
            name = f"{shown}{SEPARATOR}{_member_name(member_name)}"
            if member_name.lower().endswith(BINARY_SUFFIXES):  # as on disk: never inflated
                self.report.skipped["binary"] += 1
                continue
            if flags & 0x1:
                self.report.problems.append(f"{_shown(name)}: encrypted zip member, not opened")
                continue
            if declared > ratio_after and declared > max_ratio * max(compressed, 1):
                self.report.problems.append(
                    f"{_shown(name)}: expands {declared // max(compressed, 1):,} times "
                    f"(over the {max_ratio}:1 limit, a zip bomb?); not scanned"
                )
                continue
            try:
                whole = small_member(fileobj, entry)
                if whole is not None:  # read whole: charged as the one chunk it would be
                    self.charge(len(whole))
                    yield from self.member(None, name, depth, whole)
                else:
                    yield from self.member(self.stream(*zip_member_chunks(fileobj, entry)), name, depth)
            except ArchiveBound as bound:
                if bound.whole:
                    raise
                self.report.problems.append(f"{_shown(name)}: {bound.reason}; not scanned")
            except format_errors() as exc:  # one broken member: the others are still read
                self.report.problems.append(f"{_shown(name)}: cannot read this member ({_why(exc)}); not scanned")

    def _tar(self, stream: Inflating, shown: str, depth: int) -> Iterator[SourceFile]:
        """Plain headers read here (tarstream.py); from the first other one on, tarfile."""
        from maniac_guard.sources.tarstream import Broken, Fallback, Replay, members

        last = ""
        try:
            for last, data in members(stream):
                self.count_member()
                if data is not None:  # (folders, links, devices: nothing to read)
                    yield from self._tar_member(last, data, shown, depth)
        except Broken as broken:
            self._tar_broken(shown, last, str(broken))
        except Fallback as fallback:
            yield from self._tarfile(Replay(fallback.header, stream), shown, depth, last)

    def _tar_member(self, name: str, data: IO[bytes] | Member, shown: str, depth: int) -> Iterator[SourceFile]:
        from maniac_guard.sources.files import BINARY_SUFFIXES

        if name.lower().endswith(BINARY_SUFFIXES):  # as on disk: never read
            self.report.skipped["binary"] += 1
            return
        yield from self.member(data, f"{shown}{SEPARATOR}{_member_name(name)}", depth)

    def _tar_broken(self, shown: str, last: str, why: str) -> None:
        self.report.problems.append(
            f"{_shown(shown)}: cannot read the tar archive after its member {_member_name(last)} "
            f"({why}); the rest is not scanned"
        )

    def _tarfile(self, stream: IO[bytes] | Replay, shown: str, depth: int, last: str = "") -> Iterator[SourceFile]:
        import tarfile

        class Headers(tarfile.TarInfo):
            """Remembers why the listing ended: at a broken header after the
            first, tarfile ends it without a word, and the members behind it
            would go unread as if there were none."""

            broken = ""

            @classmethod
            def fromtarfile(cls, tarfile_: tarfile.TarFile) -> Headers:  # a header and what it names (pax, GNU)
                try:
                    return super().fromtarfile(tarfile_)
                except tarfile.HeaderError as exc:
                    if type(exc).__name__ in ("InvalidHeaderError", "TruncatedHeaderError"):
                        cls.broken = str(exc)
                    raise

        # Stream mode: members in order, nothing seeks, nothing is extracted.
        with tarfile.open(fileobj=stream, mode="r|", tarinfo=Headers) as archive:  # type: ignore[call-overload]
            for info in archive:
                last = info.name
                self.count_member()
                # Folders, links, devices: nothing to read; a type tarfile does
                # not know is read as a file, as tarfile (and POSIX) read it.
                if not info.isreg() and info.type in tarfile.SUPPORTED_TYPES:
                    continue
                member = archive.extractfile(info)
                if member is not None:
                    yield from self._tar_member(info.name, member, shown, depth)
        if Headers.broken:
            self._tar_broken(shown, last, Headers.broken)

    def _compressed(self, fileobj: IO[bytes], shown: str, kind: str, depth: int) -> Iterator[SourceFile]:
        from typing import cast  # here: a hook's start does without typing

        counted = Counting(fileobj)
        with decompressing(kind, cast("IO[bytes]", counted)) as opened:
            # The library's readers ask their decompressor for at most what
            # read() wants, so a bomb never expands in memory beyond a chunk.
            stream = self.stream(iter(lambda: opened.read(CHUNK), b""), counted.count)
            head = stream.peek()
            if archive_kind(head) == "tar":  # .tar.gz, .tgz: the compression is not shown
                yield from self._tar(stream, shown, depth)
                return
            base = shown.rsplit("/", 1)[-1]
            stem, dot, suffix = base.rpartition(".")
            known = dot + suffix.lower() in _STRIP_SUFFIXES and stem
            inner = stem + _STRIP_SUFFIXES[dot + suffix.lower()] if known else base
            self.count_member()
            yield from self.member(stream, f"{shown}{SEPARATOR}{inner}", depth)

    def member(
        self, stream: IO[bytes] | Inflating | Member | None, name: str, depth: int, whole: bytes | None = None
    ) -> Iterator[SourceFile]:
        """One member (read from `stream`, or `whole` already): an archive
        opened in turn, a text file yielded, a binary one left after its
        first bytes."""
        from maniac_guard.sources.files import BINARY_SNIFF, is_binary, to_source

        limit = self.limits.max_member_size

        def rest(head: bytes) -> bytes:
            if stream is None:
                return whole[: limit + 1] if whole is not None else head
            return head + read_up_to(stream, limit + 1 - len(head))

        head = read_up_to(stream, BINARY_SNIFF) if stream is not None else (whole or b"")[:BINARY_SNIFF]
        kind = archive_kind(head)
        if kind in OPENED:
            if depth >= self.limits.max_depth:
                self.report.problems.append(
                    f"{_shown(name)}: archive nested more than {self.limits.max_depth} deep, not opened"
                )
                return
            data = rest(head)
            if len(data) > limit:
                self.report.problems.append(
                    f"{_shown(name)}: archive inside an archive over the {limit / 1048576:.1f} MiB "
                    "--max-file-size limit, not opened"
                )
                return
            import io

            assert kind is not None
            yield from self.archive(io.BytesIO(data), name, kind, depth + 1)
            return
        if kind in NOT_OPENED:
            self.report.skipped["binary"] += 1
            self.report.messages.append(f"{_shown(name)}: {kind} archive, not opened")
            return
        if is_binary(head):
            self.report.skipped["binary"] += 1
            return
        data = rest(head)
        if len(data) > limit:
            self.report.skipped["too-large"] += 1
            self.report.messages.append(f"{_shown(name)}: over the {limit / 1048576:.1f} MiB limit, skipped")
            return
        source, skipped, message = to_source(name, data)
        if source is None:
            self.report.skipped[skipped or "unreadable"] += 1
            if message:
                self.report.messages.append(_shown(message))
            return
        yield source


def _why(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return _shown(text.splitlines()[0] if text.strip() else type(exc).__name__)


def open_archive(
    path: str, shown: str, kind: str, limits: ArchiveLimits, report: ArchiveReport, follow: bool
) -> Iterator[SourceFile]:
    """The text members of the archive at `path` (read in place, whatever its size)."""
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | (0 if follow else getattr(os, "O_NOFOLLOW", 0))
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        report.problems.append(f"{_shown(shown)}: cannot read: {exc.strerror}")
        return
    with os.fdopen(fd, "rb") as handle:
        yield from _archive_of(handle, shown, kind, limits, report)


def archive_sources(
    shown: str, data: bytes, kind: str, limits: ArchiveLimits, report: ArchiveReport
) -> Iterator[SourceFile]:
    """The text members of an archive held in memory (a staged blob, a small file)."""
    import io

    yield from _archive_of(io.BytesIO(data), shown, kind, limits, report)


def _archive_of(
    fileobj: IO[bytes], shown: str, kind: str, limits: ArchiveLimits, report: ArchiveReport
) -> Iterator[SourceFile]:
    if kind in NOT_OPENED:
        report.problems.append(f"{_shown(shown)}: {kind} archive, not opened (maniac-guard reads zip and tar)")
        return
    yield from _Run(limits, report).archive(fileobj, shown, kind, 1)
