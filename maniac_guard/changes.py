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
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field

from maniac_guard.detectors import Detector, load_detectors
from maniac_guard.engine import scan_source
from maniac_guard.findings import Finding
from maniac_guard.inline import merge_duplicates
from maniac_guard.sources import SourceFile
from maniac_guard.sources.files import Excluder, to_source
from maniac_guard.sources.gitblobs import BlobReader, read_many
from maniac_guard.sources.gitproject import ChangedFile, CommitReader, WholeFileTracker

Identity = tuple[str, str]


def whole_file_detectors(enabled: Collection[str] | None) -> list[Detector]:
    """The detectors that the added lines of a diff cannot feed."""
    return [d for d in load_detectors(enabled) if d.needs_whole_file and d.suffixes]


def identity(finding: Finding) -> Identity:
    what = finding.secret.digest if finding.secret is not None else finding.subject
    return finding.rule_id, what


def suppressed_inline(source: SourceFile, detectors: Sequence[Detector]) -> list[Finding]:
    """What `maniac-guard: ignore` comments hide in this file (for a diff's
    added lines: what the change's own comments hide). Only files that hold
    the marker pay: their detectors run a second time."""
    if b"maniac-guard" not in source.data:
        return []
    import dataclasses

    hidden: list[Finding] = []
    scan_source(dataclasses.replace(source, notes=[]), detectors, suppressed=hidden)  # the first run said its notes
    return hidden


def marked_lines(source: SourceFile) -> set[int]:
    """The real line numbers of a diff's added lines that hold a suppression marker."""
    if b"maniac-guard" not in source.data:
        return set()
    return {source.real_line(i) for i, line in enumerate(source.text.splitlines(), 1) if "maniac-guard" in line}


@dataclass
class WholeFiles:
    findings: list[Finding] = field(default_factory=list)
    # Findings hidden by an inline suppression on a line the commit added.
    suppressed: list[Finding] = field(default_factory=list)
    files: int = 0  # versions scanned whole (commits' and parents')
    messages: list[str] = field(default_factory=list)
    timed_out: bool = False


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


class _Versions:
    """Scans of one file at one commit, the findings kept only where there are some."""

    def __init__(
        self,
        blobs: BlobReader,
        detectors: Sequence[Detector],
        max_size: int,
        out: WholeFiles,
        marked: dict[tuple[str, str], set[int]] | None = None,
    ) -> None:
        self.marked = marked
        self.blobs = blobs
        self.detectors = detectors
        self.max_size = max_size
        self.out = out
        self.found: dict[tuple[str, str], set[Identity]] = {}
        self.noted: set[str] = set()

    def scan(self, source: SourceFile) -> list[Finding]:
        wanted = [d for d in self.detectors if d.wants(source)]
        if not wanted:
            return []
        self.out.files += 1
        found = scan_source(source, wanted)
        if source.notes and source.path not in self.noted:  # once per path, not once per version
            self.noted.add(source.path)
            commit = (source.commit or "")[:12]
            self.out.messages.extend(f"{note} (at {commit})" if commit else note for note in source.notes)
        return found

    def at_commit(self, change: ChangedFile, data: bytes) -> list[Finding]:
        project = CommitReader(self.blobs, change.commit, self.max_size)
        source = whole_file_source(
            change.path, data, project, commit=change.commit, author=change.author, date=change.date
        )
        found = self.scan(source) if source is not None else []
        if found:
            self.found[(change.commit, change.path)] = {identity(f) for f in found}
        lines = self.marked.get((change.commit, change.path)) if self.marked is not None else None
        if lines and source is not None:
            wanted = [d for d in self.detectors if d.wants(source)]
            self.out.suppressed.extend(f for f in suppressed_inline(source, wanted) if f.line in lines)
        return found

    def before(self, change: ChangedFile) -> set[Identity]:
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
            source = whole_file_source(change.path, data, CommitReader(self.blobs, parent, self.max_size))
            if source is not None:
                known |= {identity(f) for f in self.scan(source)}
        return known


def tracker(detectors: Sequence[Detector], max_size: int) -> WholeFileTracker:
    """What the history parser needs to pick the changed files these detectors must see."""

    def wants(path: str, data: bytes) -> bool:
        source = to_source(path, data)[0]  # UTF-16 decoded, as a scan reads it; None: binary
        return source is not None and any(d.wants(source) for d in detectors if path.lower().endswith(d.suffixes))

    return WholeFileTracker([x for d in detectors for x in d.suffixes], wants, max_size, _quiet_suffixes(detectors))


def _quiet_suffixes(detectors: Sequence[Detector]) -> Callable[[bytes], Sequence[str]] | None:
    """For the tracker: a commit's text without any hint of the detectors
    that have hints (and without NUL bytes, so no file of it is read as
    UTF-16) leaves their files unwanted: `python_code.wants` is true only
    where its hints match (its gate is its hints), and a file's text is part
    of the commit's. Detectors without hints (key permissions) are asked per
    file as before."""
    from maniac_guard.prefilter import any_match

    hinted = [d for d in detectors if d.hints is not None]
    asked = {x.lower() for d in detectors if d.hints is None for x in d.suffixes}
    suffixes = tuple(x for d in hinted for x in d.suffixes if x.lower() not in asked)
    matches = any_match([hint for d in hinted for hint in d.hints or ()]) if suffixes else None
    if matches is None:  # no hyperscan: one `re` alternation per commit would cost more than it saves
        return None

    def quiet(block: bytes) -> Sequence[str]:
        return () if b"\0" in block or matches(block) else suffixes

    return quiet


def added_by_commits(
    root: str,
    changes: Sequence[ChangedFile],
    detectors: Sequence[Detector],
    *,
    max_size: int,
    keep: Callable[[ChangedFile], bool] = lambda change: True,
    expired: Callable[[], bool] = lambda: False,
    marked: dict[tuple[str, str], set[int]] | None = None,
) -> WholeFiles:
    """What the commits added, as the whole-file `detectors` see each of
    `changes` (the files the tracker picked; `keep` filters them: excluded
    paths). Stops between two files once `expired()` says so
    (`timed_out`). `marked`: per (commit, path), the added lines holding a
    suppression comment; the findings those hide are listed in `suppressed`
    (None: not looked for)."""
    out = WholeFiles()
    changes = [change for change in changes if keep(change)]
    if not changes:
        return out
    with BlobReader(root) as blobs:
        versions = _Versions(blobs, detectors, max_size, out, marked)
        for change, (_, data) in zip(changes, read_many(root, [c.blob for c in changes], max_size)):
            if expired():
                out.timed_out = True
                break
            if data is None:  # over the size limit: its added lines were sized by the patch reader
                continue
            found = versions.at_commit(change, data)
            if not found:
                continue
            before = versions.before(change)
            out.findings.extend(f for f in found if identity(f) not in before)
    return out


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
