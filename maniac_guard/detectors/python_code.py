"""Python code (MG201–MG208): how keys reach the Maniac SDK, the environment
and HTTP headers, analyzed on the standard library's `ast` in `.py`/`.pyi`
files and in the code cells of Jupyter notebooks.

Only files whose bytes mention something the rules look for are parsed, and
each once: the size/depth guard parses it, the screen reads that tree and
proves most files need nothing more, and the analyzer reads the same tree.
libcst is never imported here. Code that does not parse with the running
Python (Python 2, templates, syntax errors, syntax newer than this Python)
is left to the key patterns (MG101), with a note naming the file and line.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Sequence

from maniac_guard.debuglog import debug
from maniac_guard.findings import Finding
from maniac_guard.records import NamedTuple
from maniac_guard.sources import SourceFile

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (records.py)
if TYPE_CHECKING:
    import ast

    from maniac_guard.python.issues import Located, PyIssue
    from maniac_guard.sources.notebook import NotebookCode

RULE_IDS = frozenset({"MG201", "MG202", "MG203", "MG204", "MG205", "MG206", "MG207", "MG208"})

# The note of a file whose analysis spent its budget (the detector cache keeps it with the result).
WORK_LIMIT = (
    "the Python analysis reached its work limit; findings so far are reported, flows beyond it are not followed"
)

PYTHON_SUFFIXES = frozenset({".py", ".pyi"})
NOTEBOOK_SUFFIX = ".ipynb"
# The issue's prefilter (Maniac, maniac, MANIAC_, mk-, api_key, apiKey,
# Authorization) narrowed to what a 2xx rule needs: the SDK imported, a
# Maniac variable or URL, or a string that starts with `mk-` (every way of
# building a key from pieces has one: "mk-" + …, f"mk-{…}", ("mk-ab" "cd")).
# `api_key` or `Authorization` alone cannot make a finding, an `mk-` in a
# comment or mid-sentence is MG101's, and every file they let through is parsed.
HINTS = (rb"(?:from|import)[ \t]+maniac\b", rb"MANIAC_", rb"maniac\.ai", rb"[\"']mk-", rb"[\"']--api-key")
# Without the native prefilter (a hook's few files), three substring searches
# first (fast), the exact gate only on their hits.
_CHEAP = tuple(re.compile(literal).search for literal in (rb"aniac", rb"ANIAC_", rb"mk-"))
_GATE = re.compile(b"|".join(HINTS))

# Bigger or deeper code gets the key patterns only, with a one-line note: the
# limits keep the analysis bounded. They were set for libcst's parser (which
# --fix still uses): it costs ~30 s and ~750 MB per MiB of Python, overflows
# the C stack (a segfault, not an exception) on chains a few thousand deep
# (`a.b.b…`, `a+a+…`) and eats gigabytes on brackets nested 1,000 deep or
# 10,000 adjacent string literals. CPython itself refuses brackets nested over
# 200 deep, so that limit costs nothing for real code.
MAX_PARSE_BYTES = 256 * 1024
MAX_DEPTH = 200
MAX_ADJACENT_STRINGS = 500
_ADJACENT_STRINGS = (
    r"""(?:[rRbBuUfF]{0,2}(?:"[^"\\\n]*(?:\\.[^"\\\n]*)*"|'[^'\\\n]*(?:\\.[^'\\\n]*)*')\s*){%d}"""  # noqa: UP031
    % MAX_ADJACENT_STRINGS
)
# A quote that ends a literal another one follows (after blanks and a prefix):
# a run of MAX_ADJACENT_STRINGS literals holds one less of them. Counting them
# is one pass from quote to quote; the run's own search tries every position
# (2 ms for the SDK's 40 KB `_cli.py`, which holds 196 of them).
_ADJACENT_QUOTE = r"""["'](?=\s*[rRbBuUfF]{0,2}["'])"""


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """The patterns of files the gate lets through, compiled on first use (~0.6 ms a hook's files rarely need)."""
    return re.compile(pattern)


_BRACKETS = bytes.maketrans(b"([{)]}", b"\x02\x02\x02\x00\x00\x00")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"([{)]}"))


class Guard(NamedTuple):
    """Why the analyzer must not see some code (`reason`), else its `ast`
    (`tree`), or why this Python cannot parse it (`unread`)."""

    reason: str | None
    tree: ast.Module | None = None
    unread: str = ""


def too_complex(text: str) -> str | None:
    """Why the Python analyzer (or the fixer's parser) must not see this code (None: it may)."""
    return _guard(text, check_depth=True).reason


def _read(text: str) -> tuple[ast.Module | None, str]:
    """The module, or why this Python cannot parse it (never the source line: it may hold a key)."""
    import ast
    import sys

    try:
        return ast.parse(text), ""
    except SyntaxError as exc:
        return None, f"does not parse as Python {sys.version_info.major}.{sys.version_info.minor} (line {exc.lineno})"
    except ValueError:
        return None, "is not Python source (a NUL byte)"


def _guard(text: str, *, check_depth: bool) -> Guard:
    """The limits, and the one parse the screen and the analyzer share. The
    scan leaves the depth to the screen, which checks it on its own walk."""
    from itertools import accumulate

    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_PARSE_BYTES:
        return Guard(f"{size / 1024:.0f} KiB is over the Python analyzer's {MAX_PARSE_BYTES // 1024} KiB limit")
    # Bracket depth on bytes (strings and comments included: an overestimate, which only skips).
    steps = text.encode("utf-8", "surrogatepass").translate(None, _NOT_BRACKETS).translate(_BRACKETS)
    depth = max(accumulate(step - 1 for step in steps), default=0)
    if depth > MAX_DEPTH:
        return Guard(f"brackets nested {depth} deep (over {MAX_DEPTH})")
    try:
        tree, unread = _read(text)
    except (RecursionError, MemoryError):
        return Guard(f"expressions nested too deeply (over {MAX_DEPTH})")
    if tree is None:
        return Guard(None, None, unread)
    if check_depth and _deeper_than(tree, MAX_DEPTH):
        return Guard(TOO_DEEP)
    if (
        ("'" in text or '"' in text)
        and len(_compiled(_ADJACENT_QUOTE).findall(text)) >= MAX_ADJACENT_STRINGS - 1
        and _compiled(_ADJACENT_STRINGS).search(text)
    ):
        return Guard(f"over {MAX_ADJACENT_STRINGS} adjacent string literals")
    return Guard(None, tree)


TOO_DEEP = f"expressions nested over {MAX_DEPTH} deep"


def _deeper_than(tree: ast.AST, limit: int) -> bool:
    import ast

    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, level = stack.pop()
        if level > limit:
            return True
        stack.extend((child, level + 1) for child in ast.iter_child_nodes(node))
    return False


def may_fire(data: bytes) -> bool:
    """Whether any 2xx rule can fire on these bytes."""
    return any(search(data) is not None for search in _CHEAP) and _GATE.search(data) is not None


def wants(source: SourceFile) -> bool:
    suffix = source.suffix
    if suffix not in PYTHON_SUFFIXES and suffix != NOTEBOOK_SUFFIX:
        return False
    return may_fire(source.data)


def _parse(text: str, path: str) -> ast.Module | None:
    try:
        tree, unread = _read(text)
    except (RecursionError, MemoryError):
        tree, unread = None, "too complex for the Python parser"
    if tree is None:
        debug(__name__, "%s: %s; key patterns only", path, unread)
    return tree


def _parse_notebook(code: NotebookCode, path: str) -> tuple[ast.Module | None, NotebookCode]:
    """The whole notebook, or, if some cells do not parse, the others."""
    module = _parse(code.text, path)
    if module is not None:
        return module, code
    for index in range(len(code.cells)):
        if _parse(code.cell_text(index), f"{path} (cell {index + 1})") is None:
            code = code.blank_cell(index)
    return _parse(code.text, path), code


def _screened(source: SourceFile, text: str) -> tuple[bool, Guard]:
    """(skip, guard): skip when the code is too big or deep for the analyzer
    (said in a note) or the screen proves no 2xx rule can fire on it."""
    guard = _guard(text, check_depth=False)
    if guard.reason is None and guard.tree is not None:
        from maniac_guard.python.screen import TooDeep, could_fire

        try:
            return not could_fire(guard.tree, MAX_DEPTH), guard
        except TooDeep:
            guard = Guard(TOO_DEEP)
    if guard.reason is not None:
        source.notes.append(f"{source.path}: {guard.reason}; Python rules skipped, key patterns only")
        return True, guard
    return False, guard


def _unscreened(source: SourceFile, text: str) -> tuple[bool, Guard]:
    """As `_screened`, the screen left out (and the depth checked on the tree)."""
    guard = _guard(text, check_depth=True)
    if guard.reason is not None:
        source.notes.append(f"{source.path}: {guard.reason}; Python rules skipped, key patterns only")
    return guard.reason is not None, guard


class _Locator:
    """Byte offsets in `source.data` for `ast` positions (whose columns count
    UTF-8 bytes of the decoded text, not of the file)."""

    def __init__(self, source: SourceFile, text: str, notebook: NotebookCode | None) -> None:
        self.source = source
        from maniac_guard.python.issues import source_rows

        self.rows = source_rows(text)
        self.notebook = notebook
        self._starts: list[int] | None = None

    def _line_starts(self) -> list[int]:
        if self._starts is None:
            data = self.source.data
            starts = [0]
            index = data.find(b"\n")
            while index >= 0:
                starts.append(index + 1)
                index = data.find(b"\n", index + 1)
            self._starts = starts
        return self._starts

    def _position(self, node: Located, end: bool = False) -> tuple[int, int]:
        from maniac_guard.python.issues import char_column

        line = (node.end_lineno or node.lineno) if end else node.lineno
        column = (node.end_col_offset or 0) if end else node.col_offset
        return line, char_column(self.rows[line - 1] if 0 < line <= len(self.rows) else "", column)

    def segment(self, node: Located) -> str:
        """The source text of `node`."""
        (first, start), (last, stop) = self._position(node), self._position(node, end=True)
        rows = self.rows[first - 1 : last]
        if not rows:
            return ""
        if len(rows) == 1:
            return rows[0][start:stop]
        return "\n".join([rows[0][start:], *rows[1:-1], rows[-1][:stop]])

    def span(self, node: Located) -> tuple[int, int]:
        """[start, end) byte offsets of a node, cut to its first line in a notebook."""
        if self.notebook is not None:
            return self._notebook_span(node)
        return self._offset(self._position(node)), self._offset(self._position(node, end=True))

    def _offset(self, position: tuple[int, int]) -> int:
        starts = self._line_starts()
        line = min(max(position[0], 1), len(starts))
        start = starts[line - 1]
        end = starts[line] if line < len(starts) else len(self.source.data)
        row = self.source.data[start:end].decode("utf-8", "replace")
        return start + len(row[: position[1]].encode("utf-8", "replace"))

    def _notebook_span(self, node: Located) -> tuple[int, int]:
        """Where the code sits inside its JSON string, or failing that the
        string's start: editors and SARIF viewers then land on the right line."""
        assert self.notebook is not None
        (first, start), (last, stop) = self._position(node), self._position(node, end=True)
        index = min(max(first, 1), len(self.notebook.offsets)) - 1
        token = self.notebook.offsets[index]
        data = self.source.data
        line_end = data.find(b"\n", token)
        line_end = len(data) if line_end < 0 else line_end
        row = self.rows[index] if index < len(self.rows) else ""
        piece = row[start : stop if last == first else len(row)]
        if piece:
            for ascii_only in (False, True):
                escaped = json.dumps(piece, ensure_ascii=ascii_only)[1:-1].encode("utf-8")
                found = data.find(escaped, token, line_end)
                if found >= 0:
                    return found, found + len(escaped)
        return token + 1, token + 1

    def line(self, line: int) -> int:
        if self.notebook is not None:
            return self.notebook.notebook_line(line)
        return self.source.real_line(line)


def detect(source: SourceFile) -> Iterator[Finding]:
    return _detect(source, screen=True)


def detect_caller(source: SourceFile) -> Iterator[Finding]:
    """The analysis of a `.py` file that calls a wrapper of another module
    of the project (python/callers.py) though its text names nothing the
    hints or the screen look for: analysed whole, as a file naming the SDK is."""
    return _detect(source, screen=False)


def _detect(source: SourceFile, *, screen: bool) -> Iterator[Finding]:
    notebook: NotebookCode | None = None
    if source.suffix == NOTEBOOK_SUFFIX:
        from maniac_guard.sources.notebook import extract

        notebook = extract(source.data)
        if notebook is None:
            return
        skip, guard = _screened(source, notebook.text)
        if skip:
            return
        module = guard.tree
        if module is None:
            module, parsed = _parse_notebook(notebook, source.path)
            source.partial = source.partial or parsed is not notebook  # some cells left out
            notebook = parsed
        text = notebook.text
    else:
        text = source.text.removeprefix("\ufeff")  # a BOM is the encoding's, as Python's tokenizer says
        skip, guard = _screened(source, text) if screen else _unscreened(source, text)
        if skip:
            return
        module = guard.tree
        if module is None:
            # It passed the byte hints: a rule could have fired had it parsed.
            source.notes.append(f"{source.path}: {guard.unread}; Python rules skipped, key patterns only")
    if module is None:
        source.partial = True
        return
    from maniac_guard.python.analyzer import analyze_project

    try:
        analysis = analyze_project(module, text, path=source.path, reader=source.project)
    except RecursionError:
        # A chain of steps deeper than Python's stack (hundreds of `a = b`
        # in a row): said, as a file that does not parse is, never "clean" in silence.
        source.notes.append(
            f"{source.path}: too long a chain of steps for the Python analyzer; Python rules skipped, key patterns only"
        )
        source.partial = True
        return
    if analysis.exhausted:
        source.notes.append(f"{source.path}: {WORK_LIMIT}")
    source.reads.update(analysis.reads)
    if not analysis.issues:
        return
    yield from _findings(source, module, text, notebook, analysis.issues)


def _findings(
    source: SourceFile, module: ast.Module, text: str, notebook: NotebookCode | None, issues: list[PyIssue]
) -> Iterator[Finding]:
    from maniac_guard.detectors.snippet import finding_at, mask_line

    locate = _Locator(source, text, notebook)
    others: dict[str, _Locator | None] = {}
    literals: list[tuple[str, list[str]]] | None = None
    for issue in issues:
        where = locate if issue.path is None else _other(source, issue.path, others)
        if where is None:
            continue  # the other file changed or vanished since it was read
        pieces: tuple[str, ...] = ()
        if issue.secret is not None and issue.path is None:
            # Pieces of a key built in this module (another module's literal is masked as the key).
            literals = string_literals(module, locate.segment) if literals is None else literals
            pieces = key_pieces(literals, issue.secret)
        start, end = where.span(issue.node)
        message = issue.message
        if issue.call_site is not None:
            used = locate.line(issue.call_site.lineno)
            if issue.path is not None:
                message += f" (used at {source.path}:{used})"
            elif used != locate.line(issue.node.lineno):
                message += f" (used at line {used})"
        subject = "" if issue.secret is not None else f"{issue.rule_id}:{where.segment(issue.node)}"
        finding = finding_at(
            where.source,
            issue.rule_id,
            message,
            start,
            max(end, start),
            secret=issue.secret,
            subject=subject,
            fixable=issue.fix_safety if issue.fix_kind is not None else None,
            pieces=pieces,
        )
        if issue.raw and issue.secret:  # decoded from the literal: its encoded form is masked too
            finding = finding.replace(snippet=mask_line(finding.snippet, [issue.secret, issue.raw]))
        if issue.flow:
            steps = tuple(
                (path, locate.line(line) if path == source.path else line, column, label)
                for path, line, column, label in issue.flow
            )
            finding = finding.replace(flow=steps)
        yield finding


def _other(source: SourceFile, path: str, seen: dict[str, _Locator | None]) -> _Locator | None:
    """A locator in another file of the project (where a literal imported from it is)."""
    if path not in seen:
        data = source.project.read(path) if source.project is not None else None
        if data is None:
            seen[path] = None
        else:
            other = SourceFile(path, data, commit=source.commit, author=source.author, date=source.date)
            seen[path] = _Locator(other, other.text.removeprefix("\ufeff"), None)
    return seen[path]


# Where a literal's text is a template, the text between its placeholders:
# `%s`, `%(name)s`, `{}`, `{0}`, `{name}`, `$name`, `${name}`.
_PLACEHOLDER = r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdrai]|\{[^{}]*\}|\$\{?\w+\}?"


