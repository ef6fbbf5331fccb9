"""Blobs over the size limit, kept out of `git log -p`.

git loads a whole blob to diff it, and even to print "Binary files differ"
for a file a commit adds: one 200 MB file made git alone take 200 MB. So a
history scan first asks whether the object store holds any blob over the
limit (`cat-file --batch-all-objects`, which reads only object headers); if
it does, the paths that ever held one are excluded from the patch stream
and read by a `git log --raw` pass instead, where each version is sized
before it is read (`gitbinary.blob_source`).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Generator, Iterator, Sequence
from typing import IO, TYPE_CHECKING

from maniac_guard.sources import SourceFile
from maniac_guard.sources.gitblobs import BlobReader
from maniac_guard.sources.gitcore import GitError, decode_path, git_command
from maniac_guard.sources.gitstart import BIG_CHECK_FORMAT, big_ids

if TYPE_CHECKING:
    from maniac_guard.sources.gitmodel import Commit, HistoryState

OID = re.compile(rb"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")
RAW_FORMAT = "--format=%x00%H%x00%an <%ae>%x00%aI%x00"


def _stream(root: str, args: Sequence[str]) -> Generator[IO[bytes], None, None]:
    try:
        proc = subprocess.Popen([*git_command(), *args], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror}") from None
    assert proc.stdout is not None
    try:
        yield proc.stdout
    finally:
        proc.stdout.close()
        code = proc.wait()
    if code != 0:
        raise GitError(f"git {args[0]} failed (exit {code})")


def big_blobs(root: str, max_size: int) -> set[bytes]:
    """Ids of every blob in the object store larger than `max_size`."""
    return BigBlobs(root, max_size).result()


class BigBlobs:
    """`big_blobs`, started before it is needed: git reads the object
    headers while the scan sets itself up (it ran alone before `git log -p`
    could start). `none_found`: the console script's early check
    (`gitstart.start_history`) found none already: no git runs."""

    def __init__(self, root: str, max_size: int, *, none_found: bool = False) -> None:
        self.root = root
        self.max_size = max_size
        self._found: set[bytes] | None = set() if none_found else None
        self._run: Generator[IO[bytes], None, None] | None = None
        if not none_found:
            # No %(objecttype): it costs git ~40% more on every object (the type
            # of a delta is its base's); the few large objects are typed after.
            self._run = _stream(root, ["cat-file", "--batch-all-objects", "--unordered", BIG_CHECK_FORMAT])
            self._stdout = next(self._run)  # git starts here

    def result(self) -> set[bytes]:
        if self._found is not None:
            return self._found
        assert self._run is not None
        found = big_ids(self._stdout, self.max_size)
        next(self._run, None)  # waits for git; raises GitError if it failed
        if found:  # large trees or commits are not blobs
            with BlobReader(self.root) as reader:
                found = {oid for oid in found if (info := reader.info(oid.decode("ascii"))) and info.kind == "blob"}
        self._found = found
        return found

    def close(self) -> None:
        """Stops git if its answer was never read (the scan ended first)."""
        if self._run is not None:
            self._run.close()


def _nul_tokens(stream: IO[bytes]) -> Iterator[bytes]:
    rest = b""
    while chunk := stream.read(1 << 20):
        parts = (rest + chunk).split(b"\0")
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest


def _raw_entries(stream: IO[bytes]) -> Iterator[tuple[list[bytes], bytes, list[bytes]]]:
    """(commit header fields, path, blob ids: parents' first, the new one last)
    from `git log --raw -z -c` with RAW_FORMAT."""
    tokens = _nul_tokens(stream)
    header: list[bytes] = []
    for token in tokens:
        token = token.lstrip(b"\n")
        if token.startswith(b":"):
            path = next(tokens, b"")
            ids = [field for field in token.split() if OID.match(field)]
            yield header, path, ids
        elif OID.match(token):
            header = [token, next(tokens, b""), next(tokens, b"")]


def raw_args(revs: Sequence[str], max_commits: int | None, paths: Sequence[bytes] = ()) -> list[str]:
    args = [
        "--literal-pathspecs",
        "log",
        "--raw",
        "-z",
        "-c",
        "--no-abbrev",
        "--no-renames",
        "--root",
        "--full-history",
        "--no-show-signature",
        RAW_FORMAT,
    ]
    if max_commits is not None:
        args.append(f"--max-count={max_commits}")
    return [*args, *revs, "--", *(p.decode("utf-8", "surrogateescape") for p in paths)]


def big_paths(
    root: str, revs: Sequence[str], max_commits: int | None, max_size: int, blobs: BigBlobs | None = None
) -> list[bytes]:
    """Paths that hold a blob over `max_size` in some commit of `revs`
    (`blobs`: the big-blob check, if started earlier)."""
    big = (blobs or BigBlobs(root, max_size)).result()
    if not big:
        return []
    paths: set[bytes] = set()
    for stream in _stream(root, raw_args(revs, max_commits)):
        for _, path, ids in _raw_entries(stream):
            if any(oid in big for oid in ids):
                paths.add(path)
    return sorted(paths)


def exclude_pathspecs(paths: Sequence[bytes]) -> list[str]:
    return [":(exclude,literal)" + p.decode("utf-8", "surrogateescape") for p in paths]


def big_path_sources(
    root: str,
    revs: Sequence[str],
    max_commits: int | None,
    paths: Sequence[bytes],
    state: HistoryState,
    reader: BlobReader,
    max_size: int,
) -> Iterator[SourceFile]:
    """What each commit added at `paths`, each version sized before it is read
    (a version over the limit goes through `big_blob_windows`)."""
    from maniac_guard.sources.gitbinary import blob_sources
    from maniac_guard.sources.gitmodel import Commit, FileDiff

    zero = re.compile(rb"^0+$")
    for stream in _stream(root, raw_args(revs, max_commits, paths)):
        for header, path, ids in _raw_entries(stream):
            if not ids or zero.match(ids[-1]):
                continue  # deleted: nothing added
            sha = header[0].decode("ascii") if header else ""
            state.order.setdefault(sha, len(state.order))
            commit = Commit(sha, header[1].decode("utf-8", "replace"), header[2].decode("ascii", "replace"))
            diff = FileDiff(
                path=path,
                binary=True,
                new_blob=ids[-1].decode("ascii"),
                old_blobs=[i.decode("ascii") for i in ids[:-1] if not zero.match(i)],
            )
            new_blob = ids[-1].decode("ascii")
            info = reader.info(new_blob)
            if info is not None and info.kind == "blob" and info.size > max_size:
                yield from big_blob_windows(root, new_blob, path, commit, info.size, max_size, state)
                continue
            yield from blob_sources(diff, commit, reader, max_size, state)


def big_blob_windows(
    root: str, oid: str, raw_path: bytes, commit: Commit, size: int, max_size: int, state: HistoryState
) -> Iterator[SourceFile]:
    """A blob over the size limit in history, for the key patterns. The whole
    blob is scanned, not only the lines this commit added: a key already
    there in a parent is reported once, at its first commit, by the
    history's dedupe."""
    path = decode_path(raw_path)
    binary = yield from blob_windows(root, oid, path, commit=commit.sha, author=commit.author, date=commit.date)
    if binary:
        state.binary += 1
        return
    state.messages.append(f"{path} at {(commit.sha or '')[:12]}: {over_limit_note(size, max_size)}")


def over_limit_note(size: int, max_size: int) -> str:
    return (
        f"{size / 1048576:.1f} MiB is over the {max_size / 1048576:.1f} MiB limit: "
        "scanned for key patterns only (no Python or YAML analysis)"
    )


def blob_windows(
    root: str, oid: str, path: str, *, commit: str | None = None, author: str | None = None, date: str | None = None
) -> Generator[SourceFile, None, bool]:
    """A blob of any size streamed from `git cat-file blob` in overlapping
    windows (sources/windows.py: the helper a big file on disk goes through
    too). Returns True, having yielded nothing, for a binary blob."""
    from maniac_guard.sources.files import is_binary
    from maniac_guard.sources.windows import windows

    for stream in _stream(root, ["cat-file", "blob", oid]):
        for window in windows(path, stream.read, commit=commit, author=author, date=date):
            if window.owned_from == 0 and is_binary(window.data):
                return True
            yield window
    return False
