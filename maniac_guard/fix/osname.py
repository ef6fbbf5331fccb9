"""Which name the fixed code calls `getenv` on, and whether it must be imported.

`os.getenv(...)` runs only if `os` is the `os` module at that point when it
runs. An `import os` that comes after the fix site, sits under an `if`/`try`,
or is undone by `del os` does not make it so; neither does an `os` that is a
parameter, a variable, `from x import os`, a `match` capture or a walrus
(`rebound_names`: the scope analysis misses those two). So a name is used as it is only
where an unconditional `import os` in the same scope comes before the fix
site's statement; where nothing local binds it, a module-level import added
to the leading import block (which runs before any other statement) makes it
so; otherwise the next name (`_os`, imported as `import os as _os`) is tried.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum

import libcst as cst
from libcst.metadata import (
    Assignment,
    BaseAssignment,
    GlobalScope,
    MetadataWrapper,
    ParentNodeProvider,
    Scope,
    ScopeProvider,
)

CANDIDATES = ("os", "_os")


class Binding(Enum):
    BOUND = "bound"  # an import before the site already binds it
    NEEDS_IMPORT = "needs-import"  # unbound, or bound late/conditionally at module level
    UNUSABLE = "unusable"  # something else, or a local name an import cannot reach


def imports_os_as(assignment: BaseAssignment, name: str) -> bool:
    """True when the binding is `import os` (or `import os.path`), or `import os as <name>`."""
    node = assignment.node if isinstance(assignment, Assignment) else None
    if not isinstance(node, cst.Import):
        return False
    for alias in node.names:
        dotted = cst.helpers.get_full_name_for_node(alias.name) or ""
        if alias.asname is None:
            if name == "os" and (dotted == "os" or dotted.startswith("os.")):
                return True
        elif isinstance(alias.asname.name, cst.Name) and alias.asname.name.value == name and dotted == "os":
            return True
    return False


def deleted_names(module: cst.Module) -> set[str]:
    """Names that a `del` anywhere removes (the scope analysis does not see `del`)."""
    found: set[str] = set()

    class Dels(cst.CSTVisitor):
        def visit_Del(self, node: cst.Del) -> None:
            stack: list[cst.BaseExpression] = [node.target]
            while stack:
                target = stack.pop()
                if isinstance(target, cst.Name):
                    found.add(target.value)
                elif isinstance(target, (cst.Tuple, cst.List)):
                    stack.extend(e.value for e in target.elements)

    module.visit(Dels())
    return found


def rebound_names(module: cst.Module) -> set[str]:
    """Names that a `match` capture (`case os:`, `case [*os]`, `case {**os}`,
    `case x as os`) or a walrus (`os := ...`, which in a comprehension binds
    the enclosing scope) binds anywhere. libcst's scope analysis misses these,
    so an added `import os` would be rebound before the fix site runs."""
    found: set[str] = set()

    class Rebinds(cst.CSTVisitor):
        def visit_MatchAs(self, node: cst.MatchAs) -> None:
            if node.name is not None:
                found.add(node.name.value)

        def visit_MatchStar(self, node: cst.MatchStar) -> None:
            if node.name is not None:
                found.add(node.name.value)

        def visit_MatchMapping(self, node: cst.MatchMapping) -> None:
            if node.rest is not None:
                found.add(node.rest.value)

        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            if isinstance(node.target, cst.Name):
                found.add(node.target.value)

    module.visit(Rebinds())
    return found


def _statement_of(node: cst.CSTNode, parents: Mapping[cst.CSTNode, cst.CSTNode]) -> cst.CSTNode:
    """The statement line or compound statement holding `node`."""
    current = node
    while not isinstance(current, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        current = parents[current]
    return current


def _body_of_scope(scope: Scope, module: cst.Module) -> Sequence[cst.CSTNode] | None:
    """The statements a module or function scope runs in order."""
    if isinstance(scope, GlobalScope):
        return module.body
    node = getattr(scope, "node", None)
    if isinstance(node, cst.FunctionDef) and isinstance(node.body, cst.IndentedBlock):
        return node.body.body
    return None


def _position_in(
    body: Sequence[cst.CSTNode], node: cst.CSTNode, parents: Mapping[cst.CSTNode, cst.CSTNode]
) -> int | None:
    """Index in `body` of the statement that holds `node` (None: not in it)."""
    index = {id(stmt): n for n, stmt in enumerate(body)}
    current: cst.CSTNode | None = node
    while current is not None:
        if id(current) in index:
            return index[id(current)]
        current = parents.get(current)
    return None


def binding_at(
    site: cst.CSTNode,
    name: str,
    module: cst.Module,
    scopes: Mapping[cst.CSTNode, Scope | None],
    parents: Mapping[cst.CSTNode, cst.CSTNode],
) -> Binding:
    scope = scopes.get(site)
    if scope is None:
        return Binding.UNUSABLE
    assignments = list(scope[name])
    if not assignments:
        return Binding.NEEDS_IMPORT
    if not all(imports_os_as(a, name) for a in assignments):
        return Binding.UNUSABLE
    owner = assignments[0].scope
    body = _body_of_scope(owner, module)
    site_at = _position_in(body, site, parents) if body is not None else None
    if body is not None and site_at is not None:
        # Unconditional: the import's own line is one of the scope's statements.
        lines = {id(stmt) for stmt in body}
        for assignment in assignments:
            if not isinstance(assignment, Assignment):
                continue
            line = _statement_of(assignment.node, parents)
            if id(line) in lines and _position_in(body, line, parents) < site_at:  # type: ignore[operator]
                return Binding.BOUND
    # A late or conditional import: one at the top helps only if the name is global.
    return Binding.NEEDS_IMPORT if isinstance(owner, GlobalScope) else Binding.UNUSABLE


def choose_os_name(wrapper: MetadataWrapper, sites: Sequence[cst.CSTNode]) -> tuple[str, bool, str | None]:
    """(name to call getenv on at every site, whether to add its import, why
    no name works). `sites` are the nodes the fix replaces or edits."""
    if not sites:
        return "os", False, None
    scopes = wrapper.resolve(ScopeProvider)
    parents = wrapper.resolve(ParentNodeProvider)
    # Names bound where the scope analysis does not look: never trusted.
    unsafe = deleted_names(wrapper.module) | rebound_names(wrapper.module)
    for name in CANDIDATES:
        if name in unsafe:
            continue
        found = [binding_at(site, name, wrapper.module, scopes, parents) for site in sites]
        if Binding.UNUSABLE not in found:
            return name, Binding.NEEDS_IMPORT in found, None
    return "os", False, "both `os` and `_os` are bound to something else here; fix by hand"


def add_os_import(module: cst.Module, os_name: str) -> cst.Module:
    """`import os` (or `import os as _os`) at the end of the leading import
    block, after the docstring and `from __future__` imports.

    What libcst's AddImportsVisitor does for one plain import, byte for byte,
    without importing `libcst.codemod` (its matchers take ~0.3 s to import,
    most of a small `fix` run)."""
    body = list(module.body)
    start = 1 if body and _is_docstring_or_strict_flag(body[0]) else 0
    end = start
    while end < len(body) and _single_import(body[end]) is not None:
        end += 1
    if _already_imported(body[start:end], os_name):
        return module
    after = body[end:]
    if after:
        # At least one blank line between the imports and the code after them.
        first = after[0]
        if not first.leading_lines:
            after[0] = first.with_changes(leading_lines=(cst.EmptyLine(),))
        elif first.leading_lines[0].comment is not None:
            after[0] = first.with_changes(leading_lines=(cst.EmptyLine(), *first.leading_lines))
    source = "import os" if os_name == "os" else f"import os as {os_name}"
    added = cst.parse_statement(source, config=module.config_for_parsing)
    return module.with_changes(body=(*body[:end], added, *after))


def _single_import(statement: cst.BaseStatement) -> cst.Import | cst.ImportFrom | None:
    """The import a line holds when it holds exactly one statement, an import."""
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        only = statement.body[0]
        if isinstance(only, (cst.Import, cst.ImportFrom)):
            return only
    return None


def _is_docstring_or_strict_flag(statement: cst.BaseStatement) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    only = statement.body[0]
    if isinstance(only, cst.Expr):
        return isinstance(only.value, cst.SimpleString)
    return (
        isinstance(only, cst.Assign)
        and len(only.targets) == 1
        and isinstance(only.targets[0].target, cst.Name)
        and only.targets[0].target.value == "__strict__"
    )


def _already_imported(block: Sequence[cst.BaseStatement], os_name: str) -> bool:
    """`import os` (for `os`) or, last of its aliases, `import os as _os` in the leading block."""
    plain = False
    alias_of_os: str | None = None
    for statement in block:
        found = _single_import(statement)
        if not isinstance(found, cst.Import):
            continue
        for alias in found.names:
            if alias.evaluated_name != "os":
                continue
            if alias.asname is None:
                plain = True
            else:
                alias_of_os = alias.evaluated_alias
    return plain if os_name == "os" else alias_of_os == os_name
