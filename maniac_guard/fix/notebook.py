"""Fixing Jupyter notebooks in place.

The code cells are joined into one module (so a key defined in one cell and
used in another is seen), with a marker comment before each cell and
IPython magics (`%time`, `!pip`) swapped for placeholder comments. After the
codemod the module is split back into cells. Only the `source` value of a
changed cell is rewritten in the raw JSON text; every other byte of the file
stays as it was, and the result is checked to be valid JSON equal to the
original except for those sources.
"""

from __future__ import annotations

import json
import re
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any

from maniac_guard.records import dataclass

CELL_MARK = "# @@maniac-guard-cell {}@@"
CELL_MARK_RE = re.compile(r"# @@maniac-guard-cell (\d+)@@\n")
MAGIC_MARK = "#@@maniac-guard-magic-{}@@"
MAGIC_MARK_RE = re.compile(r"#@@maniac-guard-magic-(\d+)@@")
# A whole cell behind a cell magic (`%%writefile`): its mark stands for the
# cell's text with its own line end, so the cell comes back byte for byte.
CELL_MAGIC_MARK = "#@@maniac-guard-cell-magic-{}@@\n"
CELL_MAGIC_MARK_RE = re.compile(r"#@@maniac-guard-cell-magic-(\d+)@@\n")
MAGIC_LINE_RE = re.compile(r"[ \t]*(?:[%!?]|[\w.]+\?{1,2}[ \t]*$)")
_WS = " \t\n\r"
_LITERAL_RE = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null")


class NotebookError(Exception):
    pass


@dataclass
class Node:
    """A JSON value and where its text is in the file."""

    start: int
    end: int
    value: Any  # dict[str, Node] | list[Node] | str | number | bool | None


def parse(text: str, pos: int = 0) -> Node:
    node, end = _value(text, _skip(text, pos))
    if _skip(text, end) != len(text):
        raise NotebookError("trailing data after the JSON value")
    return node


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WS:
        pos += 1
    return pos


def _value(text: str, pos: int) -> tuple[Node, int]:
    if pos >= len(text):
        raise NotebookError("unexpected end of JSON")
    char = text[pos]
    if char == '"':
        value, end = scanstring(text, pos + 1)
        return Node(pos, end, value), end
    if char == "{":
        members: dict[str, Node] = {}
        at = _skip(text, pos + 1)
        if text.startswith("}", at):
            return Node(pos, at + 1, members), at + 1
        while True:
            if not text.startswith('"', at):
                raise NotebookError(f"expected a key at offset {at}")
            key, at = scanstring(text, at + 1)
            at = _skip(text, at)
            if not text.startswith(":", at):
                raise NotebookError(f"expected ':' at offset {at}")
            members[key], at = _value(text, _skip(text, at + 1))
            at = _skip(text, at)
            if text.startswith("}", at):
                return Node(pos, at + 1, members), at + 1
            if not text.startswith(",", at):
                raise NotebookError(f"expected ',' at offset {at}")
            at = _skip(text, at + 1)
    if char == "[":
        items: list[Node] = []
        at = _skip(text, pos + 1)
        if text.startswith("]", at):
            return Node(pos, at + 1, items), at + 1
        while True:
            item, at = _value(text, at)
            items.append(item)
            at = _skip(text, at)
            if text.startswith("]", at):
                return Node(pos, at + 1, items), at + 1
            if not text.startswith(",", at):
                raise NotebookError(f"expected ',' at offset {at}")
            at = _skip(text, at + 1)
    match = _LITERAL_RE.match(text, pos)
    if match is None:
        raise NotebookError(f"unexpected character at offset {pos}")
    return Node(pos, match.end(), json.loads(match.group())), match.end()


@dataclass
class Cell:
    index: int  # among all cells
    source: Node
    text: str


def code_cells(root: Node) -> list[Cell]:
    if not isinstance(root.value, dict) or "cells" not in root.value:
        raise NotebookError("not a notebook (no 'cells')")
    cells = root.value["cells"].value
    if not isinstance(cells, list):
        raise NotebookError("'cells' is not a list")
    found = []
    for index, cell in enumerate(cells):
        if not isinstance(cell.value, dict):
            continue
        kind = cell.value.get("cell_type")
        source = cell.value.get("source")
        if kind is None or kind.value != "code" or source is None:
            continue
        if isinstance(source.value, str):
            text = source.value
        elif isinstance(source.value, list) and all(isinstance(n.value, str) for n in source.value):
            text = "".join(n.value for n in source.value)
        else:
            continue
        found.append(Cell(index, source, text))
    return found


