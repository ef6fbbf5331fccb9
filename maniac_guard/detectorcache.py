"""The detector cache: what a slow detector found in an unchanged file.

The Python rules parse each file the byte hints select (`ast`), screen it
and analyze the few that pass, which costs more per file than the key
patterns, so cacheable detectors (Detector.cacheable) remember their result per
(detector, path, file bytes):

- "nothing here": a 16-byte keyed hash in `clean-<version>.bin`;
- the findings, in `found-<version>.json`, without their secrets: each
  secret is stored as the byte offset and length where it stands in the
  file, and read back from the file's own bytes (same hash, same bytes). A
  file whose secret is not written out literally in it (a key built from
  pieces) is analyzed again on every scan instead;
- the one note a result may keep (the Python analysis's work limit), beside
  it, printed again when the result is reused. A result with any other note
  is not cached;
- an archive on disk with nothing to report (no finding, note or problem in
  any member, and no member the key-permission checks read, whose verdict
  also depends on the policy and the date): how many members it scanned and
  skipped, keyed by its bytes, so an unchanged wheel is not inflated again.

The version changes with the package's code, Python and rules, so an upgrade
or an edit starts afresh; the files are safe to delete, and
`MANIAC_GUARD_CACHE_DIR=` turns the cache off.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection

from maniac_guard.cachefiles import blake2b, cache_folder, read_cached, store_cached
from maniac_guard.findings import Finding, Location, Secret
from maniac_guard.records import dataclass, field
from maniac_guard.sources import SourceFile

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (records.py)
if TYPE_CHECKING:
    from typing import Any

# Each depends only on the file's path and bytes.
CLEAN_CACHE_MAX = 200_000  # entries (16 bytes each)
FOUND_CACHE_MAX = 20_000  # files with findings


def freeze(findings: list[Finding], data: bytes, path: str | None = None) -> str | None:
    """A secret-free JSON form of one file's findings; None if some secret
    cannot be found again in `data`, a finding is in another file than
    `path`, or something does not fit JSON."""
    items = []
    for finding in findings:
        if path is not None and finding.location.path != path:
            return None
        secret_at = None
        if finding.secret is not None:
            raw = finding.secret.reveal().encode("utf-8", "surrogatepass")
            at = data.find(raw)
            if at < 0:
                return None
            secret_at = [at, len(raw)]
        loc = finding.location
        items.append(
            {
                "rule_id": finding.rule_id,
                "message": finding.message,
                "at": [loc.line, loc.column, loc.end_line, loc.end_column],
                "secret_at": secret_at,
                "subject": finding.subject,
                "snippet": finding.snippet,
                "fixable": finding.fixable,
                "extra": finding.extra,
                "flow": [list(step) for step in finding.flow],
            }
        )
    try:
        return json.dumps(items, ensure_ascii=False)
    except (TypeError, ValueError):
        return None


class _Shape(Exception):
    """A cached entry that is not what this version writes: analyze again."""


def _ints(value: Any, count: int) -> list[int]:
    if not isinstance(value, list) or len(value) != count:
        raise _Shape
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in value):
        raise _Shape
    return value


def _optional_str(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise _Shape
    return value


def thaw(frozen: str, source: SourceFile) -> list[Finding]:
    """The findings `freeze` wrote, every field's type checked (raises _Shape)."""
    from maniac_guard.catalog import load_rules

    rules = load_rules()
    items = json.loads(frozen)
    if not isinstance(items, list) or not items:  # `freeze` never writes an empty list
        raise _Shape
    findings = []
    for item in items:
        if not isinstance(item, dict) or item.get("rule_id") not in rules:
            raise _Shape
        secret = None
        if item.get("secret_at") is not None:
            at, length = _ints(item["secret_at"], 2)
            if at + length > len(source.data) or length < 1:
                raise _Shape
            secret = Secret(source.data[at : at + length].decode("utf-8", "surrogatepass"))
        message, subject, snippet = (item.get(k) for k in ("message", "subject", "snippet"))
        if not (isinstance(message, str) and isinstance(subject, str) and isinstance(snippet, str)):
            raise _Shape
        fixable = _optional_str(item.get("fixable"))
        if fixable not in (None, "safe", "unsafe") or not isinstance(item.get("extra"), dict):
            raise _Shape
        line, column, end_line, end_column = _ints(item.get("at"), 4)
        flow = _flow(item.get("flow", []))
        findings.append(
            Finding(
                rule_id=item["rule_id"],
                severity=rules[item["rule_id"]].severity,
                message=message,
                location=Location(source.path, line, column, end_line, end_column),
                secret=secret,
                subject=subject,
                snippet=snippet,
                fixable=fixable,
                extra=item["extra"],
                flow=flow,
                # A version in history: its commit, not kept (the same bytes may come in several).
                commit=source.commit,
                author=source.author,
                date=source.date,
            )
        )
    return findings


