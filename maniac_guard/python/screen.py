"""Proof of absence before the analysis: can any MG2xx rule fire on this module?

The screen reads the `ast` tree the detector's size/depth guard already
parsed (the analyzer then reuses it: one parse per file). It is one walk
over the tree, about what one pass of the analysis costs; on a file it rules
out (the everyday case: code that reads the key from the environment) it
spares loading the analyzer, resolving names and folding values. It answers
"analyze" unless the module lacks every ingredient a 2xx finding needs:

- the SDK rules (MG201-MG203, MG206-MG208 on `Maniac(...)`) need a name
  qualified under `maniac` (an import of `maniac` or a name `maniac`), the
  class name `Maniac` or `AsyncManiac` spelled somewhere, and a call of it
  (or one given it, as `partial` is) with a key, headers or `**` argument the
  analyzer could fold: `Maniac(api_key=cfg.get("key"))` cannot fire;
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
import sys
from collections.abc import Iterable

from maniac_guard.python.sdk import SDK_CLASSES, SDK_MODULE

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (records.py)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

KEY_PREFIX = "mk-"  # looks_like_key: the value starts with it (case matters)
ENV_PREFIX = "MANIAC_"  # is_maniac_env_name: upper-cased name starts with it
URL_WORD = "maniac"  # is_maniac_url: every form holds it, lower-cased
LOOKUPS = frozenset({"getenv", "get"})  # os.getenv, os.environ.get
SETTERS = frozenset({"setdefault", "putenv"})  # os.environ.setdefault, os.putenv
OS_FUNCTIONS = frozenset({"getenv", "putenv"})  # on `os` (or a name for it), not on environ
# The SDK's arguments the analyzer reads (besides positional and **).
SDK_KEYWORDS = frozenset({"api_key", "default_headers"})
JOINING_METHODS = frozenset({"join", "format", "substitute", "safe_substitute"})
# Calls that make a string no literal of the module holds (strops.py).
TRANSFORMS = frozenset(
    {"b64decode", "standard_b64decode", "urlsafe_b64decode", "b32decode", "b16decode", "fromhex", "unhexlify"}
    | {"a2b_hex", "lower", "upper", "casefold", "swapcase", "title", "capitalize", "replace", "center"}
)
# Top-level modules that are not the project's: the standard library and the SDK.
OUTSIDE = frozenset({*sys.stdlib_module_names, SDK_MODULE, "__future__"})


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
        self.headers = False  # a call with a foldable headers=
        self.subscript_targets: list[ast.expr] = []  # `X` of every `X[…] = …`
        self.or_lookups: list[ast.Call] = []  # the call at the far left of `… or …`
        self.os_names: set[str] = set()  # names imported from os (os.putenv as p, …)
        # Any string-joining form (`+`, `%`, f"{…}", join/format/substitute):
        # without one, a value is a single literal (ast merges "a" "b").
        self.joins = False
        self.sdk_names = set(SDK_CLASSES)  # and what they are imported as
        self.calls: list[ast.Call] = []
        # Values this module's literals do not show: imports that may be of
        # the project (the value flow reads them), and decoding or
        # case-changing calls (base64 of a key holds no `mk-`).
        self.foreign = False
        # Names that may stand for the SDK's class: `Client = Maniac`,
        # `class Traced(Maniac)` (whose `super().__init__(…)` is a call of it).
        self.renames: list[tuple[str, str]] = []

    def collect(self, tree: ast.AST, max_depth: int | None = None) -> None:
        """One walk over every node (its depth checked on the way, when asked).
        Written for speed (a tenth of a big module's parse): `_fields` read
        directly rather than through `ast.iter_fields`'s generator, and each
        node's own handling found by its exact class (`ast.parse` builds no
        subclasses) instead of a chain of `isinstance` tests."""
        stack: list[tuple[ast.AST, int]] = [(tree, 1)]
        pop, push = stack.pop, stack.append
        literals, names = self.literals, self.names
        deepest = max_depth if max_depth is not None else sys.maxsize
        constant, node_class = ast.Constant, ast.AST
        handlers = _HANDLERS
        while stack:
            node, level = pop()
            if level > deepest:
                raise TooDeep(deepest)
            kind = type(node)
            if kind is constant:
                if isinstance(node.value, str):  # type: ignore[attr-defined]
                    literals.append(node.value)  # type: ignore[attr-defined]
                continue
            below = level + 1
            for field in kind._fields:
                value = getattr(node, field, None)
                if type(value) is list:
                    for item in value:
                        if isinstance(item, node_class):
                            push((item, below))
                        elif isinstance(item, str):
                            names.add(item)
                            names.update(item.split("."))
                elif isinstance(value, node_class):
                    push((value, below))
                elif isinstance(value, str):
                    names.add(value)
                    names.update(value.split("."))
            handler = handlers.get(kind)
            if handler is not None:
                handler(self, node)

    def _note_assign(self, node: ast.Assign) -> None:
        self.subscript_targets += [t.value for t in node.targets if isinstance(t, ast.Subscript)]
        self.renames += [(t.id, _name_of(node.value)) for t in node.targets if isinstance(t, ast.Name)]

    def _note_class(self, node: ast.ClassDef) -> None:
        self.renames += [(node.name, _name_of(base)) for base in node.bases]
        self.renames.append(("super", _name_of(node.bases[0])) if node.bases else ("", ""))

    def _note_join(self, node: ast.AST) -> None:
        if _joins(node):
            self.joins = True

    def _note_or(self, node: ast.BoolOp) -> None:
        if isinstance(node.op, ast.Or):
            # `os.getenv(…) or <fallback>`: the analyzer wants a lookup at
            # the far left of the `or` (ast holds `a or b or c` as one
            # BoolOp; nested ones are walked down to their first value).
            first = _leftmost(node)
            if isinstance(first, ast.Call):
                self.or_lookups.append(first)

    def _note_import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.ImportFrom):
            modules = [node.module or ""] if node.level == 0 else []
            self.foreign = self.foreign or node.level > 0
        else:
            modules = [alias.name for alias in node.names]
        self.foreign = self.foreign or any(m.split(".")[0] not in OUTSIDE for m in modules)
        for alias in node.names:
            if alias.asname and alias.name.rsplit(".", 1)[-1] in SDK_CLASSES:
                self.sdk_names.add(alias.asname)
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "os":
                    self.os_names.add(alias.asname or "os")
        elif (node.module or "").split(".")[0] == "os":
            self.os_names.update(alias.asname or alias.name for alias in node.names)

    def _note_call(self, node: ast.Call) -> None:
        self.calls.append(node)
        if any(k.arg == "headers" and _may_fold(k.value) for k in node.keywords):
            self.headers = True
        if isinstance(node.func, ast.Attribute) and node.func.attr in JOINING_METHODS:
            self.joins = True
        if _name_of(node.func) in TRANSFORMS:
            self.foreign = True

    def _environ(self, expr: ast.expr) -> bool:
        """`os.environ`, `environ`, or a name imported from os."""
        name = _name_of(expr)
        return name == "environ" or (isinstance(expr, ast.Name) and name in self.os_names)

    def _env_function(self, func: ast.expr, names: frozenset[str]) -> bool:
        """A call of os.<one of names> or os.environ.<one of names>: qualified
        names end with the function's own name unless it was imported from os
        under another one (then any name imported from os counts)."""
        if isinstance(func, ast.Attribute):
            return func.attr in names and (func.attr in OS_FUNCTIONS or self._environ(func.value))
        return isinstance(func, ast.Name) and func.id in self.os_names

    def env_sink(self) -> bool:
        """An environment write, or a lookup with a default or an `or` fallback."""
        if any(self._environ(target) for target in self.subscript_targets):
            return True  # os.environ[…] = …
        for call in self.calls:
            if any(k.arg == "env" for k in call.keywords) or _name_of(call.func) == "setenv":
                return True  # a subprocess's env=, monkeypatch.setenv
        if any(self._env_function(call.func, LOOKUPS) for call in self.or_lookups):
            return True
        for call in self.calls:
            positional = [a for a in call.args if not isinstance(a, ast.Starred)]
            with_value = len(positional) >= 2 or any(k.arg == "default" for k in call.keywords)
            if with_value and self._env_function(call.func, LOOKUPS | SETTERS):
                return True  # getenv(name, default), setdefault(name, value), putenv(name, value)
            if self._env_function(call.func, frozenset({"update"})) and (call.args or call.keywords):
                return True
        return False

    def _spread_sdk_names(self) -> None:
        """Add the aliases and subclasses of the SDK's class (to a fixpoint)."""
        grown = True
        while grown:
            grown = False
            for name, base in self.renames:
                if base in self.sdk_names and name not in self.sdk_names:
                    self.sdk_names.add(name)
                    grown = True

    def _sdk_call_could_fire(self) -> bool:
        """A call of the SDK class (by any name it is imported as), or a call
        given the class (`functools.partial(Maniac, …)`), with an argument
        the analyzer could fold: not a call other than the string builders
        (`cfg.get("key")`, `os.getenv(…)`, `load()` fold to nothing)."""
        self._spread_sdk_names()
        for call in self.calls:
            func = call.func
            if isinstance(func, ast.Attribute) and func.attr == "__init__" and isinstance(func.value, ast.Call):
                func = func.value.func  # super().__init__(…)
            if _name_of(func) in self.sdk_names:
                arguments = [
                    *call.args,
                    *(k.value for k in call.keywords if k.arg in SDK_KEYWORDS or k.arg is None),
                ]
            elif any(_name_of(a) in self.sdk_names for a in call.args):
                arguments = [*call.args, *(k.value for k in call.keywords)]
            else:
                continue
            if any(_may_fold(a) for a in arguments):
                return True
        return False

    def _call_could_fire(self) -> bool:
        """Any call given an argument the analyzer could fold."""
        return any(_may_fold(a) for call in self.calls for a in [*call.args, *(k.value for k in call.keywords)])

    def could_fire(self) -> bool:
        if SDK_MODULE in self.names and not SDK_CLASSES.isdisjoint(self.names) and self._sdk_call_could_fire():
            return True
        if self.foreign and (self.env_sink() or self.headers):
            return True  # a sink whose value may come from elsewhere
        if self.foreign and SDK_MODULE in self.names and self._call_could_fire():
            return True  # a call of a project function that may hand its argument to the SDK (wrappers.py)
        if any(literal.startswith("--api-key") for literal in self.literals) and URL_WORD in self.literals:
            return True  # the SDK's CLI run with a key (`maniac --api-key …`)
        if reachable(KEY_PREFIX, self.literals, self.joins):
            return True
        if self.env_sink() and (
            any(ENV_PREFIX in name.upper() for name in self.names)
            or reachable(ENV_PREFIX, [literal.upper() for literal in self.literals], self.joins)
        ):
            return True
        return self.headers and reachable(URL_WORD, [literal.lower() for literal in self.literals], self.joins)