def join_cells(cells: list[Cell]) -> tuple[str, list[str]]:
    """One module for all code cells, and the magic lines it hides."""
    magics: list[str] = []
    parts: list[str] = []
    for n, cell in enumerate(cells):
        parts.append(CELL_MARK.format(n) + "\n")
        if cell.text.lstrip().startswith("%%"):
            # A cell magic makes the whole cell something else than Python.
            magics.append(cell.text)
            parts.append(CELL_MAGIC_MARK.format(len(magics) - 1))
            continue
        for line in cell.text.splitlines(keepends=True):
            body = line.rstrip("\r\n")
            if body.strip() and MAGIC_LINE_RE.match(body):
                indent = body[: len(body) - len(body.lstrip())]
                magics.append(body)
                parts.append(indent + MAGIC_MARK.format(len(magics) - 1) + line[len(body) :])
            else:
                parts.append(line)
        if cell.text and not cell.text.endswith("\n"):
            parts.append("\n")
    return "".join(parts), magics


def split_cells(code: str, cells: list[Cell], magics: list[str]) -> list[str]:
    """Undo join_cells on the fixed module: each cell's new text."""
    pieces = CELL_MARK_RE.split(code)
    # pieces: [before-first-mark, "0", text0, "1", text1, ...]
    if len(pieces) != 2 * len(cells) + 1:
        raise NotebookError("cell markers were lost while fixing")
    texts = []
    for n, cell in enumerate(cells):
        if int(pieces[1 + 2 * n]) != n:
            raise NotebookError("cell markers out of order")
        text = pieces[2 + 2 * n]
        if n == 0:
            text = pieces[0] + text
        text = CELL_MAGIC_MARK_RE.sub(lambda m: magics[int(m.group(1))], text)
        text = MAGIC_MARK_RE.sub(lambda m: magics[int(m.group(1))], text)
        if not cell.text.endswith("\n"):
            # The joined module needed a newline (and the import step may have
            # added a blank line) where the cell had none.
            text = text.rstrip("\r\n")
        texts.append(text)
    return texts


def _dump(value: str, ascii_only: bool) -> str:
    return json.dumps(value, ensure_ascii=ascii_only)


def render_source(raw: str, node: Node, new_text: str) -> str:
    """The JSON text for a cell source holding `new_text`, laid out as the old one."""
    ascii_only = raw.isascii() and "\\u" in raw
    if isinstance(node.value, str):
        return _dump(new_text, ascii_only)
    items: list[Node] = node.value
    lines = new_text.splitlines(keepends=True)
    reuse = {item.value: raw[item.start : item.end] for item in items}
    dumped = [reuse.get(line) or _dump(line, ascii_only) for line in lines]
    if not items:
        return "[" + ", ".join(dumped) + "]"
    opening = raw[node.start + 1 : items[0].start]
    closing = raw[items[-1].end : node.end - 1]
    separator = raw[items[0].end : items[1].start] if len(items) > 1 else "," + opening
    return "[" + opening + separator.join(dumped) + closing + "]"


def rewrite(raw: str, cells: list[Cell], texts: list[str]) -> str:
    """The notebook text with only the changed cell sources replaced."""
    out: list[str] = []
    at = 0
    for cell, text in zip(cells, texts):
        if text == cell.text:
            continue
        out.append(raw[at : cell.source.start])
        out.append(render_source(raw, cell.source, text))
        at = cell.source.end
    out.append(raw[at:])
    new = "".join(out)
    _check(raw, new, cells, texts)
    return new


def _check(raw: str, new: str, cells: list[Cell], texts: list[str]) -> None:
    """Valid JSON, equal to the original except for the changed sources."""
    try:
        before = json.loads(raw)
        after = json.loads(new)
    except ValueError as exc:
        raise NotebookError(f"rewritten notebook is not valid JSON: {exc}") from None
    for cell, text in zip(cells, texts):
        source = after["cells"][cell.index]["source"]
        got = source if isinstance(source, str) else "".join(source)
        if got != text:
            raise NotebookError("rewritten cell does not hold the fixed code")
        before["cells"][cell.index]["source"] = source
    if before != after:
        raise NotebookError("rewriting changed more than the cell sources")
