"""Whole files from git, for the detectors that need a whole file (the Python
analysis, key-permission declarations): which changed files of the history
stream they must see (`WholeFileTracker`, fed by the `git log -p` parser),
and a `ProjectReader` over one commit (or the index) so that the Python
analysis reads the imports of a file from the same version as the file.
Every blob comes from the long-lived `git cat-file` processes of one
`BlobReader`, each read bounded by the size limit.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from maniac_guard.sources.gitblobs import BlobReader
from maniac_guard.sources.gitcore import GitError
from maniac_guard.sources.gitmodel import Commit, FileDiff


class CommitReader:
    """The files of one commit (`rev`) or of the index (`rev` ""), by path
    relative to the repository root, read through a shared BlobReader.

    `prefix`: the folder (relative to the root) that the paths the analysis
    asks for are relative to (`scan --staged` shows paths from the current
    folder). Reads are bounded by `limit`; what is absent, too big or not a
    blob is None. Results are kept, so an import read twice costs one read."""

    def __init__(self, blobs: BlobReader, rev: str, limit: int, prefix: str = "", key: str | None = None) -> None:
        self.blobs = blobs
        self.rev = rev
        self.limit = limit
        self.prefix = prefix.strip("/")
        self._key = rev if key is None else key
        self._read: dict[str, bytes | None] = {}

    def key(self) -> str:
        return self._key

    def read(self, path: str) -> bytes | None:
        full = posixpath.normpath(posixpath.join(self.prefix, path)) if self.prefix else posixpath.normpath(path)
        if full.startswith(("../", "/")) or full in ("..", ".") or "\n" in full:
            return None
        if full not in self._read:
            try:
                self._read[full] = self.blobs.read(f"{self.rev}:{full}", self.limit)[1]
            except GitError:
                self._read[full] = None
        return self._read[full]


@dataclass
class ChangedFile:
    """One file a commit added or modified: its new blob, and for each parent
    the blob it had there (None: the file is new relative to that parent)."""

    commit: str
    path: str
    blob: str
    parents: list[tuple[str, str | None]] = field(default_factory=list)  # (parent commit, blob)
    author: str | None = None
    date: str | None = None


class WholeFileTracker:
    """Which files of the history stream the whole-file detectors must see.

    `wants(path, data)` is the detectors' own cheap test on a file's name and
    bytes (their hints: plain patterns that never span lines). So a version
    can be wanted only if its parent's version was, or the commit added a
    line the test matches: a commit whose added lines (or, for a commit the
    parser skips, whose whole diff) fail the test, over parents' versions
    known to fail it, gives a version known to fail it, without reading it.
    Only the other versions are read and tested whole; those wanted are
    collected in `changes`, oldest commit first. A parent's version never
    seen in the stream (the base of a range) is read."""

    def __init__(
        self,
        suffixes: Sequence[str],
        wants: Callable[[str, bytes], bool],
        limit: int,
        quiet: Callable[[bytes], Sequence[str]] | None = None,
    ) -> None:
        self.suffixes = tuple(x.lower().encode() for x in suffixes)
        self.wants = wants
        # quiet(block): suffixes of the files no part of this commit's text
        # can make `wants` true for (one pass over the commit instead of a
        # decode and a test per file).
        self.quiet = quiet
        self.limit = limit
        self.clean: set[str] = set()  # versions known to fail the test
        self.changes: list[ChangedFile] = []
        self.read = 0  # versions read to decide

    def wanted_path(self, path: str) -> bool:
        return path.encode("utf-8", "surrogateescape").lower().endswith(self.suffixes)

    def block_is_clean(self, block: bytes) -> bool:
        """For a commit the parser would skip: True when none of its files
        needs a look (their new versions are then known clean); False when
        it must be parsed."""
        news = []
        # The files' texts, without the commit's record line (its fields are
        # NUL-separated, which `quiet` would take for UTF-16 text).
        diffs = block[max(0, block.find(b"\ndiff --")) :]
        quiet = tuple(x.lower().encode() for x in self.quiet(diffs)) if self.quiet is not None else ()
        for name, olds, new, text in _file_diffs(block):
            lowered = name.lower()
            if not lowered.endswith(self.suffixes):
                continue
            if new is None:
                continue
            if any(o is not None and o not in self.clean for o in olds):
                return False
            if not (quiet and lowered.endswith(quiet)) and self.wants(name.decode("utf-8", "surrogateescape"), text):
                return False
            news.append(new)
        self.clean.update(news)
        return True

    def consider(self, commit: Commit, path: str, diff: FileDiff, added: bytes | None, reader: BlobReader) -> None:
        """One file of a parsed commit; `added`: its added lines (None: not known, e.g. binary to git)."""
        if diff.new_blob is None or commit.sha is None or not self.wanted_path(path):
            return
        parents = diff.parent_blobs or [None] * max(1, len(commit.parents))
        if added is not None and all(o is None or o in self.clean for o in parents) and not self.wants(path, added):
            self.clean.add(diff.new_blob)
            return
        self.read += 1
        try:
            data = reader.read(diff.new_blob, self.limit)[1]
        except GitError:
            data = None
        if data is None or not self.wants(path, data):
            if data is not None:
                self.clean.add(diff.new_blob)
            return
        pairs = list(zip(commit.parents, parents))
        self.changes.append(ChangedFile(commit.sha, path, diff.new_blob, pairs, commit.author, commit.date))


def _file_diffs(block: bytes) -> Iterator[tuple[bytes, list[str | None], str | None, bytes]]:
    """(name as the header ends, parents' blob ids, new blob id, the file's
    diff text) for each file of one commit's patch text, found with `find`
    (a commit's block is scanned in C, not line by line)."""
    at = block.find(b"\ndiff --")
    while at >= 0:
        end = block.find(b"\ndiff --", at + 1)
        text = block[at + 1 : end if end >= 0 else len(block)]
        header_end = text.find(b"\n")
        name = text[: header_end if header_end >= 0 else len(text)].rstrip(b'"')
        olds: list[str | None] = []
        new: str | None = None
        index = text.find(b"\nindex ")
        if index >= 0:
            line_end = text.find(b"\n", index + 1)
            ids = text[index + 7 : line_end if line_end >= 0 else len(text)].split(b" ", 1)[0]
            old, _, new_id = ids.partition(b"..")
            olds = [None if set(o) == {48} else o.decode("ascii", "replace") for o in old.split(b",") if o]
            new = None if not new_id or set(new_id) == {48} else new_id.decode("ascii", "replace")
        yield name, olds, new, text
        at = end