# One string token of an implicit concatenation (`"mk-ab" "cd…"` is one
# `ast.Constant`): its quotes and the text between them.
_STRING_TOKEN = r"""(?P<q>'|")(?P<text>(?:\\.|(?!(?P=q))[^\\\n])*)(?P=q)"""


def string_literals(module: ast.Module, segment: Callable[[ast.Constant], str]) -> list[tuple[str, list[str]]]:
    """Every string literal's value, and the tokens of each implicit
    concatenation as they are written (its value is not in the file), each
    with the texts between its placeholders (split once per file)."""
    import ast

    out = []
    for node in ast.walk(module):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value:
            out.append(node.value)
            if "mk-" in node.value:  # only literals that can hold a whole key are read again
                tokens = [m.group("text") for m in _compiled(_STRING_TOKEN).finditer(segment(node))]
                out += tokens if len(tokens) > 1 else []
    placeholder = _compiled(_PLACEHOLDER)
    return [(literal, placeholder.split(literal)) for literal in dict.fromkeys(out)]


def key_pieces(literals: list[tuple[str, list[str]]], secret: str) -> tuple[str, ...]:
    """The string literals of the module that hold part of `secret` (not all
    of it: that is masked as the key): what a key built from pieces is made
    of, masked wherever the key is. A literal counts when some text between
    its placeholders is part of the key and holds a letter or digit of the
    body (so `"-".join` or `"mk-%s"` alone do not mask every dash)."""
    out = []
    for literal, chunks in literals:
        if secret in literal:
            continue
        for chunk in chunks:
            rest = chunk.removeprefix("mk-")
            if chunk and chunk in secret and any(c.isalnum() for c in rest) and rest != "mk":
                out.append(literal)
                break
            # `"Bearer mk-ab…" + "…"`: the literal ends with the key's start.
            start = chunk.find("mk-")
            if start > 0 and secret.startswith(chunk[start:]) and len(chunk) - start > 3:
                out.append(chunk[start:])
    return tuple(dict.fromkeys(out))


