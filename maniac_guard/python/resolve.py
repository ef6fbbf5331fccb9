"""Names and bindings for the Python rules: one libcst visitor pass collects
what the checks need (assignments, class attributes, calls, environment
writes, expressions built from pieces), and `Resolver` answers "which
expressions can this name, attribute or parameter hold?".

Names are resolved with libcst's ScopeProvider and its qualified names, so
aliases (`from maniac import Maniac as M`, `import maniac as m`) are seen and
a local class named `Maniac` is not taken for the SDK. Constant folding builds
on this in `fold.py`; the rule checks in `checks.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
from libcst.metadata import Assignment, Scope, ScopeProvider

MAX_DEPTH = 12  # name → name → … chains; deeper is not a constant worth folding
# Calls whose result is a field's default (dataclasses.field, pydantic.Field).
FIELD_FACTORIES = frozenset({"field", "Field"})

Values = list[cst.BaseExpression | None]  # None: a binding whose value is unknown


@dataclass
class Call:
    node: cst.Call
    qnames: frozenset[str]
    statement: cst.CSTNode | None  # removable statement if the call is one


@dataclass
class EnvAssign:
    target: cst.Subscript
    value: cst.BaseExpression
    statement: cst.CSTNode | None


class Resolver(cst.CSTVisitor):
    # Qualified names are asked of the scope for the few nodes that need them:
    # QualifiedNameProvider walks the whole tree again to prepare one for
    # every node (about a third of the analysis time on a large module).
    METADATA_DEPENDENCIES = (ScopeProvider,)

    def __init__(self) -> None:
        super().__init__()
        # Name target of an assignment → the assigned expression.
        self._values: dict[cst.CSTNode, cst.BaseExpression] = {}
        self._class_attrs: dict[cst.ClassDef, dict[str, list[cst.BaseExpression]]] = {}
        self._self_class: dict[cst.Attribute, cst.ClassDef] = {}
        self._owners: list[cst.CSTNode] = []  # enclosing ClassDef / FunctionDef
        self._param_owner: dict[cst.Param, cst.FunctionDef | cst.Lambda] = {}
        self._line: cst.SimpleStatementLine | None = None
        self._small: cst.BaseSmallStatement | None = None
        self.star_maniac = False
        self.calls: list[Call] = []
        self.env_assigns: list[EnvAssign] = []
        self.or_fallbacks: list[cst.BooleanOperation] = []  # `<lookups> or <fallback>`
        self.compounds: list[tuple[cst.BaseExpression, cst.BaseExpression | None]] = []
        self._compound_stack: list[cst.BaseExpression] = []

    # ---- collecting -------------------------------------------------------

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._owners.append(node)
        self._class_attrs.setdefault(node, {})

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._owners.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._owners.append(node)
        self._note_params(node, node.params)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._owners.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._note_params(node, node.params)

    def _note_params(self, owner: cst.FunctionDef | cst.Lambda, params: cst.Parameters) -> None:
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            self._param_owner[param] = owner

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self._line = node

    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine) -> None:
        self._line = None
        self._small = None

    def visit_Expr(self, node: cst.Expr) -> None:
        self._small = node

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        star = isinstance(node.names, cst.ImportStar) and node.module is not None and node.relative == ()
        if star and node.module is not None and cst.helpers.get_full_name_for_node(node.module) == "maniac":
            self.star_maniac = True

    def _enclosing_class(self) -> cst.ClassDef | None:
        for owner in reversed(self._owners):
            if isinstance(owner, cst.ClassDef):
                return owner
        return None

    def statement_of(self, small: cst.BaseSmallStatement) -> cst.CSTNode | None:
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
        elif (
            isinstance(target, cst.Attribute)
            and isinstance(target.value, cst.Name)
            and target.value.value in ("self", "cls")
        ):
            owner = self._enclosing_class()
            if owner is not None:
                self._class_attrs[owner].setdefault(target.attr.value, []).append(value)

    def visit_Assign(self, node: cst.Assign) -> None:
        self._small = node
        for assign_target in node.targets:
            target = assign_target.target
            self._record_target(target, node.value)
            if isinstance(target, cst.Subscript) and "os.environ" in self.qnames(target.value):
                statement = self.statement_of(node) if len(node.targets) == 1 else None
                self.env_assigns.append(EnvAssign(target, node.value, statement))

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._small = node
        if node.value is not None:
            self._record_target(node.target, node.value)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if isinstance(node.value, cst.Name) and node.value.value in ("self", "cls"):
            owner = self._enclosing_class()
            if owner is not None:
                self._self_class[node] = owner

    def qnames(self, node: cst.CSTNode) -> frozenset[str]:
        scope = self.get_metadata(ScopeProvider, node, None)
        names = scope.get_qualified_names_for(node) if isinstance(scope, Scope) else ()
        return frozenset(q.name for q in names)

    def visit_Call(self, node: cst.Call) -> None:
        statement = None
        if isinstance(self._small, cst.Expr) and self._small.value is node:
            statement = self.statement_of(self._small)
        self.calls.append(Call(node, self.qnames(node.func), statement))
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in (
            "join",
            "format",
            "substitute",
            "safe_substitute",
        ):
            self._enter_compound(node)

    def leave_Call(self, original_node: cst.Call) -> None:
        self._leave_compound(original_node)

    def _enter_compound(self, node: cst.BaseExpression) -> None:
        parent = self._compound_stack[-1] if self._compound_stack else None
        self.compounds.append((node, parent))
        self._compound_stack.append(node)

    def _leave_compound(self, node: cst.BaseExpression) -> None:
        if self._compound_stack and self._compound_stack[-1] is node:
            self._compound_stack.pop()

    def visit_BooleanOperation(self, node: cst.BooleanOperation) -> None:
        if isinstance(node.operator, cst.Or):
            self.or_fallbacks.append(node)

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if isinstance(node.operator, (cst.Add, cst.Modulo)):
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

    # ---- bindings ---------------------------------------------------------

    def assigned(self, name: cst.Name) -> Values:
        """Every value bound to `name` where it is used: the assigned expression,
        or a parameter's default; None for a binding that is neither (a
        parameter without a default, a loop, an import)."""
        scope = self.get_metadata(ScopeProvider, name, None)
        if not isinstance(scope, Scope):
            return [None]
        out: Values = []
        for assignment in scope[name.value]:
            node = assignment.node if isinstance(assignment, Assignment) else None
            if isinstance(node, cst.Param):
                out.append(node.default)
            else:
                out.append(self._values.get(node) if node is not None else None)
        return out

    def params_of(self, name: cst.Name) -> list[cst.Param] | None:
        """The parameters `name` is bound to, when it is bound to nothing else."""
        scope = self.get_metadata(ScopeProvider, name, None)
        if not isinstance(scope, Scope):
            return None
        nodes = [a.node if isinstance(a, Assignment) else None for a in scope[name.value]]
        params = [n for n in nodes if isinstance(n, cst.Param)]
        return params if params and len(params) == len(nodes) else None

    def param_owner(self, param: cst.Param) -> cst.FunctionDef | cst.Lambda | None:
        return self._param_owner.get(param)

    def definition(self, name: cst.Name) -> cst.CSTNode | None:
        """The class or function `name` is bound to, when it has one binding."""
        scope = self.get_metadata(ScopeProvider, name, None)
        if not isinstance(scope, Scope):
            return None
        nodes = [a.node for a in scope[name.value] if isinstance(a, Assignment)]
        if len(nodes) == 1 and isinstance(nodes[0], (cst.ClassDef, cst.FunctionDef)):
            return nodes[0]
        return None

    def method_of(self, node: cst.Attribute) -> cst.FunctionDef | None:
        """`self.method` / `cls.method` inside a class: that method's definition."""
        owner = self._self_class.get(node)
        if owner is None:
            return None
        for statement in owner.body.body:
            if isinstance(statement, cst.FunctionDef) and statement.name.value == node.attr.value:
                return statement
        return None

    def _instance_class(self, expr: cst.BaseExpression) -> tuple[cst.ClassDef, cst.Call | None] | None:
        """The class `expr` names (`Settings`) or is an instance of
        (`Settings()`, or a name bound once to it), with the constructor call."""
        if isinstance(expr, cst.Name):
            found = self.definition(expr)
            if isinstance(found, cst.ClassDef):
                return found, None
            bound = self.assigned(expr)
            if len(bound) == 1 and isinstance(bound[0], cst.Call):
                expr = bound[0]
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name):
            found = self.definition(expr.func)
            if isinstance(found, cst.ClassDef):
                return found, expr
        return None

    def attr_values(self, node: cst.Attribute) -> Values:
        owner = self._self_class.get(node)
        constructor = None
        if owner is None:
            instance = self._instance_class(node.value)
            if instance is not None:
                owner, constructor = instance
        if owner is None:
            return [None]
        if constructor is not None:
            # Settings(api_key=…) sets the field: the default is not used.
            for arg in constructor.args:
                if arg.keyword is not None and arg.keyword.value == node.attr.value:
                    return [arg.value]
        values = self._class_attrs.get(owner, {}).get(node.attr.value, [])
        return [field_default(v) for v in values] or [None]

    def bound_values(self, expr: cst.BaseExpression) -> Values | None:
        """Values behind a name or attribute; None when `expr` is neither."""
        if isinstance(expr, cst.Name):
            return self.assigned(expr)
        if isinstance(expr, cst.Attribute):
            return self.attr_values(expr)
        return None


def field_default(value: cst.BaseExpression) -> cst.BaseExpression | None:
    """A class attribute's value, or the default of `field(default=…)` /
    `Field(…)` (dataclasses, pydantic); None for a default factory."""
    if not isinstance(value, cst.Call):
        return value
    func = value.func
    name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
    if name not in FIELD_FACTORIES:
        return value
    for arg in value.args:
        if arg.keyword is not None and arg.keyword.value == "default":
            return arg.value
    positional = [a for a in value.args if a.keyword is None and not a.star]
    if name == "Field" and positional:
        return positional[0].value
    return None


def getenv_parts(
    call: cst.Call,
) -> tuple[cst.BaseExpression | None, cst.BaseExpression | None]:
    """The name and default arguments of os.getenv / os.environ.get."""
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
