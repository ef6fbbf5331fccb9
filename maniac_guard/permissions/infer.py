"""Which scopes Python code needs: follow names bound to `maniac.Maniac(...)` /
`AsyncManiac(...)` clients and map their calls to scopes through the scope
catalog. Anything that looks like an SDK call but cannot be traced to a
client is reported as unresolved, never dropped.

It shares the SDK's client classes with the MG2xx analyzer
(`python/sdk.py`) but not its value resolution: this needs only the client
bindings, and works file by file with libcst's QualifiedNameProvider.
Bindings are per file, not per function scope: a name bound to a client
anywhere in a file counts as that client everywhere in it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from maniac_guard.permissions.scopes import Catalog, load_catalog
from maniac_guard.python.sdk import sdk_class


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


def _analyse(path: str, text: str, catalog: Catalog) -> Inference:
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider, QualifiedNameProvider

    module = cst.parse_module(text)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    names = wrapper.resolve(QualifiedNameProvider)
    positions = wrapper.resolve(PositionProvider)
    call_paths = {tuple(call.split(".")): scope for call, scope in catalog.calls.items()}
    prefixes = {p[:i] for p in call_paths for i in range(1, len(p))}
    bindings: dict[str, tuple[str, ...]] = {}
    factories: set[str] = set()
    out = Inference(files=1)

    def qualified(node: cst.CSTNode) -> set[str]:
        found: Any = names.get(node, ())
        if callable(found):  # libcst >= 1.1 resolves qualified names lazily
            found = found()
        return {q.name for q in found}

    def is_constructor(node: cst.CSTNode) -> bool:
        """`Maniac(...)` / `AsyncManiac(...)`, however imported: the analyzer's own test."""
        return any(sdk_class(name) for name in qualified(node))

    def dotted(node: cst.BaseExpression) -> str | None:
        if isinstance(node, cst.Name):
            return node.value
        if isinstance(node, cst.Attribute):
            base = dotted(node.value)
            return f"{base}.{node.attr.value}" if base else None
        return None

    def client_path(node: cst.BaseExpression) -> tuple[str, ...] | None:
        if isinstance(node, cst.Await):
            return client_path(node.expression)
        if isinstance(node, cst.Call):
            if is_constructor(node.func):
                return ()
            if isinstance(node.func, cst.Name) and node.func.value in factories:
                return ()
            return None
        text_name = dotted(node)
        if text_name is not None and text_name in bindings:
            return bindings[text_name]
        if isinstance(node, cst.Attribute):
            base = client_path(node.value)
            if base is not None:
                return (*base, node.attr.value)
        return None

    def is_client_type(annotation: cst.Annotation | None) -> bool:
        if annotation is None:
            return False
        ann = annotation.annotation
        if isinstance(ann, cst.SimpleString):
            return ann.evaluated_value in ("Maniac", "AsyncManiac") if hasattr(ann, "evaluated_value") else False
        return is_constructor(ann)

    class Binder(cst.CSTVisitor):
        METADATA_DEPENDENCIES = ()
        changed = False

        def bind(self, target: cst.BaseExpression, value: tuple[str, ...] | None) -> None:
            key = dotted(target)
            if key is not None and value is not None and bindings.get(key) != value:
                bindings[key] = value
                self.changed = True

        def visit_Assign(self, node: cst.Assign) -> None:
            value = client_path(node.value)
            for target in node.targets:
                self.bind(target.target, value)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            value = client_path(node.value) if node.value is not None else None
            if value is None and is_client_type(node.annotation):
                value = ()
            self.bind(node.target, value)

        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            self.bind(node.target, client_path(node.value))

        def visit_WithItem(self, node: cst.WithItem) -> None:
            if node.asname is not None:
                self.bind(node.asname.name, client_path(node.item))

        def visit_Param(self, node: cst.Param) -> None:
            if is_client_type(node.annotation):
                self.bind(node.name, ())

        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            # def make_client(): return Maniac(...)  ->  make_client() is a client
            for statement in node.body.body if isinstance(node.body, cst.IndentedBlock) else ():
                if isinstance(statement, cst.SimpleStatementLine):
                    for small in statement.body:
                        returns_client = (
                            isinstance(small, cst.Return) and small.value is not None and client_path(small.value) == ()
                        )
                        if returns_client and node.name.value not in factories:
                            factories.add(node.name.value)
                            self.changed = True

    for _ in range(4):  # to a fixpoint: aliases of aliases
        binder = Binder()
        wrapper.module.visit(binder)
        if not binder.changed:
            break

    def line_of(node: cst.CSTNode) -> int:
        return int(positions[node].start.line)

    def short(node: cst.CSTNode) -> str:
        code = " ".join(module.code_for_node(node).split())
        return code if len(code) <= 80 else code[:77] + "..."

    def chain(node: cst.BaseExpression) -> list[str]:
        parts: list[str] = []
        while isinstance(node, cst.Attribute):
            parts.insert(0, node.attr.value)
            node = node.value
        return parts

    class Uses(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            found = client_path(func)
            if found:
                method = ".".join(found)
                if found in call_paths:
                    out.calls.append(SdkCall(path, line_of(node), method, call_paths[found]))
                elif len(found) == 1 and found[0] in catalog.no_scope:
                    pass
                elif found not in prefixes:
                    out.unresolved.append(
                        Unresolved(
                            path, line_of(node), short(node), f"`{method}` is not in maniac-guard's scope catalog"
                        )
                    )
            elif found is None:
                self._untraced(node)
            for arg in node.args:
                if client_path(arg.value) == () and not is_constructor(func):
                    callee = dotted(func) or "a function"
                    if callee == "getattr":
                        continue
                    out.unresolved.append(
                        Unresolved(
                            path,
                            line_of(node),
                            short(node),
                            f"a client is passed to {callee}(); calls made there are traced only where a client is bound",
                        )
                    )

        def _untraced(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Name) and node.func.value == "getattr" and node.args:
                target = client_path(node.args[0].value)
                if target is not None:
                    out.unresolved.append(
                        Unresolved(path, line_of(node), short(node), "dynamic attribute (getattr) on a Maniac client")
                    )
                return
            parts = chain(node.func)
            for size in range(len(parts), 1, -1):
                tail = tuple(parts[-size:])
                if tail in call_paths and isinstance(node.func, cst.Attribute):
                    root = short(node.func)
                    out.unresolved.append(
                        Unresolved(
                            path,
                            line_of(node),
                            short(node),
                            f"looks like the SDK call `{'.'.join(tail)}` but `{root.rsplit('.' + '.'.join(tail), 1)[0]}` "
                            "is not traced to Maniac(...) (a client passed in?)",
                        )
                    )
                    return

    wrapper.module.visit(Uses())
    return out


def infer_source(path: str, text: str, catalog: Catalog | None = None) -> Inference:
    """One file's calls; a file that does not parse becomes an error line."""
    import libcst as cst

    catalog = catalog or load_catalog()
    data = text.encode("utf-8", "replace")
    if not any(marker in data for marker in _prefilter(catalog)):
        return Inference(files=1)
    try:
        return _analyse(path, text, catalog)
    except cst.ParserSyntaxError as exc:
        return Inference(files=1, errors=[f"{path}:{exc.raw_line}: Python does not parse; not analysed for scopes"])
    except RecursionError:
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
        f"# Minimal Maniac permissions for {where}: {inference.files} Python files, "
        f"{len(inference.calls)} SDK calls, {len(inference.unresolved)} unresolved.",
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
