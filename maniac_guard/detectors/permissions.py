"""Key-permission declarations (MG401-MG414): YAML files named
maniac-keys.yaml / .yml (or *.maniac-keys.yaml), or YAML holding a
`permissions:` list of Maniac scopes or a `keys:` list of entries with
`permissions`. The work is in maniac_guard.permissions, imported only for
files that pass `wants`."""

from __future__ import annotations

import re
from collections.abc import Iterable

from maniac_guard.findings import Finding
from maniac_guard.sources import SourceFile

RULE_IDS = frozenset(f"MG4{n:02d}" for n in range(1, 15))
_NAMES = ("maniac-keys.yaml", "maniac-keys.yml")
_SUFFIXES = (".yaml", ".yml", ".YAML", ".YML")
# What a YAML file not named as a declaration holds, in its bytes, if it can
# be one (declarations.recognised) or an MG401 (a broken file naming a
# scope): a scope (`models:read`, `*:*`: a key character on each side of a
# colon), the scope `*` alone in its scalar (quoted, or a block scalar's
# line: a bare `*` is an alias), or the full form's `keys:`; with a `\` a
# double-quoted scalar may spell any of them in escapes. A GitHub
# workflow's `permissions:` mapping (`contents: read`) has none of them.
_SCOPE = re.compile(rb"[A-Za-z0-9_*-]:[A-Za-z0-9_*-]")
_LONE_STAR = re.compile(rb"(?:^|['\"])[ \t\r\n]*\*[ \t\r\n]*(?:$|['\"])", re.M)


def may_declare(data: bytes) -> bool:
    """False only for bytes that no YAML parse can make a key declaration or
    an MG401 of (not for a file named maniac-keys.yaml); the parse, and
    PyYAML's and the policy's imports (~20-30 ms in each scanning process),
    are left for the others."""
    return (
        b"keys" in data
        or b"\\" in data
        or _SCOPE.search(data) is not None
        or (b"*" in data and _LONE_STAR.search(data) is not None)
    )


def wants(source: SourceFile) -> bool:
    # Asked of every file (no hints): the path's end is its name's, without
    # building the name (a YAML suffix first, which most files fail).
    path = source.path
    if not path.endswith(_SUFFIXES):
        return False
    return path.endswith(_NAMES) or (b"permissions" in source.data and may_declare(source.data))


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
    from maniac_guard.permissions.declarations import named_declaration, parse

    # Parsed here first: a YAML file that is no declaration (a rule file's
    # examples, a workflow) needs neither the check's modules nor the policy's.
    parsed = parse(source.path, source.text, len(source.data), named_declaration(source.name))
    if parsed[0] is None and not parsed[1]:
        return []
    from maniac_guard.permissions.check import check_source

    return check_source(source, parsed=parsed)
