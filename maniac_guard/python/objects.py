"""Attributes in the value flow: module members (imports, `__all__`),
classes (attributes through the bases, methods, `staticmethod`/
`classmethod`, properties, Enum members and `.value`), instances (what
`__init__` stores on `self`, dataclass/attrs/pydantic/NamedTuple fields
from the constructor's arguments or their defaults), decorators, what a
parameter holds when no call binds it (its default, a click option's
default), argparse defaults read back as `args.<dest>`, and containers
changed through a name (`d[k] = v`, `.update`, `.append`)."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import TYPE_CHECKING

from maniac_guard.python.domain import (
    UNKNOWN,
    Args,
    ClassV,
    DictV,
    EnumV,
    ExtV,
    Frame,
    FuncV,
    InstV,
    ModV,
    Opaque,
    ParserV,
    SeqV,
    Text,
    Values,
    stepped,
    texts,
    union,
)
from maniac_guard.python.frames import bind, run

if TYPE_CHECKING:
    from maniac_guard.python.evaluator import Evaluator as Flow
    from maniac_guard.python.modules import ModuleInfo

RECORD_DECORATORS = frozenset({"dataclass", "define", "frozen", "mutable", "attrs", "s", "dataclass_transform"})
RECORD_BASES = frozenset({"BaseModel", "BaseSettings", "NamedTuple", "TypedDict", "Struct", "SQLModel"})
ENUM_BASES = frozenset({"Enum", "IntEnum", "StrEnum", "Flag", "IntFlag"})
Def = ast.FunctionDef | ast.AsyncFunctionDef


def _last(expr: ast.expr) -> str:
    if isinstance(expr, ast.Call):
        expr = expr.func
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return expr.id if isinstance(expr, ast.Name) else ""


def attribute(flow: Flow, base: Values, name: str, node: ast.expr | None, mod: ModuleInfo) -> Values:
    out: list[Values] = []
    for value in base:
        if isinstance(value, ModV):
            out.append(module_member(flow, value.mod, name))
        elif isinstance(value, ExtV):
            out.append((ExtV(f"{value.qname}.{name}"),))
        elif isinstance(value, ClassV):
            out.append(class_attr(flow, value, name, None))
        elif isinstance(value, InstV):
            out.append(instance_attr(flow, value, name))
        elif isinstance(value, EnumV):
            out.append(_member_value(flow, value) if name == "value" else UNKNOWN)
        elif isinstance(value, ParserV):
            out.append(_parser_attr(flow, value, name))
        elif isinstance(value, Opaque):
            out.append((value,))
        else:
            out.append(UNKNOWN)
    return union(*out)


# ---- modules ----------------------------------------------------------------


def module_member(flow: Flow, mod: ModuleInfo, name: str) -> Values:
    key = (mod, name)
    if key in flow.members:  # `from pkg import sub` in pkg/__init__.py when sub.py is past the read limit
        return UNKNOWN
    flow.members.add(key)
    try:
        return _module_member(flow, mod, name)
    finally:
        flow.members.discard(key)


def _module_member(flow: Flow, mod: ModuleInfo, name: str) -> Values:
    bindings = mod.module_bindings(name)
    if bindings:
        values = union(*(flow.binding(b, mod, None) for b in bindings))
        if any(isinstance(v, (DictV, SeqV)) for v in values):
            values = mutated(flow, values, bindings, name, mod, None)
        return values
    if mod.path.endswith("__init__.py") or mod.path == "__init__.py":
        sub = flow.project.find("." + name, mod.package)
        if sub is not None:
            return (ModV(sub),)
    for star in mod.star_imports():
        dotted = "." * star.level + (star.module or "")
        if not flow.project.may_define(dotted, mod.package, name):
            continue
        other = flow.project.find(dotted, mod.package)
        if other is not None and other is not mod:
            exported = other.exported()
            if exported is None or name in exported:
                found = module_member(flow, other, name)
                if found != UNKNOWN:
                    return found
    return UNKNOWN


# ---- classes ----------------------------------------------------------------


def mro(flow: Flow, cls: ClassV) -> list[ClassV | ExtV]:
    """The class and its bases, depth first (close enough to C3 for lookups)."""
    out: list[ClassV | ExtV] = []
    stack: list[ClassV | ExtV] = [cls]
    while stack and len(out) < 16:
        current = stack.pop(0)
        if current in out:
            continue
        out.append(current)
        if isinstance(current, ClassV):
            for base in current.node.bases:
                for value in flow.eval(base, current.mod, None):
                    if isinstance(value, (ClassV, ExtV)):
                        stack.append(value)
    return out


def _body(cls: ClassV) -> dict[str, list[ast.AST]]:
    """Class-body definitions: name → the assigned values, defs and classes."""
    key = ("body", cls.node)
    found = cls.mod.cache.get(key)
    if found is None:
        table: dict[str, list[ast.AST]] = {}
        for statement in _statements(cls.node.body):
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                table.setdefault(statement.name, []).append(statement)
            elif isinstance(statement, ast.Assign):
                for target in statement.targets:
                    if isinstance(target, ast.Name):
                        table.setdefault(target.id, []).append(target)
            elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                table.setdefault(statement.target.id, []).append(statement.target)
        cls.mod.cache[key] = found = table
    assert isinstance(found, dict)
    return found


def _statements(body: list[ast.stmt]) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for statement in body:
        out.append(statement)
        if isinstance(statement, (ast.If, ast.Try)):
            out += _statements([*statement.body, *statement.orelse])
    return out


def is_enum(flow: Flow, cls: ClassV) -> bool:
    return any(isinstance(b, ExtV) and b.qname.rpartition(".")[2] in ENUM_BASES for b in mro(flow, cls))


def _is_record(flow: Flow, cls: ClassV) -> bool:
    for current in mro(flow, cls):
        if isinstance(current, ExtV) and current.qname.rpartition(".")[2] in RECORD_BASES:
            return True
        if isinstance(current, ClassV) and any(_last(d) in RECORD_DECORATORS for d in current.node.decorator_list):
            return True
    return False


def _decorators(node: Def) -> set[str]:
    return {_last(d) for d in node.decorator_list}


def class_attr(flow: Flow, cls: ClassV, name: str, instance: InstV | None) -> Values:
    for current in mro(flow, cls):
        if not isinstance(current, ClassV):
            continue
        defs = _body(current).get(name)
        if not defs:
            continue
        if instance is None and is_enum(flow, cls) and not isinstance(defs[0], (ast.FunctionDef, ast.ClassDef)):
            return (EnumV(current, name),)
        out: list[Values] = []
        for node in defs:
            if isinstance(node, ast.ClassDef):
                out.append((ClassV(node, current.mod),))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append(_method(flow, node, current, cls, instance))
            elif isinstance(node, ast.Name):
                out.append(flow.binding_of_target(node, current.mod))
        return union(*out)
    return UNKNOWN


def _method(flow: Flow, node: Def, owner: ClassV, cls: ClassV, instance: InstV | None) -> Values:
    kinds = _decorators(node)
    function = FuncV(node, owner.mod, None)
    if "staticmethod" in kinds:
        return (function,)
    if "classmethod" in kinds:
        return (FuncV(node, owner.mod, None, (cls,)),)
    if instance is None:
        return (function,)
    bound = FuncV(node, owner.mod, None, (instance,))
    if "property" in kinds or "cached_property" in kinds:
        return run(flow, bound, Args(), node, owner.mod)
    return (bound,)


def init_of(flow: Flow, cls: ClassV) -> Def | None:
    for current in mro(flow, cls):
        if isinstance(current, ClassV):
            for node in _body(current).get("__init__", []):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    return node
    return None


def _fields(flow: Flow, cls: ClassV) -> list[tuple[str, ast.Name, ClassV]]:
    out: list[tuple[str, ast.Name, ClassV]] = []
    for current in reversed(mro(flow, cls)):
        if not isinstance(current, ClassV):
            continue
        for statement in current.node.body:
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                if _class_var(statement.annotation, current.mod):
                    continue
                out = [f for f in out if f[0] != statement.target.id]
                out.append((statement.target.id, statement.target, current))
    return out


def _class_var(annotation: ast.expr, mod: ModuleInfo) -> bool:
    """Whether a field's annotation says `ClassVar` (asked at each read of a record's field: kept per annotation)."""
    key = ("classvar", annotation)
    found = mod.cache.get(key)
    if found is None:
        found = mod.cache[key] = "ClassVar" in ast.dump(annotation)
    return bool(found)


def instance_attr(flow: Flow, inst: InstV, name: str) -> Values:
    if _is_record(flow, inst.cls):
        fields = _fields(flow, inst.cls)
        for index, (field, target, owner) in enumerate(fields):
            if field != name:
                continue
            if inst.args is not None:
                given = [v for k, v in inst.args.kw if k == name]
                if index < len(inst.args.pos):
                    given.append(inst.args.pos[index])
                if given:
                    return union(*given)
                if inst.args.rest:
                    return union(flow.binding_of_target(target, owner.mod), UNKNOWN)
                return flow.binding_of_target(target, owner.mod)
            return union(flow.binding_of_target(target, owner.mod), UNKNOWN)
    out = [_stored_on_self(flow, inst, name)]
    from_class = class_attr(flow, inst.cls, name, inst)
    if from_class != UNKNOWN or not out[0]:
        out.append(from_class)
    return union(*out)


def _self_assigns(cls: ClassV) -> dict[str, list[tuple[Def, ast.expr]]]:
    """`self.name = value` in the methods of the class: name → (method, value)."""
    key = ("self", cls.node)
    found = cls.mod.cache.get(key)
    if found is None:
        table: dict[str, list[tuple[Def, ast.expr]]] = {}
        for method in cls.node.body:
            if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            params = [*method.args.posonlyargs, *method.args.args]
            if not params:
                continue
            me = params[0].arg
            for node in ast.walk(method):
                if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for target in targets:
                        if (
                            isinstance(target, ast.Attribute)
                            and isinstance(target.value, ast.Name)
                            and target.value.id == me
                        ):
                            table.setdefault(target.attr, []).append((method, node.value))
        cls.mod.cache[key] = found = table
    assert isinstance(found, dict)
    return found


def _stored_on_self(flow: Flow, inst: InstV, name: str) -> Values:
    out: list[Values] = []
    for current in mro(flow, inst.cls):
        if not isinstance(current, ClassV):
            continue
        for method, value in _self_assigns(current).get(name, []):
            params = [*method.args.posonlyargs, *method.args.args]
            frame: Frame | None
            if method.name == "__init__" and inst.args is not None:
                frame = bind(flow, FuncV(method, current.mod, None, (inst,)), inst.args, method, current.mod)
            else:
                frame = Frame(method, ((params[0].arg, (inst,)),), None, 1)
            out.append(stepped(flow.eval(value, current.mod, frame), flow.step(value, current.mod, f"self.{name}")))
    return union(*out)


def _member_value(flow: Flow, member: EnumV) -> Values:
    defs = _body(member.cls).get(member.member, [])
    return union(*(flow.binding_of_target(d, member.cls.mod) for d in defs if isinstance(d, ast.Name)))


def str_enum(flow: Flow, member: EnumV) -> Values:
    """A member of a `str` Enum is its value wherever a string is wanted."""
    for base in mro(flow, member.cls):
        if isinstance(base, ExtV) and base.qname in ("builtins.str", "enum.StrEnum"):
            return _member_value(flow, member)
    return ()


# ---- functions and parameters -------------------------------------------------


def decorated(flow: Flow, node: Def, mod: ModuleInfo, frame: Frame | None) -> Values:
    values: Values = (FuncV(node, mod, flow.frame_for(node, mod, frame)),)
    for decorator in reversed(node.decorator_list):
        out: list[Values] = []
        for dec in flow.eval(decorator, mod, frame):
            if isinstance(dec, FuncV):
                result = run(flow, dec, Args((values,)), decorator, mod)
                out.append(result if any(isinstance(v, FuncV) for v in result) else values)
            else:  # a library's decorator: the function, or what calls it
                out.append(values)
        values = union(*out)
    return values


def unbound_param(flow: Flow, arg: ast.arg, function: ast.AST, mod: ModuleInfo, frame: Frame | None) -> Values:
    """A parameter no call binds here: its default and, when it is a
    method's first, the instance or class; Opaque for what callers give."""
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        return UNKNOWN
    spec = function.args
    positional = [*spec.posonlyargs, *spec.args]
    if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) and positional and positional[0] is arg:
        owner = mod.enclosing_class(function)
        kinds = _decorators(function)
        if owner is not None and "staticmethod" not in kinds:
            cls = ClassV(owner, mod)
            return (cls,) if "classmethod" in kinds or function.name == "__new__" else (InstV(cls, None),)
    if arg is spec.vararg:
        return (SeqV(None, (Opaque(frozenset({arg})),)), Opaque(frozenset({arg})))
    if arg is spec.kwarg:
        return (DictV((), open=True), Opaque(frozenset({arg})))
    out: list[Values] = []
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(spec.defaults)) + list(spec.defaults)
    pairs = [*zip(positional, defaults), *zip(spec.kwonlyargs, spec.kw_defaults)]
    for param, default in pairs:
        if param is arg and default is not None:
            out.append(stepped(flow.eval(default, mod, frame), flow.step(arg, mod, arg.arg)))
    if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        out += _option_defaults(flow, function, arg, mod, frame)
    out.append((Opaque(frozenset({arg})),))
    return union(*out)


