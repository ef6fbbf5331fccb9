"""Each rule is declared once (its YAML file under rules/) and each detector
once (maniac_guard.detectors.DETECTORS); these tests keep everything that
repeats a rule's facts in agreement with those declarations."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from maniac_guard.catalog import load_rules, rules_dir, rules_table
from maniac_guard.detectors import DETECTORS

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "maniac_guard"
RULE_ID = re.compile(r"\bMG\d{3}\b")
# Where rule ids may be written in code, and which detector owns them there.
OWNERS = {
    "detectors/keys.py": "keys",
    "detectors/config_files.py": "config_files",
    "detectors/permissions.py": "permissions",
    "detectors/python_code.py": "python_code",
    "python/": "python_code",
    "permissions/": "permissions",
    "fix/": "python_code",
}


def test_every_rule_file_is_named_after_its_id() -> None:
    for rule_id in load_rules():
        assert (rules_dir() / f"{rule_id}.yaml").is_file(), rule_id


def test_every_rule_belongs_to_exactly_one_detector() -> None:
    rules = set(load_rules())
    claimed: dict[str, str] = {}
    for detector in DETECTORS:
        for rule_id in detector.rule_ids:
            assert rule_id in rules, f"{detector.name} declares {rule_id}, which has no rule file"
            assert rule_id not in claimed, f"{rule_id} is declared by {claimed[rule_id]} and {detector.name}"
            claimed[rule_id] = detector.name
    assert set(claimed) == rules, f"rules no detector reports: {sorted(rules - set(claimed))}"


def test_rule_ids_written_in_code_exist_and_belong_to_the_detector_that_writes_them() -> None:
    rules = load_rules()
    owner_of = {rule_id: d.name for d in DETECTORS for rule_id in d.rule_ids}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        owner = next((name for prefix, name in OWNERS.items() if relative.startswith(prefix)), None)
        text = path.read_text(encoding="utf-8")
        for rule_id in set(RULE_ID.findall(text)):  # comments and docs too
            assert rule_id in rules, f"{relative} names {rule_id}, which is not a rule"
        if owner is None:
            continue
        literals = {
            n.value for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Constant) and isinstance(n.value, str)
        }
        for rule_id in (value for value in literals if RULE_ID.fullmatch(value)):
            assert owner_of[rule_id] == owner, f"{relative} reports {rule_id}, a rule of {owner_of[rule_id]}"


def test_the_rules_table_in_the_docs_is_generated_from_the_rules() -> None:
    page = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert rules_table(load_rules()) in page, "docs/rules.md is stale: paste `maniac-guard rules --markdown` into it"


@pytest.mark.parametrize("page", sorted((ROOT / "docs").glob("*.md")), ids=lambda p: p.name)
def test_every_rule_row_in_the_docs_agrees_with_the_rule(page: Path) -> None:
    """Hand-written tables that name a rule's severity or fix safety say what the rule file says."""
    rules = load_rules()
    severities = {"critical", "high", "medium", "low", "info"}
    for line in page.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        ids = [cell for cell in cells if RULE_ID.fullmatch(cell)]
        if len(ids) != 1:
            continue
        rule = rules[ids[0]]
        for cell in cells:
            if cell in severities:
                assert cell == rule.severity.label, f"{page.name}: {line}"
            if cell in ("safe", "unsafe"):
                assert cell == rule.fix, f"{page.name}: {line}"


def test_the_shipped_catalog_is_the_parse_of_the_rule_files() -> None:
    """rules/catalog.json spares a cold start PyYAML; it must be what the
    YAML says (used only when its digest matches the YAML bytes anyway)."""
    from maniac_guard.catalog import SEED_NAME, seed_text

    shipped = (rules_dir() / SEED_NAME).read_text(encoding="utf-8")
    assert shipped == seed_text(rules_dir()), (
        "rules/catalog.json is stale: maniac-guard rules --catalog-json > rules/catalog.json"
    )
