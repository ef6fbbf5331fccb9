"""Jupyter notebooks: the code cells as one Python text, with a map from each
Python line back to the line of the `.ipynb` file that holds it.

Cells are joined in order (a notebook shares one namespace, so a key defined
in one cell and used in another is still resolved). IPython syntax that is
not Python — line magics (`%time`), shell lines (`!pip …`, `x = !ls`), help
(`obj?`) and non-Python cell magics (`%%bash`) — is blanked, keeping line
numbers. Cell outputs are not Python; the key patterns scan the whole file,
outputs included.

Positions: `json` gives no offsets, so the JSON string tokens of the file are
matched, in order, against each cell's `source` lines.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from maniac_guard.records import dataclass, field

_STRING_RE = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NEWLINE_RE = re.compile(r"\r\n|\r|\n")
_KEY_SEP_RE = re.compile(rb"\s*:")
_MAGIC_RE = re.compile(r"^\s*(?:[%!?]|[\w.]+\?\??\s*$|[\w.,\s]+=\s*[%!])")
# `%time x = f()` runs a Python statement: analyze it.
_TIMED_RE = re.compile(r"^((\s*)%(?:time|timeit|prun)\s+)(?!-)\S")
# Cell magics whose body is still Python.
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "pypy", "python", "python3"})


@dataclass
class NotebookCode:
    """The Python of a notebook's code cells and where each line came from."""

    text: str
    # 0-based Python line → 1-based line of the notebook file.
    lines: list[int] = field(default_factory=list)
    # 0-based Python line → byte offset in the notebook of the JSON string holding it.
    offsets: list[int] = field(default_factory=list)
    # (first, end) Python line indexes of each cell, to retry cell by cell.
    cells: list[tuple[int, int]] = field(default_factory=list)

    def notebook_line(self, line: int) -> int:
        """Notebook line for a 1-based Python line."""
        return self.lines[min(max(line, 1), len(self.lines)) - 1] if self.lines else 1

    def blank_cell(self, index: int) -> NotebookCode:
        """The same code with one cell blanked (it does not parse)."""
        first, end = self.cells[index]
        rows = self.text.split("\n")
        for i in range(first, min(end, len(rows))):
            rows[i] = ""
        return NotebookCode("\n".join(rows), self.lines, self.offsets, self.cells)

    def cell_text(self, index: int) -> str:
        first, end = self.cells[index]
        return "\n".join(self.text.split("\n")[first:end]) + "\n"


def _source_lines(cell: dict[str, Any]) -> list[str] | None:
    source = cell.get("source", [])
    if isinstance(source, str):
        return [source] if source else []
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return list(source)
    return None


def _is_python(notebook: dict[str, Any]) -> bool:
    metadata = notebook.get("metadata")
    if not isinstance(metadata, dict):
        return True
    for key, field_name in (("kernelspec", "language"), ("language_info", "name")):
        section = metadata.get(key)
        if isinstance(section, dict) and isinstance(section.get(field_name), str):
            language: str = section[field_name]
            return language.lower().startswith("python")
    return True


def _string_tokens(data: bytes) -> list[tuple[int, bool, str | None]]:
    """(offset, is a key, decoded value) of every JSON string in the file."""
    tokens: list[tuple[int, bool, str | None]] = []
    for match in _STRING_RE.finditer(data):
        is_key = _KEY_SEP_RE.match(data, match.end()) is not None
        try:
            value = json.loads(match.group())
        except ValueError:
            value = None
        tokens.append((match.start(), is_key, value if isinstance(value, str) else None))
    return tokens


def _find_source(tokens: list[tuple[int, bool, str | None]], start: int, parts: list[str]) -> int | None:
    """Index of the first token of `parts` after a `"source":` key at or after `start`."""
    count = len(parts)
    for i in range(start, len(tokens) - count):
        _, is_key, value = tokens[i]
        if not (is_key and value == "source"):
            continue
        if all(tokens[i + 1 + j][2] == parts[j] for j in range(count)):
            return i + 1
    return None


