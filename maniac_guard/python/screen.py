"""Proof of absence before libcst: can any MG2xx rule fire on this module?

libcst costs 0.2-0.3 s to import and 0.1-2 s per file; the standard
library's `ast` parses in a fraction of that. The screen answers "analyze"
unless the module lacks every ingredient a 2xx finding needs:

- the SDK rules (MG201-MG203, MG206-MG208 on `Maniac(...)`) need a name
  qualified under `maniac` (an import of `maniac` or a name `maniac`) and
  the class name `Maniac` or `AsyncManiac` spelled somewhere;
- every other finding needs a folded value holding `mk-` (a key), or an
  environment write / lookup default with a `MANIAC_…` name, or a request
  with `headers=` to a `maniac…` URL.

The analyzer folds values only from string literals (and keyword names, for
environment and header names), joined whole: `+`, implicit concatenation,
f-strings, `%s`, plain `str.format` fields, `join`, `string.Template`
(see strings.py). So a value can hold a text T only if one literal holds T,
or T is split across pieces (only if the module joins strings at all): one
literal ends with a proper prefix of T and another starts with a proper
suffix of it. The screen checks exactly
that, so it is a superset of the analyzer (tests/test_python_screen.py holds
it to that on generated modules, every rule example, the fixtures and the
standard library).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

KEY_PREFIX = "mk-"  # looks_like_key: the value starts with it (case matters)
ENV_PREFIX = "MANIAC_"  # is_maniac_env_name: upper-cased name starts with it
URL_WORD = "maniac"  # is_maniac_url: every form holds it, lower-cased
SDK_MODULE = "maniac"
# A qualified name maniac.….Maniac ends with the class's own name, which the
# source spells out (an import, an attribute, or the name after `import *`).
SDK_CLASSES = frozenset({"Maniac", "AsyncManiac"})
ENV_FUNCTIONS = frozenset({"getenv", "get", "setdefault", "putenv", "update"})
JOINING_METHODS = frozenset({"join", "format", "substitute", "safe_substitute"})


def reachable(text: str, literals: Iterable[str], joins: bool = True) -> bool:
    """Whether concatenating whole `literals` can produce a string holding
    `text` (`joins`: whether the module joins strings at all)."""
    pieces = list(literals)
    if any(text in piece for piece in pieces):
        return True
    if not joins:
        return False
    heads = [text[:i] for i in range(1, len(text))]
    tails = [text[i:] for i in range(1, len(text))]
    return any(p.endswith(h) for p in pieces for h in heads) and any(p.startswith(t) for p in pieces for t in tails)


class _Ingredients:
    def __init__(self) -> None:
        self.literals: list[str] = []
        self.names: set[str] = set()  # identifiers, dotted ones split too
        self.env_sink = False  # an environment write, or a lookup with a default or `or` fallback
        self.headers = False  # a call with headers=
        self.os_names: set[str] = set()  # names imported from os (os.putenv as p, …)
        # Any string-joining form (`+`, `%`, f"{…}", join/format/substitute):
        # without one, a value is a single literal (ast merges "a" "b").
        self.joins = False

    def collect(self, tree: ast.AST) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant):
                if isinstance(node.value, str):
                    self.literals.append(node.value)
                continue
            for _, value in ast.iter_fields(node):
                for item in value if isinstance(value, list) else (value,):
                    if isinstance(item, str):
                        self.names.add(item)
                        self.names.update(item.split("."))
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                self._note_import(node)
            elif isinstance(node, ast.Call):
                self._note_call(node)
            elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Subscript) for t in node.targets):
                self.env_sink = True  # os.environ[…] = …
            elif _joins(node):
                self.joins = True
            elif isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
                # `os.getenv(…) or <fallback>`; any grouping of the chain.
                self.env_sink = self.env_sink or any(isinstance(v, (ast.Call, ast.BoolOp)) for v in node.values[:-1])

    def _note_import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "os":
                    self.os_names.add(alias.asname or alias.name)
        elif (node.module or "").split(".")[0] == "os":
            self.os_names.update(alias.asname or alias.name for alias in node.names)

    def _note_call(self, node: ast.Call) -> None:
        keywords = {k.arg for k in node.keywords}
        if "headers" in keywords:
            self.headers = True
        positional = [a for a in node.args if not isinstance(a, ast.Starred)]
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in JOINING_METHODS:
            self.joins = True
        # os.getenv / os.environ.get with a default, os.environ.setdefault,
        # os.putenv, os.environ.update: qualified names end with the function's
        # own name unless it was imported from os under another one.
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name in ENV_FUNCTIONS and (len(positional) >= 2 or "default" in keywords or name == "update"):
            self.env_sink = True
        elif isinstance(func, ast.Name) and name in self.os_names:
            self.env_sink = True  # imported from os under another name: any of them

    def could_fire(self) -> bool:
        if SDK_MODULE in self.names and not SDK_CLASSES.isdisjoint(self.names):
            return True
        if reachable(KEY_PREFIX, self.literals, self.joins):
            return True
        if self.env_sink and (
            any(ENV_PREFIX in name.upper() for name in self.names)
            or reachable(ENV_PREFIX, [literal.upper() for literal in self.literals], self.joins)
        ):
            return True
        return self.headers and reachable(URL_WORD, [literal.lower() for literal in self.literals], self.joins)


def _joins(node: ast.AST) -> bool:
    """`a + b`, `a % b`, or an f-string that interpolates."""
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, (ast.Add, ast.Mod))
    return isinstance(node, ast.JoinedStr) and any(isinstance(v, ast.FormattedValue) for v in node.values)


def could_fire(tree: ast.AST) -> bool:
    """False only when no 2xx rule can fire on the module `tree` was parsed from."""
    ingredients = _Ingredients()
    ingredients.collect(tree)
    return ingredients.could_fire()


def screen_text(text: str) -> bool:
    """`could_fire` on source text; code `ast` cannot parse goes to libcst."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return True
    return could_fire(tree)
