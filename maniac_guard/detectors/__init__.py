"""Detectors: one module per kind of detection, each registered once in
`DETECTORS` as a typed `Detector` that declares what the engine needs to
know about it (its rules, its byte hints, whether it needs a whole file,
whether its results may be cached, its precedence).

A detector module provides ``wants(source) -> bool`` (a cheap check on names
and bytes, run on every file) and ``detect(source) -> Iterable[Finding]``
(the real work, only where wanted). Modules import what is heavy (YAML, the
Python analyzer) inside ``detect``, so a scan that never needs it never pays for it
(the encoded-key detector's ``detect`` is its own module, encoded_hits.py).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

from maniac_guard.detectors import config_files, encoded, file_names, keys, permissions, python_code
from maniac_guard.findings import Finding
from maniac_guard.records import NamedTuple
from maniac_guard.sources import SourceFile


# A NamedTuple, not a frozen dataclass: as immutable, and built in a
# quarter of the time (~0.5 ms of every run's start).
class Detector(NamedTuple):
    name: str  # short and stable: it keys the detector cache
    rule_ids: frozenset[str]
    wants: Callable[[SourceFile], bool]
    detect: Callable[[SourceFile], Iterable[Finding]]
    # Byte regexes, one of which any text it can report on contains (plain
    # patterns: hyperscan must compile them, no lookarounds). A tree scan
    # searches every detector's hints in one native pass and asks only the
    # detectors it woke (prefilter.py); a history scan parses only commits
    # that match a hint. None: always asked, and every commit is parsed.
    hints: tuple[bytes, ...] | None = None
    # A parser needs the whole file: skipped on the added lines of a diff;
    # git entry points scan instead each changed file whose name ends with
    # one of `suffixes` (any case) whole, at its commit (changes.py).
    needs_whole_file: bool = False
    suffixes: tuple[str, ...] = ()
    # Slow enough that what it found in an unchanged file is remembered (detectorcache.py).
    cacheable: bool = False
    # When two detectors report the same key on the same line, the higher
    # precedence (the more specific rule) is kept; 0: never merged.
    precedence: int = 0
    # Judges the file's name, not its bytes: asked whatever the prefilter
    # found in them (its hints still let history parse the commits that name it).
    on_path: bool = False
    # Whether what it reports on a file depends on more than the file's path
    # and bytes (and the rules): a key declaration is judged under the policy
    # and on today's date. A clean archive is remembered (detectorcache.py)
    # only when this says no for each member. None: never.
    reads_more: Callable[[SourceFile], bool] | None = None


def _encoded_detect(source: SourceFile) -> Iterable[Finding]:
    """MG103/MG104: encoded.py holds the hints and `wants`; the decoding
    (encoded_hits.py, with its tables and classes) is imported for a first
    file a trigger woke the detector for."""
    from maniac_guard.detectors.encoded_hits import detect

    return detect(source)


DETECTORS: tuple[Detector, ...] = (
    Detector("keys", keys.RULE_IDS, keys.wants, keys.detect, hints=keys.HINTS, precedence=1),
    Detector("file_names", file_names.RULE_IDS, file_names.wants, file_names.detect, hints=(rb"mk[-%]",), on_path=True),
    Detector("config_files", config_files.RULE_IDS, config_files.wants, config_files.detect, hints=config_files.HINTS),
    Detector(
        "permissions",
        permissions.RULE_IDS,
        permissions.wants,
        permissions.detect,
        needs_whole_file=True,
        suffixes=(".yaml", ".yml"),
        reads_more=permissions.reads_more,
    ),
    Detector(
        "python_code",
        python_code.RULE_IDS,
        python_code.wants,
        python_code.detect,
        hints=python_code.HINTS,
        needs_whole_file=True,
        suffixes=(".py", ".pyi", ".ipynb"),
        cacheable=True,
        precedence=2,
    ),
    Detector("encoded", encoded.RULE_IDS, encoded.wants, _encoded_detect, hints=encoded.HINTS, precedence=1),
)

# Rules whose findings mask the encoded span of their key in the snippet
# (other rules see the decoded key and cannot): a merge keeps their snippet.
SPAN_MASKING_RULES = encoded.RULE_IDS

# rule id -> the precedence of the detector that reports it
RULE_PRECEDENCE: dict[str, int] = {rule: d.precedence for d in DETECTORS for rule in d.rule_ids}


def load_detectors(enabled: Collection[str] | None = None) -> list[Detector]:
    """Every registered detector, or those that can report one of `enabled`."""
    if enabled is None:
        return list(DETECTORS)
    return [detector for detector in DETECTORS if not detector.rule_ids.isdisjoint(enabled)]
