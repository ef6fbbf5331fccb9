"""Whole-file scans of the versions a range of commits changed (changes.py),
spread over this process and forked helpers.

On a repository whose Python names the SDK, analysing each changed version
is nearly all of `scan --history` (its own history: ~0.05 s a version, ~600
versions), and one core waited. The versions are independent, so they are
scanned in small parts (forkshare.run_shared), each process with its own git
reader; the parts' results are merged in order, so the verdict, the notes
and their order are those of a scan in one process.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence

from maniac_guard import records
from maniac_guard.detectorcache import DetectorCache, Learnt
from maniac_guard.detectors import Detector
from maniac_guard.engine import scan_source
from maniac_guard.findings import Finding
from maniac_guard.records import dataclass, field
from maniac_guard.sources import SourceFile
from maniac_guard.sources.files import to_source
from maniac_guard.sources.gitblobs import BlobReader
from maniac_guard.sources.gitcore import GitError
from maniac_guard.sources.gitproject import ChangedFile, CommitReader

Identity = tuple[str, str]
Key = tuple[str, str, str]  # a changed version: (commit, path, blob)
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # what an import can spell (changes._Importers)
# Fewer changed versions are scanned here: a helper (fork, its own git
# readers) costs ~10 ms, more than a few small files' analyses.
SHARED_FROM = 16
# Versions per part: an analysis takes from 1 ms to 0.3 s, so parts stay
# small and whichever process is free takes the next.
PART = 4
# Seconds of one analysis ahead of the parser past which no more are done
# ahead: git's 1 MiB pipe fills in ~10 ms, then git waits.
SLOW_STEP, SLOW_STEPS = 0.02, 3


@dataclass
class WholeFiles:
    findings: list[Finding] = field(default_factory=list)
    # Findings hidden by an inline suppression on a line the commit added.
    suppressed: list[Finding] = field(default_factory=list)
    files: int = 0  # distinct versions (path, bytes) scanned whole, commits' and parents'
    messages: list[str] = field(default_factory=list)
    timed_out: bool = False


@dataclass
class Prepared:
    """A version's analysis at its commit (`Versions.prepare`)."""

    wanted: bool  # a detector wanted it
    found: list[Finding]
    notes: list[str]
    digest: int  # hash of its bytes (`Versions.analysed`)


def key(change: ChangedFile) -> Key:
    return change.commit, change.path, change.blob


def identity(finding: Finding) -> Identity:
    what = finding.secret.digest if finding.secret is not None else finding.subject
    return finding.rule_id, what


def suppressed_inline(source: SourceFile, detectors: Sequence[Detector]) -> list[Finding]:
    """What `maniac-guard: ignore` comments hide in this file (for a diff's
    added lines: what the change's own comments hide). Only files that hold
    the marker pay: their detectors run a second time."""
    if b"maniac-guard" not in source.data:
        return []
    hidden: list[Finding] = []
    scan_source(records.replace(source, notes=[]), detectors, suppressed=hidden)  # the first run said its notes
    return hidden


def whole_file_source(
    path: str,
    data: bytes,
    project: CommitReader,
    *,
    commit: str | None = None,
    author: str | None = None,
    date: str | None = None,
) -> SourceFile | None:
    source, _, _ = to_source(path, data)
    if source is None:
        return None
    source.commit, source.author, source.date, source.project = commit, author, date, project
    return source


def commit_reader(blobs: BlobReader, rev: str, max_size: int, prefix: str) -> CommitReader:
    """The project at `rev` ("" : the index), paths relative to `prefix`."""
    return CommitReader(blobs, rev, max_size, prefix=prefix, key=rev or "index")


