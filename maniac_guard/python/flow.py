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
from functools import partial
from typing import TypeVar

from maniac_guard.python import calls, iteration, objects
from maniac_guard.python.domain import (
    MAX_VALUES,
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

FILE_BUDGET = 15_000  # evaluations per analyzed file (imported modules' included); the cost of one grows with what is known, so the SDK's own _base.py, which spends it all, stops at ~0.4 s (at 60,000: ~5 s)
# Evaluations one call's function may cost when asked what it is (the SDK
# class? a wrapper?): an alias, a factory, a partial take a few dozen; a
# method of an object built deep in a library (`response.json` after an
# HTTP client's `request`) can take thousands and is neither.
CALLEE_BUDGET = 100
MAX_LITERAL = 256  # elements of a list/tuple/set literal kept by position; a longer one is a data table
Key = tuple[ast.AST, Frame | None]
N = TypeVar("N", bound=ast.AST)
COMPREHENSIONS = iteration.COMPREHENSIONS


_RUNNING: Values = (Opaque(),)  # in the memo while its evaluation runs (compared by identity)


class Exhausted(Exception):
    """The analysis spent its budget."""


class Flow:
    def __init__(self, project: Project, budget: int | None = None) -> None:
        self.project = project
        self.budget = FILE_BUDGET if budget is None else budget
        self._memo: dict[Key, Values] = {}
        self._constants: dict[ast.AST, Values] = {}
        self._callees: dict[ast.AST, Values] = {}
        self.members: set[tuple[ModuleInfo, str]] = set()  # module names being looked up (an import cycle)
        self._callers: dict[ast.AST, list[tuple[ast.Call, FuncV, ModuleInfo]]] | None = None

    # ---- the evaluator -----------------------------------------------------

    def eval(self, expr: ast.expr, mod: ModuleInfo, frame: Frame | None = None) -> Values:
        if type(expr) is ast.Constant:  # the same in every frame, and as cheap as the memo
            found = self._constants.get(expr)
            if found is None:
                found = self._constants[expr] = self._constant(expr, mod)
            return found
        return self._once(expr, mod, self.frame_for(expr, mod, frame), self._eval)

    def _once(
        self, node: N, mod: ModuleInfo, frame: Frame | None, compute: Callable[[N, ModuleInfo, Frame | None], Values]
    ) -> Values:
        """`compute(node, mod, frame)` memoised per (node, frame), with cycles
        cut and the budget spent (a method, not a closure: this runs ~800k
        times on this repository's history). An evaluation under way is
        marked in the memo itself: one lookup tells a result, a cycle or
        neither (each lookup hashes the frame)."""
        key = (node, frame)
        memo = self._memo
        found = memo.get(key)
        if found is not None:
            return UNKNOWN if found is _RUNNING else found  # a cycle: what it adds comes from its other paths
        self.budget -= 1
        if self.budget < 0:
            raise Exhausted
        memo[key] = _RUNNING
        try:
            result = compute(node, mod, frame)
        except BaseException:
            del memo[key]
            raise
        memo[key] = result
        return result

    def within(self, limit: int, compute: Callable[[], Values]) -> Values | None:
        """`compute()` allowed at most `limit` more evaluations (None: it
        needed more). What it finished stays memoised; the file's budget
        pays what it spent, and its own end is still `Exhausted`."""
        saved = self.budget
        if saved <= limit:
            return compute()
        self.budget = limit
        try:
            return compute()
        except Exhausted:
            return None
        finally:
            self.budget = saved - (limit - max(self.budget, 0))

    def callee(self, func: ast.expr, mod: ModuleInfo) -> Values:
        """What a call's function may be (the SDK class? a wrapper?), within
        CALLEE_BUDGET evaluations (UNKNOWN beyond them, remembered: the
        checks and `callers` ask about the same calls)."""
        found = self._callees.get(func)
        if found is None:
            found = self._callees[func] = self.within(CALLEE_BUDGET, partial(self.eval, func, mod, None)) or UNKNOWN
        return found

    def frame_for(self, node: ast.AST, mod: ModuleInfo, frame: Frame | None) -> Frame | None:
        """The frame of the function (or comprehension element) `node` runs in, from `frame`'s chain."""
        if frame is None:
            return None
        owner = mod.owner(node)
        while frame is not None and frame.func is not owner:
            if isinstance(frame.func, COMPREHENSIONS) and iteration.inside(node, frame.func, mod):
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
            return iteration.comprehension(self, expr, mod, frame)
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
        if len(elts) > MAX_LITERAL:
            return self._table(elts, mod, frame)
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

    def _table(self, elts: list[ast.expr], mod: ModuleInfo, frame: Frame | None) -> SeqV:
        """A literal too long to keep by position (a data table): what its
        elements hold, evaluated in order until the value set is full."""
        more: Values = ()
        for elt in elts:
            inner = self.eval(elt.value if isinstance(elt, ast.Starred) else elt, mod, frame)
            more = union(more, self.iterate(inner) if isinstance(elt, ast.Starred) else inner)
            if len(more) >= MAX_VALUES:
                return SeqV(None, union(more, UNKNOWN))
        return SeqV(None, more)

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
        for binding in iteration.after_augmented(node, bindings, mod):
            guarded = None
            if isinstance(binding.node, ast.Name) and len(bindings) == 1:
                guarded = iteration.loop_guarded(self, node, binding.node, mod, frame)
            out.append(self.binding(binding, mod, frame) if guarded is None else guarded)
        values = union(*out)
        if any(isinstance(v, (DictV, SeqV)) for v in values):
            values = stepped(objects.mutated(self, values, bindings, node.id, mod, frame), None)
        return values

    def _unbound(self, name: str, mod: ModuleInfo) -> Values:
        """A builtin, or a name from `from x import *`."""
        for star in mod.star_imports():
            dotted = "." * star.level + (star.module or "")
            if not self.project.may_define(dotted, mod.package, name):
                continue
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
            if mod.type_checking_only(node):  # never runs: nothing to read
                return (ExtV(binding.qname),) if not binding.qname.startswith(".") else UNKNOWN
            return self.imported(binding.qname, mod)
        if isinstance(node, ast.Name):
            values = self.stored(node, mod, frame)
            return stepped(values, self.step(node, mod, node.id))
        if isinstance(node, ast.MatchAs):
            return stepped(iteration.match_subject(self, node, mod, frame), self.step(node, mod, node.name or "_"))
        return UNKNOWN

    def binding_of_target(self, target: ast.Name, mod: ModuleInfo) -> Values:
        """What the binding at `target` (a class-body name) holds."""
        return stepped(self.stored(target, mod, None), self.step(target, mod, target.id))

    def stored(self, target: ast.Name, mod: ModuleInfo, frame: Frame | None) -> Values:
        """What one binding of a name stores, whatever the statement."""
        return self._once(target, mod, self.frame_for(target, mod, frame), self._stored)

    def _stored(self, target: ast.Name, mod: ModuleInfo, frame: Frame | None) -> Values:
        if frame is not None and isinstance(frame.func, COMPREHENSIONS):
            found = frame.lookup(target.id)  # this element's binding
            if found is not None and any(iteration.inside(target, g.target, mod) for g in frame.func.generators):
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
            source = iteration.unpack(source, index, length, star)
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
        cuts = list(range(len(parts), -1 if level else 0, -1))
        if len(cuts) > 1:  # `from pkg import name`: pkg first (a name is more often not a module)
            cuts[0], cuts[1] = cuts[1], cuts[0]
        for cut in cuts:
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
                for value in self.callee(call.node.func, main):
                    if isinstance(value, ClassV):
                        init = objects.init_of(self, value)
                        if init is None:
                            continue
                        value = FuncV(init, value.mod, None, (InstV(value, None),))
                    if isinstance(value, FuncV):
                        self._callers.setdefault(value.node, []).append((call.node, value, main))
        return self._callers.get(function, [])


def _function_of(arg: ast.arg, mod: ModuleInfo) -> ast.AST | None:
    arguments = mod.parent(arg)
    return mod.parent(arguments) if isinstance(arguments, ast.arguments) else None


__all__ = ["AVal", "Exhausted", "Flow", "ModV", "Opaque"]
