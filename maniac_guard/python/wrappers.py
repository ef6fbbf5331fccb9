"""Simple wrapper functions: `def client(key): return Maniac(api_key=key)`
called as `client("…")`. For a parameter that reaches the SDK, the
arguments every caller in the module passes in its place."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from maniac_guard.python.scopes import FunctionNode, Param

if TYPE_CHECKING:
    from maniac_guard.python.resolve import Resolver

MAX_WRAPPERS = 3  # wrapper → wrapper → … levels followed


class Wrappers:
    def __init__(self, resolver: Resolver) -> None:
        self._resolver = resolver
        self._callers: dict[FunctionNode, list[tuple[ast.Call, bool]]] | None = None

    def _index(self) -> dict[FunctionNode, list[tuple[ast.Call, bool]]]:
        """Each function of the module → the calls of it (and whether the call
        is through `self.`/`cls.`, which binds the first parameter)."""
        if self._callers is None:
            self._callers = {}
            for call in self._resolver.calls:
                func = call.node.func
                target: ast.AST | None = None
                bound = False
                if isinstance(func, ast.Name):
                    target = self._resolver.definition(func)
                elif isinstance(func, ast.Attribute):
                    target, bound = self._resolver.method_of(func), True
                if isinstance(target, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    self._callers.setdefault(target, []).append((call.node, bound))
        return self._callers

    def arguments_for(self, expr: ast.expr, level: int = 0) -> list[tuple[ast.expr, str]]:
        """(argument, wrapper name) for each call that passes a value in the
        parameter `expr` names; nothing when `expr` is not a parameter."""
        if level >= MAX_WRAPPERS or not isinstance(expr, ast.Name):
            return []
        params = self._resolver.params_of(expr)
        out: list[tuple[ast.expr, str]] = []
        for param in params or []:
            owner = param.owner
            if not isinstance(owner, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            positional = self._resolver.positional_params(owner)
            for call, bound in self._index().get(owner, []):
                argument = argument_for(positional, param, call, bound)
                if argument is not None:
                    out.append((argument, owner.name))
                    out += self.arguments_for(argument, level + 1)
        return out


def argument_for(positional: list[Param], param: Param, call: ast.Call, bound: bool) -> ast.expr | None:
    """The argument `call` passes for `param`, if it can be told."""
    for keyword in call.keywords:
        if keyword.arg == param.name:
            return keyword.value
    if bound and positional and positional[0].name in ("self", "cls"):
        positional = positional[1:]
    if param not in positional:
        return None
    index = positional.index(param)
    for position, arg in enumerate(call.args):
        if isinstance(arg, ast.Starred):
            return None  # f(*args): which one lands where is not known
        if position == index:
            return arg
    return None
