"""What the rule checks ask of the value flow (flow.py), in their terms: the
constant strings an expression can hold (`Folded`, each with where it was
written and the steps it took), the entries of a dict, and the same asked
again at each call of the function a value's parameter belongs to (a
wrapper: `def client(key): return Maniac(api_key=key)` called as
`client("…")`)."""

from __future__ import annotations

import ast

from maniac_guard.python import objects, strops
from maniac_guard.python.domain import (
    ClassV,
    DictV,
    EnumV,
    ExtV,
    Frame,
    FuncV,
    Step,
    Text,
    Values,
    deps_of,
)
from maniac_guard.python.flow import Flow
from maniac_guard.python.frames import bind
from maniac_guard.python.modules import ModuleInfo
from maniac_guard.python.sdk import sdk_class
from maniac_guard.records import dataclass, field, replace

MAX_WRAPPERS = 3  # wrapper → wrapper → … levels followed


@dataclass(frozen=True)
class Folded:
    """A constant string and where its code is."""

    value: str
    site: ast.expr  # the literal, or the expression that builds it
    compound: bool  # built from pieces (concatenation, join, format, f-string)
    through_name: bool  # reached through a name, attribute, element or call
    path: str | None = None  # the module the site is in, when not the analyzed one
    steps: tuple[Step, ...] = ()
    via: str | None = None  # the function it was first passed to
    raw: str | None = None  # the literal it was decoded from
    origin: Text | None = field(default=None, compare=False)


class Values2Folded:
    """The checks' view of the value flow on one module."""

    def __init__(self, flow: Flow, mod: ModuleInfo) -> None:
        self.flow = flow
        self.mod = mod

    def _folded(self, value: Text) -> Folded:
        path = None if value.path == self.mod.path else value.path
        return Folded(
            value.value, value.site, value.compound, value.through, path, value.steps, value.via, value.raw, value
        )

    def narrow(self, folded: Folded, secret: str) -> Folded:
        """The piece of a built string that is the whole `secret` (`f"Bearer
        {TOKEN}"`: TOKEN's literal), reported there; else `folded` itself."""
        found = None if folded.origin is None else strops.holder(folded.origin, secret)
        return folded if found is None else self._folded(found)

    def strings(self, values: Values) -> list[Folded]:
        out: list[Folded] = []
        for value in values:
            if isinstance(value, Text):
                folded = self._folded(value)
                out.append(self.narrow(folded, value.value) if value.parts else folded)
            elif isinstance(value, EnumV):
                out += [self._folded(v) for v in objects.str_enum(self.flow, value) if isinstance(v, Text)]
        return out

    def eval(self, expr: ast.expr, frame: Frame | None = None) -> Values:
        return self.flow.eval(expr, self.mod, frame)

    def callee(self, func: ast.expr) -> Values:
        """What a call's function may be, within the callee budget (UNKNOWN beyond it)."""
        return self.flow.callee(func, self.mod)

    def options(self, expr: ast.expr, frame: Frame | None = None) -> list[Folded]:
        """Each constant `expr` may hold."""
        return self.strings(self.eval(expr, frame))

    def fold(self, expr: ast.expr) -> Folded | None:
        """The one constant `expr` holds, if it can hold nothing else."""
        values = self.eval(expr)
        found = self.strings(values)
        if len(found) != len(values) or len({f.value for f in found}) != 1:
            return None
        return found[0]

    def entries(self, values: Values) -> list[tuple[str, Values]] | None:
        """(key, values) of the dicts among `values`; None when there is none."""
        dicts = [v for v in values if isinstance(v, DictV)]
        if not dicts:
            return None
        return [item for d in dicts for item in d.items]

    def frames(self, expr: ast.expr) -> list[Frame]:
        """Frames binding the parameters `expr` depends on, one per call of their
        function in this module (wrappers of wrappers too, MAX_WRAPPERS deep)."""
        out: list[Frame] = []
        functions = {id(f): f for f in (self.mod.parent(self.mod.parent(a) or a) for a in deps_of(self.eval(expr)))}
        for function in functions.values():
            if function is not None:
                out += self._frames_of(function, 0)
        return out

    def _frames_of(self, function: ast.AST, level: int) -> list[Frame]:
        if level >= MAX_WRAPPERS or not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return []
        out: list[Frame] = []
        for call, callee, mod in self.flow.callers(function):
            outer: list[Frame | None] = [None]
            owner = mod.owner(call)
            if owner is not None:
                outer += self._frames_of(owner, level + 1)
            for frame in outer:
                args = self.flow.args(call, mod, frame)
                func = FuncV(callee.node, callee.mod, self.flow.frame_for(callee.node, callee.mod, frame), callee.self_)
                bound = bind(self.flow, func, args, call, mod)
                if bound is not None:
                    out.append(bound)
        return out


def sdk_value(flow: Flow, values: Values) -> str | None:
    """The SDK class among a call's function values: the class itself under
    any name, or a subclass of it without an `__init__` of its own (with
    one, its `super().__init__(…)` is the call that counts)."""
    for value in values:
        if isinstance(value, ExtV):
            found = sdk_class(value.qname)
            if found is not None:
                return found
        elif isinstance(value, ClassV) and objects.init_of(flow, value) is None:
            found = sdk_base(flow, value)
            if found is not None:
                return found
    return None


def sdk_base(flow: Flow, cls: ClassV) -> str | None:
    """The SDK class among the bases of `cls`."""
    for base in objects.mro(flow, cls):
        if isinstance(base, ExtV) and sdk_class(base.qname) is not None:
            return sdk_class(base.qname)
    return None


def cli_keys(reach: Values2Folded, argv: tuple[Values, ...]) -> list[Folded]:
    """What an argument list gives the SDK's CLI as `--api-key` (`maniac
    --api-key KEY …` or `--api-key=KEY`), when it runs that CLI."""
    words = [reach.strings(values) for values in argv]
    if not any(w.value == "maniac" or w.value.endswith("/maniac") for group in words for w in group):
        return []
    out: list[Folded] = []
    for index, group in enumerate(words):
        for word in group:
            if word.value == "--api-key" and index + 1 < len(words):
                out += words[index + 1]
            elif word.value.startswith("--api-key="):
                key = word.value.removeprefix("--api-key=")
                narrowed = reach.narrow(word, key)
                out.append(narrowed if narrowed is not word else replace(word, value=key, compound=True))
    return out
