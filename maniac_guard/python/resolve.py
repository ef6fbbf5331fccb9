"""Names and bindings for the Python rules: one pass over the standard
library's `ast` collects what the checks need (bindings by scope, calls,
environment writes, expressions built from pieces) and what a name is bound
to where it stands (`bindings_of`, which the value flow in flow.py follows).

Names are resolved by scope (scopes.py) with the qualified names of imports,
so aliases (`from maniac import Maniac as M`, `import maniac as m`) are seen
and a local class named `Maniac` is not taken for the SDK. The rule checks
are in `checks.py`.
"""

from __future__ import annotations

import ast
import re
from bisect import bisect_right
from collections.abc import Callable

from maniac_guard.python.issues import source_rows
from maniac_guard.python.scopes import Binding, FunctionNode, Owner, Param, Scope, import_bindings
from maniac_guard.python.sdk import SDK_CLASSES, sdk_class
from maniac_guard.records import dataclass, field

COMPOUND_METHODS = frozenset({"join", "format", "substitute", "safe_substitute"})

Values = list[ast.expr | None]  # None: a binding whose value is unknown


@dataclass(eq=False)
class Call:
    node: ast.Call
    statement: ast.stmt | None  # removable statement if the call is one
    qnames: frozenset[str] = field(default=frozenset())


@dataclass(eq=False)
class EnvAssign:
    target: ast.Subscript
    value: ast.expr
    statement: ast.stmt | None


_GLOBAL = re.compile(r"\bglobal\b")


class Deferred:
    """Function bodies left for later, found by the position of a node in
    them (top-level functions and methods: their spans never overlap)."""

    def __init__(self) -> None:
        self._spans: list[tuple[tuple[int, int], tuple[int, int], FunctionNode]] = []
        self._sorted = True

    def __bool__(self) -> bool:
        return bool(self._spans)

    def add(self, node: FunctionNode) -> None:
        end = (node.end_lineno or node.lineno, node.end_col_offset or 0)
        self._spans.append(((node.lineno, node.col_offset), end, node))
        self._sorted = False

    def pop_at(self, node: ast.AST) -> FunctionNode | None:
        """The deferred function whose text holds `node` (None: none does)."""
        line = getattr(node, "lineno", None)
        if line is None:
            return None
        if not self._sorted:
            self._spans.sort(key=lambda span: span[0])
            self._sorted = True
        at = (line, getattr(node, "col_offset", 0))
        index = bisect_right(self._spans, at, key=lambda span: span[0]) - 1
        if index < 0 or self._spans[index][1] < at:
            return None
        return self._spans.pop(index)[2]

    def pop_all(self) -> list[FunctionNode]:
        out = [span[2] for span in self._spans]
        self._spans.clear()
        return out


