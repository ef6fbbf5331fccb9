"""Which rules run and which findings are kept: rule selection (--select /
--ignore, ruff-style prefixes) and inline suppression, each written once."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from maniac_guard.errors import EXIT_CLEAN, EXIT_FINDINGS, ConfigError
from maniac_guard.findings import Finding, Severity

if TYPE_CHECKING:
    from maniac_guard.config import Settings

# `maniac-guard: ignore` or `maniac-guard: ignore[MG101, MG2]` in a comment of any language.
IGNORE_RE = re.compile(r"maniac-guard:\s*ignore(?:\[([A-Za-z0-9_,\s]+)\])?")


def rule_matches(rule_id: str, selectors: Sequence[str]) -> bool:
    """ruff-style: `MG1` selects every 1xx rule, `MG101` just that rule."""
    return any(rule_id.startswith(s.strip().upper()) for s in selectors if s.strip())


def check_selectors(selectors: Sequence[str]) -> None:
    """Every selector names a rule. Loads the catalog even with none: a broken
    rules folder must stop a run (exit 2), not let it report clean."""
    from maniac_guard.catalog import load_rules

    ids = load_rules()
    for selector in selectors:
        if not any(rule_id.startswith(selector.strip().upper()) for rule_id in ids):
            raise ConfigError(f"unknown rule selector '{selector}' (see `maniac-guard rules`)")


def select_findings(findings: list[Finding], settings: Settings) -> list[Finding]:
    kept = findings
    if settings.select:
        kept = [f for f in kept if rule_matches(f.rule_id, settings.select)]
    if settings.ignore:
        kept = [f for f in kept if not rule_matches(f.rule_id, settings.ignore)]
    return kept


def enabled_rules(settings: Settings) -> frozenset[str] | None:
    """The rules --select/--ignore leave on, or None when all are. None left
    on is an error (exit 2): a scan that checks nothing must not say clean."""
    if not settings.select and not settings.ignore:
        return None
    from maniac_guard.catalog import load_rules

    enabled = frozenset(
        rule_id
        for rule_id in load_rules()
        if (not settings.select or rule_matches(rule_id, settings.select))
        and not rule_matches(rule_id, settings.ignore)
    )
    if not enabled:
        raise ConfigError(f"{_where_selected(settings)} switch every rule off; nothing would be scanned")
    return enabled


def _where_selected(settings: Settings) -> str:
    """`--select MG4 --ignore MG4`, or the config file that set them."""
    parts = []
    for key in ("select", "ignore"):
        values = getattr(settings, key)
        if not values:
            continue
        flag = "--ignore" if key == "ignore" else "--select"
        if key in settings.overrides:
            parts.append(f"{flag} {','.join(values)}")
        else:
            parts.append(f"{settings.config_path or 'config'}: {key} = {list(values)}")
    return " and ".join(parts)


def suppressed_on_line(line: str, rule_id: str) -> bool:
    """An inline `maniac-guard: ignore` (all rules) or `ignore[...]` naming this rule."""
    match = IGNORE_RE.search(line)
    if match is None:
        return False
    if match.group(1) is None:
        return True
    return rule_id in {part.strip().upper() for part in match.group(1).split(",")}


def exit_code(findings: Sequence[Finding], fail_on: Severity) -> int:
    return EXIT_FINDINGS if any(f.severity >= fail_on for f in findings) else EXIT_CLEAN
