"""Small node edits that keep formatting: dropping one element of a
comma-separated list (call arguments, dict entries) and building the
`os.getenv("NAME")` call that replaces a key.

Comments written on the removed element's own lines go with it; every other
comment and the position of the closing bracket are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import libcst as cst

T = TypeVar("T", cst.Arg, cst.BaseDictElement)


def getenv_call(os_name: str, env_var: str) -> cst.Call:
    return cst.Call(
        func=cst.Attribute(value=cst.Name(os_name), attr=cst.Name("getenv")),
        args=[cst.Arg(value=cst.SimpleString(_quote(env_var)))],
    )


def _quote(text: str) -> str:
    # Env var names are plain identifiers; a double-quoted literal needs no escaping.
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _tail(element: cst.CSTNode) -> cst.BaseParenthesizableWhitespace | None:
    """The whitespace after the element (after its comma if it has one)."""
    comma = getattr(element, "comma", cst.MaybeSentinel.DEFAULT)
    if isinstance(comma, cst.Comma):
        return comma.whitespace_after
    if isinstance(element, cst.Arg):
        return element.whitespace_after_arg
    return None


def _has_comment(ws: cst.BaseParenthesizableWhitespace) -> bool:
    if not isinstance(ws, cst.ParenthesizedWhitespace):
        return False
    return ws.first_line.comment is not None or any(line.comment is not None for line in ws.empty_lines)


def remove_element(elements: Sequence[T], index: int) -> list[T]:
    """`elements` without `elements[index]`, commas and line breaks fixed up."""
    items = list(elements)
    removed = items.pop(index)
    if index < len(items) or not items:
        # Not the last one (its successor takes its place), or the only one.
        return items
    prev = items[-1]
    prev_comma = getattr(prev, "comma", cst.MaybeSentinel.DEFAULT)
    tail = _tail(removed)
    removed_had_comma = isinstance(getattr(removed, "comma", None), cst.Comma)
    if not isinstance(prev_comma, cst.Comma):  # cannot happen in valid code
        return items
    prev_ws = prev_comma.whitespace_after
    if isinstance(prev_ws, cst.ParenthesizedWhitespace):
        if isinstance(tail, cst.ParenthesizedWhitespace):
            # Keep the previous line's comment and newline; the closing
            # bracket keeps the indentation it had.
            new_ws: cst.BaseParenthesizableWhitespace = prev_ws.with_changes(
                indent=tail.indent, last_line=tail.last_line
            )
            items[-1] = prev.with_changes(comma=prev_comma.with_changes(whitespace_after=new_ws))
            return items
        if _has_comment(prev_ws):
            # The bracket followed the removed element on its line: keep the
            # comment, so the bracket moves to where the element started.
            return items
        # Join: `f("X",\n  "mk")` -> `f("X")`.
        return _drop_trailing_comma(items, tail, keep=removed_had_comma)
    # One line: `f("X", "mk")` -> `f("X")`, `f("X", "mk",)` -> `f("X",)`.
    if removed_had_comma and tail is not None:
        items[-1] = prev.with_changes(comma=prev_comma.with_changes(whitespace_after=tail))
        return items
    return _drop_trailing_comma(items, tail, keep=False)


def _drop_trailing_comma(items: list[T], tail: cst.BaseParenthesizableWhitespace | None, *, keep: bool) -> list[T]:
    prev = items[-1]
    if keep:
        prev_comma = prev.comma
        assert isinstance(prev_comma, cst.Comma)
        items[-1] = prev.with_changes(
            comma=prev_comma.with_changes(whitespace_after=tail if tail is not None else cst.SimpleWhitespace(""))
        )
        return items
    changes: dict[str, object] = {"comma": cst.MaybeSentinel.DEFAULT}
    if isinstance(prev, cst.Arg) and tail is not None:
        changes["whitespace_after_arg"] = tail
    items[-1] = prev.with_changes(**changes)
    return items


def insert_arg_before(
    args: Sequence[cst.Arg], index: int, new: cst.Arg, before_ws: cst.BaseParenthesizableWhitespace | None
) -> list[cst.Arg]:
    """Insert `new` before `args[index]`, laid out like its neighbour: on its
    own line with the same indentation in a multi-line call."""
    items = list(args)
    if isinstance(before_ws, cst.ParenthesizedWhitespace):
        after: cst.BaseParenthesizableWhitespace = cst.ParenthesizedWhitespace(
            first_line=cst.TrailingWhitespace(),
            empty_lines=[],
            indent=before_ws.indent,
            last_line=before_ws.last_line,
        )
    else:
        after = cst.SimpleWhitespace(" ")
    items.insert(index, new.with_changes(comma=cst.Comma(whitespace_after=after)))
    return items
