"""Sinks inside functions of other modules of the project: helpers.py's
`def make_client(key): return Maniac(api_key=key)`, called from the analyzed
module as `make_client("…")`. The SDK calls in such a function (and in the
project functions it calls, MAX_WRAPPERS deep) are asked again with its
parameters bound at each call in the analyzed module: the function's
summary, computed on demand at that call. (A wrapper in the analyzed module
itself is followed from its sink, fold.Values2Folded.frames.)"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator

from maniac_guard.python import objects
from maniac_guard.python.domain import UNKNOWN, ClassV, ExtV, Frame, FuncV, InstV, PartialV, Values
from maniac_guard.python.flow import Flow
from maniac_guard.python.fold import MAX_WRAPPERS, sdk_base, sdk_value
from maniac_guard.python.frames import bind
from maniac_guard.python.modules import ModuleInfo
from maniac_guard.python.resolve import Call
from maniac_guard.python.sdk import PARTIAL, SDK_CLASSES, sdk_class
from maniac_guard.records import dataclass

MAX_FOREIGN_FUNCTIONS = 64  # functions of other modules searched for sinks, per analyzed file
# Evaluations the search may spend per analyzed file: the frames it binds
# are new each time, so nothing is shared with the checks' own memo, and the
# SDK's own `_base.py` (every call a function of another SDK module) spent
# the file's whole budget here (~1.5 s) before this bound.
WRAPPER_BUDGET = 2_000

# Whether a function may make a client: ANY in it when it may by itself, else
# the names of the parameters through which it may (empty: it makes none).
Verdict = frozenset[str]
ANY = "*"  # no parameter's name
YES: Verdict = frozenset({ANY})
NO: Verdict = frozenset()

# (the call, the module it is in, the frame it runs in) → (SDK class, partial?) when it is an SDK call
SdkOf = Callable[[Call, ModuleInfo, Frame | None], tuple[str, bool] | None]


@dataclass(frozen=True)
class ForeignSink:
    call: ast.Call  # the SDK call, in `mod`
    mod: ModuleInfo
    frame: Frame  # the function it is in, bound at `entry`
    sdk: str
    partial: bool
    entry: ast.Call  # the call in the analyzed module it is reached from


def _functions(flow: Flow, values: Values) -> Iterator[FuncV]:
    """The project functions a call's function values run: a function or
    bound method, a class's `__init__`."""
    for value in values:
        if isinstance(value, ClassV):
            init = objects.init_of(flow, value)
            if init is not None:
                yield FuncV(init, value.mod, None, (InstV(value, None),))
        elif isinstance(value, FuncV) and isinstance(value.node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield value


def _calls_in(mod: ModuleInfo, function: ast.AST) -> list[Call]:
    """The calls that run in `function` itself (its body resolved on demand:
    another module's other functions stay unread)."""
    key = ("wrappers.calls_in", function)
    cached = mod.cache.get(key)
    if isinstance(cached, list):
        return cached
    found = [call for call in mod.resolver.calls_with(function) if mod.owner(call.node) is function]
    mod.cache[key] = found
    return found


def _parameters(function: ast.AST) -> frozenset[str]:
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        return frozenset()
    args = function.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, *filter(None, [args.vararg, args.kwarg])]
    return frozenset(arg.arg for arg in every)


def _positional(function: ast.AST) -> list[str]:
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        return []
    return [arg.arg for arg in (*function.args.posonlyargs, *function.args.args)]