def _notes(frozen: str | None) -> list[str] | None:
    """The notes kept with a result ([]: none), None when damaged."""
    if frozen is None:
        return []
    try:
        notes = json.loads(frozen)
    except ValueError:
        return None
    if not isinstance(notes, list) or not all(isinstance(n, str) and keeps(n) for n in notes):
        return None
    return notes


def _flow(value: Any) -> tuple[tuple[str, int, int, str], ...]:
    if not isinstance(value, list):
        raise _Shape
    steps = []
    for step in value:
        if not isinstance(step, list) or len(step) != 4:
            raise _Shape
        path, line, column, label = step
        if not (isinstance(path, str) and isinstance(label, str)):
            raise _Shape
        _ints([line, column], 2)
        steps.append((path, line, column, label))
    return tuple(steps)


def with_reads(entry: bytes, reads: dict[str, str | None]) -> bytes:
    """The entry of a result that also depends on other files (path → hash of
    their bytes, None: absent): a change to any of them is another entry."""
    digest = blake2b(entry, digest_size=16)
    for path in sorted(reads):
        digest.update(f"\0{path}\0{reads[path] or '-'}".encode("utf-8", "surrogateescape"))
    return digest.digest()


def keeps(note: str) -> bool:
    """Whether a detector's note can be cached with its result: the Python
    analysis's work limit depends only on the file and what it read, so a
    warm run prints it again instead of redoing the analysis."""
    from maniac_guard.detectors.python_code import WORK_LIMIT  # asked only when a file gave a note

    return note.endswith(f": {WORK_LIMIT}")


def _notes_key(entry: bytes) -> str:
    """Where the notes of an entry's result are kept (beside the findings)."""
    return "02" + entry.hex()


def _archive_key(entry: bytes) -> str:
    """Where what a clean archive counted is kept (beside the findings)."""
    return "03" + entry.hex()


def _deps_key(entry: bytes) -> str:
    """Where the list of files an entry's result read is kept (beside the findings)."""
    return "01" + entry.hex()


def content_hash(data: bytes) -> str:
    """As the Python analysis hashes what it reads (python/modules.py)."""
    return blake2b(data, digest_size=16).hexdigest()


@dataclass
class Learnt:
    """What a scan learnt for the cache: clean files, and frozen findings."""

    clean: list[bytes] = field(default_factory=list)
    found: list[tuple[bytes, str]] = field(default_factory=list)
    # Archives scanned without being remembered because the cache was unused
    # (DetectorCache.remembers_archives): saving then marks it used.
    archives_passed: int = 0

    def add(
        self,
        entry: bytes,
        findings: list[Finding],
        data: bytes,
        source: SourceFile | None = None,
        notes: list[str] | None = None,
    ) -> None:
        """Remember a result, and the notes it gave (`keeps`). When it read
        other files (`source.reads`), their list is kept under the plain
        entry and the result under one that holds their hashes; findings in
        another file are not kept."""
        path = None
        if source is not None and source.reads:
            self.found.append((bytes.fromhex(_deps_key(entry)), json.dumps(sorted(source.reads))))
            entry = with_reads(entry, source.reads)
            path = source.path
        frozen = freeze(findings, data, path) if findings else None
        if findings and frozen is None:
            return
        if notes:
            self.found.append((bytes.fromhex(_notes_key(entry)), json.dumps(notes, ensure_ascii=False)))
        if frozen is None:
            self.clean.append(entry)
        else:
            self.found.append((entry, frozen))

    def add_archive(self, entry: bytes, files: int, skipped: dict[str, int]) -> None:
        """Remember an archive with nothing to report: its counts only."""
        self.found.append((bytes.fromhex(_archive_key(entry)), json.dumps([files, skipped])))


