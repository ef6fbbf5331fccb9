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
import subprocess
from collections.abc import Callable, Iterator, Sequence

from maniac_guard.records import dataclass, field
from maniac_guard.sources.gitblobs import BlobReader
from maniac_guard.sources.gitcore import GitError, decode_path, diff_header_path, git_command
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


MODULE_SUFFIXES = b".py"  # what an import can name (a .pyi stub changes no value)


@dataclass
class ChangedModules:
    """The Python modules one commit added or modified."""

    commit: str
    parents: list[str]
    author: str | None = None
    date: str | None = None
    paths: list[str] = field(default_factory=list)
    headers: list[bytes] = field(default_factory=list)  # diff headers, decoded only when needed

    def all_paths(self) -> list[str]:
        decoded = (_diff_path(header) for header in self.headers)
        return [*self.paths, *(path for path in decoded if path is not None)]

    def names(self) -> set[str]:
        """The names an import spells for these modules (module_names, read
        from the diff headers without decoding them: a quoted name is skipped)."""
        names = set(module_names(self.paths))
        for header in self.headers:
            folder, _, base = header.rpartition(b"/")
            base = base.rpartition(b" ")[2]  # `diff --cc x.py`
            if base == b"__init__.py":
                base = folder.rpartition(b"/")[2] + b".py"
            name = base[:-3].decode("ascii", "replace")
            if name.isidentifier():
                names.add(name)
        return names


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
        quiet_hints: Sequence[bytes] = (),
        quiet_suffixes: Sequence[str] = (),
    ) -> None:
        self.suffixes = tuple(x.lower().encode() for x in suffixes)
        self.wants = wants
        # quiet(block): suffixes of the files no part of this commit's text
        # can make `wants` true for (one pass over the commit instead of a
        # decode and a test per file). The same test as data: a text without
        # any of `quiet_hints` makes `quiet_suffixes` unwanted (the history
        # stream tests a whole run of commits in one pass).
        self.quiet = quiet
        self.quiet_hints = tuple(quiet_hints)
        self._quiet_suffixes = tuple(x.lower().encode() for x in quiet_suffixes)
        self.limit = limit
        self.clean: set[str] = set()  # versions known to fail the test
        self.changes: list[ChangedFile] = []
        self.read = 0  # versions read to decide
        # Every commit's changed Python modules, wanted or not: a module
        # without any hint (settings.py's KEY) can still change what a file
        # that imports it gives (changes.py re-analyses those importers).
        self.modules: dict[str, ChangedModules] = {}

    def wanted_path(self, path: str) -> bool:
        return path.encode("utf-8", "surrogateescape").lower().endswith(self.suffixes)

    def block_is_clean(self, block: bytes, loud: bool | None = None) -> bool:
        """For a commit the parser would skip: True when none of its files
        needs a look (their new versions are then known clean); False when
        it must be parsed. `loud`: whether the commit's text holds one of
        `quiet_hints` (or a NUL), if the caller knows; else `quiet` asks."""
        news = []
        if loud is not None:
            quiet = () if loud else self._quiet_suffixes
        elif self.quiet is not None:
            # The files' texts, without the commit's record line (its fields
            # are NUL-separated, which `quiet` would take for UTF-16 text).
            diffs = block[max(0, block.find(b"\ndiff --")) :]
            quiet = tuple(x.lower().encode() for x in self.quiet(diffs))
        else:
            quiet = ()
        modules: list[bytes] = []
        for name, olds, new, text in _file_diffs(block):
            lowered = name.lower()
            if not lowered.endswith(self.suffixes):
                continue
            if new is None:
                continue
            if lowered.endswith(MODULE_SUFFIXES):
                modules.append(name)
            if any(o is not None and o not in self.clean for o in olds):
                return False
            if not (quiet and lowered.endswith(quiet)) and self.wants(name.decode("utf-8", "surrogateescape"), text):
                return False
            news.append(new)
        self.clean.update(news)
        if modules:
            self._note_modules(block, modules)
        return True

    def _note_modules(self, block: bytes, headers: list[bytes]) -> None:
        """The changed modules of a commit the parser skips (its record line:
        NUL, sha, author, date, parents)."""
        fields = block[: block.find(b"\n")].split(b"\0")
        if len(fields) < 5:
            return
        sha = fields[1].decode("ascii", "replace")
        parents = fields[4].decode("ascii", "replace").split()
        author, date = fields[2].decode("utf-8", "replace"), fields[3].decode("ascii", "replace")
        entry = self.modules.setdefault(sha, ChangedModules(sha, parents, author, date))
        entry.headers.extend(headers)

    def consider(self, commit: Commit, path: str, diff: FileDiff, added: bytes | None, reader: BlobReader) -> None:
        """One file of a parsed commit; `added`: its added lines (None: not known, e.g. binary to git)."""
        if diff.new_blob is None or commit.sha is None or not self.wanted_path(path):
            return
        if path.lower().endswith(MODULE_SUFFIXES.decode()):
            entry = self.modules.setdefault(
                commit.sha, ChangedModules(commit.sha, list(commit.parents), commit.author, commit.date)
            )
            entry.paths.append(path)
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


