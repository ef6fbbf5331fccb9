"""A function at one call: its frame (parameters bound from the call's
arguments: positional, keyword, `*args`, `**kwargs`, defaults) and what it
returns there, which is the function's summary for those arguments."""

from __future__ import annotations

import ast
from functools import lru_cache
from typing import TYPE_CHECKING

from maniac_guard.python.domain import UNKNOWN, Args, DictV, Frame, FuncV, InstV, SeqV, Values, stepped, union

if TYPE_CHECKING:
    from maniac_guard.python.evaluator import Evaluator as Flow
    from maniac_guard.python.modules import ModuleInfo

MAX_CALL_DEPTH = 6


def bind(flow: Flow, function: FuncV, args: Args, site: ast.AST, mod: ModuleInfo) -> Frame | None:
    """The frame of one call of `function` (None when calls nest too deep)."""
    depth = (function.frame.depth + 1) if function.frame is not None else 1
    if depth > MAX_CALL_DEPTH:
        return None
    node = function.node
    spec = node.args
    name = getattr(node, "name", "lambda")
    if name == "__init__" and function.self_ and isinstance(function.self_[0], InstV):
        name = function.self_[0].cls.node.name  # Settings(…) calls Settings.__init__
    via = name if name != "lambda" else None
    step = flow.step(site, mod, f"argument of {name}()")
    positional = [*spec.posonlyargs, *spec.args]
    given = list(args.pos)
    if function.self_ is not None:
        given.insert(0, function.self_)
    bound: dict[str, Values] = {}
    for param, values in zip(positional, given):
        bound[param.arg] = stepped(values, step, via=via)
    extra = given[len(positional) :]
    if spec.vararg is not None:
        bound[spec.vararg.arg] = (
            (SeqV(tuple(stepped(v, step, via=via) for v in extra)),)
            if not args.rest
            else (SeqV(None, union(*extra, UNKNOWN)),)
        )
    names = {p.arg for p in (*positional, *spec.kwonlyargs)}
    leftover: list[tuple[str, Values]] = []
    for key, values in args.kw:
        if key in names and key not in bound:
            bound[key] = stepped(values, step, via=via)
        elif key not in names:
            leftover.append((key, stepped(values, step, via=via)))
    if spec.kwarg is not None:
        bound[spec.kwarg.arg] = (DictV(tuple(leftover), open=args.rest),)
    if not args.rest:  # parameters the call leaves out take their defaults
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(spec.defaults)) + list(spec.defaults)
        pairs = [*zip(positional, defaults), *zip(spec.kwonlyargs, spec.kw_defaults)]
        for param, default in pairs:
            if param.arg not in bound and default is not None:
                bound[param.arg] = stepped(
                    flow.eval(default, function.mod, function.frame), flow.step(param, function.mod, param.arg)
                )
    return Frame(node, tuple(bound.items()), function.frame, depth)


def run(flow: Flow, function: FuncV, args: Args, site: ast.AST, mod: ModuleInfo) -> Values:
    """What a call of `function` returns."""
    frame = bind(flow, function, args, site, mod)
    if frame is None:
        return UNKNOWN
    node = function.node
    if isinstance(node, ast.Lambda):
        return flow.eval(node.body, function.mod, frame)
    returned = [flow.eval(expr, function.mod, frame) for expr in function.mod.returns(node)]
    if not returned:
        return UNKNOWN
    values = union(*returned)
    if _is_generator(node):
        return (SeqV(None, values),)
    return values


@lru_cache(maxsize=4096)
def _is_generator(node: ast.AST) -> bool:
    """Whether the function yields (walked once per function, not per call)."""
    return any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in ast.walk(node) if n is not node)


def int_literal(expr: ast.expr) -> int | None:
    if isinstance(expr, ast.Constant) and type(expr.value) is int:
        return expr.value
    if (
        isinstance(expr, ast.UnaryOp)
        and isinstance(expr.op, ast.USub)
        and isinstance(expr.operand, ast.Constant)
        and type(expr.operand.value) is int
    ):
        return -expr.operand.value
    return None
