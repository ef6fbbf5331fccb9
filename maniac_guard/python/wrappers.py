"""Simple wrapper functions: `def client(key): return Maniac(api_key=key)`
called as `client("…")`. For a parameter that reaches the SDK, the
arguments every caller in the module passes in its place."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

if TYPE_CHECKING:
    from maniac_guard.python.resolve import Resolver

MAX_WRAPPERS = 3  # wrapper → wrapper → … levels followed


class Wrappers:
    def __init__(self, resolver: Resolver) -> None:
        self._resolver = resolver
        self._callers: dict[cst.FunctionDef, list[tuple[cst.Call, bool]]] | None = None

    def _index(self) -> dict[cst.FunctionDef, list[tuple[cst.Call, bool]]]:
        """Each function of the module → the calls of it (and whether the call
        is through `self.`/`cls.`, which binds the first parameter)."""
        if self._callers is None:
            self._callers = {}
            for call in self._resolver.calls:
                func = call.node.func
                target: cst.CSTNode | None = None
                bound = False
                if isinstance(func, cst.Name):
                    target = self._resolver.definition(func)
                elif isinstance(func, cst.Attribute):
                    target, bound = self._resolver.method_of(func), True
                if isinstance(target, cst.FunctionDef):
                    self._callers.setdefault(target, []).append((call.node, bound))
        return self._callers

    def arguments_for(self, expr: cst.BaseExpression, level: int = 0) -> list[tuple[cst.BaseExpression, str]]:
        """(argument, wrapper name) for each call that passes a value in the
        parameter `expr` names; nothing when `expr` is not a parameter."""
        if level >= MAX_WRAPPERS or not isinstance(expr, cst.Name):
            return []
        params = self._resolver.params_of(expr)
        out: list[tuple[cst.BaseExpression, str]] = []
        for param in params or []:
            owner = self._resolver.param_owner(param)
            if not isinstance(owner, cst.FunctionDef):
                continue
            for call, bound in self._index().get(owner, []):
                argument = argument_for(owner, param, call, bound)
                if argument is not None:
                    out.append((argument, owner.name.value))
                    out += self.arguments_for(argument, level + 1)
        return out


def argument_for(function: cst.FunctionDef, param: cst.Param, call: cst.Call, bound: bool) -> cst.BaseExpression | None:
    """The argument `call` passes for `param`, if it can be told."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == param.name.value:
            return arg.value
    positional_params = [*function.params.posonly_params, *function.params.params]
    if bound and positional_params and positional_params[0].name.value in ("self", "cls"):
        positional_params = positional_params[1:]
    if param not in positional_params:
        return None
    index = positional_params.index(param)
    for position, arg in enumerate(call.args):
        if arg.star:
            return None  # f(*args): which one lands where is not known
        if arg.keyword is None and position == index:
            return arg.value
    return None
