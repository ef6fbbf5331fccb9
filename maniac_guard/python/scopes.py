"""Python's name binding on the standard library's `ast`: which bindings a
name can refer to where it is read, and the qualified names of imports.

The rules of the language, not of a flow analysis: every binding of a name in
its scope counts, wherever it is (a function's local is local everywhere in
the function); class bodies are invisible to the functions and comprehensions
inside them; `global` and `nonlocal` send bindings to their scope. An import
gives its name a qualified name (`from maniac import Maniac as M`: M is
`maniac.Maniac`), which is how aliases are seen and a local class named
`Maniac` is not taken for the SDK.
"""

from __future__ import annotations

import ast

from maniac_guard.records import dataclass, field

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
Owner = FunctionNode | ast.Lambda


@dataclass(eq=False)
class Param:
    """A parameter: its default (None: none) and the function it belongs to
    (None for `*args`/`**kwargs`, which no caller fills by position or name)."""

    arg: ast.arg
    default: ast.expr | None
    owner: Owner | None

    @property
    def name(self) -> str:
        return self.arg.arg


@dataclass(eq=False)
class Binding:
    """One place a name is bound. `node` is the bound Name, a Param, a def or
    class, or the import; `value` what an assignment gave it (None: unknown)."""

    node: ast.AST | Param
    value: ast.expr | None = None
    qname: str | None = None  # imports: the dotted name the binding stands for


@dataclass(eq=False)
class Scope:
    kind: str  # module | class | function | comprehension
    parent: Scope | None
    names: dict[str, list[Binding]] = field(default_factory=dict)
    globals: set[str] = field(default_factory=set)
    nonlocals: set[str] = field(default_factory=set)

    def module(self) -> Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    def home_of(self, name: str) -> Scope:
        """The scope a binding of `name` made here lands in."""
        if name in self.globals:
            return self.module()
        if name in self.nonlocals:
            scope = self.parent
            while scope is not None and (scope.kind == "class" or name not in scope.names):
                scope = scope.parent
            return scope or self
        return self

    def bind(self, name: str, binding: Binding) -> None:
        self.home_of(name).names.setdefault(name, []).append(binding)

    def lookup(self, name: str) -> list[Binding]:
        """The bindings `name` refers to when read in this scope ([]: unbound)."""
        if name in self.globals:
            return self.module().names.get(name, [])
        scope: Scope | None = self.home_of(name)
        first = True
        while scope is not None:
            if (first or scope.kind != "class") and name in scope.names:
                return scope.names[name]
            first = False
            scope = scope.parent
        return []

    def qualified(self, name: str) -> set[str]:
        """Qualified names `name` stands for: an import's dotted name; a
        module-level definition's own name; nothing for locals and unbound names."""
        out: set[str] = set()
        at_module: set[int] | None = None  # the module's own bindings, by identity (a name bound 100 times: one set)
        for binding in self.lookup(name):
            if binding.qname is not None:
                out.add(binding.qname)
            else:
                if at_module is None:
                    at_module = {id(b) for b in self.module().names.get(name, [])}
                if id(binding) in at_module:
                    out.add(name)
        return out


def import_bindings(node: ast.Import | ast.ImportFrom) -> list[tuple[str, Binding]]:
    """(name, binding) for each name an import statement binds (not `*`)."""
    out: list[tuple[str, Binding]] = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                out.append((alias.asname, Binding(node, qname=alias.name)))
            else:
                top = alias.name.split(".")[0]
                out.append((top, Binding(node, qname=top)))
        return out
    base = "." * node.level + (node.module or "")
    for alias in node.names:
        if alias.name == "*":
            continue
        dotted = f"{base}.{alias.name}" if base and not base.endswith(".") else base + alias.name
        out.append((alias.asname or alias.name, Binding(node, qname=dotted)))
    return out
