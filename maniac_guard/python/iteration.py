"""Iteration and destructuring in the value flow: a `for` target or a
comprehension bound element by element (so a key stays with its value, and
`if name == "…"` in the loop keeps only the elements it lets through),
unpacking (`a, *rest = …`), `match` captures, and which bindings a read
sees after `name += …`."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from maniac_guard.python.domain import UNKNOWN, DictV, Frame, SeqV, Text, Values, opaque, union

if TYPE_CHECKING:
    from maniac_guard.python.evaluator import Evaluator
    from maniac_guard.python.modules import ModuleInfo
    from maniac_guard.python.scopes import Binding

COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
MAX_ELEMENTS = 16  # elements of an iterable evaluated one by one


def match_subject(flow: Evaluator, node: ast.AST, mod: ModuleInfo, frame: Frame | None) -> Values:
    """What a capture pattern binds: the subject, or the part of it the
    patterns around it select (a mapping's key, a sequence's position,
    `str(x)`)."""
    parent = mod.parent(node)
    if isinstance(parent, ast.match_case):
        match = mod.parent(parent)
        return flow.eval(match.subject, mod, frame) if isinstance(match, ast.Match) else UNKNOWN
    if parent is None or not isinstance(node, ast.pattern):
        return UNKNOWN
    base = match_subject(flow, parent, mod, frame)
    if isinstance(parent, (ast.MatchAs, ast.MatchOr)):
        return base
    if isinstance(parent, ast.MatchClass) and parent.patterns and parent.patterns[0] is node:
        builtin = isinstance(parent.cls, ast.Name) and parent.cls.id in ("str", "bytes")
        return base if builtin else UNKNOWN
    if isinstance(parent, ast.MatchMapping):
        index = next((i for i, p in enumerate(parent.patterns) if p is node), None)
        return UNKNOWN if index is None else flow.item(base, flow.eval(parent.keys[index], mod, frame))
    if isinstance(parent, ast.MatchSequence):
        index = next((i for i, p in enumerate(parent.patterns) if p is node), None)
        star = next((i for i, p in enumerate(parent.patterns) if isinstance(p, ast.MatchStar)), None)
        return UNKNOWN if index is None else unpack(base, index, len(parent.patterns), star)
    return UNKNOWN


def comprehension(
    flow: Evaluator,
    expr: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp,
    mod: ModuleInfo,
    frame: Frame | None,
) -> Values:
    """Element by element when the iterable's elements are known (a frame
    binds the targets of each), so a key stays with its value."""
    generators = expr.generators
    found = elements(flow.eval(generators[0].iter, mod, frame)) if len(generators) == 1 else None
    if found is None:
        if isinstance(expr, ast.DictComp):
            return (DictV((), open=True),)
        return (SeqV(None, flow.eval(expr.elt, mod, frame)),)
    items: list[tuple[str, Values]] = []
    results: list[Values] = []
    is_open = False
    depth = frame.depth if frame is not None else 0
    for element in found:
        bound = tuple(destructure(generators[0].target, element).items())
        inner = Frame(expr, bound, frame, depth)
        if not _passes(flow, generators[0].ifs, inner, mod):
            continue
        if isinstance(expr, ast.DictComp):
            keys = flow.eval(expr.key, mod, inner)
            named = [k.value for k in keys if isinstance(k, Text)]
            is_open = is_open or len(named) != len(keys)
            value = flow.eval(expr.value, mod, inner)
            items += [(name, value) for name in named]
        else:
            results.append(flow.eval(expr.elt, mod, inner))
    if isinstance(expr, ast.DictComp):
        return (DictV(tuple(items), is_open),)
    return (SeqV(tuple(results)),)


def _passes(flow: Evaluator, tests: list[ast.expr], frame: Frame, mod: ModuleInfo) -> bool:
    """False when an `if name == "…"` (or `!=`) is known to fail for this element."""
    for test in tests:
        verdict = compare(flow, test, mod, frame)
        if verdict is False:
            return False
    return True


def compare(flow: Evaluator, test: ast.expr, mod: ModuleInfo, frame: Frame | None) -> bool | None:
    """`x == "…"` / `x != "…"` decided on known strings; None when not known."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Eq, ast.NotEq))):
        return None
    left = flow.eval(test.left, mod, frame)
    right = flow.eval(test.comparators[0], mod, frame)
    lefts, rights = [v for v in left if isinstance(v, Text)], [v for v in right if isinstance(v, Text)]
    if len(lefts) != len(left) or len(rights) != len(right) or not lefts or not rights:
        return None
    equal = {a.value == b.value for a in lefts for b in rights}
    if len(equal) != 1:
        return None
    return equal.pop() == isinstance(test.ops[0], ast.Eq)