class DetectorCache:
    """Results of cacheable detectors, keyed by hashes of (detector, path, bytes).

    Opening costs nothing; the files are read when a file first needs a
    cached detector, so a pre-commit run that never does pays nothing, and
    one that does (a Python file calling the SDK) skips the Python analysis
    when that file has not changed since the last run."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._loaded = False
        self.key = b""
        self.clean: set[bytes] = set()
        self.found: dict[str, str] = {}  # entry (hex) -> frozen findings
        self.used = False  # a scan of this version has saved to it
        # What this run learnt and will save (`remember`): looked up as the
        # saved entries are, so a history scan does not analyse one version
        # (same path, bytes, and bytes of what it read) twice in one run.
        self._recent_clean: set[bytes] = set()
        self._recent_found: dict[str, str] = {}

    @classmethod
    def open(cls) -> DetectorCache | None:
        folder = cache_folder()  # a string: opening needs no pathlib
        return None if folder is None else cls(folder)

    def load(self) -> DetectorCache:
        """Read the cache files now (before forking helpers that share them)."""
        if not self._loaded:
            self._loaded = True
            self.key = _version()
            raw = read_cached(self._clean_path)
            if len(raw) % 16:  # not a list of 16-byte entries: not ours
                raw = b""
            self.clean = {raw[i : i + 16] for i in range(0, len(raw) - 15, 16)}
            stored = read_cached(self._found_path)
            self.used = bool(raw or stored)
            try:
                found = json.loads(stored or b"{}")
            except (ValueError, RecursionError):
                found = {}
            valid = isinstance(found, dict) and all(isinstance(v, str) for v in found.values())
            self.found = found if valid else {}
        return self

    @property
    def _clean_path(self) -> str:
        return os.path.join(self.folder, f"clean-{self.key.hex()[:16]}.bin")

    @property
    def _found_path(self) -> str:
        return os.path.join(self.folder, f"found-{self.key.hex()[:16]}.json")

    def entry(self, detector: str, source: SourceFile) -> bytes:
        digest = blake2b(key=self.load().key[:64], digest_size=16)
        digest.update(f"{detector}\0{source.path}\0".encode("utf-8", "surrogateescape"))
        digest.update(source.data)
        return digest.digest()

    def remembers_archives(self) -> bool:
        """Whether archives are looked up and remembered: not on a cache no
        scan has saved to yet (a CI runner's first run, a cold benchmark),
        where hashing each archive's bytes (~1 ms per MB) would be paid for
        nothing; such a scan marks it used (`save`), so the next one does."""
        return self.load().used

    def archive_entry(self, shown: str, data: bytes, enabled: Collection[str] | None, max_size: int) -> bytes:
        """The entry of an archive's bytes, as scanned with these rules and member size limit."""
        digest = blake2b(key=self.load().key[:64], digest_size=16)
        rules = "*" if enabled is None else ",".join(sorted(enabled))
        digest.update(f"archive\0{shown}\0{rules}\0{max_size}\0".encode("utf-8", "surrogateescape"))
        digest.update(data)
        return digest.digest()

    def archive_lookup(self, entry: bytes) -> tuple[int, dict[str, int]] | None:
        """(members scanned, members skipped by reason) of a clean archive
        seen before, or None."""
        frozen = self.load().found.get(_archive_key(entry))
        if frozen is None:
            return None
        try:
            files, skipped = json.loads(frozen)
        except (ValueError, TypeError):
            return None
        if not isinstance(files, int) or isinstance(files, bool) or files < 0 or not isinstance(skipped, dict):
            return None
        if not all(isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in skipped.items()):
            return None
        return files, skipped

    def remember(self, learnt: Learnt, clean_from: int, found_from: int) -> None:
        """Make what `learnt` gained since those lengths visible to `lookup`
        in this run (saving is still `save`'s)."""
        self._recent_clean.update(learnt.clean[clean_from:])
        self._recent_found.update((entry.hex(), frozen) for entry, frozen in learnt.found[found_from:])

    def _get(self, key: str) -> str | None:
        found = self.load().found.get(key)
        return found if found is not None else self._recent_found.get(key)

    def lookup(self, entry: bytes, source: SourceFile) -> list[Finding] | None:
        """The remembered findings (empty: clean), or None if not known. A
        result that read other files counts only while they hold the same bytes."""
        deps = self._get(_deps_key(entry))
        if deps is not None:
            current = self._with_current_reads(entry, deps, source)
            if current is None:
                return None
            entry = current
        found: list[Finding] | None = None
        if entry in self.clean or entry in self._recent_clean:
            found = []
        elif (frozen := self._get(entry.hex())) is not None:
            try:
                found = thaw(frozen, source)
            except (ValueError, RecursionError, _Shape):
                return None  # a damaged entry: analyze again
        if found is not None:
            notes = _notes(self._get(_notes_key(entry)))
            if notes is None:
                return None
            source.notes.extend(notes)
        return found

    def _with_current_reads(self, entry: bytes, deps: str, source: SourceFile) -> bytes | None:
        try:
            paths = json.loads(deps)
        except ValueError:
            return None
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths) or source.project is None:
            return None
        reads: dict[str, str | None] = {}
        for path in paths:
            data = source.project.read(path)
            reads[path] = None if data is None else content_hash(data)
        return with_reads(entry, reads)

    def save(self, clean: list[bytes], found: list[tuple[bytes, str]], mark: bool = False) -> None:
        """Old entries, then new ones, the newest kept; best effort. `mark`:
        write the findings file even with nothing new, so the next scan
        finds the cache used (remembers_archives)."""
        if not clean and not found and not mark:
            return
        self.load()
        if mark and not self.used and not found:
            store_cached(self._found_path, json.dumps(self.found).encode(), "found-")
        if not clean and not found:
            return
        fresh = [e for e in dict.fromkeys(clean) if e not in self.clean]
        new_found = {entry.hex(): frozen for entry, frozen in found if self.found.get(entry.hex()) != frozen}
        if fresh:
            stored = read_cached(self._clean_path)
            stored = stored if len(stored) % 16 == 0 else b""
            data = (stored + b"".join(fresh))[-16 * CLEAN_CACHE_MAX :]
            store_cached(self._clean_path, data, "clean-")
        if new_found:
            kept = dict(list({**self.found, **new_found}.items())[-FOUND_CACHE_MAX:])
            store_cached(
                self._found_path, json.dumps(kept, ensure_ascii=False).encode("utf-8", "surrogatepass"), "found-"
            )


def _version() -> bytes:
    """A hash of everything a cached result depends on besides the file."""
    import sys

    from maniac_guard import __version__
    from maniac_guard.catalog import rules_fingerprint

    version = blake2b(f"detector-cache-v2\0{__version__}\0{sys.version}".encode(), digest_size=32)
    package = os.path.dirname(os.path.abspath(__file__))
    # Walked as it goes (sorted(os.walk()) would list every __pycache__ first: ~1 ms of a hook).
    for current, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                info = os.stat(os.path.join(current, name))
                version.update(f"{current[len(package) :]}/{name}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
    version.update(rules_fingerprint())  # the rules' bytes: no YAML parse on a hook's path
    return version.digest()
