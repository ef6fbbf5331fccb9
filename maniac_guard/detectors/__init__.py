"""Detectors: one module per kind. Each module exposes

- ``RULE_IDS``: the rules it can report;
- ``wants(source) -> bool``: a cheap check (names, substrings) run on every file;
- ``detect(source) -> Iterable[Finding]``: the real work, only where wanted;
- ``NEEDS_WHOLE_FILE = True`` (optional): skip it on fragments, such as the
  added lines of a history diff, which a parser cannot make sense of;
- ``HINTS`` (optional): byte regexes, one of which any text it can report on
  contains (plain patterns: hyperscan must compile them, no lookarounds). A
  tree scan searches every detector's hints in one native pass and asks only
  the detectors it woke (see prefilter.py); a history scan parses only
  commits that match a hint of some detector. A detector without hints is
  always asked, and makes a history scan parse every commit.

Detector modules import heavy libraries (libcst, yaml) inside ``detect`` so a
scan that never needs them never pays for them.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection, Iterable
from types import ModuleType
from typing import Protocol

from maniac_guard.findings import Finding
from maniac_guard.sources import SourceFile

# Order matters only for readability; merging picks the most specific rule.
DETECTOR_MODULES = (
    "maniac_guard.detectors.keys",
    "maniac_guard.detectors.config_files",
    "maniac_guard.detectors.permissions",
    "maniac_guard.detectors.python_code",
)


class Detector(Protocol):
    RULE_IDS: frozenset[str]

    def wants(self, source: SourceFile) -> bool: ...

    def detect(self, source: SourceFile) -> Iterable[Finding]: ...


def load_detectors(enabled: Collection[str] | None = None) -> list[ModuleType]:
    """Every registered detector, or those that can report one of `enabled`."""
    modules = [importlib.import_module(name) for name in DETECTOR_MODULES]
    if enabled is None:
        return modules
    return [module for module in modules if not module.RULE_IDS.isdisjoint(enabled)]
