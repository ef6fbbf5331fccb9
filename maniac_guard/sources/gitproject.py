"""Whole files from git, for the detectors that need a whole file (the Python
analysis, key-permission declarations): which files each commit changed,
and a `ProjectReader` over one commit (or the index) so that the Python
analysis reads the imports of a file from the same version as the file.

One `git log --raw` lists the changed files (blob ids, no patches); every
blob then comes from the long-lived `git cat-file` processes of one
`BlobReader`, each read bounded by the size limit.
"""

from __future__ import annotations

import posixpath
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from maniac_guard.sources.gitblobs import BlobReader
from maniac_guard.sources.gitcore import GitError, decode_path, git_command

RECORD = b"\x01commit "  # starts each commit in the raw log (no path or meta line starts so)
ZERO_OID = "0" * 40


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


RAW_FORMAT = "--format=%x01commit %H%x00%P%x00%an <%ae>%x00%aI"


def changed_files(root: str, revs: Sequence[str], pathspecs: Sequence[str]) -> Iterator[ChangedFile]:
    """What `git log REVS` changed among files matching `pathspecs`: every
    commit's added, modified, copied or renamed files, oldest commit first;
    for a merge, only files that differ from every parent (`--cc`, as the
    history's patches are read). Deleted files are left out (nothing new)."""
    if not pathspecs:
        return
    args = [
        *git_command(),
        "log",
        "--raw",
        "-z",
        "--no-abbrev",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--no-relative",
        "--root",
        "--full-history",
        "-M",
        "--cc",
        "--reverse",
        "--date-order",
        RAW_FORMAT,
        *revs,
        "--",
        *pathspecs,
    ]
    with tempfile.TemporaryFile() as errors:
        try:
            proc = subprocess.Popen(args, cwd=root, stdout=subprocess.PIPE, stderr=errors)
        except OSError as exc:
            raise GitError(f"cannot run git: {exc.strerror}") from None
        assert proc.stdout is not None
        try:
            yield from _parse_raw(proc.stdout.read())
        finally:
            proc.stdout.close()
            code = proc.wait()
        if code != 0:
            errors.seek(0)
            reason = errors.read().decode("utf-8", "replace").strip().splitlines()
            raise GitError(reason[-1] if reason else "git log failed")


def _parse_raw(out: bytes) -> Iterator[ChangedFile]:
    tokens = out.split(b"\0")
    commit, parents, author, date = "", [], None, None
    index = 0
    while index < len(tokens):
        token = tokens[index].lstrip(b"\n")
        index += 1
        if token.startswith(RECORD):
            commit = token[len(RECORD) :].decode("ascii")
            parents = tokens[index].decode("ascii").split() if index < len(tokens) else []
            author = tokens[index + 1].decode("utf-8", "replace") if index + 1 < len(tokens) else None
            date = tokens[index + 2].decode("ascii", "replace").strip() if index + 2 < len(tokens) else None
            index += 3
            continue
        if not token.startswith(b":"):
            continue
        colons = len(token) - len(token.lstrip(b":"))
        fields = token[colons:].split()
        # ":old new oldsha newsha STATUS" or, for a merge, "::m1 m2 new sha1 sha2 new STATUS"
        modes, oids, status = fields[: colons + 1], fields[colons + 1 : 2 * colons + 2], fields[-1]
        two_paths = colons == 1 and status[:1] in (b"R", b"C")
        path = tokens[index + (1 if two_paths else 0)] if index + (1 if two_paths else 0) < len(tokens) else b""
        index += 2 if two_paths else 1
        if status[:1] == b"D" or not path or len(oids) != colons + 1:
            continue
        if modes[-1] in (b"160000", b"120000"):  # a submodule or a symlink: no text of ours
            continue
        new = oids[-1].decode("ascii")
        olds = [o.decode("ascii") for o in oids[:-1]]
        pairs = [(p, None if set(o) == {"0"} else o) for p, o in zip(parents, olds)]
        yield ChangedFile(commit, decode_path(path), new, pairs, author, date)
