"""One module as the value flow reads it (`ModuleInfo`: its tree, scopes and
indexes, built once), and the project around it (`Project`: which file an
import names, read through `SourceFile.project`, each module parsed once
and kept by the hash of its bytes).

Imports resolve as Python would find them from the importing file: relative
ones from its package; absolute ones from each folder above it (the
project's root, wherever the scan started) and its `src/` folder. Standard
library and the Maniac SDK itself are never read: they are outside names.
"""

from __future__ import annotations

import ast
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from maniac_guard.python.paths import candidates
from maniac_guard.python.resolve import Deferred, Resolver
from maniac_guard.python.scopes import Binding

if TYPE_CHECKING:
    from maniac_guard.sources import ProjectReader

MAX_MODULE_BYTES = 256 * 1024  # as the detector's own limit
MAX_MODULES = 64  # other modules one analysis may read (the project's budget)
# Paths one analysis may look at: an absolute import tries each folder above
# the file (and its src/) before the one that holds it, or finds nothing (a
# library outside the tree); a miss costs a failed open, not a module.
MAX_PROBES = 1024
_CACHE_SIZE = 256

Function = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


class ModuleInfo:
    """A parsed module, its scopes (resolve.Resolver), and indexes built on first use.

    `lazy` (a module read for an import): the indexes, like the scopes,
    cover the top level first and each function body when a node in it is
    first asked about, so following an import costs what it reaches."""

    def __init__(
        self, path: str, tree: ast.Module, text: str, resolver: Resolver | None = None, *, lazy: bool = False
    ) -> None:
        self.path = path
        self.tree = tree
        self.text = text
        self.resolver = resolver if resolver is not None else Resolver(tree, text, lazy=lazy)
        self._lazy = lazy
        self._deferred = Deferred()
        self._parents: dict[ast.AST, ast.AST] | None = None
        self._owner: dict[ast.AST, Function | None] | None = None
        self._returns: dict[ast.AST, list[ast.expr]] = {}
        self._breaks: list[int] | None = None  # offsets of the text's line breaks
        self._starts: list[int] | None = None  # first line of each top-level statement
        self._changes: dict[int, dict[str, list[tuple[ast.Name, ast.AST]]]] = {}
        self._mutations: dict[str, dict[int, list[ast.AST]]] = {}
        self.cache: dict[object, object] = {}  # the value flow's per-module indexes
        self._stars: list[ast.ImportFrom] | None = None
        self._typing_only: dict[ast.AST, bool] = {}

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other

    @property
    def package(self) -> str:
        """The folder of this module (a package's `__init__.py` included)."""
        return self.path.rpartition("/")[0]

    # ---- structure ---------------------------------------------------------

    def _index(self, stack: list[tuple[ast.AST, Function | None]]) -> None:
        """Parents, and the function each node runs in (defaults,
        decorators and annotations run outside theirs), from `stack`'s
        nodes down; a lazy module leaves the bodies of functions defined
        outside any function for later."""
        if self._parents is None or self._owner is None:
            self._parents, self._owner = {}, {}
        parents, owner = self._parents, self._owner
        defer = self._lazy
        while stack:
            node, current = stack.pop()
            owner[node] = current
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                args = node.args
                outside = {id(d) for d in [*args.defaults, *args.kw_defaults] if d is not None}
                body: list[ast.stmt] | ast.expr = node.body
                if not isinstance(node, ast.Lambda):
                    outside |= {id(d) for d in node.decorator_list}
                    if defer and current is None:
                        self._deferred.add(node)
                        body = []
                for child in _children(node, body):
                    parents[child] = node
                    stack.append((child, current if id(child) in outside else node))
                continue
            for field_name in node._fields:  # ast.iter_child_nodes, inlined: this visits every node
                value = getattr(node, field_name, None)
                for item in value if isinstance(value, list) else (value,):
                    if isinstance(item, AST) and not isinstance(item, _LEAVES):
                        parents[item] = node
                        if type(item) in _TERMINALS:  # nothing below it: indexed here, not stacked
                            owner[item] = current
                        else:
                            stack.append((item, current))

    def _indexed(self, node: ast.AST) -> dict[ast.AST, ast.AST]:
        """The parent index, holding `node` if it is in this module."""
        if self._parents is None:
            self._index([(self.tree, None)])
        assert self._parents is not None
        if node not in self._parents and self._deferred and node is not self.tree:
            function = self._deferred.pop_at(node)
            if function is not None:
                self._index([(statement, function) for statement in function.body])
                for statement in function.body:
                    self._parents[statement] = function
            elif not hasattr(node, "lineno") and not isinstance(node, _LEAVES):  # no position: index everything
                for function in self._deferred.pop_all():
                    self._index([(statement, function) for statement in function.body])
                    for statement in function.body:
                        self._parents[statement] = function
        return self._parents

    def parent(self, node: ast.AST) -> ast.AST | None:
        parents = self._parents
        if parents is not None:  # an indexed node (most asked): no index to extend
            found = parents.get(node)
            if found is not None:
                return found
        return self._indexed(node).get(node)

    def owner(self, node: ast.AST) -> Function | None:
        """The function (or lambda) `node` runs in; None at module or class level."""
        owners = self._owner
        if owners is not None and node in owners:  # indexed already (every node there is)
            return owners[node]
        self._indexed(node)
        assert self._owner is not None
        return self._owner.get(node)

    def type_checking_only(self, statement: ast.stmt) -> bool:
        """Whether `statement` sits in the body of an `if TYPE_CHECKING:`
        (`typing.`, `t.` too); asked at each read of an imported name, so kept."""
        found = self._typing_only.get(statement)
        if found is None:
            parent = self.parent(statement)
            test = parent.test if isinstance(parent, ast.If) and any(s is statement for s in parent.body) else None
            found = self._typing_only[statement] = (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
                isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
            )
        return found

    def enclosing_class(self, function: ast.AST) -> ast.ClassDef | None:
        parent = self.parent(function)
        return parent if isinstance(parent, ast.ClassDef) else None

    def returns(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.expr]:
        """The expressions `function` returns or yields (not its nested functions')."""
        found = self._returns.get(function)
        if found is None:
            found = []
            stack: list[ast.AST] = list(function.body)
            while stack:
                node = stack.pop()
                if isinstance(node, _SCOPES):
                    continue
                if isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom)) and node.value is not None:
                    found.append(node.value)
                stack.extend(ast.iter_child_nodes(node))
            self._returns[function] = found
        return found

    def mutations(self, bindings: Sequence[object], name: str) -> list[ast.AST]:
        """`d[k] = v`, `d.update(…)`, `l.append(x)`…: changes made through
        `name`, found by the binding list the name refers to. The text is
        asked first: most names are never changed this way, and then the
        module is not walked; otherwise only the top-level statements on the
        lines that match are."""
        by_binding = self._mutations.get(name)
        if by_binding is None:
            by_binding = self._mutations[name] = {}
            for receiver, node in self._mutation_sites(name):
                found = self.resolver.bindings_of(receiver)
                if found:
                    by_binding.setdefault(id(found), []).append(node)
        return by_binding.get(id(bindings), [])

    def _mutation_sites(self, name: str) -> list[tuple[ast.Name, ast.AST]]:
        """Every `name[…] = …` and `name.update(…)`-like call (receiver, change)."""
        text = self.text
        lines = {
            self._line_of(match.start())
            for match in _mutation_text(name).finditer(text)
            if not match.start() or not (text[match.start() - 1].isalnum() or text[match.start() - 1] == "_")
        }
        if not lines:
            return []
        body = self.tree.body
        if self._starts is None:
            self._starts = [min([s.lineno, *(d.lineno for d in getattr(s, "decorator_list", ()))]) for s in body]
        indexes: set[int] = set()
        for line in lines:
            index = bisect_right(self._starts, line) - 1
            if index >= 0 and line <= (body[index].end_lineno or body[index].lineno):
                indexes.add(index)
        return [site for index in sorted(indexes) for site in self._changes_in(index).get(name, [])]

    def _changes_in(self, index: int) -> dict[str, list[tuple[ast.Name, ast.AST]]]:
        """The changes through a name in one top-level statement, by the name (walked once)."""
        found = self._changes.get(index)
        if found is None:
            found = self._changes[index] = {}
            for node in ast.walk(self.tree.body[index]):
                receivers: list[ast.expr] = []
                if isinstance(node, (ast.Assign, ast.AugAssign)):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    receivers = [t.value for t in targets if isinstance(t, ast.Subscript)]
                elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MUTATORS:
                    receivers = [node.func.value]
                for receiver in receivers:
                    if isinstance(receiver, ast.Name):
                        found.setdefault(receiver.id, []).append((receiver, node))
        return found

    def _line_of(self, offset: int) -> int:
        """The 1-based line of a character offset in the text."""
        if self._breaks is None:
            self._breaks = [match.start() for match in _LINE_BREAK.finditer(self.text)]
        return bisect_left(self._breaks, offset) + 1

    def module_bindings(self, name: str) -> list[Binding] | None:
        return self.resolver.module_scope.names.get(name)

    def star_imports(self) -> list[ast.ImportFrom]:
        """The module's `from … import *` statements (listed once: every unbound name asks)."""
        if self._stars is None:
            self._stars = [
                statement
                for statement in self.tree.body
                if isinstance(statement, ast.ImportFrom) and any(a.name == "*" for a in statement.names)
            ]
        return self._stars

    def exported(self) -> list[str] | None:
        """`__all__` when it is a literal list or tuple of strings."""
        for statement in self.tree.body:
            if isinstance(statement, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in statement.targets
            ):
                value = statement.value
                if isinstance(value, (ast.List, ast.Tuple)):
                    names = [e.value for e in value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
                    if len(names) == len(value.elts):
                        return names
        return None


AST = ast.AST
# Shared singletons with no position (`Load`, `Add`…): nothing asks for their parent.
_LEAVES = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)

