"""History files that git will not show as a text diff, read as blobs.

git calls a file binary for its attributes (`binary`, `-diff`), for a NUL
byte (UTF-16 text has many), or for its size; a disk scan judges only the
content. So every such file is read from the object database and judged by
`to_source`, as a disk scan would; what it added is the new version's lines
that no parent version has. Git LFS pointers are replaced by the object
they point to, when this clone has it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from maniac_guard.sources import SourceFile
from maniac_guard.sources.gitblobs import BlobReader
from maniac_guard.sources.gitcore import decode_path
from maniac_guard.sources.lfs import POINTER_MAX, object_path, parse_pointer

if TYPE_CHECKING:
    from maniac_guard.sources.gitmodel import Commit, FileDiff, HistoryState

HANDLED: Literal["handled"] = "handled"


def blob_sources(
    diff: FileDiff, commit: Commit, reader: BlobReader, max_size: int, state: HistoryState
) -> list[SourceFile]:
    """What a version of a file git calls binary added: its new lines, or for
    an archive, each member's."""
    assert diff.path is not None
    path, at = decode_path(diff.path), (commit.sha or "")[:12]
    if diff.new_blob is None:  # deleted: nothing added
        return []
    info, data = reader.read(diff.new_blob, max_size)
    if info is None:
        state.unreadable.append(
            f"{path} at {at}: blob {diff.new_blob[:12]} is missing from the repository, cannot scan it"
        )
        return []
    if data is None:
        state.too_large += 1
        state.messages.append(
            f"{path} at {at}: {info.size / 1048576:.1f} MiB is over the {max_size / 1048576:.1f} MiB limit, skipped"
        )
        return []
    from maniac_guard.sources.archives import archive_kind

    kind = archive_kind(data)
    if kind is not None:
        return _archive_members(path, at, data, kind, _old_versions(diff, reader, max_size), commit, max_size, state)
    from maniac_guard.sources.files import to_source

    source, skipped, message = to_source(path, data)
    if source is None:
        if skipped == "binary":
            state.binary += 1
            if "mk" in path:
                state.binary_named_mk.append((path, commit))
        elif message:
            state.messages.append(f"{message} (at {at})")
        return []
    before: set[bytes] = set()
    for old in _old_versions(diff, reader, max_size):  # read only now: a binary file needs none
        old_source = to_source(path, old)[0]
        if old_source is not None:
            before.update(old_source.data.split(b"\n"))
    added = _added(source, before, commit)
    return [added] if added is not None else []


def _old_versions(diff: FileDiff, reader: BlobReader, max_size: int) -> list[bytes]:
    """The parent versions' bytes (those that can be read)."""
    return [old for oid in diff.old_blobs if (old := reader.read(oid, max_size)[1]) is not None]


def _added(source: SourceFile, before: set[bytes], commit: Commit) -> SourceFile | None:
    """The lines of `source` that no earlier version had, at their line numbers."""
    numbered = [(n, line) for n, line in enumerate(source.data.split(b"\n"), 1) if line and line not in before]
    if not numbered:
        return None
    return SourceFile(
        path=source.path,
        data=b"\n".join(line for _, line in numbered) + b"\n",
        commit=commit.sha,
        author=commit.author,
        date=commit.date,
        line_numbers=[n for n, _ in numbered],
    )


def _archive_members(
    path: str, at: str, data: bytes, kind: str, olds: list[bytes], commit: Commit, max_size: int, state: HistoryState
) -> list[SourceFile]:
    """The members of an archive a commit added, each reduced to the lines
    the same member of the parent versions did not have. What cannot be
    opened is unreadable (exit 2), as on disk."""
    from maniac_guard.sources.archives import ArchiveLimits, ArchiveReport, archive_kind, archive_sources

    limits = ArchiveLimits(max_member_size=max_size)
    before: dict[str, set[bytes]] = {}
    for old in olds:
        old_kind = archive_kind(old)
        if old_kind is not None:
            for member in archive_sources(path, old, old_kind, limits, ArchiveReport()):
                before.setdefault(member.path, set()).update(member.data.split(b"\n"))
    report = ArchiveReport()
    members = archive_sources(path, data, kind, limits, report)
    added = [a for m in members if (a := _added(m, before.get(m.path, set()), commit)) is not None]
    state.unreadable.extend(f"{problem} (at {at})" for problem in report.problems)
    state.messages.extend(f"{message} (at {at})" for message in report.messages)
    state.binary += report.skipped["binary"]
    state.too_large += report.skipped["too-large"]
    return added


def lfs_source(
    diff: FileDiff, commit: Commit, reader: BlobReader, max_size: int, state: HistoryState
) -> SourceFile | Literal["handled"] | None:
    """For a diff that adds an LFS pointer's `oid` line: the object it points
    to (HANDLED when it cannot or need not be scanned); None: not a pointer."""
    from maniac_guard.sources.files import read_file, to_source

    if diff.new_blob is None or not any(line.startswith(b"oid sha256:") for line in diff.lines):
        return None
    _, data = reader.read(diff.new_blob, POINTER_MAX)
    pointer = parse_pointer(data) if data is not None else None
    if pointer is None:
        return None
    assert diff.path is not None
    path, at = decode_path(diff.path), (commit.sha or "")[:12]
    local = object_path(reader.cwd, pointer.oid)
    if local is None:
        state.unreadable.append(
            f"{path} at {at}: Git LFS object {pointer.oid[:12]} is not in this clone, cannot scan it "
            "(`git lfs fetch --all` first)"
        )
        return HANDLED
    read = read_file(local, path, max_size, roots=[], follow=True)
    if read.data is None:
        state.too_large += read.skipped == "too-large"
        state.messages.append(f"{read.message or f'{path}: cannot read its Git LFS object'} (at {at})")
        return HANDLED
    source, skipped, message = to_source(path, read.data)
    if source is None:
        state.binary += skipped == "binary"
        if message:
            state.messages.append(message)
        return HANDLED
    source.commit, source.author, source.date = commit.sha, commit.author, commit.date
    return source
