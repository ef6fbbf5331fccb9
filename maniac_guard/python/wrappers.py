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
from maniac_guard.python.domain import UNKNOWN, ClassV, Frame, FuncV, InstV, Values
from maniac_guard.python.flow import Flow
from maniac_guard.python.fold import MAX_WRAPPERS, sdk_base, sdk_value
from maniac_guard.python.frames import bind
from maniac_guard.python.modules import ModuleInfo
from maniac_guard.python.resolve import Call
from maniac_guard.python.sdk import PARTIAL, SDK_CLASSES
from maniac_guard.records import dataclass

MAX_FOREIGN_FUNCTIONS = 64  # functions of other modules searched for sinks, per analyzed file
# Evaluations the search may spend per analyzed file: the frames it binds
# are new each time, so nothing is shared with the checks' own memo, and the
# SDK's own `_base.py` (every call a function of another SDK module) spent
# the file's whole budget here (~1.5 s) before this bound.
WRAPPER_BUDGET = 2_000

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


class ForeignWrappers:
    def __init__(self, flow: Flow, main: ModuleInfo, sdk_of: SdkOf) -> None:
        self.flow = flow
        self.main = main
        self.sdk_of = sdk_of
        self.budget = MAX_FOREIGN_FUNCTIONS
        self._may: dict[ast.AST, bool] = {}
        self._open: set[ast.AST] = set()  # functions being judged
        self._assumed = False  # a judgement met one of them

    def sinks(self) -> list[ForeignSink]:
        """Each SDK call reached from a call in the analyzed module through a
        function of another module, with that function's frame at the call;
        those found within WRAPPER_BUDGET evaluations."""
        flow, main = self.flow, self.main
        found: list[ForeignSink] = []

        def search() -> Values:
            for call in main.resolver.calls:
                for function in _functions(flow, flow.callee(call.node.func, main)):
                    if function.mod is main or not self._may_make_client(function):
                        continue
                    frame = bind(flow, function, flow.args(call.node, main, None), call.node, main)
                    found.extend(self._within(function, frame, call.node, 0))
            return UNKNOWN

        if flow.within(WRAPPER_BUDGET, search) is None:
            flow.project.exhausted = True  # not every wrapper followed: the work-limit note says so
        return found

    def _may_make_client(self, function: FuncV) -> bool:
        """Whether `function` may make an SDK client, itself or through the
        functions it calls, judged without binding its parameters (which is
        what costs: the SDK's own `_base.py` and test files that call helpers
        hundreds of times spent their budget binding functions that make no
        client). Errs towards True: a call of a parameter, an attribute of
        `self` that is no method, `functools.partial`."""
        node = function.node
        known = self._may.get(node)
        if known is not None:
            return known
        if node in self._open:  # a cycle: no by itself; what depended on it is not remembered
            self._assumed = True
            return False
        self._open.add(node)
        outer, self._assumed = self._assumed, False
        found = any(self._call_may_make_client(call, function) for call in _calls_in(function.mod, node))
        self._open.discard(node)
        if found or not self._assumed:
            self._may[node] = found
        self._assumed = outer or self._assumed
        return found

    def _call_may_make_client(self, call: Call, function: FuncV) -> bool:
        mod, func = function.mod, call.node.func
        if mod.resolver.sdk_of(func, call.qnames) is not None or call.qnames & PARTIAL:
            return True
        if isinstance(func, ast.Name) and func.id in _parameters(function.node):
            return True
        cls = mod.enclosing_class(function.node)
        if isinstance(func, ast.Attribute) and func.attr == "__init__":  # super().__init__(…): of an SDK subclass?
            return cls is None or sdk_base(self.flow, ClassV(cls, mod)) is not None
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("self", "cls"):
            if cls is None or func.attr in SDK_CLASSES:
                return True
            found = self._method(ClassV(cls, mod), func.attr)
            return found is None or self._may_make_client(found)  # None: an attribute, maybe holding a class
        if isinstance(func, ast.Attribute) and not call.qnames:
            return func.attr in SDK_CLASSES  # a method of some object: judging each one is what cost
        values = self.flow.callee(func, mod)
        if sdk_value(self.flow, values) is not None:
            return True
        return any(
            self._may_make_client(callee) for callee in _functions(self.flow, values) if callee.mod is not self.main
        )

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
                if callee.mod is self.main or not self._may_make_client(callee):
                    continue  # the analyzed module's sinks are its own checks'; the others make no client
                callee_frame = bind(flow, callee, flow.args(inner.node, mod, frame), inner.node, mod)
                yield from self._within(callee, callee_frame, entry, level + 1)
