"""One native pass over a file's bytes for every detector's hints.

A detector may declare hints (``Detector.hints``): byte regexes, one of which any text it can
report on contains. On a big tree almost no file matches any of them, so the
question "which detectors can this file wake?" is most of the scan's CPU.
Python's `re` answers it one hint at a time at ~1.5 GB/s; hyperscan (a native
multi-pattern matcher) answers it for all hints at once, about eight times
faster on the benchmark tree.

Hyperscan is a dependency where it has wheels; anywhere its import or its
compile fails, `Prefilter.build` returns None and every detector's `wants`
does its own `re` searches, with the same results, only slower.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from maniac_guard.debuglog import debug

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (records.py)
if TYPE_CHECKING:
    from typing import Any

    from maniac_guard.detectors import Detector


def hints_of(detector: Detector) -> tuple[bytes, ...] | None:
    """The detector's hints, or None when it has none (it must always be asked)."""
    return detector.hints


MATCHES_MAX = 256  # hint matches in one file before the prefilter asks every detector


class Prefilter:
    """Which of `detectors` a file's bytes can wake, by their indexes."""

    def __init__(
        self,
        hyperscan: Any,
        database: Any,
        owners: list[int],
        always: frozenset[int],
        detectors: int,
        hints: dict[bytes, int] | None = None,
    ) -> None:
        self._hyperscan = hyperscan  # kept: woken() runs once per file
        self._database = database
        self._detectors = range(detectors)
        self._owners = owners  # hint id -> detector index
        self._always = always  # detectors without hints
        self._hints = hints or {}  # each hint -> its detector's index (may_match)
        self._scratch: Any = None

    @classmethod
    def build(cls, detectors: Sequence[Detector]) -> Prefilter | None:
        patterns: list[bytes] = []
        owners: list[int] = []
        always: set[int] = set()
        for index, detector in enumerate(detectors):
            hints = hints_of(detector)
            if hints is None:
                always.add(index)
                continue
            # One alternation per detector: only which detector matched
            # counts, and hyperscan compiles the keys' 13 hints ~6x faster
            # as one expression (7 ms against 45 ms on a cold cache), the
            # scan as fast.
            patterns.append(b"|".join(b"(?:" + hint + b")" for hint in hints))
            owners.append(index)
        if not patterns:
            return None
        try:
            import hyperscan
        except ImportError:
            return None
        database = _load_or_compile(hyperscan, patterns, flags=0)
        if database is None:
            return None
        hinted = {hint: index for index, detector in enumerate(detectors) for hint in hints_of(detector) or ()}
        return cls(hyperscan, database, owners, frozenset(always), len(detectors), hinted)

    def woken(self, data: bytes) -> set[int]:
        hyperscan = self._hyperscan
        if self._scratch is None:  # made in the first process that scans
            self._scratch = hyperscan.Scratch(self._database)
        woken = set(self._always)
        owners = self._owners
        everyone = len(self._detectors)
        matches = 0

        # Every match is reported (no SINGLEMATCH: it made the cold compile
        # ~10 ms slower, before the fork); the scan stops once every detector
        # is woken, or after MATCHES_MAX matches (a file of keys, one per
        # line), which asks every detector: never fewer than SINGLEMATCH would.
        def on_match(hint: int, start: int, end: int, flags: int, context: object) -> bool:
            nonlocal matches
            woken.add(owners[hint])
            matches += 1
            return matches >= MATCHES_MAX or len(woken) == everyone

        if data:
            try:
                self._database.scan(data, match_event_handler=on_match, scratch=self._scratch)
            except hyperscan.error:  # stopped, or failed: never lose a finding to the prefilter, ask everyone
                return set(self._detectors)
        return woken

    def may_match(self, woken: set[int], pattern: bytes) -> bool:
        """Whether bytes that woke `woken` may match the regex `pattern`:
        False only when it is one of a detector's hints and that detector was
        not woken (the pass found none of its hints)."""
        index = self._hints.get(pattern)
        return index is None or index in woken


class PendingPrefilter:
    """`Prefilter.build` on a thread, started while the tree is still being
    walked: hyperscan compiles without holding the GIL, so a cold compile
    (~7 ms) overlaps the walk instead of following it."""

    def __init__(self, detectors: Sequence[Detector]) -> None:
        import threading

        self._built: Prefilter | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._build, args=(list(detectors),), daemon=True)
        self._thread.start()

    def _build(self, detectors: list[Detector]) -> None:
        try:
            self._built = Prefilter.build(detectors)
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            self._error = exc

    def ready(self) -> bool:
        return not self._thread.is_alive()

    def result(self) -> Prefilter | None:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._built