def _option_defaults(flow: Flow, function: Def, arg: ast.arg, mod: ModuleInfo, frame: Frame | None) -> list[Values]:
    """`@click.option("--api-key", default="…")` gives the parameter `api_key` that default."""
    out: list[Values] = []
    for decorator in function.decorator_list:
        if not isinstance(decorator, ast.Call) or _last(decorator) not in ("option", "argument"):
            continue
        names = [a.value for a in decorator.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        if _dest(names) != arg.arg:
            continue
        for keyword in decorator.keywords:
            if keyword.arg == "default":
                out.append(stepped(flow.eval(keyword.value, mod, frame), flow.step(decorator, mod, arg.arg)))
    return out


def _dest(names: list[str]) -> str:
    """The parameter or attribute an option's names give (argparse and click agree)."""
    plain = [n for n in names if not n.startswith("-")]
    if plain:
        return plain[0].replace("-", "_")
    long = [n for n in names if n.startswith("--")]
    chosen = (long or names or [""])[0]
    return chosen.lstrip("-").split("/")[0].replace("-", "_")


def _parser_attr(flow: Flow, parser: ParserV, name: str) -> Values:
    if not parser.namespace:
        return (ParserV(parser.mod, True),) if name in ("parse_args", "parse_known_intermixed_args") else UNKNOWN
    out: list[Values] = []
    for call in parser.mod.resolver.calls:
        node = call.node
        if not (isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument"):
            continue
        dest = next((k.value for k in node.keywords if k.arg == "dest"), None)
        names = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        given = dest.value if isinstance(dest, ast.Constant) and isinstance(dest.value, str) else _dest(names)
        if given != name:
            continue
        for keyword in node.keywords:
            if keyword.arg == "default":
                values = flow.eval(keyword.value, parser.mod, None)
                out.append(stepped(values, flow.step(node, parser.mod, f"args.{name}")))
    out.append(UNKNOWN)
    return union(*out)


# ---- containers changed through a name -----------------------------------------


def mutated(
    flow: Flow, values: Values, bindings: Sequence[object], name: str, mod: ModuleInfo, frame: Frame | None
) -> Values:
    changes = mod.mutations(bindings, name)
    if not changes:
        return values
    items: list[tuple[str, Values]] = []
    added: list[Values] = []
    is_open = False
    for change in changes:
        if isinstance(change, (ast.Assign, ast.AugAssign)):
            targets = change.targets if isinstance(change, ast.Assign) else [change.target]
            for target in targets:
                if isinstance(target, ast.Subscript):
                    keys = flow.eval(target.slice, mod, frame)
                    value = flow.eval(change.value, mod, frame)
                    named = texts(keys)
                    items += [(k.value, value) for k in named]
                    added.append(value)
                    is_open = is_open or len(named) != len(keys)
        elif isinstance(change, ast.Call) and isinstance(change.func, ast.Attribute):
            args = [flow.eval(a, mod, frame) for a in change.args if not isinstance(a, ast.Starred)]
            method = change.func.attr
            if method == "update":
                for given in args:
                    for entry in given:
                        if isinstance(entry, DictV):
                            items += entry.items
                        else:
                            is_open = True
                items += [(k.arg, flow.eval(k.value, mod, frame)) for k in change.keywords if k.arg]
            elif method == "setdefault" and len(args) == 2:
                items += [(k.value, args[1]) for k in texts(args[0])]
            elif method in ("append", "add") and args:
                added.append(args[-1])
            elif method == "insert" and len(args) == 2:
                added.append(args[1])
            elif method == "extend" and args:
                added.append(flow.iterate(args[0]))
    out: list[Values] = []
    for old in values:
        if isinstance(old, DictV):
            out.append((DictV((*old.items, *items), old.open or is_open),))
        elif isinstance(old, SeqV):
            out.append((SeqV(old.elts, union(old.more, *added)),))
        else:
            out.append((old,))
    return union(*out)


__all__ = ["Text", "attribute", "decorated", "init_of", "is_enum", "module_member", "mutated", "unbound_param"]