class Versions:
    """Scans of one file at one commit, the findings kept only where there are some."""

    def __init__(
        self,
        blobs: BlobReader,
        detectors: Sequence[Detector],
        max_size: int,
        out: WholeFiles,
        marked: dict[tuple[str, str], set[int]] | None = None,
        cache: DetectorCache | None = None,
    ) -> None:
        self.marked = marked
        self.blobs = blobs
        # What `scan .` keeps between runs (python_code's results per path,
        # bytes and the bytes of what it read): a version seen by an
        # earlier history scan is not analysed again.
        self.cache = cache
        self.learnt = Learnt()
        self.detectors = detectors
        self.max_size = max_size
        self.out = out
        self.found: dict[tuple[str, str], set[Identity]] = {}
        self.analysed: set[tuple[str, int]] = set()  # (path, hash of the bytes)
        self.noted: set[str] = set()
        # Versions at their commit analysed ahead (`prepare`), by `key`; and
        # what `changes._Importers.know` needs of each (NAME's words).
        self.prepared: dict[Key, Prepared] = {}
        self.words: dict[Key, set[str] | None] = {}

    def _analyse(self, source: SourceFile) -> tuple[bool, list[Finding]]:
        """(whether a detector wants the file, what they found)."""
        wanted = [d for d in self.detectors if d.wants(source)]
        if not wanted:
            return False, []
        learnt = len(self.learnt.clean), len(self.learnt.found)
        found = scan_source(source, wanted, self.cache, self.learnt)
        if self.cache is not None:  # the same version again (another commit, a parent) is looked up
            self.cache.remember(self.learnt, *learnt)
        return True, found

    def prepare(self, change: ChangedFile) -> None:
        """Analyse `change`'s version at its commit now (the history parser
        waiting for git); `at_commit` takes the result as it would have
        computed it: same source, same detectors, the cache's lookups."""
        try:
            data = self.blobs.read(change.blob, self.max_size)[1]
        except GitError:
            return  # at_commit's own read says what failed
        if data is None:
            return
        source = self._source(change, data, "")
        if source is None:
            self.words[key(change)] = None
            return
        wanted, found = self._analyse(source)
        self.prepared[key(change)] = Prepared(wanted, found, source.notes, hash(source.data))
        self.words[key(change)] = set(NAME.findall(source.text)) if wanted else None

    def ready(self, change: ChangedFile) -> bool:
        """Whether `at_commit` can take `change` without its bytes: analysed
        ahead, and no suppression comment added in it to look at."""
        if key(change) not in self.prepared:
            return False
        return not (self.marked and self.marked.get((change.commit, change.path)))

    def scan(self, source: SourceFile) -> list[Finding]:
        wanted, found = self._analyse(source)
        return self._keep(source.path, source.commit, Prepared(wanted, found, source.notes, hash(source.data)))

    def _keep(self, path: str, commit: str | None, done: Prepared) -> list[Finding]:
        """What a version's analysis leaves: its path and bytes analysed, its notes once per path."""
        if not done.wanted:
            return []
        self.analysed.add((path, done.digest))
        if done.notes and path not in self.noted:  # once per path, not once per version
            self.noted.add(path)
            at = (commit or "")[:12]
            self.out.messages.extend(f"{note} (at {at})" if at else note for note in done.notes)
        return done.found

    def _source(self, change: ChangedFile, data: bytes, prefix: str) -> SourceFile | None:
        project = commit_reader(self.blobs, change.commit, self.max_size, prefix)
        return whole_file_source(
            change.path, data, project, commit=change.commit, author=change.author, date=change.date
        )

    def at_commit(self, change: ChangedFile, data: bytes | None, prefix: str = "") -> list[Finding]:
        """What the detectors find in `change`'s version; `data` None: it is
        `ready` (analysed ahead, not read again)."""
        ahead = self.prepared.pop(key(change), None) if not prefix else None
        if data is None and ahead is None:  # not ready after all: read it
            data = self.blobs.read(change.blob, self.max_size)[1]
            if data is None:
                return []
        source = self._source(change, data, prefix) if data is not None else None
        if ahead is not None:
            found = self._keep(change.path, change.commit, ahead)
        else:
            found = self.scan(source) if source is not None else []
        if found:
            self.found[(change.commit, change.path)] = {identity(f) for f in found}
        lines = self.marked.get((change.commit, change.path)) if self.marked is not None else None
        if lines and source is not None:
            wanted = [d for d in self.detectors if d.wants(source)]
            self.out.suppressed.extend(f for f in suppressed_inline(source, wanted) if f.line in lines)
        return found

    def before(self, change: ChangedFile, prefix: str = "") -> set[Identity]:
        """What the parents' versions of the file give (the union over parents)."""
        known: set[Identity] = set()
        for parent, blob in change.parents:
            if blob is None:
                continue
            if (parent, change.path) in self.found:
                known |= self.found[(parent, change.path)]
                continue
            data = self.blobs.read(blob, self.max_size)[1]
            if data is None:  # too big now as then: the key patterns judged it
                continue
            source = whole_file_source(change.path, data, commit_reader(self.blobs, parent, self.max_size, prefix))
            if source is not None:
                known |= {identity(f) for f in self.scan(source)}
        return known

    def added(self, change: ChangedFile, data: bytes | None, prefix: str = "") -> list[Finding]:
        """What the change added to the file, as these detectors see it
        (its parents read only when it has findings)."""
        found = self.at_commit(change, data, prefix)
        if not found:
            return []
        before = self.before(change, prefix)
        return [f for f in found if identity(f) not in before]


