"""Every rule's VALID and INVALID examples become tests (Fixit's pattern)."""

from __future__ import annotations

from pathlib import Path

import pytest

from maniac_guard.catalog import Example, Rule, load_rules
from maniac_guard.detectors import load_detectors
from maniac_guard.engine import scan_source
from maniac_guard.sources import SourceFile

RULES = load_rules()
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Some examples (MG412/MG413) name code by a path relative to the repo."""
    monkeypatch.chdir(ROOT)


def _cases(kind: str) -> list[tuple[Rule, Example]]:
    return [(rule, ex) for rule in RULES.values() for ex in getattr(rule, kind)]


def _ids(cases: list[tuple[Rule, Example]]) -> list[str]:
    return [f"{rule.id}-{i}-{ex.path}" for i, (rule, ex) in enumerate(cases)]


def _lines_of(rule: Rule, example: Example) -> list[int]:
    source = SourceFile(example.path, example.text.encode("utf-8"))
    return sorted(f.line for f in scan_source(source, load_detectors()) if f.rule_id == rule.id)


INVALID = _cases("invalid")
VALID = _cases("valid")


@pytest.mark.parametrize(("rule", "example"), INVALID, ids=_ids(INVALID))
def test_invalid_example_is_flagged(rule: Rule, example: Example) -> None:
    lines = _lines_of(rule, example)
    assert lines, f"{rule.id} did not flag:\n{example.text}"
    if example.lines:
        assert lines == sorted(example.lines)


@pytest.mark.parametrize(("rule", "example"), VALID, ids=_ids(VALID))
def test_valid_example_is_not_flagged(rule: Rule, example: Example) -> None:
    assert _lines_of(rule, example) == []


def test_every_rule_has_examples_and_full_doc() -> None:
    for rule in RULES.values():
        assert rule.invalid and rule.valid, f"{rule.id} needs VALID and INVALID examples"
        for section in ("what", "why", "example", "instead", "fix_safety"):
            assert rule.doc.get(section, "").strip(), f"{rule.id} lacks doc section {section}"