# Nodes with no child nodes but their `ctx` leaf (the most common ones).
_TERMINALS = frozenset({ast.Name, ast.Constant})
MUTATORS = frozenset({"update", "setdefault", "append", "extend", "insert", "add"})
# Where ast's line numbers break lines (\r\n, \r or \n; \f and \v do not).
_LINE_BREAK = re.compile(r"\r\n?|\n")


@lru_cache(maxsize=1024)
def _mutation_text(name: str) -> re.Pattern[str]:
    """What a change through `name` must look like in the text (a loose
    superset: any subscript, `(name)[…]`, a mutator after a line break)."""
    methods = "|".join(sorted(MUTATORS))
    # The name first (not `\b`): the engine then skips ahead to it; the caller checks what precedes.
    return re.compile(rf"{re.escape(name)}[\s\\)]*(?:\[|\.[\s\\]*(?:{methods})\b)")


def _children(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, body: object) -> Iterator[ast.AST]:
    """A function's child nodes, its body given apart (a lazy index leaves it out)."""
    for field_name, value in ast.iter_fields(node):
        if field_name == "body":
            value = body
        if isinstance(value, ast.AST):
            yield value
        elif isinstance(value, list):
            yield from (item for item in value if isinstance(item, ast.AST))


# Parsed modules by (path, content hash), shared by the analyses of one process.
_PARSED: dict[tuple[str, bytes], ModuleInfo | None] = {}