class Resolver:
    """Collects in one pass; answers once the whole module is known (a name
    is local to a function if it is bound anywhere in it).

    `lazy` (another module the value flow reads): function bodies are
    resolved when a name in them is first asked about, so a module read for
    one name costs its top level. A module that says `global` anywhere is
    resolved whole (a function may bind a module name)."""

    def __init__(self, tree: ast.Module, text: str, *, lazy: bool = False) -> None:
        self._text = text
        self._rows_cache: list[bytes] | None = None
        self._lines = not lazy  # removable statements, implicit concatenations: the checks' (main module's) concern
        self._deferred = Deferred()
        self._outer: dict[FunctionNode, Scope] = {}  # a deferred body's enclosing scope
        self._defer = lazy and _GLOBAL.search(text) is None
        self._scope = Scope("module", None)
        self._scope_of: dict[ast.Name, Scope] = {}
        self._pending: dict[ast.Name, ast.expr] = {}  # Name target → the value assigned to it
        self._statement: ast.stmt | None = None
        self._in_line: set[ast.stmt] = set()  # statements that start a line (or follow `;` on one)
        self._env_candidates: list[EnvAssign] = []
        self.star_maniac = False
        self._calls: list[Call] = []
        self._env_assigns: list[EnvAssign] = []
        self._or_fallbacks: list[tuple[list[ast.expr], ast.expr]] = []  # `<lookups> or <fallback>`
        self._compounds: list[tuple[ast.expr, ast.expr | None]] = []
        self._compound_stack: list[ast.expr] = []
        self._visit(tree)
        self._defer = False
        self._settle(0, 0)

    def _settle(self, first_call: int, first_env: int) -> None:
        """Qualified names of the calls (and environment writes) collected since."""
        for call in self._calls[first_call:]:
            call.qnames = self.qnames(call.node.func)
        for candidate in self._env_candidates[first_env:]:
            if "os.environ" in self.qnames(candidate.target.value):
                self._env_assigns.append(candidate)

    def _resolve_body(self, node: FunctionNode) -> None:
        """A deferred function body, in the scope it was defined in."""
        first_call, first_env = len(self._calls), len(self._env_candidates)
        saved, statement = self._scope, self._statement
        self._scope = Scope("function", self._outer.pop(node))
        self._bind_params(node.args, node)
        self._statements(node.body)
        self._scope, self._statement = saved, statement
        self._settle(first_call, first_env)

    def complete(self) -> None:
        """Resolve every deferred body (what module-wide lists need)."""
        for node in self._deferred.pop_all():
            self._resolve_body(node)

    @property
    def calls(self) -> list[Call]:
        self.complete()
        return self._calls

    def calls_with(self, function: ast.AST) -> list[Call]:
        """The calls known once `function`'s body is resolved (a lazy module
        resolves that body only, not every deferred one)."""
        body = self._deferred.pop_at(function) if self._deferred else None
        if body is not None:
            self._resolve_body(body)
        return self._calls

    @property
    def env_assigns(self) -> list[EnvAssign]:
        self.complete()
        return self._env_assigns

    @property
    def or_fallbacks(self) -> list[tuple[list[ast.expr], ast.expr]]:
        self.complete()
        return self._or_fallbacks

    @property
    def compounds(self) -> list[tuple[ast.expr, ast.expr | None]]:
        self.complete()
        return self._compounds

    @property
    def _rows(self) -> list[bytes]:
        if self._rows_cache is None:  # ast columns count bytes
            self._rows_cache = [row.encode("utf-8", "surrogatepass") for row in source_rows(self._text)]
        return self._rows_cache

    # ---- collecting -------------------------------------------------------

    def _visit(self, node: ast.AST) -> None:
        kind = (type(self), type(node))
        try:
            handler = _HANDLERS[kind]
        except KeyError:  # the method for this node type, looked up once per class
            handler = _HANDLERS[kind] = getattr(type(self), "_visit_" + type(node).__name__, None)
        if handler is not None:
            handler(self, node)
        else:
            self._children(node)

    def _children(self, node: ast.AST) -> None:
        for name in node._fields:  # ast.iter_fields, inlined: this visits every node of the module
            value = getattr(node, name, None)
            if isinstance(value, list):
                if value and isinstance(value[0], ast.stmt):
                    self._statements(value)
                else:
                    for item in value:
                        if isinstance(item, ast.AST):
                            self._visit(item)
            elif isinstance(value, ast.AST) and not isinstance(value, _LEAVES):
                self._visit(value)

    def _statements(self, body: list[ast.stmt]) -> None:
        """A body: statements on a line of their own (or after `;`) can be
        removed; those after a colon (`if x: stmt`) cannot without the header."""
        head = body[0]
        for index, statement in enumerate(body):
            if index and body[index - 1].end_lineno != statement.lineno:
                head = statement
            if self._lines and not self._rows[head.lineno - 1][: head.col_offset].strip():
                self._in_line.add(statement)
            outer, self._statement = self._statement, statement
            self._visit(statement)
            self._statement = outer

    def _visit_all(self, nodes: list[ast.expr] | list[ast.expr | None]) -> None:
        for node in nodes:
            if node is not None:
                self._visit(node)

    def _enter_scope(self, kind: str) -> Scope:
        outer = self._scope
        self._scope = Scope(kind, outer)
        return outer

    def _bind_params(self, args: ast.arguments, owner: Owner) -> None:
        ordered = [*args.posonlyargs, *args.args]
        defaults: list[ast.expr | None] = [None] * (len(ordered) - len(args.defaults)) + list(args.defaults)
        positional = [Param(arg, default, owner) for arg, default in zip(ordered, defaults)]
        keyword_only = [Param(arg, default, owner) for arg, default in zip(args.kwonlyargs, args.kw_defaults)]
        stars = [Param(arg, None, None) for arg in (args.vararg, args.kwarg) if arg is not None]
        for param in (*positional, *keyword_only, *stars):
            self._scope.bind(param.name, Binding(param))

    def _outer_parts(self, args: ast.arguments) -> None:
        """Defaults and annotations run in the scope around the function."""
        self._visit_all([*args.defaults, *args.kw_defaults])
        for arg in (*args.posonlyargs, *args.args, args.vararg, *args.kwonlyargs, args.kwarg):
            if arg is not None and arg.annotation is not None:
                self._visit(arg.annotation)

    def _visit_FunctionDef(self, node: FunctionNode) -> None:
        self._visit_all(node.decorator_list)
        self._outer_parts(node.args)
        if node.returns is not None:
            self._visit(node.returns)
        self._scope.bind(node.name, Binding(node))
        if self._defer:
            self._outer[node] = self._scope
            self._deferred.add(node)
            return
        outer = self._enter_scope("function")
        self._bind_params(node.args, node)
        self._statements(node.body)
        self._scope = outer

    _visit_AsyncFunctionDef = _visit_FunctionDef

    def _visit_Lambda(self, node: ast.Lambda) -> None:
        self._outer_parts(node.args)
        outer = self._enter_scope("function")
        self._bind_params(node.args, node)
        self._visit(node.body)
        self._scope = outer

    def _visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._visit_all([*node.decorator_list, *node.bases, *(k.value for k in node.keywords)])
        self._scope.bind(node.name, Binding(node))
        outer = self._enter_scope("class")
        self._statements(node.body)
        self._scope = outer

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        self._visit(node.generators[0].iter)  # the first iterable runs outside
        outer = self._enter_scope("comprehension")
        for index, generator in enumerate(node.generators):
            if index:
                self._visit(generator.iter)
            self._visit(generator.target)
            self._visit_all(list(generator.ifs))
        if isinstance(node, ast.DictComp):
            self._visit_all([node.key, node.value])
        else:
            self._visit(node.elt)
        self._scope = outer

    _visit_ListComp = _visit_SetComp = _visit_GeneratorExp = _visit_DictComp = _comprehension

    def _visit_Global(self, node: ast.Global) -> None:
        self._scope.globals.update(node.names)

    def _visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self._scope.nonlocals.update(node.names)

    def _visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for name, binding in import_bindings(node):
            self._scope.bind(name, binding)
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "maniac":
            self.star_maniac = self.star_maniac or any(alias.name == "*" for alias in node.names)

    _visit_ImportFrom = _visit_Import

    def _bind_name(self, name: str, node: ast.AST) -> None:
        self._scope.bind(name, Binding(node))

    def _visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self._bind_name(node.name, node)
        self._children(node)

    def _visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name:
            self._bind_name(node.name, node)
        self._children(node)

    def _visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self._bind_name(node.name, node)

    def _visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self._bind_name(node.rest, node)
        self._children(node)

    def _visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Store):
            self._scope.bind(node.id, Binding(node, self._pending.pop(node, None)))
        self._scope_of[node] = self._scope

    def _removable(self, statement: ast.stmt) -> ast.stmt | None:
        return statement if statement in self._in_line else None

    def _record_target(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, ast.Name):
            self._pending[target] = value
        elif isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)):
            starred = any(isinstance(e, ast.Starred) for e in (*target.elts, *value.elts))
            if not starred and len(target.elts) == len(value.elts):
                for sub_target, sub_value in zip(target.elts, value.elts):
                    self._record_target(sub_target, sub_value)

    def _visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._record_target(target, node.value)
            if isinstance(target, ast.Subscript):
                statement = self._removable(node) if len(node.targets) == 1 else None
                self._env_candidates.append(EnvAssign(target, node.value, statement))
        self._children(node)

    def _visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._record_target(node.target, node.value)
        self._children(node)

    def _visit_Call(self, node: ast.Call) -> None:
        statement = self._statement
        whole = isinstance(statement, ast.Expr) and statement.value is node
        self._calls.append(Call(node, self._removable(statement) if whole and statement is not None else None))
        compound = isinstance(node.func, ast.Attribute) and node.func.attr in COMPOUND_METHODS
        if compound:
            self._enter_compound(node)
        self._visit(node.func)
        # Source order, as the checks meet them (ast keeps keywords apart).
        items: list[ast.expr | ast.keyword] = [*node.args, *node.keywords]
        for item in sorted(items, key=lambda n: (n.lineno, n.col_offset)):
            self._visit(item)
        if compound:
            self._compound_stack.pop()

    def _enter_compound(self, node: ast.expr) -> None:
        parent = self._compound_stack[-1] if self._compound_stack else None
        self._compounds.append((node, parent))
        self._compound_stack.append(node)

    def _visit_BoolOp(self, node: ast.BoolOp) -> None:
        if isinstance(node.op, ast.Or):
            # `a or b or c` is one node here; each `<left> or <next>` counts.
            for index in range(len(node.values) - 1, 0, -1):
                self._or_fallbacks.append((node.values[:index], node.values[index]))
        self._children(node)

    def _visit_BinOp(self, node: ast.BinOp) -> None:
        compound = isinstance(node.op, (ast.Add, ast.Mod))
        if compound:
            self._enter_compound(node)
        self._children(node)
        if compound:
            self._compound_stack.pop()

    def _visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        self._enter_compound(node)
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                self._visit(value.value)  # not its format spec: a spec holds no key
        self._compound_stack.pop()

    def _visit_Constant(self, node: ast.Constant) -> None:
        if self._lines and isinstance(node.value, str) and self.concatenated(node):
            parent = self._compound_stack[-1] if self._compound_stack else None
            self._compounds.append((node, parent))

    def concatenated(self, node: ast.Constant) -> bool:
        """`"ab" "cd"`: several literals that the parser made one."""
        return literal_count(self.segment(node)) > 1

    def segment(self, node: ast.expr) -> str:
        """The source text of `node` (ast columns count UTF-8 bytes)."""
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        start, end = node.col_offset, node.end_col_offset or 0
        if first == last:
            raw = self._rows[first][start:end]
        else:
            raw = b"\n".join([self._rows[first][start:], *self._rows[first + 1 : last], self._rows[last][:end]])
        text: str = raw.decode("utf-8", "surrogatepass")
        return text

    # ---- bindings ---------------------------------------------------------

    def _scope_at(self, name: ast.Name) -> Scope | None:
        scope = self._scope_of.get(name)
        if scope is None and self._deferred:
            body = self._deferred.pop_at(name)
            if body is not None:
                self._resolve_body(body)
                scope = self._scope_of.get(name)
        return scope

    def _bindings(self, name: ast.Name) -> list[Binding] | None:
        scope = self._scope_at(name)
        return None if scope is None else scope.lookup(name.id)

    def bindings_of(self, name: ast.Name) -> list[Binding] | None:
        """The bindings `name` refers to where it stands (None: not seen)."""
        return self._bindings(name)

    @property
    def module_scope(self) -> Scope:
        return self._scope.module()

    def qnames(self, node: ast.AST) -> frozenset[str]:
        if isinstance(node, ast.Name):
            scope = self._scope_at(node)
            return frozenset(scope.qualified(node.id)) if scope is not None else frozenset()
        if isinstance(node, ast.Attribute):
            return frozenset(f"{q}.{node.attr}" for q in self.qnames(node.value))
        return frozenset()

    def sdk_of(self, func: ast.expr, qnames: frozenset[str] | None = None) -> str | None:
        """`Maniac`/`AsyncManiac` when `func` names the SDK's client class: by
        its qualified name, or after `from maniac import *` as a name with no
        binding of its own (the one test the rules and `policy --infer` share).
        `qnames`: func's qualified names, when the caller has them already."""
        qnames = self.qnames(func) if qnames is None else qnames
        for name in qnames:
            found = sdk_class(name)
            if found is not None:
                return found
        star = self.star_maniac and not qnames and isinstance(func, ast.Name) and func.id in SDK_CLASSES
        return func.id if star and isinstance(func, ast.Name) and self._bindings(func) == [] else None


_HANDLERS: dict[tuple[type, type], Callable[..., None] | None] = {}
# `Load`, `Add`…: no handler and no children, on every name and operator.
_LEAVES = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)


def literal_count(segment: str) -> int:
    """How many string literals the source of one ast string constant holds."""
    quote = segment.lstrip("rRbBuUfF")[:1]
    if "\\" not in segment and "\n" not in segment and segment.count(quote) == 2:
        return 1  # the common case, without the tokenizer
    import io
    import tokenize

    try:
        tokens = tokenize.generate_tokens(io.StringIO(f"({segment})").readline)
        return sum(1 for token in tokens if token.type == tokenize.STRING)
    except (tokenize.TokenError, SyntaxError):
        return 1


def positional(call: ast.Call) -> list[ast.expr]:
    return [a for a in call.args if not isinstance(a, ast.Starred)]


def getenv_parts(call: ast.Call) -> tuple[ast.expr | None, ast.expr | None]:
    """The name and default arguments of os.getenv / os.environ.get."""
    given = positional(call)
    name = given[0] if given else None
    default = given[1] if len(given) > 1 else None
    for keyword in call.keywords:
        if keyword.arg == "default":
            default = keyword.value
        elif keyword.arg == "key":
            name = keyword.value
    return name, default
