"""Key-permission declarations (MG401-MG414): YAML files named
maniac-keys.yaml / .yml (or *.maniac-keys.yaml), or YAML holding a
`permissions:` list of Maniac scopes or a `keys:` list of entries with
`permissions`. The work is in maniac_guard.permissions, imported only for
files that pass `wants`."""

from __future__ import annotations

from collections.abc import Iterable

from maniac_guard.findings import Finding
from maniac_guard.sources import SourceFile

RULE_IDS = frozenset(f"MG4{n:02d}" for n in range(1, 15))
_NAMES = ("maniac-keys.yaml", "maniac-keys.yml")
_SUFFIXES = (".yaml", ".yml", ".YAML", ".YML")


def wants(source: SourceFile) -> bool:
    name = source.name
    if name.endswith(_NAMES):
        return True
    return name.endswith(_SUFFIXES) and b"permissions" in source.data


def reads_more(source: SourceFile) -> bool:
    """Whether its verdict on this file depends on more than the file: a
    key declaration is judged under the policy, on today's date; a YAML file
    that is not one (a CI workflow's `permissions:`) only by its bytes."""
    if not wants(source):
        return False
    from maniac_guard.permissions.declarations import named_declaration, parse

    named = named_declaration(source.name)
    return named or parse(source.path, source.text, len(source.data), named)[0] is not None


def detect(source: SourceFile) -> Iterable[Finding]:
    from maniac_guard.permissions.check import check_source

    return check_source(source)