def pieces_in_code(code: str, secrets: Sequence[str]) -> list[tuple[str, ...]]:
    """The pieces (key_pieces) of each of `secrets` in Python source, a tuple
    per secret: what the fixer's diff masks besides the keys themselves."""
    import ast

    try:
        module = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return [() for _ in secrets]
    literals = string_literals(module, _segments(code))
    return [key_pieces(literals, secret) for secret in secrets]


# Where the parser ends a line (\r\n, \r or \n; not a form feed): as
# ast.get_source_segment splits a source.
_SOURCE_LINE = r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z"


def _segments(code: str) -> Callable[[ast.Constant], str]:
    """ast.get_source_segment for many nodes of one source: its lines split
    once, not again at each node (a file of 800 keys: 10 s)."""
    lines: list[str] = _compiled(_SOURCE_LINE).findall(code)

    def segment(node: ast.Constant) -> str:
        first, last, start, end = node.lineno - 1, (node.end_lineno or 0) - 1, node.col_offset, node.end_col_offset
        if end is None or not 0 <= first <= last < len(lines):
            return ""
        if first == last:
            return lines[first].encode()[start:end].decode()
        head, tail = lines[first].encode()[start:].decode(), lines[last].encode()[:end].decode()
        return head + "".join(lines[first + 1 : last]) + tail

    return segment
