"""`maniac-guard rules` and `maniac-guard explain RULE`."""

from __future__ import annotations

from maniac_guard.catalog import load_rules, rules_table
from maniac_guard.errors import EXIT_CLEAN, UsageError


def list_rules(markdown: bool, catalog_json: bool = False) -> int:
    if catalog_json:
        from maniac_guard.catalog import rules_dir, seed_text

        print(seed_text(rules_dir()), end="")
        return EXIT_CLEAN
    if markdown:
        print(rules_table(load_rules()))
        return EXIT_CLEAN
    for rule in load_rules().values():
        print(f"{rule.id}  {rule.severity.label:<8}  fix:{rule.fix:<6}  {rule.name}: {rule.summary}")
    return EXIT_CLEAN


def explain(rule_id: str) -> int:
    rule = load_rules().get(rule_id.strip().upper())
    if rule is None:
        raise UsageError(f"unknown rule '{rule_id}' (see `maniac-guard rules`)")
    print(rule.render_doc(), end="")
    return EXIT_CLEAN
