"""Key-permission declarations (MG401-MG414): YAML files named
maniac-keys.yaml / .yml, or YAML holding a `permissions:` list of Maniac
scopes or a `keys:` list of entries with `permissions`."""

from __future__ import annotations

from collections.abc import Iterable

from maniac_guard.findings import Finding
from maniac_guard.sources import SourceFile

RULE_IDS = frozenset(f"MG4{n:02d}" for n in range(1, 15))


def wants(source: SourceFile) -> bool:
    from maniac_guard.permissions.declarations import maybe_declaration

    return maybe_declaration(source.name, source.data)


def detect(source: SourceFile) -> Iterable[Finding]:
    from maniac_guard.permissions.check import check_source

    return check_source(source)
