"""What the history parser needs to pick the changed files the whole-file
detectors must see (`sources.gitproject.WholeFileTracker`), built from the
detectors: their test on one file, and the one-pass test of a commit's text
that leaves their files unwanted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from maniac_guard.sources.files import to_source
from maniac_guard.sources.gitproject import WholeFileTracker

if TYPE_CHECKING:
    from maniac_guard.detectors import Detector


def tracker(detectors: Sequence[Detector], max_size: int) -> WholeFileTracker:
    """What the history parser needs to pick the changed files these detectors must see."""

    def wants(path: str, data: bytes) -> bool:
        source = to_source(path, data)[0]  # UTF-16 decoded, as a scan reads it; None: binary
        return source is not None and any(d.wants(source) for d in detectors if path.lower().endswith(d.suffixes))

    hints, suffixes = _quiet_hints(detectors)
    quiet = _quiet_suffixes(hints, suffixes) if suffixes else None
    return WholeFileTracker(
        [x for d in detectors for x in d.suffixes], wants, max_size, quiet, quiet_hints=hints, quiet_suffixes=suffixes
    )


def _quiet_hints(detectors: Sequence[Detector]) -> tuple[list[bytes], tuple[str, ...]]:
    """For the tracker: a commit's text without any hint of the detectors
    that have hints (and without NUL bytes, so no file of it is read as
    UTF-16) leaves their files unwanted: `python_code.wants` is true only
    where its hints match (its gate is its hints), and a file's text is part
    of the commit's. Detectors without hints (key permissions) are asked per
    file as before. (The hints, and the suffixes they leave unwanted.)"""
    hinted = [d for d in detectors if d.hints is not None]
    asked = {x.lower() for d in detectors if d.hints is None for x in d.suffixes}
    suffixes = tuple(x for d in hinted for x in d.suffixes if x.lower() not in asked)
    return [hint for d in hinted for hint in d.hints or ()], suffixes


def _quiet_suffixes(hints: Sequence[bytes], suffixes: tuple[str, ...]) -> Callable[[bytes], Sequence[str]]:
    """`_quiet_hints` as a test of one commit's text, compiled when first
    asked (the history stream tests whole runs with its own pass instead)."""
    from maniac_guard.prefilter import any_match

    built: list[Callable[[bytes], bool] | None] = []

    def quiet(block: bytes) -> Sequence[str]:
        if not built:
            built.append(any_match(hints))
        matches = built[0]
        if matches is None:  # no hyperscan: one `re` alternation per commit would cost more than it saves
            return ()
        return () if b"\0" in block or matches(block) else suffixes

    return quiet