def any_match(patterns: Sequence[bytes], family: str = "anymatch-") -> Callable[[bytes], bool] | None:
    """A test of whether bytes hold any of `patterns`, in one native pass
    that stops at the first match; None where hyperscan is missing or cannot
    express them (the caller then searches with `re`). `family`: the cache
    files' name prefix; a run that needs two sets gives each its own (one
    family keeps one file, so two sets would recompile each other's away)."""
    try:
        import hyperscan
    except ImportError:
        return None
    database = _load_or_compile(hyperscan, [b"|".join(b"(?:" + p + b")" for p in patterns)], family=family)
    if database is None:
        return None
    scratch = hyperscan.Scratch(database)

    def stop(*_: object) -> bool:
        return True  # the first match answers the question

    def matches(data: bytes) -> bool:
        try:
            database.scan(data, match_event_handler=stop, scratch=scratch)
        except (hyperscan.ScanTerminated, hyperscan.error):  # a match, or an error: never lose a finding
            return True
        return False

    return matches


def _load_or_compile(
    hyperscan: Any, patterns: list[bytes], family: str = "prefilter-", flags: int | None = None
) -> Any:
    """The compiled hints: from the cache folder when this hyperscan compiled
    these hints before (loading takes microseconds, compiling ~7 ms)."""
    # BLAKE2b from _blake2 and the folder as a string: hashlib (OpenSSL)
    # and pathlib cost ~3 and ~4 ms of imports that nothing else here needs.
    from maniac_guard.cachefiles import blake2b, cache_folder, read_cached, store_cached

    flag = hyperscan.HS_FLAG_SINGLEMATCH if flags is None else flags  # SINGLEMATCH: whether, not where
    parts = [hyperscan.__version__.encode(), *patterns] + ([] if flags is None else [b"flags=%d" % flag])
    name = blake2b(b"\0".join(parts), digest_size=16).hexdigest()
    folder = cache_folder()
    # One file per family: storing one deletes the family's others (old versions).
    path = None if folder is None else os.path.join(folder, f"{family}{name}.hsdb")
    if path is not None and (stored := read_cached(path)):
        try:
            loaded = hyperscan.loadb(stored, hyperscan.HS_MODE_BLOCK)
            # A database built for another CPU (a shared home folder) may
            # load and then refuse to scan: find out here, not mid-scan.
            loaded.scan(b"mk-", scratch=hyperscan.Scratch(loaded))
            return loaded
        except hyperscan.error:
            debug(__name__, "%s: damaged or built elsewhere; compiling the hints again", path)
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    try:
        database.compile(
            expressions=patterns,
            ids=list(range(len(patterns))),
            elements=len(patterns),
            flags=[flag] * len(patterns),
        )
    except hyperscan.error as exc:  # a hint hyperscan cannot express
        debug(__name__, "hyperscan cannot compile the detector hints (%s); using re", exc)
        return None
    if path is not None:
        store_cached(path, hyperscan.dumpb(database), family)
    return database


def match_ends(
    groups: Sequence[Sequence[bytes]], family: str
) -> Callable[[bytes], list[tuple[int, int]] | None] | None:
    """Every place one of `groups`' patterns matches in some bytes, as
    (group index, end offset) pairs, in one native pass (`scan --history`
    marks the commits of a whole run of git's output at once). The scan
    gives None when it fails (the caller then assumes a match everywhere);
    this function gives None where hyperscan is missing or cannot express
    the patterns. `family`: the cache files' name prefix (`any_match`)."""
    try:
        import hyperscan
    except ImportError:
        return None
    expressions = [b"|".join(b"(?:" + p + b")" for p in group) for group in groups if group]
    database = _load_or_compile(hyperscan, expressions, family=family, flags=0)
    if database is None:
        return None
    scratch = hyperscan.Scratch(database)
    numbers = [index for index, group in enumerate(groups) if group]

    def ends(data: bytes) -> list[tuple[int, int]] | None:
        found: list[tuple[int, int]] = []

        def on_match(expression: int, start: int, end: int, flags: int, context: object) -> None:
            found.append((numbers[expression], end))

        try:
            database.scan(data, match_event_handler=on_match, scratch=scratch)
        except hyperscan.error:
            return None
        return found

    return ends
