"""What commits added, as detectors that need a whole file see it (the Python
analysis, key-permission declarations): the one path by which `scan
--history`, `ci`, `pre-push` and `pre-receive` reach them.

The added lines of a diff are enough for the key patterns, not for a parser:
`PREFIX + "body"` or a literal that reaches `Maniac(api_key=…)` three lines
later is only visible in the whole file. So each file a commit changed that
such a detector wants is scanned as it is at that commit — its imports read
from that same commit (`CommitReader`) — by the same `scan_source` as `scan
.` (same rules, severities, merging, inline suppressions, masked secrets).

A finding is what the commit ADDED when the file's version in the commit's
parent (for a merge: in every parent) does not give the same (rule, key) —
or, for a finding without a key, the same rule and code. So a commit that
only moves a line adds nothing, and one that passes an old literal to the
SDK adds the SDK finding. The parent is parsed only when the commit's
version has a finding.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Collection, Iterable, Sequence

from maniac_guard import records
from maniac_guard.detectorcache import DetectorCache
from maniac_guard.detectors import Detector, load_detectors
from maniac_guard.detectors.python_callers import CALLER, is_caller, wrappers_at
from maniac_guard.findings import Finding
from maniac_guard.inline import merge_duplicates
from maniac_guard.sources import SourceFile
from maniac_guard.sources.files import Excluder, to_source
from maniac_guard.sources.gitblobs import BlobReader, ObjectInfo, read_many
from maniac_guard.sources.gitproject import (
    ChangedFile,
    ChangedModules,
    files_naming,
)
from maniac_guard.versions import (
    NAME,
    Versions,
    WholeFiles,
    commit_reader,
    key,
    scan_changed,
    whole_file_source,
)

MAX_IMPORTER_SCANS = 256  # files analysed again, in all, because a module they import changed
MAX_IMPORTERS = 32  # files analysed again per commit for the modules it changed
MAX_CALLER_CHECKS = 256  # changed .py files read for a call of a wrapper of the SDK in another module
CALLERS_LEFT_OUT = (
    f"more than {MAX_CALLER_CHECKS} changed Python files may call a wrapper of the SDK defined in another "
    "module: the others were not checked (scan a shorter range)"
)
# What the Python detector's hints hold, as words git grep finds (a superset: -i).
HINT_WORDS = ("maniac", "mk-", "--api-key")


def whole_file_detectors(enabled: Collection[str] | None) -> list[Detector]:
    """The detectors that the added lines of a diff cannot feed."""
    return [d for d in load_detectors(enabled) if d.needs_whole_file and d.suffixes]


def marked_lines(source: SourceFile) -> set[int]:
    """The real line numbers of a diff's added lines that hold a suppression marker."""
    if b"maniac-guard" not in source.data:
        return set()
    return {source.real_line(i) for i, line in enumerate(source.text.splitlines(), 1) if "maniac-guard" in line}


def added_by_commits(
    root: str,
    changes: Sequence[ChangedFile],
    detectors: Sequence[Detector],
    *,
    max_size: int,
    keep: Callable[[ChangedFile], bool] = lambda change: True,
    expired: Callable[[], bool] = lambda: False,
    marked: dict[tuple[str, str], set[int]] | None = None,
    modules: Sequence[ChangedModules] = (),
    boundaries: Sequence[str] = (),
    blobs: BlobReader | None = None,
    helpers: int = 0,
    ahead: Versions | None = None,
) -> WholeFiles:
    """What the commits added, as the whole-file `detectors` see each of
    `changes` (the files the tracker picked; `keep` filters them: excluded
    paths). Stops between two files once `expired()` says so
    (`timed_out`). `marked`: per (commit, path), the added lines holding a
    suppression comment; the findings those hide are listed in `suppressed`
    (None: not looked for). `modules`: each commit's changed Python
    modules, whose importers the commit did not change are analysed again
    at that commit too (a new KEY in settings.py reaching client.py's SDK);
    `boundaries`: the parents of the range's commits outside it, whose
    files are the importers the range did not change. `blobs`: the
    caller's reader of objects (else one of its own); `helpers`: forked
    processes that may share the analyses (versions.py); `ahead`: the
    `Versions` (over `blobs`, these detectors and `marked`) that analysed
    some of `changes` while the history was read (`versions.Ahead`)."""
    from contextlib import nullcontext

    out = WholeFiles()
    changes = [change for change in changes if keep(change)]
    if not changes and not modules:
        return out
    with nullcontext(blobs) if blobs is not None else BlobReader(root) as reader:
        versions = ahead or Versions(reader, detectors, max_size, out, marked, DetectorCache.open())
        versions.out = out

        def read(blobs: BlobReader, some: Sequence[ChangedFile]) -> Iterable[bytes | None]:
            """Their bytes; None for those analysed ahead (`Versions.ready`)."""
            ready = [versions.ready(c) for c in some]
            unread = [c.blob for c, done in zip(some, ready) if not done]
            got = (data for _, data in _read(blobs, root, unread, max_size))
            return (None if done else next(got) for done in ready)

        scan_changed(root, changes, versions, read, helpers, expired)
        callers = Versions(reader, [CALLER], max_size, out)
        if any(d.name == "python_code" for d in detectors):
            _scan_callers(root, changes, modules, callers, keep, out)
        importers = _Importers(root, versions, keep, expired)
        if modules:
            importers.know_changes(changes)
            for rev in boundaries:
                importers.know_commit(rev)
        for entry in modules:
            if out.timed_out:
                break
            out.findings.extend(importers.added(entry.commit, entry.parents, entry, entry.author, entry.date))
        out.messages.extend(importers.notes())
        out.timed_out = out.timed_out or importers.timed_out
    out.files = len(versions.analysed) + len(callers.analysed)
    if versions.cache is not None:
        versions.cache.save(versions.learnt.clean, versions.learnt.found)
    return out