class Ahead:
    """The changed versions the tracker picks (`changes`, growing as the
    history stream is parsed), analysed one at a time while the parser
    waits for git (`step`, its pipe empty): on pallets/click ~100 ms of
    whole-file analyses came after git ended, while the parser had waited
    ~250 ms for it. `make` builds the `Versions` that `added_by_commits`
    then takes over (`versions`). SLOW_STEPS analyses longer than
    SLOW_STEP (git stops at its full pipe meanwhile; a detector's first
    analysis imports its modules) end the steps: the rest is left to
    `scan_changed`, which shares it with helpers."""

    def __init__(
        self,
        make: Callable[[], Versions],
        changes: Sequence[ChangedFile],
        keep: Callable[[ChangedFile], bool],
        expired: Callable[[], bool],
    ) -> None:
        self.make, self.changes, self.keep, self.expired = make, changes, keep, expired
        self.versions: Versions | None = None
        self.at = 0
        self.slow = 0

    def step(self) -> bool:
        """Analyse the next picked version; False when there is none (or no more are wanted)."""
        if self.slow >= SLOW_STEPS or self.at >= len(self.changes) or self.expired():
            return False
        import time

        started = time.perf_counter()
        change = self.changes[self.at]
        self.at += 1
        if self.versions is None:
            self.versions = self.make()
        if self.keep(change):
            self.versions.prepare(change)
        self.slow += time.perf_counter() - started > SLOW_STEP
        return True


@dataclass
class _Part:
    """What one part of the versions gave, and what its process learnt for the cache."""

    out: WholeFiles
    notes: list[tuple[str, list[str]]]  # per path noted in this part: its notes
    analysed: set[tuple[str, int]]
    clean: list[bytes] = field(default_factory=list)
    found: list[tuple[bytes, str]] = field(default_factory=list)


def scan_changed(
    root: str,
    changes: Sequence[ChangedFile],
    versions: Versions,
    read: Callable[[BlobReader, Sequence[ChangedFile]], Iterable[bytes | None]],
    helpers: int,
    expired: Callable[[], bool],
) -> None:
    """`versions.added` for each change (its bytes as `read` gives them: None,
    too big), into `versions.out`, shared with up to `helpers` forked
    processes when there are enough."""
    left = sum(1 for c in changes if key(c) not in versions.prepared)
    if helpers < 1 or left < SHARED_FROM:  # (the analyses done ahead are taken here, in order)
        _scan_part(changes, read(versions.blobs, changes), versions, expired)
        return
    from maniac_guard.forkshare import run_shared

    home = os.getpid()
    here = versions
    parts = [changes[start : start + PART] for start in range(0, len(changes), PART)]

    def work(part: Sequence[ChangedFile]) -> _Part:
        nonlocal here
        if os.getpid() != home and here is versions:  # a helper: the git readers it inherited are not its own
            here = Versions(BlobReader(root), versions.detectors, versions.max_size, WholeFiles(), versions.marked)
            here.cache, here.prepared = versions.cache, versions.prepared
        here.out, here.noted, here.analysed = WholeFiles(), set(), set()
        learnt = len(here.learnt.clean), len(here.learnt.found)
        notes = _scan_part(part, read(here.blobs, part), here, expired)
        helper = here is not versions
        clean, found = (here.learnt.clean[learnt[0] :], here.learnt.found[learnt[1] :]) if helper else ([], [])
        return _Part(here.out, notes, here.analysed, clean, found)

    out, noted, analysed = versions.out, set(versions.noted), set(versions.analysed)
    for part in run_shared(parts, work, helpers):
        out.findings += part.out.findings
        out.suppressed += part.out.suppressed
        out.timed_out = out.timed_out or part.out.timed_out
        analysed |= part.analysed
        for path, messages in part.notes:  # once per path, the first in commit order, as in one process
            if path not in noted:
                noted.add(path)
                out.messages += messages
        clean, found = len(versions.learnt.clean), len(versions.learnt.found)
        versions.learnt.clean += part.clean
        versions.learnt.found += part.found
        if versions.cache is not None:
            versions.cache.remember(versions.learnt, clean, found)
    versions.out, versions.noted, versions.analysed = out, noted, analysed


def _scan_part(
    changes: Sequence[ChangedFile], data: Iterable[bytes | None], versions: Versions, expired: Callable[[], bool]
) -> list[tuple[str, list[str]]]:
    """What each change added, into `versions.out`; returns the notes each path gave."""
    notes: list[tuple[str, list[str]]] = []
    for change, bytes_ in zip(changes, data):
        if expired():
            versions.out.timed_out = True
            break
        if bytes_ is None and not versions.ready(change):  # over the size limit: its added lines were sized
            continue
        said = len(versions.out.messages)
        versions.out.findings.extend(versions.added(change, bytes_))
        if len(versions.out.messages) > said:
            notes.append((change.path, versions.out.messages[said:]))
    return notes
