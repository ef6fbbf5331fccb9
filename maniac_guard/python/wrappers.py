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
from dataclasses import dataclass

from maniac_guard.python import objects
from maniac_guard.python.domain import UNKNOWN, ClassV, Frame, FuncV, InstV, Values
from maniac_guard.python.flow import Flow
from maniac_guard.python.fold import MAX_WRAPPERS
from maniac_guard.python.frames import bind
from maniac_guard.python.modules import ModuleInfo
from maniac_guard.python.resolve import Call

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


class ForeignWrappers:
    def __init__(self, flow: Flow, main: ModuleInfo, sdk_of: SdkOf) -> None:
        self.flow = flow
        self.main = main
        self.sdk_of = sdk_of
        self.budget = MAX_FOREIGN_FUNCTIONS

    def sinks(self) -> list[ForeignSink]:
        """Each SDK call reached from a call in the analyzed module through a
        function of another module, with that function's frame at the call;
        those found within WRAPPER_BUDGET evaluations."""
        flow, main = self.flow, self.main
        found: list[ForeignSink] = []

        def search() -> Values:
            for call in main.resolver.calls:
                for function in _functions(flow, flow.callee(call.node.func, main)):
                    if function.mod is main:
                        continue
                    frame = bind(flow, function, flow.args(call.node, main, None), call.node, main)
                    found.extend(self._within(function, frame, call.node, 0))
            return UNKNOWN

        if flow.within(WRAPPER_BUDGET, search) is None:
            flow.project.exhausted = True  # not every wrapper followed: the work-limit note says so
        return found

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
                if callee.mod is self.main:
                    continue  # its sinks are the analyzed module's own
                callee_frame = bind(flow, callee, flow.args(inner.node, mod, frame), inner.node, mod)
                yield from self._within(callee, callee_frame, entry, level + 1)
