"""The libcst analysis behind rules MG201–MG208.

One visitor walks the module once, collecting what it needs (assignments,
class attributes, calls, environment writes, expressions built from pieces);
`leave_Module` then folds constants and decides. Names are resolved with
libcst's ScopeProvider and its qualified names, so aliases
(`from maniac import Maniac as M`, `import maniac as m`) are seen and a local
class named `Maniac` is not taken for the SDK.

`analyze()` returns `PyIssue`s whose nodes belong to `wrapper.module`: the
autofix (maniac_guard.fix) rewrites exactly those nodes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import (
    Assignment,
    MetadataWrapper,
    Scope,
    ScopeProvider,
)

from maniac_guard.findings import mask
from maniac_guard.keyshape import looks_like_key
from maniac_guard.python.values import (
    ENV_NAME,
    PLACEHOLDER,
    REAL,
    classify,
    header_credential,
    is_key_header,
    is_maniac_env_name,
    is_maniac_url,
    is_test_path,
)

SDK_CLASSES = frozenset({"Maniac", "AsyncManiac"})
GETENV = frozenset({"os.getenv", "os.environ.get"})
ENVIRON = "os.environ"
ENV_SETTERS = frozenset({"os.environ.setdefault", "os.putenv"})
ENV_UPDATE = "os.environ.update"
LEGACY_KEY_FIELDS = ("apiKey", "api_key")
MAX_DEPTH = 12  # name → name → … chains; deeper is not a constant worth folding

# fix kinds (the contract with maniac_guard.fix)
REPLACE_WITH_GETENV = "replace-with-getenv"
DROP_GETENV_DEFAULT = "drop-getenv-default"
DROP_OR_FALLBACK = "drop-or-fallback"
REMOVE_STATEMENT = "remove-statement"
HEADER_TO_API_KEY = "header-to-api-key"


@dataclass
class PyIssue:
    rule_id: str
    message: str
    node: cst.CSTNode  # node whose position is reported (from wrapper.module)
    secret: str | None  # folded credential value, if any
    fix_kind: str | None  # one of the fix kinds above, or None
    # replace-with-getenv: the expression to replace (literal, concatenation,
    # or the Name's assigned value at the definition); drop-getenv-default:
    # the os.getenv/os.environ.get Call; drop-or-fallback: the
    # `os.getenv(…) or <fallback>` BooleanOperation; remove-statement: the
    # SimpleStatementLine (or small statement) to remove; header-to-api-key:
    # the Maniac(...) Call whose default_headers entry must move.
    fix_node: cst.CSTNode | None
    fix_safety: str | None  # "safe" | "unsafe"
    # Where the value is used when the issue is reported at its definition
    # (MG202: the SDK call); the detector names its line in the message.
    call_site: cst.CSTNode | None = None
    # For MG207: the environment variable whose name was passed.
    env_name: str | None = None


@dataclass(frozen=True)
class Folded:
    """A constant string and where its code is."""

    value: str
    site: cst.BaseExpression  # the literal, or the expression that builds it
    compound: bool  # built from pieces (concatenation, join, format, f-string)
    through_name: bool  # reached through a name or attribute


@dataclass
class _Call:
    node: cst.Call
    qnames: frozenset[str]
    statement: cst.CSTNode | None  # removable statement if the call is one


@dataclass
class _EnvAssign:
    target: cst.Subscript
    value: cst.BaseExpression
    statement: cst.CSTNode | None


def analyze(wrapper: MetadataWrapper, *, path: str = "") -> list[PyIssue]:
    """Every 2xx issue in the module. `path` only decides whether it is test code."""
    collector = _Collector(in_test=is_test_path(path))
    wrapper.visit(collector)
    return collector.issues


def _short(value: str) -> str:
    """A non-secret value as shown in a message (anything odd is masked)."""
    if len(value) <= 32 and not any(c.isspace() for c in value):
        return repr(value)
    return mask(value)


class _Collector(cst.CSTVisitor):
    # Qualified names are asked of the scope for the few nodes that need them:
    # QualifiedNameProvider walks the whole tree again to prepare one for
    # every node (about a third of the analysis time on a large module).
    METADATA_DEPENDENCIES = (ScopeProvider,)

    def __init__(self, in_test: bool) -> None:
        super().__init__()
        self.in_test = in_test
        self.issues: list[PyIssue] = []
        self._reported: set[cst.CSTNode] = set()
        # Name target of an assignment → the assigned expression.
        self._values: dict[cst.CSTNode, cst.BaseExpression] = {}
        self._class_attrs: dict[cst.ClassDef, dict[str, list[cst.BaseExpression]]] = {}
        self._self_class: dict[cst.Attribute, cst.ClassDef] = {}
        self._owners: list[cst.CSTNode] = []  # enclosing ClassDef / FunctionDef
        self._line: cst.SimpleStatementLine | None = None
        self._small: cst.BaseSmallStatement | None = None
        self._star_maniac = False
        self._calls: list[_Call] = []
        self._env_assigns: list[_EnvAssign] = []
        self._or_fallbacks: list[cst.BooleanOperation] = []  # `<lookups> or <fallback>`
        self._compounds: list[tuple[cst.BaseExpression, cst.BaseExpression | None]] = []
        self._compound_stack: list[cst.BaseExpression] = []
        self._memo: dict[cst.CSTNode, Folded | None] = {}
        self._folding: set[cst.CSTNode] = set()

    # ---- collecting -------------------------------------------------------

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._owners.append(node)
        self._class_attrs.setdefault(node, {})

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._owners.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._owners.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._owners.pop()

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self._line = node

    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine) -> None:
        self._line = None
        self._small = None

    def visit_Expr(self, node: cst.Expr) -> None:
        self._small = node

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar) and node.module is not None and node.relative == ():
            if cst.helpers.get_full_name_for_node(node.module) == "maniac":
                self._star_maniac = True

    def _enclosing_class(self) -> cst.ClassDef | None:
        for owner in reversed(self._owners):
            if isinstance(owner, cst.ClassDef):
                return owner
        return None

    def _statement_of(self, small: cst.BaseSmallStatement) -> cst.CSTNode | None:
        """What to remove to drop `small`: its whole line when it is alone there."""
        if self._line is None or self._small is not small:
            return None
        return self._line if len(self._line.body) == 1 else small

    def _record_target(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self._values[target] = value
            if self._owners and isinstance(self._owners[-1], cst.ClassDef):
                self._class_attrs[self._owners[-1]].setdefault(target.value, []).append(value)
        elif isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, (cst.Tuple, cst.List)):
            targets = [e.value for e in target.elements]
            values = [e.value for e in value.elements]
            starred = any(isinstance(e, cst.StarredElement) for e in (*target.elements, *value.elements))
            if not starred and len(targets) == len(values):
                for sub_target, sub_value in zip(targets, values):
                    self._record_target(sub_target, sub_value)
        elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
            if target.value.value in ("self", "cls"):
                owner = self._enclosing_class()
                if owner is not None:
                    self._class_attrs[owner].setdefault(target.attr.value, []).append(value)

    def visit_Assign(self, node: cst.Assign) -> None:
        self._small = node
        for assign_target in node.targets:
            target = assign_target.target
            self._record_target(target, node.value)
            if isinstance(target, cst.Subscript) and ENVIRON in self._qnames(target.value):
                statement = self._statement_of(node) if len(node.targets) == 1 else None
                self._env_assigns.append(_EnvAssign(target, node.value, statement))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._small = node
        if node.value is not None:
            self._record_target(node.target, node.value)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if isinstance(node.value, cst.Name) and node.value.value in ("self", "cls"):
            owner = self._enclosing_class()
            if owner is not None:
                self._self_class[node] = owner

    def _qnames(self, node: cst.CSTNode) -> frozenset[str]:
        scope = self.get_metadata(ScopeProvider, node, None)
        names = scope.get_qualified_names_for(node) if isinstance(scope, Scope) else ()
        return frozenset(q.name for q in names)

    def visit_Call(self, node: cst.Call) -> None:
        statement = None
        if isinstance(self._small, cst.Expr) and self._small.value is node:
            statement = self._statement_of(self._small)
        self._calls.append(_Call(node, self._qnames(node.func), statement))
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in ("join", "format"):
            self._enter_compound(node)

    def leave_Call(self, original_node: cst.Call) -> None:
        self._leave_compound(original_node)

    def _enter_compound(self, node: cst.BaseExpression) -> None:
        parent = self._compound_stack[-1] if self._compound_stack else None
        self._compounds.append((node, parent))
        self._compound_stack.append(node)

    def _leave_compound(self, node: cst.BaseExpression) -> None:
        if self._compound_stack and self._compound_stack[-1] is node:
            self._compound_stack.pop()

    def visit_BooleanOperation(self, node: cst.BooleanOperation) -> None:
        if isinstance(node.operator, cst.Or):
            self._or_fallbacks.append(node)

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if isinstance(node.operator, cst.Add):
            self._enter_compound(node)

    def leave_BinaryOperation(self, original_node: cst.BinaryOperation) -> None:
        self._leave_compound(original_node)

    def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> None:
        self._enter_compound(node)

    def leave_ConcatenatedString(self, original_node: cst.ConcatenatedString) -> None:
        self._leave_compound(original_node)

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        self._enter_compound(node)

    def leave_FormattedString(self, original_node: cst.FormattedString) -> None:
        self._leave_compound(original_node)

    # ---- folding constants ------------------------------------------------

    def _assigned(self, name: cst.Name) -> list[cst.BaseExpression | None]:
        """Every value bound to `name` where it is used; None for a binding
        that is not a plain assignment (a parameter, a loop, an import)."""
        scope = self.get_metadata(ScopeProvider, name, None)
        if not isinstance(scope, Scope):
            return [None]
        out: list[cst.BaseExpression | None] = []
        for assignment in scope[name.value]:
            node = assignment.node if isinstance(assignment, Assignment) else None
            out.append(self._values.get(node) if node is not None else None)
        return out

    def _class_of(self, name: cst.Name) -> cst.ClassDef | None:
        scope = self.get_metadata(ScopeProvider, name, None)
        if not isinstance(scope, Scope):
            return None
        classes = [a.node for a in scope[name.value] if isinstance(a, Assignment)]
        if len(classes) == 1 and isinstance(classes[0], cst.ClassDef):
            return classes[0]
        return None

    def _attr_values(self, node: cst.Attribute) -> list[cst.BaseExpression | None]:
        owner = self._self_class.get(node)
        if owner is None and isinstance(node.value, cst.Name):
            owner = self._class_of(node.value)
        if owner is None:
            return [None]
        return list(self._class_attrs.get(owner, {}).get(node.attr.value, [])) or [None]

    def _bound_values(self, expr: cst.BaseExpression) -> list[cst.BaseExpression | None] | None:
        """Values behind a name or attribute; None when `expr` is neither."""
        if isinstance(expr, cst.Name):
            return self._assigned(expr)
        if isinstance(expr, cst.Attribute):
            return self._attr_values(expr)
        return None

    def fold(self, expr: cst.BaseExpression, depth: int = 0) -> Folded | None:
        if expr in self._memo:
            return self._memo[expr]
        if depth > MAX_DEPTH or expr in self._folding:
            return None
        self._folding.add(expr)
        try:
            result = self._fold(expr, depth)
        finally:
            self._folding.discard(expr)
        self._memo[expr] = result
        return result

    def _fold(self, expr: cst.BaseExpression, depth: int) -> Folded | None:
        if isinstance(expr, cst.SimpleString):
            try:
                value = expr.evaluated_value
            except Exception:  # libcst raises plain errors on odd escapes
                return None
            return Folded(value, expr, False, False) if isinstance(value, str) else None
        if isinstance(expr, cst.ConcatenatedString):
            return self._join(expr, [expr.left, expr.right], depth)
        if isinstance(expr, cst.BinaryOperation):
            if not isinstance(expr.operator, cst.Add):
                return None
            return self._join(expr, [expr.left, expr.right], depth)
        if isinstance(expr, cst.FormattedString):
            return self._fold_fstring(expr, depth)
        if isinstance(expr, cst.Call):
            return self._fold_call(expr, depth)
        bound = self._bound_values(expr)
        if bound is None or not bound or any(v is None for v in bound):
            return None
        folds = [self.fold(v, depth + 1) for v in bound if v is not None]
        if any(f is None for f in folds) or len({f.value for f in folds if f}) != 1:
            return None
        first = folds[0]
        assert first is not None
        return Folded(first.value, first.site, first.compound, True)

    def _join(self, expr: cst.BaseExpression, parts: Sequence[cst.BaseExpression], depth: int) -> Folded | None:
        folds = [self.fold(p, depth + 1) for p in parts]
        if any(f is None for f in folds):
            return None
        value = "".join(f.value for f in folds if f)
        return Folded(value, expr, True, any(f.through_name for f in folds if f))

    def _fold_fstring(self, expr: cst.FormattedString, depth: int) -> Folded | None:
        raw = "r" in expr.prefix.lower()
        pieces: list[str] = []
        through = False
        for part in expr.parts:
            if isinstance(part, cst.FormattedStringText):
                if "\\" in part.value and not raw:
                    return None  # escapes: not worth evaluating, keys hold none
                pieces.append(part.value.replace("{{", "{").replace("}}", "}"))
            elif isinstance(part, cst.FormattedStringExpression):
                if part.conversion is not None or part.format_spec is not None:
                    return None
                inner = self.fold(part.expression, depth + 1)
                if inner is None:
                    return None
                pieces.append(inner.value)
                through = through or inner.through_name
            else:
                return None
        return Folded("".join(pieces), expr, True, through)

    def _fold_call(self, expr: cst.Call, depth: int) -> Folded | None:
        func = expr.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in ("join", "format"):
            return None
        base = self.fold(func.value, depth + 1)
        if base is None:
            return None
        if func.attr.value == "join":
            if len(expr.args) != 1 or expr.args[0].keyword is not None or expr.args[0].star:
                return None
            seq = expr.args[0].value
            if not isinstance(seq, (cst.List, cst.Tuple)) or any(
                isinstance(e, cst.StarredElement) for e in seq.elements
            ):
                return None
            folds = [self.fold(e.value, depth + 1) for e in seq.elements]
            if any(f is None for f in folds):
                return None
            value = base.value.join(f.value for f in folds if f)
            return Folded(value, expr, True, any(f.through_name for f in folds if f))
        positional: list[str] = []
        keywords: dict[str, str] = {}
        through = base.through_name
        for arg in expr.args:
            if arg.star:
                return None
            folded = self.fold(arg.value, depth + 1)
            if folded is None:
                return None
            through = through or folded.through_name
            if arg.keyword is None:
                positional.append(folded.value)
            else:
                keywords[arg.keyword.value] = folded.value
        try:
            value = base.value.format(*positional, **keywords)
        except (ValueError, IndexError, KeyError, AttributeError, TypeError):
            return None
        return Folded(value, expr, True, through)

    def options(self, expr: cst.BaseExpression) -> list[Folded]:
        """Each constant `expr` may hold: a name assigned in two places gives two."""
        bound = self._bound_values(expr)
        if bound is None:
            folded = self.fold(expr)
            return [folded] if folded is not None else []
        out = []
        for value in bound:
            folded = self.fold(value) if value is not None else None
            if folded is not None:
                out.append(Folded(folded.value, folded.site, folded.compound, True))
        return out

    def dict_items(self, expr: cst.BaseExpression, depth: int = 0) -> list[tuple[str, cst.BaseExpression]] | None:
        """(key, value expression) pairs of a dict display, `dict(...)` call, or a
        name bound to one; None when `expr` is not a dict."""
        if depth > MAX_DEPTH:
            return None
        if isinstance(expr, cst.Dict):
            items = []
            for element in expr.elements:
                if isinstance(element, cst.DictElement):
                    key = self.fold(element.key)
                    if key is not None:
                        items.append((key.value, element.value))
            return items
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value == "dict":
            return [(a.keyword.value, a.value) for a in expr.args if a.keyword is not None]
        bound = self._bound_values(expr)
        if not bound:
            return None
        found: list[tuple[str, cst.BaseExpression]] | None = None
        for value in bound:
            if value is None:
                continue
            more = self.dict_items(value, depth + 1)
            if more is not None:
                found = (found or []) + more
        return found

    # ---- deciding ---------------------------------------------------------

    def _add(self, issue: PyIssue) -> None:
        if issue.node in self._reported:
            return
        self._reported.add(issue.node)
        self.issues.append(issue)

    def _sdk_name(self, call: _Call) -> str | None:
        for name in call.qnames:
            head, _, last = name.rpartition(".")
            if last in SDK_CLASSES and (head == "maniac" or head.startswith("maniac.")):
                return last
        func = call.node.func
        if self._star_maniac and not call.qnames and isinstance(func, cst.Name) and func.value in SDK_CLASSES:
            # `from maniac import *`: libcst does not follow star imports, so
            # a name with no binding of its own is taken to come from there.
            scope = self.get_metadata(ScopeProvider, func, None)
            if isinstance(scope, Scope) and not scope[func.value]:
                return func.value
        return None

    def leave_Module(self, original_node: cst.Module) -> None:
        for call in self._calls:
            sdk = self._sdk_name(call)
            if sdk is not None:
                self._check_sdk_call(call.node, sdk)
            elif call.qnames & GETENV:
                self._check_getenv(call.node)
            elif call.qnames & ENV_SETTERS:
                self._check_env_setter(call)
            elif ENV_UPDATE in call.qnames:
                self._check_env_update(call)
            elif any(a.keyword is not None and a.keyword.value == "headers" for a in call.node.args):
                self._check_http_call(call.node)
        for assign in self._env_assigns:
            index = assign.target.slice[0].slice if len(assign.target.slice) == 1 else None
            name = self.fold(index.value) if isinstance(index, cst.Index) else None
            self._check_env_write(name.value if name else None, assign.value, assign.statement, "os.environ[...] =")
        for fallback in self._or_fallbacks:
            lookup = self._env_lookups(fallback.left)
            if lookup is not None:
                name_expr, _ = self._getenv_parts(lookup)
                self._check_getenv_default(lookup, name_expr, fallback.right, DROP_OR_FALLBACK, fallback, "`or` fallback")
        self._check_pieces()

    def _env_lookups(self, expr: cst.BaseExpression) -> cst.Call | None:
        """The first getenv call of `os.getenv(A)` or `os.getenv(A) or
        os.environ.get(B) or …` (left-nested), None if anything else is in it."""
        if isinstance(expr, cst.Call):
            return expr if self._qnames(expr.func) & GETENV else None
        if isinstance(expr, cst.BooleanOperation) and isinstance(expr.operator, cst.Or):
            first = self._env_lookups(expr.left)
            return first if first is not None and self._env_lookups(expr.right) is not None else None
        return None

    def _check_sdk_call(self, call: cst.Call, sdk: str) -> None:
        key_exprs: list[cst.BaseExpression] = []
        header_exprs: list[cst.BaseExpression] = []
        unpacked_headers: list[cst.BaseExpression] = []
        via_name: set[int] = set()  # ids of key expressions from a dict bound to a name
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == "api_key":
                key_exprs.append(arg.value)
            elif arg.keyword is not None and arg.keyword.value == "default_headers":
                header_exprs.append(arg.value)
            elif arg.star == "**":  # Maniac(**{"api_key": …}), or a name bound to such a dict
                for key, value in self.dict_items(arg.value) or []:
                    if key == "api_key":
                        key_exprs.append(value)
                        if not isinstance(arg.value, (cst.Dict, cst.Call)):
                            via_name.add(id(value))
                    elif key == "default_headers":
                        unpacked_headers.append(value)
        positional = [a for a in call.args if a.keyword is None and not a.star]
        if positional:
            first = positional[0].value
            legacy = self.dict_items(first)
            if legacy is None:
                key_exprs.append(first)
            else:  # Maniac({"apiKey": ...}) from older releases
                key_exprs += [value for key, value in legacy if key in LEGACY_KEY_FIELDS]
                header_exprs += [v for k, v in legacy if k in ("defaultHeaders", "default_headers")]
        for expr in key_exprs:
            for folded in self.options(expr):
                if id(expr) in via_name and not folded.through_name:
                    folded = dataclasses.replace(folded, through_name=True)
                self._judge_sdk_value(folded, call, sdk)
        for expr in header_exprs:
            self._check_headers(expr, call, f"{sdk}(default_headers=…)", sdk_call=True)
        for expr in unpacked_headers:  # no fix: the header is not in the call to move
            self._check_headers(expr, call, f"{sdk}(**…)", sdk_call=False)

    def _judge_sdk_value(self, folded: Folded, call: cst.Call, sdk: str) -> None:
        kind = classify(folded.value, self.in_test)
        site = folded.site
        call_site = call if folded.through_name else None
        if kind == REAL:
            secret = folded.value
            if folded.compound:
                rule, message = "MG203", f"credential {mask(secret)} is built from pieces and passed to {sdk}()"
            elif folded.through_name:
                rule, message = "MG202", f"credential {mask(secret)} is assigned here and passed to {sdk}() through a name"
            else:
                rule, message = "MG201", f"hardcoded credential {mask(secret)} passed to {sdk}()"
            self._add(PyIssue(rule, message, site, secret, REPLACE_WITH_GETENV, site, "safe", call_site))
        elif kind == ENV_NAME:
            name = folded.value.strip()
            message = (
                f"{sdk}() gets the name {name!r} as its API key, not the variable's value; "
                f'use os.getenv("{name}") or leave api_key out'
            )
            self._add(PyIssue("MG207", message, site, None, REPLACE_WITH_GETENV, site, "safe", call_site, name))
        elif kind == PLACEHOLDER and not self.in_test:
            message = f"placeholder {_short(folded.value)} passed to {sdk}() as the API key; read MANIAC_API_KEY instead"
            self._add(PyIssue("MG208", message, site, None, REPLACE_WITH_GETENV, site, "safe", call_site))
        # Empty strings, and placeholders in test code: nothing to say.

    def _check_headers(self, expr: cst.BaseExpression, call: cst.Call, where: str, sdk_call: bool, force: bool = True) -> None:
        items = self.dict_items(expr) or []
        for header, value_expr in items:
            if not is_key_header(header):
                continue
            for folded in self.options(value_expr):
                credential = header_credential(folded.value)
                if classify(credential, self.in_test) != REAL:
                    continue
                if not force and not looks_like_key(credential):
                    continue
                message = f"credential {mask(credential)} in the {header} header of {where}"
                if sdk_call:
                    fix: tuple[str | None, cst.CSTNode | None, str | None] = (HEADER_TO_API_KEY, call, "unsafe")
                    if folded.through_name:
                        fix = (None, None, None)
                else:
                    fix = (None, None, None)
                self._add(PyIssue("MG206", message, folded.site, credential, *fix, call if folded.through_name else None))

    def _check_http_call(self, call: cst.Call) -> None:
        to_maniac = False
        headers: list[cst.BaseExpression] = []
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == "headers":
                headers.append(arg.value)
                continue
            if arg.keyword is None or arg.keyword.value in ("url", "base_url"):
                folded = self.fold(arg.value)
                if folded is not None and is_maniac_url(folded.value):
                    to_maniac = True
        for expr in headers:
            # A request to another host may carry another service's token;
            # only an mk- key is ours to report there.
            self._check_headers(expr, call, "a request to the Maniac API" if to_maniac else "a request", False, force=to_maniac)

    def _getenv_parts(self, call: cst.Call) -> tuple[cst.BaseExpression | None, cst.BaseExpression | None]:
        name = default = None
        positional = [a for a in call.args if a.keyword is None and not a.star]
        if positional:
            name = positional[0].value
        if len(positional) > 1:
            default = positional[1].value
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == "default":
                default = arg.value
            elif arg.keyword is not None and arg.keyword.value == "key":
                name = arg.value
        return name, default

    def _check_getenv(self, call: cst.Call) -> None:
        name_expr, default = self._getenv_parts(call)
        if default is not None:
            self._check_getenv_default(call, name_expr, default, DROP_GETENV_DEFAULT, call, "default")

    def _check_getenv_default(
        self,
        call: cst.Call,
        name_expr: cst.BaseExpression | None,
        default: cst.BaseExpression,
        fix_kind: str,
        fix_node: cst.CSTNode,
        role: str,
    ) -> None:
        """A credential used when the variable is unset: the call's default,
        or the right side of `os.getenv(…) or <fallback>`."""
        name = self.fold(name_expr) if name_expr is not None else None
        for folded in self.options(default):
            value = folded.value
            if classify(value, self.in_test) != REAL:
                continue
            if not looks_like_key(value) and not (name is not None and is_maniac_env_name(name.value)):
                continue
            shown = name.value if name is not None else "the variable"
            message = f"credential {mask(value)} is the {role} of {shown}: the key ships with the code when the variable is unset"
            self._add(PyIssue("MG205", message, folded.site, value, fix_kind, fix_node, "safe", call if folded.through_name else None))

    def _check_env_write(
        self, name: str | None, value_expr: cst.BaseExpression, statement: cst.CSTNode | None, how: str, single: bool = True
    ) -> None:
        for folded in self.options(value_expr):
            value = folded.value
            if classify(value, self.in_test) != REAL:
                continue
            if not looks_like_key(value) and not (name is not None and is_maniac_env_name(name)):
                continue
            message = f"credential {mask(value)} written into the environment ({how} {name or '…'})"
            removable = statement is not None and single and not folded.through_name
            call_site = statement if folded.through_name else None
            if removable:
                issue = PyIssue("MG204", message, folded.site, value, REMOVE_STATEMENT, statement, "unsafe", call_site)
            else:
                issue = PyIssue("MG204", message, folded.site, value, None, None, None, call_site)
            self._add(issue)

    def _check_env_setter(self, call: _Call) -> None:
        positional = [a.value for a in call.node.args if a.keyword is None and not a.star]
        if len(positional) < 2:
            return
        name = self.fold(positional[0])
        how = "os.putenv" if "os.putenv" in call.qnames else "os.environ.setdefault"
        self._check_env_write(name.value if name else None, positional[1], call.statement, how)

    def _check_env_update(self, call: _Call) -> None:
        pairs: list[tuple[str, cst.BaseExpression]] = []
        for arg in call.node.args:
            if arg.keyword is not None:
                pairs.append((arg.keyword.value, arg.value))
            elif not arg.star:
                pairs += self.dict_items(arg.value) or []
        for name, value in pairs:
            self._check_env_write(name, value, call.statement, "os.environ.update", single=len(pairs) == 1)

    def _check_pieces(self) -> None:
        """MG203 anywhere: an mk- key assembled from constants, used or not."""
        parents = dict(self._compounds)
        seen: set[cst.BaseExpression] = set()
        for node, parent in self._compounds:
            ancestor = parent
            while ancestor is not None and ancestor not in seen and ancestor not in self._reported:
                ancestor = parents.get(ancestor)
            if ancestor is not None or node in self._reported:
                continue
            folded = self.fold(node)
            if folded is None or not looks_like_key(folded.value):
                continue
            seen.add(node)
            if not folded.compound:
                continue
            message = f"Maniac API key {mask(folded.value)} assembled from pieces"
            self._add(PyIssue("MG203", message, node, folded.value, REPLACE_WITH_GETENV, node, "safe"))


def iter_issue_nodes(issues: Iterable[PyIssue]) -> list[cst.CSTNode]:
    """Nodes whose positions the detector needs (reported and call sites)."""
    out: list[cst.CSTNode] = []
    for issue in issues:
        out.append(issue.node)
        if issue.call_site is not None:
            out.append(issue.call_site)
    return out
