"""String building on constants, as the analyzer folds it: `str.format`,
`%` and `string.Template`, limited to fields that insert a whole string.

Every character of a result comes from a literal of the module (no format
spec, no conversion, no `%d`/`%c`, no attribute or index in a field), which
the screen (screen.py) relies on to prove a file cannot hold a key.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence

_FORMATTER = string.Formatter()
_PERCENT = re.compile(r"%(?:\((?P<name>[^)]*)\))?(?P<kind>.)", re.DOTALL)


def str_format(template: str, positional: Sequence[str], keywords: Mapping[str, str]) -> str | None:
    """`template.format(*positional, **keywords)` for plain fields; None otherwise."""
    pieces: list[str] = []
    auto = 0
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError:
        return None
    for text, field, spec, conversion in parsed:
        pieces.append(text)
        if field is None:
            continue
        if spec or conversion is not None:
            return None
        if field == "":
            index: int | str = auto
            auto += 1
        elif field.isdigit():
            index = int(field)
        elif field.isidentifier():
            index = field
        else:
            return None
        if isinstance(index, int):
            if index >= len(positional):
                return None
            pieces.append(positional[index])
        elif index in keywords:
            pieces.append(keywords[index])
        else:
            return None
    return "".join(pieces)


def percent_format(template: str, values: Sequence[str] | Mapping[str, str]) -> str | None:
    """`template % values` for `%s`, `%(name)s` and `%%`; None otherwise."""
    pieces: list[str] = []
    position = 0
    used = 0
    for match in _PERCENT.finditer(template):
        pieces.append(template[position : match.start()])
        position = match.end()
        name, kind = match.group("name"), match.group("kind")
        if kind == "%" and name is None:
            pieces.append("%")
            continue
        if kind != "s":
            return None
        if name is not None:
            if not isinstance(values, Mapping) or name not in values:
                return None
            pieces.append(values[name])
        else:
            if isinstance(values, Mapping) or used >= len(values):
                return None
            pieces.append(values[used])
            used += 1
    pieces.append(template[position:])
    if not isinstance(values, Mapping) and used != len(values):
        return None
    return "".join(pieces)


def template_substitute(template: str, mapping: Mapping[str, str], safe: bool) -> str | None:
    """`string.Template(template).substitute(mapping)` (or safe_substitute)."""
    try:
        built = string.Template(template)
        return built.safe_substitute(mapping) if safe else built.substitute(mapping)
    except (KeyError, ValueError):
        return None