def _arguments_for(call: ast.Call, callee: ast.AST, names: Verdict, skip: int) -> Iterator[ast.expr | None]:
    """The arguments `call` gives `callee`'s parameters `names` (`skip`: the
    first positional parameters it binds itself, `self`); None for one it
    cannot tell from the call's text (`*args`, `**kwargs`, an evaluated default)."""
    if not isinstance(callee, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        yield None
        return
    spec = callee.args
    positional = _positional(callee)
    keywords = {k.arg: k.value for k in call.keywords if k.arg is not None}
    splat = any(k.arg is None for k in call.keywords) or any(isinstance(a, ast.Starred) for a in call.args)
    defaults = dict(zip(positional[len(positional) - len(spec.defaults) :], spec.defaults))
    defaults.update((arg.arg, d) for arg, d in zip(spec.kwonlyargs, spec.kw_defaults) if d is not None)
    for name in names:
        index = positional.index(name) - skip if name in positional else -1
        if name in keywords:
            yield keywords[name]
        elif splat or (index < 0 and name in positional):
            yield None
        elif 0 <= index < len(call.args):
            yield call.args[index]
        elif name in defaults:
            if not isinstance(defaults[name], ast.Constant):
                yield None
        elif name not in positional and name not in {a.arg for a in spec.kwonlyargs}:
            yield None  # `*args` or `**kwargs`


class ForeignWrappers:
    def __init__(self, flow: Flow, main: ModuleInfo, sdk_of: SdkOf) -> None:
        self.flow = flow
        self.main = main
        self.sdk_of = sdk_of
        self.budget = MAX_FOREIGN_FUNCTIONS
        self._may: dict[tuple[ast.AST, int], Verdict] = {}

    def sinks(self) -> list[ForeignSink]:
        """Each SDK call reached from a call in the analyzed module through a
        function of another module, with that function's frame at the call;
        those found within WRAPPER_BUDGET evaluations."""
        flow, main = self.flow, self.main
        found: list[ForeignSink] = []

        def search() -> Values:
            for call in main.resolver.calls:
                for function in _functions(flow, flow.callee(call.node.func, main)):
                    if function.mod is not main and self._may_make_client(function, 0):
                        found.extend(
                            self._within(function, self._bound(function, call.node, main, None, 0), call.node, 0)
                        )
            return UNKNOWN

        if flow.within(WRAPPER_BUDGET, search) is None:
            flow.project.exhausted = True  # not every wrapper followed: the work-limit note says so
        return found

    def _bound(self, function: FuncV, call: ast.Call, mod: ModuleInfo, frame: Frame | None, level: int) -> Frame | None:
        """`function`'s frame at `call`, when it may make a client there: by
        itself, or through a parameter this call gives a client maker."""
        verdict = self._may_make_client(function, level)
        bound = bind(self.flow, function, self.flow.args(call, mod, frame), call, mod)
        if bound is None or ANY in verdict:
            return bound
        given = [bound.lookup(name) for name in verdict]
        return bound if any(values is not None and self._maker(values, level + 1) for values in given) else None

    def _may_make_client(self, function: FuncV, level: int) -> Verdict:
        """Whether `function`, followed at `level` (a call in the analyzed
        module is level 0), may make an SDK client, itself or through the
        functions it calls (those that `_within` would follow, MAX_WRAPPERS
        deep), judged without binding its parameters (which is what costs:
        the SDK's own `_base.py` and test files that call helpers hundreds
        of times spent their budget binding functions that make no client):
        ANY when it may by itself, else the parameters through which it may
        (it calls one, or hands one to a function that calls its own), which
        each call judges by what it gives them. Errs towards ANY: an
        attribute of `self` that is no method, `functools.partial`."""
        if level >= MAX_WRAPPERS:
            return NO  # not followed that deep
        key = (function.node, level)
        known = self._may.get(key)
        if known is not None:
            return known
        self._may[key] = NO  # a recursive call: no by itself (the levels end it)
        found: set[str] = set()
        for call in _calls_in(function.mod, function.node):
            found |= self._call_may_make_client(call, function, level)
            if ANY in found:
                break
        verdict = self._may[key] = frozenset(found)
        return verdict

    def _call_may_make_client(self, call: Call, function: FuncV, level: int) -> Verdict:
        mod, func = function.mod, call.node.func
        if mod.resolver.sdk_of(func, call.qnames) is not None or call.qnames & PARTIAL:
            return YES
        parameters = _parameters(function.node)
        if isinstance(func, ast.Name) and func.id in parameters:
            return frozenset({func.id})
        cls = mod.enclosing_class(function.node)
        if isinstance(func, ast.Attribute) and func.attr == "__init__":  # super().__init__(…): of an SDK subclass?
            return YES if cls is None or sdk_base(self.flow, ClassV(cls, mod)) is not None else NO
        receiver = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else None
        if (
            isinstance(func, ast.Attribute)
            and receiver in ("self", "cls")
            and receiver in _positional(function.node)[:1]
        ):
            if cls is None or func.attr in SDK_CLASSES:
                return YES
            found = self._method(ClassV(cls, mod), func.attr)
            if found is None:  # an attribute, maybe holding a class
                return YES
            return self._through(self._may_make_client(found, level + 1), call, function, found, 1, level)
        if isinstance(func, ast.Attribute) and not call.qnames:
            return YES if func.attr in SDK_CLASSES else NO  # a method of some object: judging each one is what cost
        values = self.flow.callee(func, mod)
        if sdk_value(self.flow, values) is not None:
            return YES
        verdict: set[str] = set()
        for callee in _functions(self.flow, values):
            if callee.mod is not self.main:
                judged = self._may_make_client(callee, level + 1)
                verdict |= self._through(judged, call, function, callee, callee.self_ is not None, level)
        return frozenset(verdict)

    def _through(self, verdict: Verdict, call: Call, function: FuncV, callee: FuncV, skip: int, level: int) -> Verdict:
        """What a call of `callee` (whose verdict it is) makes of `function`'s:
        ANY when it may by itself or when this call gives one of the
        parameters it depends on a client maker; the parameters of
        `function` those arguments are built from; else NO."""
        if not verdict or ANY in verdict:
            return verdict
        first = _positional(callee.node)[:skip]
        if first and first[0] in verdict:  # the object it is bound to: known, or `self` here
            if callee.self_ is None or self._maker(callee.self_, level + 2):
                return YES
            verdict = verdict - {first[0]}
        out: set[str] = set()
        for expr in _arguments_for(call.node, callee.node, verdict, skip):
            if expr is None:
                return YES  # a default, `*args`, `**kwargs`: not judged here
            names = {n.id for n in ast.walk(expr) if isinstance(n, ast.Name)} & _parameters(function.node)
            if names:
                out |= names
            elif self._maker(self.flow.callee(expr, function.mod), level + 2):
                return YES
        return frozenset(out)

    def _maker(self, values: Values, level: int, depth: int = 0) -> bool:
        """Whether a value may make a client when called: the SDK class (or a
        subclass), `functools.partial`, a function or class of another
        module that may, an object built from one."""
        for value in values:
            if isinstance(value, ExtV) and (sdk_class(value.qname) is not None or value.qname in PARTIAL):
                return True
            if isinstance(value, PartialV) and self._maker(value.func, level, depth):
                return True
            if isinstance(value, ClassV) and sdk_value(self.flow, (value,)) is not None:
                return True
            foreign = isinstance(value, (ClassV, FuncV)) and value.mod is not self.main
            if foreign and any(self._may_make_client(f, level) for f in _functions(self.flow, (value,))):
                return True
            if isinstance(value, InstV) and value.args is not None and depth < 2:
                given = [*value.args.pos, *(values for _, values in value.args.kw)]
                if any(self._maker(v, level, depth + 1) for v in given):
                    return True
        return False

    def _method(self, cls: ClassV, name: str) -> FuncV | None:
        """`name` as a method of `cls` or of a base of it the project defines
        (a base read from elsewhere has none that makes a client, unless it is
        the SDK's own class, which `sdk_base` tells)."""
        for owner in objects.mro(self.flow, cls):
            if isinstance(owner, ClassV):
                for statement in owner.node.body:
                    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name == name:
                        return FuncV(statement, owner.mod, None, ())
        return None

    def _within(self, function: FuncV, frame: Frame | None, entry: ast.Call, level: int) -> Iterator[ForeignSink]:
        if frame is None or level >= MAX_WRAPPERS or self.budget <= 0:
            return
        self.budget -= 1
        flow, mod = self.flow, function.mod
        for inner in _calls_in(mod, function.node):
            found = self.sdk_of(inner, mod, frame)
            if found is not None:
                yield ForeignSink(inner.node, mod, frame, found[0], found[1], entry)
                continue
            for callee in _functions(flow, flow.eval(inner.node.func, mod, frame)):
                if callee.mod is self.main or not self._may_make_client(callee, level + 1):
                    continue  # the analyzed module's sinks are its own checks'; the others make no client
                yield from self._within(
                    callee, self._bound(callee, inner.node, mod, frame, level + 1), entry, level + 1
                )