def added_to_index(
    root: str,
    paths: Sequence[str],
    detectors: Sequence[Detector],
    *,
    max_size: int,
    keep: Callable[[ChangedFile], bool] = lambda change: True,
    prefix: str = "",
) -> WholeFiles:
    """`scan --staged`: what the staged Python modules `paths` add through
    the files that import them and are not staged themselves, each analysed
    as the index has it and as HEAD has it (paths shown from `prefix`)."""
    out = WholeFiles()
    if not paths:
        return out
    with BlobReader(root) as blobs:
        importers = _Importers(root, Versions(blobs, detectors, max_size, out), keep, lambda: False)
        importers.know_commit("")
        out.findings.extend(
            importers.added("", ["HEAD"], ChangedModules("", ["HEAD"], paths=list(paths)), prefix=prefix)
        )
        out.messages.extend(importers.notes())
    return out


FEW_BLOBS = 64  # fewer are asked of the running reader, one by one, than of a new git process


def _read(
    blobs: BlobReader, root: str, oids: Sequence[str], max_size: int
) -> Iterable[tuple[ObjectInfo | None, bytes | None]]:
    """`read_many`, or for a few blobs the open reader (a git process
    started costs more than a few round trips: ~5 ms)."""
    if len(oids) <= FEW_BLOBS:
        return (blobs.read(oid, max_size) for oid in oids)
    return read_many(root, oids, max_size)


def _scan_callers(
    root: str,
    changes: Sequence[ChangedFile],
    modules: Sequence[ChangedModules],
    versions: Versions,
    keep: Callable[[ChangedFile], bool],
    out: WholeFiles,
) -> None:
    """What each commit added in the changed `.py` files the hints passed
    over that call a wrapper of the SDK in another module (`from app.clients
    import make_client`), each analysed at its commit as `scan .` does. The
    wrappers are those of the range's first and last commits (one `git grep`
    each): a changed file is read only if it is under the folder one of them
    can be imported from, and analysed only if it spells its names and
    imports it; MAX_CALLER_CHECKS files read, a note past it."""
    revs = {modules[0].commit, modules[-1].commit} if modules else set()
    wrappers = wrappers_at(root, versions.blobs, versions.max_size, revs)
    if not wrappers:
        return
    from maniac_guard.python.callers import may_call

    picked = {(change.commit, change.path) for change in changes}
    blobs, checked = versions.blobs, 0
    for entry in modules:
        for path in entry.all_paths():
            near = [
                (word, names) for folder, word, names in wrappers if path.startswith(folder) and path.endswith(".py")
            ]
            if not near or (entry.commit, path) in picked:
                continue
            if checked >= MAX_CALLER_CHECKS:
                out.messages.append(CALLERS_LEFT_OUT)
                return
            checked += 1
            found = blobs.info(f"{entry.commit}:{path}")
            data = blobs.read(found.oid, versions.max_size)[1] if found is not None and found.kind == "blob" else None
            if found is None or data is None or not any(may_call(data, word, names) for word, names in near):
                continue
            reader = commit_reader(blobs, entry.commit, versions.max_size, "")
            source = whole_file_source(path, data, reader, commit=entry.commit)
            olds = [(parent, _blob_at(blobs, parent, path)) for parent in entry.parents]
            change = ChangedFile(entry.commit, path, found.oid, olds, entry.author, entry.date)
            if source is not None and keep(change) and is_caller(source):
                out.findings.extend(versions.added(change, data))


def _blob_at(blobs: BlobReader, rev: str, path: str) -> str | None:
    return _oid(blobs.info(f"{rev}:{path}"))


def _oid(found: ObjectInfo | None) -> str | None:
    """A blob's id (None: absent, or not a blob)."""
    return found.oid if found is not None and found.kind == "blob" else None