def elements(values: Values) -> list[Values] | None:
    """Each element of an iterable, when they are known (at most MAX_ELEMENTS)."""
    out: list[Values] = []
    for value in values:
        if not isinstance(value, SeqV):
            return None
        out += list(value.elts or ())
        out += [(more,) for more in value.more]
    return out if len(out) <= MAX_ELEMENTS else None


def destructure(target: ast.expr, element: Values) -> dict[str, Values]:
    """Names a `for` target binds to one element."""
    if isinstance(target, ast.Name):
        return {target.id: element}
    if isinstance(target, ast.Starred):
        return destructure(target.value, element)
    out: dict[str, Values] = {}
    if isinstance(target, (ast.Tuple, ast.List)):
        star = next((i for i, e in enumerate(target.elts) if isinstance(e, ast.Starred)), None)
        for index, sub in enumerate(target.elts):
            out.update(destructure(sub, unpack(element, index, len(target.elts), star)))
    return out


def loop_guarded(
    flow: Evaluator, read: ast.Name, binding: ast.Name, mod: ModuleInfo, frame: Frame | None
) -> Values | None:
    """A loop variable read under `if <other loop variable> == "…":` in
    the loop's body: only the elements for which that holds."""
    loop = mod.parent(binding)
    while isinstance(loop, (ast.Tuple, ast.List, ast.Starred)):
        loop = mod.parent(loop)
    if not isinstance(loop, (ast.For, ast.AsyncFor)):
        return None
    node: ast.AST = read
    parent = mod.parent(node)
    tests: list[ast.expr] = []
    while parent is not None and parent is not loop:
        if isinstance(parent, ast.If) and any(s is node for s in parent.body):
            tests.append(parent.test)
        node, parent = parent, mod.parent(parent)
    if parent is None or not tests:
        return None
    found = elements(flow.eval(loop.iter, mod, frame))
    if found is None:
        return None
    out: list[Values] = []
    for element in found:
        bound = destructure(loop.target, element)
        if all(_loop_test(test, bound) is not False for test in tests):
            out.append(bound.get(binding.id, UNKNOWN))
    return union(*out) if out else UNKNOWN


def _loop_test(test: ast.expr, bound: dict[str, Values]) -> bool | None:
    if not isinstance(test, ast.Compare) or not isinstance(test.left, ast.Name) or test.left.id not in bound:
        return None
    other = test.comparators[0]
    if len(test.comparators) != 1 or not isinstance(other, ast.Constant):
        return None
    left = [v for v in bound[test.left.id] if isinstance(v, Text)]
    if not left or len(left) != len(bound[test.left.id]) or not isinstance(test.ops[0], (ast.Eq, ast.NotEq)):
        return None
    equal = {v.value == other.value for v in left}
    return None if len(equal) != 1 else equal.pop() == isinstance(test.ops[0], ast.Eq)


def unpack(values: Values, index: int, length: int, star: int | None) -> Values:
    out: list[Values] = []
    for value in values:
        if isinstance(value, SeqV) and value.elts is not None and not value.more:
            elts = value.elts
            if star is None:
                if len(elts) == length:
                    out.append(elts[index])
                continue
            after = length - star - 1
            if len(elts) < length - 1:
                continue
            if index < star:
                out.append(elts[index])
            elif index > star:
                out.append(elts[len(elts) - (length - index)])
            else:
                out.append((SeqV(elts[star : len(elts) - after]),))
        elif isinstance(value, SeqV):
            out.append(union(value.more, *(value.elts or ())) if index != star else (value,))
        else:
            out.append(opaque((value,)))
    return union(*out)


def inside(node: ast.AST, outer: ast.AST, mod: ModuleInfo) -> bool:
    current: ast.AST | None = node
    while current is not None:
        if current is outer:
            return True
        current = mod.parent(current)
    return False


def after_augmented(read: ast.Name, bindings: list[Binding], mod: ModuleInfo) -> list[Binding]:
    """The bindings a read sees once `name += …` ran before it in the same
    block: that one, not the earlier ones it was computed from."""
    latest: ast.AugAssign | None = None
    for binding in bindings:
        statement = mod.parent(binding.node) if isinstance(binding.node, ast.Name) else None
        later = latest is None or (statement is not None and getattr(statement, "lineno", 0) > latest.lineno)
        if isinstance(statement, ast.AugAssign) and statement.lineno < read.lineno and later:
            latest = statement if _runs_before(statement, read, mod) else latest
    if latest is None:
        return bindings
    return [b for b in bindings if getattr(b.node, "lineno", 0) >= latest.lineno]


def _runs_before(statement: ast.stmt, read: ast.AST, mod: ModuleInfo) -> bool:
    """`statement` is in a block that holds (a statement holding) `read`."""
    block = mod.parent(statement)
    current: ast.AST | None = read
    while current is not None:
        if mod.parent(current) is block:
            return True
        current = mod.parent(current)
    return False
