"""Which scopes Python code needs: follow names bound to `maniac.Maniac(...)` /
`AsyncManiac(...)` clients and map their calls to scopes through the scope
catalog. Anything that looks like an SDK call but cannot be traced to a
client is reported as unresolved, never dropped.

It shares the SDK's client classes (`python/sdk.py`) and name resolution
(`python/scopes.py`: imports, aliases, `import *`) with the MG2xx analyzer,
on the standard library's `ast`, but not its value resolution: this needs
only the client bindings. Bindings are per file, not per function scope: a
name bound to a client anywhere in a file counts as that client everywhere
in it.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from maniac_guard.permissions.scopes import Catalog, load_catalog
from maniac_guard.records import dataclass, field
from maniac_guard.words import counted


@dataclass(frozen=True, order=True)
class SdkCall:
    path: str
    line: int
    method: str  # "containers.list"
    scope: str


@dataclass(frozen=True, order=True)
class Unresolved:
    path: str
    line: int
    code: str
    reason: str


@dataclass
class Inference:
    calls: list[SdkCall] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)
    files: int = 0  # Python files analysed
    errors: list[str] = field(default_factory=list)  # one line each

    def scopes(self) -> list[str]:
        return sorted({c.scope for c in self.calls})

    def extend(self, other: Inference) -> None:
        self.calls += other.calls
        self.unresolved += other.unresolved
        self.files += other.files
        self.errors += other.errors


def _prefilter(catalog: Catalog) -> tuple[bytes, ...]:
    tails = {".".join(call.split(".")[-2:]).encode() for call in catalog.calls}
    return (b"aniac", *sorted(tails))


def _preorder(node: ast.AST) -> Iterator[ast.AST]:
    """Nodes in source order, parents first (ast.walk goes breadth first)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(list(ast.iter_child_nodes(current))))


