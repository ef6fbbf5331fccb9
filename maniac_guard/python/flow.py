"""The value flow: what an expression can hold, asked from each sink.

`Flow.eval(expr, module, frame)` gives the abstract values (domain.py) of
an expression, evaluated on demand and memoised per (expression, frame); a
frame binds a function's parameters at one call (frames are how a function
summary is computed: its returns, as a function of what its parameters
hold). Every construct composes: names follow every binding form, calls go
into functions (calls.py), attributes into classes and instances
(objects.py), imports into other modules of the project (modules.py).

Bounds: recursion is cut where an evaluation reaches itself (the cycle
gives nothing), calls nest at most MAX_CALL_DEPTH deep, value sets are
capped, and every evaluation spends from a budget whose end raises
`Exhausted` (the detector says so in a note), so no input runs unbounded.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from maniac_guard.python import calls, objects
from maniac_guard.python.domain import (
    UNKNOWN,
    Args,
    AVal,
    ClassV,
    DictV,
    Env,
    ExtV,
    Frame,
    FuncV,
    InstV,
    ModV,
    Opaque,
    SeqV,
    Step,
    Text,
    Values,
    opaque,
    stepped,
    union,
)
from maniac_guard.python.frames import int_literal
from maniac_guard.python.modules import ModuleInfo, Project
from maniac_guard.python.scopes import Binding, Param
from maniac_guard.python.strops import binop, fstring

FILE_BUDGET = 60_000  # evaluations per analyzed file (imported modules' included)
Key = tuple[ast.AST, Frame | None]
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
MAX_ELEMENTS = 16  # elements of an iterable evaluated one by one


class Exhausted(Exception):
    """The analysis spent its budget."""


class Flow:
    def __init__(self, project: Project, budget: int = FILE_BUDGET) -> None:
        self.project = project
        self.budget = budget
        self._memo: dict[Key, Values] = {}
        self._active: set[Key] = set()
        self._callers: dict[ast.AST, list[tuple[ast.Call, FuncV, ModuleInfo]]] | None = None

    # ---- the evaluator -----------------------------------------------------

    def eval(self, expr: ast.expr, mod: ModuleInfo, frame: Frame | None = None) -> Values:
        frame = self.frame_for(expr, mod, frame)
        return self._once(expr, frame, lambda: self._eval(expr, mod, frame))

    def _once(self, node: ast.AST, frame: Frame | None, compute: Callable[[], Values]) -> Values:
        """`compute()` memoised per (node, frame), with cycles cut and the budget spent."""
        key = (node, frame)
        found = self._memo.get(key)
        if found is not None:
            return found
        if key in self._active:
            return UNKNOWN  # a cycle: what it adds comes from its other paths
        self.budget -= 1
        if self.budget < 0:
            raise Exhausted
        self._active.add(key)
        try:
            result = compute()
        finally:
            self._active.discard(key)
        self._memo[key] = result
        return result

    def frame_for(self, node: ast.AST, mod: ModuleInfo, frame: Frame | None) -> Frame | None:
        """The frame of the function (or comprehension element) `node` runs in, from `frame`'s chain."""
        owner = mod.owner(node)
        while frame is not None and frame.func is not owner:
            if isinstance(frame.func, COMPREHENSIONS) and _inside(node, frame.func, mod):
                return frame
            frame = frame.parent
        return frame

    def step(self, node: ast.AST, mod: ModuleInfo, label: str) -> Step:
        line = getattr(node, "lineno", 0)
        return (mod.path, line, getattr(node, "col_offset", 0) + 1, label)

    def _eval(self, expr: ast.expr, mod: ModuleInfo, frame: Frame | None) -> Values:
        if isinstance(expr, ast.Constant):
            return self._constant(expr, mod)
        if isinstance(expr, ast.Name):
            return self.name(expr, mod, frame)
        if isinstance(expr, ast.Attribute):
            base = self.eval(expr.value, mod, frame)
            return stepped(objects.attribute(self, base, expr.attr, expr, mod), None)
        if isinstance(expr, ast.Subscript):
            return stepped(self._subscript(expr, mod, frame), None)
        if isinstance(expr, ast.Call):
            return calls.call(self, expr, mod, frame)
        if isinstance(expr, ast.BinOp):
            return binop(expr.op, expr, mod.path, self.eval(expr.left, mod, frame), self.eval(expr.right, mod, frame))
        if isinstance(expr, ast.JoinedStr):
            return self._fstring(expr, mod, frame)
        if isinstance(expr, ast.BoolOp):
            return union(*(self.eval(v, mod, frame) for v in expr.values))
        if isinstance(expr, ast.IfExp):
            return union(self.eval(expr.body, mod, frame), self.eval(expr.orelse, mod, frame))
        if isinstance(expr, (ast.NamedExpr, ast.Await, ast.Starred)):
            return self.eval(expr.value, mod, frame)
        if isinstance(expr, ast.Dict):
            return self._dict(expr, mod, frame)
        if isinstance(expr, (ast.List, ast.Tuple, ast.Set)):
            return (self.sequence(expr.elts, mod, frame),)
        if isinstance(expr, COMPREHENSIONS):
            return self._comprehension(expr, mod, frame)
        if isinstance(expr, ast.Lambda):
            return (FuncV(expr, mod, frame),)
        return UNKNOWN

    def _constant(self, expr: ast.Constant, mod: ModuleInfo) -> Values:
        value = expr.value
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if not isinstance(value, str):
            return UNKNOWN
        compound = mod.resolver.concatenated(expr) if mod is self.project.main else False
        return (Text(value, expr, mod.path, compound, False, (self.step(expr, mod, "literal"),)),)

    def _fstring(self, expr: ast.JoinedStr, mod: ModuleInfo, frame: Frame | None) -> Values:
        parts: list[Values | str] = []
        for part in expr.values:
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                parts.append(part.value)
            elif isinstance(part, ast.FormattedValue):
                if part.format_spec is not None:
                    spec = self.eval(part.format_spec, mod, frame)
                    if len(spec) != 1 or not isinstance(spec[0], Text) or spec[0].value:
                        return opaque(self.eval(part.value, mod, frame))
                parts.append(self.eval(part.value, mod, frame) if part.conversion in (-1, 115) else UNKNOWN)
            else:
                return UNKNOWN
        return fstring(expr, mod.path, parts)

    def sequence(self, elts: list[ast.expr], mod: ModuleInfo, frame: Frame | None) -> SeqV:
        out: list[Values] = []
        more: Values = ()
        exact = True
        for elt in elts:
            if isinstance(elt, ast.Starred):
                inner = self.eval(elt.value, mod, frame)
                seqs = [v for v in inner if isinstance(v, SeqV)]
                if len(inner) == 1 and seqs and seqs[0].elts is not None and not seqs[0].more:
                    out += seqs[0].elts
                else:
                    exact = False
                    more = union(more, self.iterate(inner))
            else:
                out.append(self.eval(elt, mod, frame))
        if not exact:
            return SeqV(None, union(more, *out))
        return SeqV(tuple(out))

    def _dict(self, expr: ast.Dict, mod: ModuleInfo, frame: Frame | None) -> Values:
        items: list[tuple[str, Values]] = []
        is_open = False
        for key_expr, value_expr in zip(expr.keys, expr.values):
            if key_expr is None:  # {**other}
                for inner in self.eval(value_expr, mod, frame):
                    if isinstance(inner, DictV):
                        items += inner.items
                        is_open = is_open or inner.open
                    else:
                        is_open = True
                continue
            keys = self.eval(key_expr, mod, frame)
            values = self.eval(value_expr, mod, frame)
            named = [k.value for k in keys if isinstance(k, Text)]
            if len(named) != len(keys):
                is_open = True
            items += [(name, values) for name in named]
        return (DictV(tuple(items), is_open),)

    def _comprehension(
        self, expr: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp, mod: ModuleInfo, frame: Frame | None
    ) -> Values:
        """Element by element when the iterable's elements are known (a frame
        binds the targets of each), so a key stays with its value."""
        generators = expr.generators
        elements = self.elements(self.eval(generators[0].iter, mod, frame)) if len(generators) == 1 else None
        if elements is None:
            if isinstance(expr, ast.DictComp):
                return (DictV((), open=True),)
            return (SeqV(None, self.eval(expr.elt, mod, frame)),)
        items: list[tuple[str, Values]] = []
        results: list[Values] = []
        is_open = False
        depth = frame.depth if frame is not None else 0
        for element in elements:
            bound = tuple(self.destructure(generators[0].target, element).items())
            inner = Frame(expr, bound, frame, depth)
            if not self._passes(generators[0].ifs, inner, mod):
                continue
            if isinstance(expr, ast.DictComp):
                keys = self.eval(expr.key, mod, inner)
                named = [k.value for k in keys if isinstance(k, Text)]
                is_open = is_open or len(named) != len(keys)
                value = self.eval(expr.value, mod, inner)
                items += [(name, value) for name in named]
            else:
                results.append(self.eval(expr.elt, mod, inner))
        if isinstance(expr, ast.DictComp):
            return (DictV(tuple(items), is_open),)
        return (SeqV(tuple(results)),)

    def _passes(self, tests: list[ast.expr], frame: Frame, mod: ModuleInfo) -> bool:
        """False when an `if name == "…"` (or `!=`) is known to fail for this element."""
        for test in tests:
            verdict = self.compare(test, mod, frame)
            if verdict is False:
                return False
        return True

    def compare(self, test: ast.expr, mod: ModuleInfo, frame: Frame | None) -> bool | None:
        """`x == "…"` / `x != "…"` decided on known strings; None when not known."""
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Eq, ast.NotEq))):
            return None
        left = self.eval(test.left, mod, frame)
        right = self.eval(test.comparators[0], mod, frame)
        lefts, rights = [v for v in left if isinstance(v, Text)], [v for v in right if isinstance(v, Text)]
        if len(lefts) != len(left) or len(rights) != len(right) or not lefts or not rights:
            return None
        equal = {a.value == b.value for a in lefts for b in rights}
        if len(equal) != 1:
            return None
        return equal.pop() == isinstance(test.ops[0], ast.Eq)

    def elements(self, values: Values) -> list[Values] | None:
        """Each element of an iterable, when they are known (at most MAX_ELEMENTS)."""
        out: list[Values] = []
        for value in values:
            if not isinstance(value, SeqV):
                return None
            out += list(value.elts or ())
            out += [(more,) for more in value.more]
        return out if len(out) <= MAX_ELEMENTS else None

    def destructure(self, target: ast.expr, element: Values) -> dict[str, Values]:
        """Names a `for` target binds to one element."""
        if isinstance(target, ast.Name):
            return {target.id: element}
        if isinstance(target, ast.Starred):
            return self.destructure(target.value, element)
        out: dict[str, Values] = {}
        if isinstance(target, (ast.Tuple, ast.List)):
            star = next((i for i, e in enumerate(target.elts) if isinstance(e, ast.Starred)), None)
            for index, sub in enumerate(target.elts):
                out.update(self.destructure(sub, _unpack(element, index, len(target.elts), star)))
        return out

    def _loop_guarded(self, read: ast.Name, binding: ast.Name, mod: ModuleInfo, frame: Frame | None) -> Values | None:
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
        elements = self.elements(self.eval(loop.iter, mod, frame))
        if elements is None:
            return None
        out: list[Values] = []
        for element in elements:
            bound = self.destructure(loop.target, element)
            if all(self._loop_test(test, bound) is not False for test in tests):
                out.append(bound.get(binding.id, UNKNOWN))
        return union(*out) if out else UNKNOWN

    def _loop_test(self, test: ast.expr, bound: dict[str, Values]) -> bool | None:
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

    # ---- containers --------------------------------------------------------

    def iterate(self, values: Values) -> Values:
        """What a `for` over a value of `values` binds."""
        out: list[Values] = []
        for value in values:
            if isinstance(value, SeqV):
                out += [*(value.elts or ()), value.more]
            elif isinstance(value, DictV):
                out.append(UNKNOWN)  # its keys
            else:
                out.append(opaque((value,)))
        return union(*out)

    def item(self, values: Values, index: Values | int) -> Values:
        """`container[index]` for each container in `values`."""
        out: list[Values] = []
        for value in values:
            if isinstance(value, DictV) and not isinstance(index, int):
                names = [i.value for i in index if isinstance(i, Text)]
                hits = [v for k, v in value.items if k in names]
                out += hits
                if not hits or value.open or len(names) != len(index):
                    out.append(UNKNOWN)
            elif isinstance(value, SeqV) and isinstance(index, int):
                if value.elts is not None and -len(value.elts) <= index < len(value.elts):
                    out += [value.elts[index], value.more] if value.more else [value.elts[index]]
                else:
                    out.append(union(value.more, UNKNOWN))
            elif isinstance(value, ExtV) and value.qname == "os.environ":
                names = [i.value for i in index if isinstance(i, Text)] if not isinstance(index, int) else []
                out.append((Env(names[0] if len(names) == 1 else None),))
            elif isinstance(value, Text) and isinstance(index, int):
                out.append(UNKNOWN)
            else:
                out.append(opaque((value,)))
        return union(*out)

    def _subscript(self, expr: ast.Subscript, mod: ModuleInfo, frame: Frame | None) -> Values:
        base = self.eval(expr.value, mod, frame)
        index = expr.slice
        if isinstance(index, ast.Slice):
            return calls.slice_text(self, base, index, expr, mod, frame)
        number = int_literal(index)
        return self.item(base, number if number is not None else self.eval(index, mod, frame))

    # ---- names and bindings -----------------------------------------------

    def name(self, node: ast.Name, mod: ModuleInfo, frame: Frame | None) -> Values:
        bindings = mod.resolver.bindings_of(node)
        if bindings is None:
            return UNKNOWN
        if not bindings:
            return self._unbound(node.id, mod)
        out = []
        for binding in bindings:
            guarded = None
            if isinstance(binding.node, ast.Name) and len(bindings) == 1:
                guarded = self._loop_guarded(node, binding.node, mod, frame)
            out.append(self.binding(binding, mod, frame) if guarded is None else guarded)
        values = union(*out)
        if any(isinstance(v, (DictV, SeqV)) for v in values):
            values = objects.mutated(self, values, bindings, mod, frame)
        return values

    def _unbound(self, name: str, mod: ModuleInfo) -> Values:
        """A builtin, or a name from `from x import *`."""
        for star in mod.star_imports():
            dotted = "." * star.level + (star.module or "")
            other = self.project.find(dotted, mod.package)
            if other is not None:
                exported = other.exported()
                if (exported is None and not name.startswith("_")) or (exported and name in exported):
                    found = objects.module_member(self, other, name)
                    if found != UNKNOWN:
                        return found
            elif star.level == 0 and star.module == "maniac":
                return (ExtV(f"maniac.{name}"),)
        return (ExtV(f"builtins.{name}"),)

    def binding(self, binding: Binding, mod: ModuleInfo, frame: Frame | None) -> Values:
        node = binding.node
        if isinstance(node, Param):
            return self.param(node.arg, mod, frame)
        if isinstance(node, ast.ClassDef):
            return (ClassV(node, mod),)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return objects.decorated(self, node, mod, frame)
        if isinstance(node, (ast.Import, ast.ImportFrom)) and binding.qname is not None:
            return self.imported(binding.qname, mod)
        if isinstance(node, ast.Name):
            values = self.stored(node, mod, frame)
            return stepped(values, self.step(node, mod, node.id))
        if isinstance(node, ast.MatchAs):
            return self._match_subject(node, mod, frame)
        return UNKNOWN

    def binding_of_target(self, target: ast.Name, mod: ModuleInfo) -> Values:
        """What the binding at `target` (a class-body name) holds."""
        return stepped(self.stored(target, mod, None), self.step(target, mod, target.id))

    def _match_subject(self, node: ast.AST, mod: ModuleInfo, frame: Frame | None) -> Values:
        """What a capture pattern binds: the subject, or the part of it the
        patterns around it select (a mapping's key, a sequence's position,
        `str(x)`)."""
        parent = mod.parent(node)
        if isinstance(parent, ast.match_case):
            match = mod.parent(parent)
            return self.eval(match.subject, mod, frame) if isinstance(match, ast.Match) else UNKNOWN
        if parent is None or not isinstance(node, ast.pattern):
            return UNKNOWN
        base = self._match_subject(parent, mod, frame)
        if isinstance(parent, (ast.MatchAs, ast.MatchOr)):
            return base
        if isinstance(parent, ast.MatchClass) and parent.patterns and parent.patterns[0] is node:
            builtin = isinstance(parent.cls, ast.Name) and parent.cls.id in ("str", "bytes")
            return base if builtin else UNKNOWN
        if isinstance(parent, ast.MatchMapping):
            index = next((i for i, p in enumerate(parent.patterns) if p is node), None)
            return UNKNOWN if index is None else self.item(base, self.eval(parent.keys[index], mod, frame))
        if isinstance(parent, ast.MatchSequence):
            index = next((i for i, p in enumerate(parent.patterns) if p is node), None)
            star = next((i for i, p in enumerate(parent.patterns) if isinstance(p, ast.MatchStar)), None)
            return UNKNOWN if index is None else _unpack(base, index, len(parent.patterns), star)
        return UNKNOWN

    def stored(self, target: ast.Name, mod: ModuleInfo, frame: Frame | None) -> Values:
        """What one binding of a name stores, whatever the statement."""
        frame = self.frame_for(target, mod, frame)
        return self._once(target, frame, lambda: self._stored(target, mod, frame))

    def _stored(self, target: ast.Name, mod: ModuleInfo, frame: Frame | None) -> Values:
        if frame is not None and isinstance(frame.func, COMPREHENSIONS):
            found = frame.lookup(target.id)  # this element's binding
            if found is not None and any(_inside(target, g.target, mod) for g in frame.func.generators):
                return found
        path: list[tuple[int, int, int | None]] = []  # (index, length, star index) from the inside out
        node: ast.AST = target
        parent = mod.parent(node)
        while isinstance(parent, (ast.Tuple, ast.List, ast.Starred)):
            if isinstance(parent, ast.Starred):
                node, parent = parent, mod.parent(parent)
                continue
            elts = parent.elts
            index = next(i for i, e in enumerate(elts) if e is node)
            star = next((i for i, e in enumerate(elts) if isinstance(e, ast.Starred)), None)
            path.append((index, len(elts), star))
            node, parent = parent, mod.parent(parent)
        source = self._bound_source(node, parent, target, mod, frame)
        for index, length, star in reversed(path):
            source = _unpack(source, index, length, star)
        return source

    def _bound_source(
        self, node: ast.AST, statement: ast.AST | None, target: ast.Name, mod: ModuleInfo, frame: Frame | None
    ) -> Values:
        if isinstance(statement, (ast.Assign, ast.AnnAssign, ast.NamedExpr)):
            return self.eval(statement.value, mod, frame) if statement.value is not None else UNKNOWN
        if isinstance(statement, ast.AugAssign) and statement.target is node:
            before = union(
                *(self.binding(b, mod, frame) for b in mod.resolver.bindings_of(target) or [] if b.node is not target)
            )
            right = self.eval(statement.value, mod, frame)
            return binop(statement.op, statement.value, mod.path, before, right)
        if isinstance(statement, (ast.For, ast.AsyncFor, ast.comprehension)) and statement.target is node:
            return self.iterate(self.eval(statement.iter, mod, frame))
        if isinstance(statement, ast.withitem) and statement.optional_vars is node:
            return calls.entered(self, self.eval(statement.context_expr, mod, frame))
        return UNKNOWN

    def param(self, arg: ast.arg, mod: ModuleInfo, frame: Frame | None) -> Values:
        """A parameter: what the frame's call bound it to, or, unbound, its
        default, what a decorator gives it, and itself (Opaque with it as the dependency)."""
        function = _function_of(arg, mod)
        if function is None:
            return UNKNOWN
        scan = frame
        while scan is not None and scan.func is not function:
            scan = scan.parent
        if scan is not None:
            bound = scan.lookup(arg.arg)
            if bound is not None:
                return bound
        return objects.unbound_param(self, arg, function, mod, scan)

    def imported(self, qname: str, mod: ModuleInfo) -> Values:
        """An import's value: a module of the project or a member of one,
        else an outside name."""
        level = len(qname) - len(qname.lstrip("."))
        parts = qname[level:].split(".") if qname[level:] else []
        dots = "." * level
        for cut in range(len(parts), -1 if level else 0, -1):
            dotted = dots + ".".join(parts[:cut])
            if not dotted:
                continue
            found = self.project.find(dotted, mod.package)
            if found is None:
                continue
            values: Values = (ModV(found),)
            for name in parts[cut:]:
                values = objects.attribute(self, values, name, None, mod)
            return values
        return (ExtV(qname),) if level == 0 else UNKNOWN

    # ---- calls, as the rules ask for them ---------------------------------

    def args(self, call: ast.Call, mod: ModuleInfo, frame: Frame | None) -> Args:
        return calls.arguments(self, call, mod, frame)

    def callers(self, function: ast.AST) -> list[tuple[ast.Call, FuncV, ModuleInfo]]:
        """The calls of `function` in the analyzed module, with the function
        value each call reaches (a bound method; a class's `__init__`)."""
        if self._callers is None:
            self._callers = {}
            main = self.project.main
            for call in main.resolver.calls:
                for value in self.eval(call.node.func, main, None):
                    if isinstance(value, ClassV):
                        init = objects.init_of(self, value)
                        if init is None:
                            continue
                        value = FuncV(init, value.mod, None, (InstV(value, None),))
                    if isinstance(value, FuncV):
                        self._callers.setdefault(value.node, []).append((call.node, value, main))
        return self._callers.get(function, [])


def _inside(node: ast.AST, outer: ast.AST, mod: ModuleInfo) -> bool:
    current: ast.AST | None = node
    while current is not None:
        if current is outer:
            return True
        current = mod.parent(current)
    return False


def _function_of(arg: ast.arg, mod: ModuleInfo) -> ast.AST | None:
    arguments = mod.parent(arg)
    return mod.parent(arguments) if isinstance(arguments, ast.arguments) else None


def _unpack(values: Values, index: int, length: int, star: int | None) -> Values:
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


__all__ = ["AVal", "Exhausted", "Flow", "ModV", "Opaque"]