def _parse(path: str, data: bytes) -> ModuleInfo | None:
    from maniac_guard.cachefiles import blake2b  # CPython's own: hashlib would load OpenSSL

    key = (path, blake2b(data, digest_size=16).digest())
    if key in _PARSED:
        return _PARSED[key]
    info: ModuleInfo | None = None
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
        tree = ast.parse(text)
        info = ModuleInfo(path, tree, text, lazy=True)
    except (SyntaxError, ValueError, UnicodeDecodeError, RecursionError, MemoryError):
        info = None
    if len(_PARSED) >= _CACHE_SIZE:
        _PARSED.pop(next(iter(_PARSED)))
    _PARSED[key] = info
    return info


class Project:
    """The modules one analysis reads: the one analyzed, and those its
    imports name, found through the reader. `reads` records each path asked
    for and a hash of what it held (None: absent), which is what the
    result depends on besides the file itself."""

    def __init__(self, main: ModuleInfo, reader: ProjectReader | None) -> None:
        self.main = main
        self.reader = reader
        self.reads: dict[str, str | None] = {}
        self._modules: dict[str, ModuleInfo | None] = {main.path: main}
        self._data: dict[str, bytes | None] = {}
        self._present = 0  # reads that found a file
        self._found: dict[tuple[str, str], ModuleInfo | None] = {}
        self._installs: dict[str, frozenset[str]] = {}  # a folder's entries when it holds installed distributions
        self.exhausted = False

    def _bytes(self, path: str) -> bytes | None:
        """The file at `path` (None: absent, too big, or past the read budget), read once."""
        if path in self._data:
            return self._data[path]
        data: bytes | None = None
        if self.reader is not None and self._present < MAX_MODULES and len(self.reads) < MAX_PROBES:
            data = self.reader.read(path)
            from maniac_guard.cachefiles import blake2b

            self.reads[path] = None if data is None else blake2b(data, digest_size=16).hexdigest()
            self._present += data is not None
            if data is not None and len(data) > MAX_MODULE_BYTES:
                data = None
        elif self.reader is not None:
            self.exhausted = True
        self._data[path] = data
        return data

    def load(self, path: str) -> ModuleInfo | None:
        if path in self._modules:
            return self._modules[path]
        data = self._bytes(path)
        info = _parse(path, data) if data is not None else None
        self._modules[path] = info
        return info

    def may_define(self, dotted: str, base: str, name: str) -> bool:
        """Whether the module `dotted` can give `name` to `from … import *`:
        its text says the name or star-imports in turn (read, not parsed:
        a package's `__init__` that star-imports ten modules parses only the
        one that defines the name)."""
        if self.reader is None:
            return True
        word = re.compile(rb"\b%s\b|import\s+\*" % re.escape(name.encode()))
        for candidate in candidates(dotted, base):
            data = self._bytes(candidate)
            if data is not None:
                return word.search(data) is not None
        return True

    def _installed(self, candidate: str, dotted: str, base: str) -> bool:
        """Whether the module `dotted` at `candidate` belongs to another
        installed distribution than the importing module (in `base`): its
        top-level package sits in a folder that holds `*.dist-info` folders
        (a site-packages), and the importing module is not inside it. Only a
        reader that can list folders (the work tree) tells."""
        top = dotted.split(".", 1)[0]
        relative = dotted.replace(".", "/")
        folder = candidate.removesuffix("/__init__.py").removesuffix(".py").removesuffix(relative).rstrip("/")
        if f"{base}/".startswith(f"{folder}/{top}/" if folder else f"{top}/"):
            return False  # its own package
        if folder not in self._installs:
            names = getattr(self.reader, "names", None)
            listing: list[str] | None = names(folder) if names is not None else None
            marks = sorted(name for name in listing or () if name.endswith(".dist-info"))
            self._installs[folder] = frozenset(listing or ()) if marks else frozenset()
            if marks:  # what the result depends on: without them, the library is read again
                self._bytes(f"{folder}/{marks[0]}/METADATA" if folder else f"{marks[0]}/METADATA")
        entries = self._installs[folder]
        return top in entries or f"{top}.py" in entries

    def find(self, dotted: str, base: str) -> ModuleInfo | None:
        """The module `dotted` names (`app.settings`, or `..settings` from
        `base`, the importing module's folder); None if not in the project."""
        key = (dotted, base)
        if key in self._found:
            return self._found[key]
        found = None
        if self.reader is not None:
            for candidate in candidates(dotted, base):
                if not dotted.startswith(".") and self._installed(candidate, dotted, base):
                    break  # another installed distribution: outside, as the standard library
                found = self.load(candidate)
                if found is not None:
                    break
        self._found[key] = found
        return found