def _placed_cells(
    cells: list[Any], tokens: list[tuple[int, bool, str | None]]
) -> Iterator[tuple[dict[str, Any], list[str], int]]:
    """Each cell with source lines, its lines, and the index of the first of
    their string tokens in the file, in file order. A cell that cannot be
    placed in the file is left out (the key patterns still scan it)."""
    cursor = 0
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        parts = _source_lines(cell)
        if not parts:
            continue
        found = _find_source(tokens, cursor, parts)
        if found is None:
            continue
        cursor = found + len(parts)
        yield cell, parts, found


def _split_rows(part: str) -> list[str]:
    """Lines as Python's tokenizer (and libcst) count them; no form feeds."""
    rows = _NEWLINE_RE.split(part)
    if len(rows) > 1 and rows[-1] == "":
        rows.pop()
    return rows


def _blank_magics(rows: list[str]) -> list[str]:
    if rows and rows[0].lstrip().startswith("%%"):
        magic = rows[0].lstrip()[2:].split(None, 1)
        if not magic or magic[0] not in _PYTHON_CELL_MAGICS:
            return ["" for _ in rows]  # %%bash, %%html, %%writefile …
        rows = [""] + rows[1:]
    out = []
    for row in rows:
        timed = _TIMED_RE.match(row)
        if timed:  # `%time stmt`: the statement is Python (kept at the cell's indent)
            out.append(timed.group(2) + row[timed.end(1) :])
        else:
            out.append("" if _MAGIC_RE.match(row) else row)
    return out


def extract(data: bytes) -> NotebookCode | None:
    """The code cells of a notebook, or None when it is not a Python notebook
    in the nbformat 4 layout (the key patterns still scan it)."""
    try:
        notebook = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list) or not _is_python(notebook):
        return None
    tokens = _string_tokens(data)
    rows: list[str] = []
    lines: list[int] = []
    offsets: list[int] = []
    cells: list[tuple[int, int]] = []
    line_cursor = (0, 1)  # (offset, line) of the last counted position
    for cell, parts, found in _placed_cells(notebook["cells"], tokens):
        if cell.get("cell_type") != "code":
            continue
        cell_rows: list[str] = []
        cell_lines: list[int] = []
        cell_offsets: list[int] = []
        for j, part in enumerate(parts):
            offset = tokens[found + j][0]
            last_offset, last_line = line_cursor
            line = last_line + data.count(b"\n", last_offset, offset)
            line_cursor = (offset, line)
            for row in _split_rows(part):
                cell_rows.append(row)
                cell_lines.append(line)
                cell_offsets.append(offset)
        first = len(rows)
        rows += _blank_magics(cell_rows)
        lines += cell_lines
        offsets += cell_offsets
        cells.append((first, len(rows)))
    if not rows:
        return None
    return NotebookCode("\n".join(rows) + "\n", lines, offsets, cells)


@dataclass(frozen=True)
class CellText:
    """One JSON string of a cell's `source`, where it is in the file."""

    start: int  # byte offsets of the JSON string token, quotes included
    end: int
    text: str  # its decoded value
    cell_type: str  # code | markdown | raw
    language: str  # the notebook's kernel language, lower case ("python" when unsaid)


def _language(notebook: dict[str, Any]) -> str:
    metadata = notebook.get("metadata")
    if isinstance(metadata, dict):
        for key, field_name in (("kernelspec", "language"), ("language_info", "name")):
            section = metadata.get(key)
            if isinstance(section, dict) and isinstance(section.get(field_name), str):
                return str(section[field_name]).lower()
    return "python"


def cell_texts(data: bytes) -> list[CellText]:
    """Every cell's source strings with their place in the file (any kernel
    language; outputs are not sources): where inline suppression comments can be."""
    try:
        notebook = json.loads(data)
    except (ValueError, RecursionError):
        return []
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        return []
    language = _language(notebook)
    tokens = _string_tokens(data)
    out: list[CellText] = []
    for cell, parts, found in _placed_cells(notebook["cells"], tokens):
        cell_type = cell.get("cell_type")
        for j, part in enumerate(parts):
            start = tokens[found + j][0]
            match = _STRING_RE.match(data, start)
            end = match.end() if match is not None else start
            out.append(CellText(start, end, part, cell_type if isinstance(cell_type, str) else "", language))
    return out
