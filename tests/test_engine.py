"""The engine's promises around detectors: merging and failure isolation."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

from maniac_guard.detectors import keys
from maniac_guard.engine import scan_source
from maniac_guard.findings import Finding
from maniac_guard.sources import SourceFile
from tests.helpers import fake_key


def _too_deep(source: SourceFile) -> Iterator[Finding]:
    raise RecursionError
    yield  # pragma: no cover


def test_a_detector_out_of_its_depth_does_not_cost_the_others_their_findings() -> None:
    deep = ModuleType("maniac_guard.detectors.deep")
    deep.wants = lambda source: True  # type: ignore[attr-defined]
    deep.detect = _too_deep  # type: ignore[attr-defined]
    source = SourceFile("a.txt", f"k={fake_key('deep-engine')}\n".encode())
    assert [f.rule_id for f in scan_source(source, [deep, keys])] == ["MG101"]
    assert source.notes == ["a.txt: too deeply nested for deep; other rules still ran"]