def _analyse(path: str, text: str, catalog: Catalog) -> Inference:
    from maniac_guard.python.resolve import Resolver

    text = text.removeprefix("\ufeff")  # a BOM is the file's encoding, not code
    tree = ast.parse(text)
    names = Resolver(tree, text)  # the analyzer's scopes: imports, aliases, `import *`
    call_paths = {tuple(call.split(".")): scope for call, scope in catalog.calls.items()}
    prefixes = {p[:i] for p in call_paths for i in range(1, len(p))}
    bindings: dict[str, tuple[str, ...]] = {}
    factories: set[str] = set()
    out = Inference(files=1)
    nodes = list(_preorder(tree))

    def is_constructor(node: ast.expr) -> bool:
        """`Maniac(...)` / `AsyncManiac(...)`, however imported: the analyzer's own test."""
        return names.sdk_of(node) is not None

    def dotted(node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            base = dotted(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def client_path(node: ast.expr | None) -> tuple[str, ...] | None:
        if node is None:
            return None
        if isinstance(node, ast.Await):
            return client_path(node.value)
        if isinstance(node, ast.Call):
            if is_constructor(node.func):
                return ()
            if isinstance(node.func, ast.Name) and node.func.id in factories:
                return ()
            return None
        text_name = dotted(node)
        if text_name is not None and text_name in bindings:
            return bindings[text_name]
        if isinstance(node, ast.Attribute):
            base = client_path(node.value)
            if base is not None:
                return (*base, node.attr)
        return None

    def is_client_type(annotation: ast.expr | None) -> bool:
        if annotation is None:
            return False
        if isinstance(annotation, ast.Constant):
            return annotation.value in ("Maniac", "AsyncManiac")
        return is_constructor(annotation)

    def bind(target: ast.expr | None, value: tuple[str, ...] | None) -> bool:
        key = dotted(target) if target is not None else None
        if key is not None and value is not None and bindings.get(key) != value:
            bindings[key] = value
            return True
        return False

    def bind_all() -> bool:
        changed = False
        for node in nodes:
            if isinstance(node, ast.Assign):
                value = client_path(node.value)
                for target in node.targets:
                    changed |= bind(target, value)
            elif isinstance(node, ast.AnnAssign):
                value = client_path(node.value)
                if value is None and is_client_type(node.annotation):
                    value = ()
                changed |= bind(node.target, value)
            elif isinstance(node, ast.NamedExpr):
                changed |= bind(node.target, client_path(node.value))
            elif isinstance(node, ast.withitem):
                changed |= bind(node.optional_vars, client_path(node.context_expr))
            elif isinstance(node, ast.arg) and is_client_type(node.annotation):
                changed |= bind(ast.Name(node.arg), ())
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name not in factories:
                # def make_client(): return Maniac(...)  ->  make_client() is a client
                returns = [s.value for s in node.body if isinstance(s, ast.Return)]
                if any(client_path(value) == () for value in returns):
                    factories.add(node.name)
                    changed = True
        return changed

    for _ in range(4):  # to a fixpoint: aliases of aliases
        if not bind_all():
            break

    def short(node: ast.expr) -> str:
        code = " ".join(names.segment(node).split())
        return code if len(code) <= 80 else code[:77] + "..."

    def chain(node: ast.expr) -> list[str]:
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.insert(0, node.attr)
            node = node.value
        return parts

    def untraced(node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id == "getattr" and node.args:
            if client_path(node.args[0]) is not None:
                out.unresolved.append(
                    Unresolved(path, node.lineno, short(node), "dynamic attribute (getattr) on a Maniac client")
                )
            return
        parts = chain(node.func)
        for size in range(len(parts), 1, -1):
            tail = tuple(parts[-size:])
            if tail in call_paths and isinstance(node.func, ast.Attribute):
                root = short(node.func)
                out.unresolved.append(
                    Unresolved(
                        path,
                        node.lineno,
                        short(node),
                        f"looks like the SDK call `{'.'.join(tail)}` but `{root.rsplit('.' + '.'.join(tail), 1)[0]}` "
                        "is not traced to Maniac(...) (a client passed in?)",
                    )
                )
                return

    for node in nodes:
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        found = client_path(func)
        if found:
            method = ".".join(found)
            if found in call_paths:
                out.calls.append(SdkCall(path, node.lineno, method, call_paths[found]))
            elif len(found) == 1 and found[0] in catalog.no_scope:
                pass
            elif found not in prefixes:
                reason = f"`{method}` is not in maniac-guard's scope catalog"
                out.unresolved.append(Unresolved(path, node.lineno, short(node), reason))
        elif found is None:
            untraced(node)
        given = [a.value if isinstance(a, ast.Starred) else a for a in node.args] + [k.value for k in node.keywords]
        for arg in given:
            if client_path(arg) == () and not is_constructor(func):
                callee = dotted(func) or "a function"
                if callee == "getattr":
                    continue
                reason = f"a client is passed to {callee}(); calls made there are traced only where a client is bound"
                out.unresolved.append(Unresolved(path, node.lineno, short(node), reason))
    return out


def infer_source(path: str, text: str, catalog: Catalog | None = None) -> Inference:
    """One file's calls; a file that does not parse becomes an error line."""
    catalog = catalog or load_catalog()
    data = text.encode("utf-8", "replace")
    if not any(marker in data for marker in _prefilter(catalog)):
        return Inference(files=1)
    try:
        return _analyse(path, text, catalog)
    except SyntaxError as exc:
        return Inference(files=1, errors=[f"{path}:{exc.lineno}: Python does not parse; not analysed for scopes"])
    except (RecursionError, ValueError, MemoryError):
        return Inference(files=1, errors=[f"{path}: too deeply nested to analyse for scopes"])


def python_files(paths: Sequence[str]) -> list[str]:
    """Every .py file under `paths` (files given directly are kept), sorted:
    the scan's own walk, so .gitignore and the rules for links apply."""
    from maniac_guard.sources.files import Excluder, WalkReport, iter_paths

    given = {os.path.abspath(p) for p in paths if os.path.isfile(p)}
    walked = iter_paths(paths, use_gitignore=True, excluder=Excluder(), report=WalkReport())
    return sorted(path for path in walked if path.endswith(".py") or path in given)


def infer_files(files: Iterable[tuple[str, str]]) -> Inference:
    """(shown path, path on disk) pairs -> the calls of all of them."""
    catalog = load_catalog()
    result = Inference()
    for shown, real in files:
        try:
            with open(real, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
        except OSError as exc:
            result.errors.append(f"{shown}: cannot read: {exc.strerror}")
            continue
        result.extend(infer_source(shown, text, catalog))
    result.calls.sort()
    result.unresolved.sort()
    return result


def render_yaml(inference: Inference, where: str) -> str:
    """The minimal permission set as YAML ready to paste, with why as comments."""
    by_scope: dict[str, list[SdkCall]] = {}
    for call in inference.calls:
        by_scope.setdefault(call.scope, []).append(call)
    lines = [
        f"# Minimal Maniac permissions for {where}: {counted(inference.files, 'Python file')}, "
        f"{counted(len(inference.calls), 'SDK call')}, {len(inference.unresolved)} unresolved.",
        "# Scopes come from maniac-guard's own catalog (rules/scopes.yaml); Maniac publishes none.",
    ]
    if by_scope:
        lines.append("permissions:")
        width = max(len(s) for s in by_scope) + 2
        for scope in sorted(by_scope):
            calls = by_scope[scope]
            methods = sorted({c.method for c in calls})
            first = calls[0]
            lines.append(
                f"  - {scope:<{width}}# {', '.join(methods)} ({first.path}:{first.line}"
                f"{f' +{len(calls) - 1} more' if len(calls) > 1 else ''})"
            )
    else:
        lines.append("permissions: []")
    if inference.unresolved:
        lines.append("# Unresolved: check these by hand, they may need more scopes:")
        lines += [f"#   {u.path}:{u.line}: {u.code}  -- {u.reason}" for u in inference.unresolved]
    return "\n".join(lines) + "\n"


def _json_ready(inference: Inference) -> dict[str, Any]:
    return {
        "permissions": inference.scopes(),
        "calls": [{"path": c.path, "line": c.line, "method": c.method, "scope": c.scope} for c in inference.calls],
        "unresolved": [
            {"path": u.path, "line": u.line, "code": u.code, "reason": u.reason} for u in inference.unresolved
        ],
        "files": inference.files,
    }
