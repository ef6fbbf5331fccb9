"""Callers that never name the SDK: `from app.clients import make_client;
make_client("…")` in a file without `maniac` in it, which the byte hints
never send to the analysis. Such a file is a caller of a *wrapper module*:
one that imports the SDK and defines a function (or class) that may make a
client from a parameter (`wrapper_names`, judged on its text alone). The
scan finds callers two ways, both cheap and bounded:

- from the wrapper's side (a tree scan): the `.py` files under the folder
  the wrapper module can be imported from whose text spells its module
  name and one of its wrappers' names (`may_call`);
- from the caller's side (a hook's few files, a commit's changed files):
  the modules a file imports, read through the project reader, one of
  which is a wrapper module whose wrapper it imports (`calls_a_wrapper`).

Either way the caller is then analysed whole (the detector's hints and
screen bypassed), as `scan .` analyses a file that names the SDK.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from maniac_guard.python.paths import candidates
from maniac_guard.python.sdk import PARTIAL, SDK_CLASSES

if TYPE_CHECKING:
    from maniac_guard.sources import ProjectReader

MAX_IMPORTS = 32  # modules one caller's imports are read in (calls_a_wrapper)
MAX_PROBES = 256  # paths tried for them
_IMPORT = re.compile(
    rb"^[ \t]*(?:from[ \t]+([.\w]+)[ \t]+import[ \t]*(?:\(([^)]*)\)|([\w \t,]*))|import[ \t]+([\w. \t,]+))", re.M
)


def wrapper_names(text: str) -> frozenset[str]:
    """The module-level functions and classes of a module that may make an
    SDK client from a parameter: a call of the SDK class (or of
    `functools.partial`, or of another of them) whose arguments name a
    parameter of the function it is in, or of a method of the class."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return frozenset()
    makers = set(SDK_CLASSES) | {name.rpartition(".")[2] for name in PARTIAL}
    for node in tree.body:  # `from maniac import Maniac as M` (at the top level, where imports are)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "maniac":
            makers |= {alias.asname or alias.name for alias in node.names if alias.name in SDK_CLASSES}
    found: set[str] = set()
    while True:  # a wrapper of a wrapper of the same module, to a fixpoint
        more = {
            statement.name
            for statement in tree.body
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and statement.name not in found
            and _hands_a_parameter(statement, makers | found)
        }
        if not more:
            return frozenset(found)
        found |= more


def _hands_a_parameter(definition: ast.AST, makers: set[str]) -> bool:
    functions = [definition] if not isinstance(definition, ast.ClassDef) else definition.body
    for function in functions:
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        args = function.args
        parameters = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg) if a}
        for node in ast.walk(function):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name not in makers:
                continue
            given = [*node.args, *(keyword.value for keyword in node.keywords)]
            if any(isinstance(n, ast.Name) and n.id in parameters for arg in given for n in ast.walk(arg)):
                return True
    return False


def module_word(path: str) -> str:
    """The name an import must spell for the module at `path` (its package's
    for an `__init__.py`)."""
    folder, _, name = path.rpartition("/")
    if name == "__init__.py":
        return folder.rpartition("/")[2]
    return name.rpartition(".")[0]


def import_root(path: str) -> str | None:
    """The broadest folder whose files can import the module at `path`
    ("" the project's root; None: none can, its name would be the SDK's or
    the standard library's, never read): an absolute import is tried from
    each folder above the importing file, so only files under the folder
    the module's dotted name starts in can name it."""
    parts = path.split("/")[:-1]
    for cut in range(len(parts) + 1):
        top = parts[cut] if cut < len(parts) else module_word(path)
        if top.isidentifier() and candidates(top, ""):
            return "/".join(parts[:cut])
    return None


def spells(data: bytes, word: str) -> bool:
    """Whether a file's text holds `word` as a whole word."""
    return word.encode() in data and re.search(rb"(?<!\w)%s(?!\w)" % re.escape(word.encode()), data) is not None


def may_call(data: bytes, word: str, names: frozenset[str]) -> bool:
    """Whether a file's text spells the module's name and one of its wrappers'."""
    return spells(data, word) and any(spells(data, name) for name in names)


def calls_a_wrapper(path: str, data: bytes, reader: ProjectReader) -> bool:
    """Whether the file at `path` imports a wrapper of a wrapper module of
    the project (`from app.clients import make_client`, `import
    app.clients`), read through `reader`: at most MAX_IMPORTS modules and
    MAX_PROBES paths."""
    base = path.rpartition("/")[0]
    wanted: list[tuple[str, frozenset[str] | None]] = []
    for match in _IMPORT.finditer(data):
        if match.group(1) is None:  # import a.b, c as d
            for part in match.group(4).split(b","):
                words = part.split()
                if words:
                    wanted.append((words[0].decode("ascii", "replace"), None))
            continue
        dotted = match.group(1).decode("ascii", "replace")
        listed = match.group(2) if match.group(2) is not None else match.group(3)
        imported = frozenset(n.decode() for n in re.findall(rb"\w+", listed)) - {"as"}
        joint = "." if dotted.strip(".") else ""
        wanted += [(dotted, imported), *((f"{dotted}{joint}{name}", None) for name in sorted(imported))]
    probes = read = 0
    for module, names in wanted:
        for candidate in candidates(module, base):
            if probes >= MAX_PROBES or read >= MAX_IMPORTS:
                return False
            probes += 1
            text = reader.read(candidate)
            if text is None:
                continue
            read += 1
            if re.search(rb"(?:from|import)[ \t]+maniac\b", text):
                found = wrapper_names(text.decode("utf-8", "replace"))
                if found and (names is None or found & names):
                    return True
            break
    return False