def _diff_path(name: bytes) -> str | None:
    """The new path of a diff header as _file_diffs gives it (its closing quote cut)."""
    found = diff_header_path(name + b'"' if b' "b/' in name or name.startswith(b'diff --git "') else name)
    return None if found is None else decode_path(found)


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


def module_names(paths: Sequence[str]) -> list[str]:
    """The names an import spells for these modules: `settings` for
    pkg/settings.py, `pkg` for pkg/__init__.py."""
    names: dict[str, None] = {}
    for path in paths:
        folder, base = posixpath.split(path)
        name = posixpath.basename(folder) if base == "__init__.py" else base.rpartition(".")[0]
        if name.isidentifier():
            names[name] = None
    return list(names)


def _naming_args(rev: str, names: Sequence[str], words: bool) -> list[str]:
    args = [*git_command(), "grep", "-l", "-z", "-F", "--full-name", "-w" if words else "-i"]
    if not rev:
        args.append("--cached")
    for name in names:
        args += ["-e", name]
    if rev:
        args.append(rev)
    return [*args, "--", "*.py"]


# `git grep`s started ahead of the `files_naming` call that reads them, by
# their arguments and folder (a commit's files do not change meanwhile).
_started: dict[tuple[str, tuple[str, ...]], subprocess.Popen[bytes]] = {}


def start_naming(root: str, rev: str, names: Sequence[str], words: bool = True) -> None:
    """Start the `git grep` of `files_naming(root, rev, names, words)` now
    (a commit, not the index), so that it runs beside other work; the call
    reads its answer. `stop_naming` stops those never read."""
    args = _naming_args(rev, names, words)
    if not rev or not names or (root, tuple(args)) in _started:
        return
    try:
        _started[(root, tuple(args))] = subprocess.Popen(
            args, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
    except OSError:
        pass  # files_naming runs it again, and says so if it fails


def stop_naming() -> None:
    while _started:
        proc = _started.popitem()[1]
        proc.kill()
        proc.communicate()


def files_naming(root: str, rev: str, names: Sequence[str], words: bool = True) -> list[str] | None:
    """The Python files of `rev` (a commit; "" for the index) that spell one
    of `names` (as a word; else anywhere, in any case), relative to the
    repository root (one `git grep`, in C; `start_naming` may have started
    it). None: git failed."""
    if not names:
        return []
    args = _naming_args(rev, names, words)
    started = _started.pop((root, tuple(args)), None)
    if started is not None:
        stdout, code = started.communicate()[0], started.returncode
    else:
        try:
            proc = subprocess.run(args, cwd=root, capture_output=True, check=False)
        except OSError:
            return None
        stdout, code = proc.stdout, proc.returncode
    if code == 1:  # no match
        return []
    if code != 0:
        return None
    found = []
    for raw in stdout.split(b"\0"):
        if raw:
            found.append(raw.decode("utf-8", "surrogateescape").removeprefix(f"{rev}:" if rev else ""))
    return found