class _Importers:
    """The files that import a commit's changed modules, unchanged by it,
    analysed again at that commit and in its parents: what the change of
    the modules added through them.

    Only a file the detectors want can give a finding, so the candidates are
    the wanted files: the versions the tracker picked in the range, and the
    files of each boundary commit (a parent outside the range) that hold a
    hint (one `git grep`). A candidate is looked at for a commit when one
    of its versions spells a changed module's name. Bounded: MAX_IMPORTERS
    files per commit and MAX_IMPORTER_SCANS in all; past either, a note
    says what was left out (never a silent pass)."""

    def __init__(
        self, root: str, versions: Versions, keep: Callable[[ChangedFile], bool], expired: Callable[[], bool]
    ) -> None:
        self.root = root
        self.versions = versions
        self.keep = keep
        self.expired = expired
        self.words: dict[str, set[str]] = {}  # candidate path → the names its versions spell
        self.scans = 0
        self.skipped_commits: list[str] = []
        self.cut: list[str] = []  # commits whose importers were more than MAX_IMPORTERS
        self.failed: list[str] = []
        self.timed_out = False

    def know(self, path: str, data: bytes) -> None:
        """A wanted version of `path`: what it may import."""
        source = to_source(path, data)[0]
        if source is not None and any(d.wants(source) for d in self.versions.detectors):
            self.words.setdefault(path, set()).update(NAME.findall(source.text))

    def know_changes(self, changes: Sequence[ChangedFile]) -> None:
        """The picked versions, in order: what `know` took of those analysed ahead, else their bytes."""
        blobs, ahead = self.versions.blobs, self.versions.words
        unread = [c.blob for c in changes if key(c) not in ahead]
        got = (data for _, data in _read(blobs, self.root, unread, self.versions.max_size))
        for change in changes:
            if key(change) not in ahead:
                data = next(got)
                if data is not None:
                    self.know(change.path, data)
            elif (words := ahead[key(change)]) is not None:
                self.words.setdefault(change.path, set()).update(words)

    def know_commit(self, rev: str) -> None:
        """The files of `rev` ("": the index) that hold a hint of the detectors."""
        found = files_naming(self.root, rev, HINT_WORDS, words=False)
        if found is None:
            self.failed.append(rev)
            return
        blobs = self.versions.blobs
        for path in found:
            data = blobs.read(f"{rev}:{path}", self.versions.max_size)[1]
            if data is not None:
                self.know(path, data)

    def added(
        self,
        commit: str,
        parents: Sequence[str],
        modules: ChangedModules,
        author: str | None = None,
        date: str | None = None,
        prefix: str = "",
    ) -> list[Finding]:
        """What `commit` ("" for the index) added through the unchanged importers of `modules`."""
        names = modules.names()
        candidates = [p for p, words in self.words.items() if words & names]
        if candidates:
            changed = set(modules.all_paths())
            candidates = [p for p in candidates if p not in changed]
        if not candidates:
            return []
        if self.scans + len(candidates) > MAX_IMPORTER_SCANS:
            self.skipped_commits.append(commit)
            return []
        if len(candidates) > MAX_IMPORTERS:
            self.cut.append(commit)
            candidates = candidates[:MAX_IMPORTERS]
        blobs = self.versions.blobs
        # Each candidate's blob at the commit and in its parents, asked at once.
        found = iter(blobs.infos([f"{rev}:{path}" for path in candidates for rev in (commit, *parents)]))
        out: list[Finding] = []
        for path in candidates:
            blob, *at_parents = (next(found) for _ in range(1 + len(parents)))
            if self.expired():
                self.timed_out = True
                break
            if blob is None or blob.kind != "blob":
                continue
            olds = [(parent, _oid(old)) for parent, old in zip(parents, at_parents)]
            change = ChangedFile(commit, path, blob.oid, olds, author, date)
            if not self.keep(change):
                continue
            if prefix:  # shown, and read, relative to the current folder (scan --staged)
                change = records.replace(change, path=posixpath.relpath(path, prefix))
            data = blobs.read(blob.oid, self.versions.max_size)[1]
            if data is None:
                continue
            self.scans += 1
            out.extend(self.versions.added(change, data, prefix))
        return out

    def notes(self) -> list[str]:
        notes = []
        if self.skipped_commits:
            notes.append(
                f"{len(self.skipped_commits)} commit(s) changed Python modules whose importers were not analysed "
                f"again: the limit of {MAX_IMPORTER_SCANS} such files was reached (scan a shorter range)"
            )
        for commit in self.cut:
            notes.append(
                f"at {commit[:12] or 'the index'}: more than {MAX_IMPORTERS} files may import the changed modules; "
                f"the first {MAX_IMPORTERS} were analysed again"
            )
        for commit in self.failed:
            notes.append(
                f"at {commit[:12] or 'the index'}: git grep failed; the files importing the changed modules "
                "were not analysed again"
            )
        return notes


def merge_by_file(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per (commit, file, line, key) where the added-lines scan and a
    whole-file scan both report a key: the more specific rule is kept (as
    `scan .` keeps MG201 over MG101 on the same line)."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        groups.setdefault((finding.commit or "", finding.path), []).append(finding)
    merged: list[Finding] = []
    for group in groups.values():
        merged.extend(merge_duplicates(group) if len(group) > 1 else group)
    return merged


def not_excluded(excluder: Excluder, root: str) -> Callable[[ChangedFile], bool]:
    """A `keep` for `added_by_commits`: the paths the settings do not exclude."""
    if not excluder:
        return lambda change: True
    return lambda change: not excluder.excluded(os.path.join(root, change.path))