# What `collect` does at a node of each class, besides walking into it.
_HANDLERS: dict[type[ast.AST], Callable[[_Ingredients, Any], None]] = {
    ast.Import: _Ingredients._note_import,
    ast.ImportFrom: _Ingredients._note_import,
    ast.Call: _Ingredients._note_call,
    ast.Assign: _Ingredients._note_assign,
    ast.ClassDef: _Ingredients._note_class,
    ast.BinOp: _Ingredients._note_join,
    ast.JoinedStr: _Ingredients._note_join,
    ast.BoolOp: _Ingredients._note_or,
}


def _name_of(expr: ast.AST) -> str:
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return expr.id if isinstance(expr, ast.Name) else ""


def _may_fold(expr: ast.expr) -> bool:
    """Whether the analyzer could find a string in `expr` (or a dict): anything
    but a constant that is not a string (calls too: the value flow goes into
    functions, methods and other modules)."""
    if isinstance(expr, ast.Starred):
        expr = expr.value
    return not (isinstance(expr, ast.Constant) and not isinstance(expr.value, (str, bytes)))


def _leftmost(node: ast.BoolOp) -> ast.expr:
    first = node.values[0]
    while isinstance(first, ast.BoolOp) and isinstance(first.op, ast.Or):
        first = first.values[0]
    return first


def _joins(node: ast.AST) -> bool:
    """`a + b`, `a % b`, or an f-string that interpolates."""
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, (ast.Add, ast.Mod))
    return isinstance(node, ast.JoinedStr) and any(isinstance(v, ast.FormattedValue) for v in node.values)


class TooDeep(Exception):
    """The tree is nested deeper than the analysis takes."""


def could_fire(tree: ast.AST, max_depth: int | None = None) -> bool:
    """False only when no 2xx rule can fire on the module `tree` was parsed
    from; raises TooDeep for a tree nested over `max_depth` (the detector's
    guard, checked on the same walk)."""
    ingredients = _Ingredients()
    ingredients.collect(tree, max_depth)
    return ingredients.could_fire()


def screen_text(text: str) -> bool:
    """`could_fire` on source text; True ("analyze") for code `ast` cannot
    parse: the screen never rules out what it did not read."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return True
    return could_fire(tree)
