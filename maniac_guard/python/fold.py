"""Constant folding for the Python rules: the string values an expression can
hold, built from literals through names, attributes, parameter defaults,
container subscripts and every string-building form (`+`, implicit
concatenation, f-strings, `%`, `str.format`, `"".join`, `string.Template`)."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass

from maniac_guard.python.resolve import MAX_DEPTH, Resolver, Values
from maniac_guard.python.strings import percent_format, str_format, template_substitute

TEMPLATE_CLASSES = frozenset({"string.Template"})


@dataclass(frozen=True)
class Folded:
    """A constant string and where its code is."""

    value: str
    site: ast.expr  # the literal, or the expression that builds it
    compound: bool  # built from pieces (concatenation, join, format, f-string)
    through_name: bool  # reached through a name or attribute


class Folder(Resolver):
    def __init__(self, tree: ast.Module, text: str) -> None:
        self._memo: dict[ast.expr, Folded | None] = {}
        self._folding: set[ast.expr] = set()
        super().__init__(tree, text)

    def bound_values(self, expr: ast.expr) -> Values | None:
        if isinstance(expr, ast.Subscript):
            return self._subscript_values(expr, 0)
        return super().bound_values(expr)

    def _subscript_values(self, expr: ast.Subscript, depth: int) -> Values | None:
        """`CONFIG["maniac"]["key"]`, `KEYS[0]`: the element of a dict, list or
        tuple literal (or a name bound to one) read with a constant index."""
        if depth > MAX_DEPTH or isinstance(expr.slice, (ast.Slice, ast.Tuple)):
            return None
        index = expr.slice
        position = _int_literal(index)
        key = self.fold(index) if position is None else None
        if position is None and key is None:
            return None
        out: Values = []
        for container in self._containers(expr.value, depth):
            if isinstance(container, ast.Dict) and key is not None:
                out += [value for name, value in self._dict_pairs(container) if name == key.value]
            elif isinstance(container, (ast.List, ast.Tuple)) and position is not None:
                elements = container.elts
                if any(isinstance(e, ast.Starred) for e in elements):
                    return None
                if -len(elements) <= position < len(elements):
                    out.append(elements[position])
        return out or None

    def _containers(self, expr: ast.expr, depth: int) -> list[ast.expr]:
        if isinstance(expr, (ast.Dict, ast.List, ast.Tuple)):
            return [expr]
        if isinstance(expr, ast.Subscript):
            inner = self._subscript_values(expr, depth + 1) or []
        else:
            inner = super().bound_values(expr) or []
        out: list[ast.expr] = []
        for value in inner:
            if value is not None:
                out += self._containers(value, depth + 1) if depth < MAX_DEPTH else []
        return out

    def _dict_pairs(self, expr: ast.Dict) -> list[tuple[str, ast.expr]]:
        items = []
        for key_expr, value in zip(expr.keys, expr.values):
            if key_expr is not None:  # not `**other`
                key = self.fold(key_expr)
                if key is not None:
                    items.append((key.value, value))
        return items

    def fold(self, expr: ast.expr, depth: int = 0) -> Folded | None:
        if expr in self._memo:
            return self._memo[expr]
        if depth > MAX_DEPTH or expr in self._folding:
            return None
        self._folding.add(expr)
        try:
            result = self._fold(expr, depth)
        finally:
            self._folding.discard(expr)
        self._memo[expr] = result
        return result

    def _fold(self, expr: ast.expr, depth: int) -> Folded | None:
        if isinstance(expr, ast.Constant):
            if not isinstance(expr.value, str):
                return None
            return Folded(expr.value, expr, self.concatenated(expr), False)
        if isinstance(expr, ast.BinOp):
            if isinstance(expr.op, ast.Add):
                return self._join(expr, [expr.left, expr.right], depth)
            if isinstance(expr.op, ast.Mod):
                return self._fold_percent(expr, depth)
            return None
        if isinstance(expr, ast.JoinedStr):
            return self._fold_fstring(expr, depth)
        if isinstance(expr, ast.Call):
            return self._fold_call(expr, depth)
        bound = self.bound_values(expr)
        if bound is None or not bound or any(v is None for v in bound):
            return None
        folds = [self.fold(v, depth + 1) for v in bound if v is not None]
        if any(f is None for f in folds) or len({f.value for f in folds if f}) != 1:
            return None
        first = folds[0]
        assert first is not None
        return Folded(first.value, first.site, first.compound, True)

    def _fold_all(self, parts: Sequence[ast.expr], depth: int) -> list[Folded] | None:
        folds = [self.fold(p, depth + 1) for p in parts]
        return None if any(f is None for f in folds) else [f for f in folds if f is not None]

    def _join(self, expr: ast.expr, parts: Sequence[ast.expr], depth: int) -> Folded | None:
        folds = self._fold_all(parts, depth)
        if folds is None:
            return None
        return Folded("".join(f.value for f in folds), expr, True, any(f.through_name for f in folds))

    def _fold_fstring(self, expr: ast.JoinedStr, depth: int) -> Folded | None:
        pieces: list[str] = []
        through = False
        for part in expr.values:
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                pieces.append(part.value)
            elif isinstance(part, ast.FormattedValue):
                if part.conversion != -1 or part.format_spec is not None:
                    return None
                inner = self.fold(part.value, depth + 1)
                if inner is None:
                    return None
                pieces.append(inner.value)
                through = through or inner.through_name
            else:
                return None
        return Folded("".join(pieces), expr, True, through)

    def _fold_percent(self, expr: ast.BinOp, depth: int) -> Folded | None:
        template = self.fold(expr.left, depth + 1)
        if template is None:
            return None
        right = expr.right
        through = template.through_name
        values: list[str] | dict[str, str]
        if isinstance(right, ast.Tuple):
            if any(isinstance(e, ast.Starred) for e in right.elts):
                return None
            folds = self._fold_all(right.elts, depth)
            if folds is None:
                return None
            values = [f.value for f in folds]
            through = through or any(f.through_name for f in folds)
        elif isinstance(right, ast.Dict):
            values = {}
            for name, value_expr in self._dict_pairs(right):
                folded = self.fold(value_expr, depth + 1)
                if folded is None:
                    return None
                values[name] = folded.value
                through = through or folded.through_name
        else:
            single = self.fold(right, depth + 1)
            if single is None:
                return None
            values = [single.value]
            through = through or single.through_name
        value = percent_format(template.value, values)
        return None if value is None else Folded(value, expr, True, through)

    def _call_arguments(self, call: ast.Call, depth: int) -> tuple[list[str], dict[str, str], bool] | None:
        """Folded positional and keyword arguments (a literal `**{…}` too)."""
        positional: list[str] = []
        keywords: dict[str, str] = {}
        through = False
        for arg in call.args:
            folded = None if isinstance(arg, ast.Starred) else self.fold(arg, depth + 1)
            if folded is None:
                return None
            through = through or folded.through_name
            positional.append(folded.value)
        for keyword in call.keywords:
            if keyword.arg is None:
                if not isinstance(keyword.value, ast.Dict):
                    return None
                pairs = [(name, self.fold(value, depth + 1)) for name, value in self._dict_pairs(keyword.value)]
                if any(f is None for _, f in pairs):
                    return None
                keywords.update((name, f.value) for name, f in pairs if f is not None)
                continue
            folded = self.fold(keyword.value, depth + 1)
            if folded is None:
                return None
            through = through or folded.through_name
            keywords[keyword.arg] = folded.value
        return positional, keywords, through

    def _fold_call(self, expr: ast.Call, depth: int) -> Folded | None:
        func = expr.func
        if not isinstance(func, ast.Attribute):
            return None
        method = func.attr
        if method in ("substitute", "safe_substitute"):
            return self._fold_template(expr, func, depth)
        if method not in ("join", "format"):
            return None
        base = self.fold(func.value, depth + 1)
        if base is None:
            return None
        if method == "join":
            if len(expr.args) != 1 or expr.keywords or isinstance(expr.args[0], ast.Starred):
                return None
            seq = expr.args[0]
            if not isinstance(seq, (ast.List, ast.Tuple)) or any(isinstance(e, ast.Starred) for e in seq.elts):
                return None
            folds = self._fold_all(seq.elts, depth)
            if folds is None:
                return None
            return Folded(base.value.join(f.value for f in folds), expr, True, any(f.through_name for f in folds))
        arguments = self._call_arguments(expr, depth)
        if arguments is None:
            return None
        positional, keywords, through = arguments
        value = str_format(base.value, positional, keywords)
        return None if value is None else Folded(value, expr, True, through or base.through_name)

    def _fold_template(self, expr: ast.Call, func: ast.Attribute, depth: int) -> Folded | None:
        """`string.Template("…").substitute({…}, name=…)` on literals."""
        maker = func.value
        if not isinstance(maker, ast.Call) or not self.qnames(maker.func) & TEMPLATE_CLASSES:
            return None
        if len(maker.args) != 1 or maker.keywords or isinstance(maker.args[0], ast.Starred):
            return None
        template = self.fold(maker.args[0], depth + 1)
        if template is None:
            return None
        mapping: dict[str, str] = {}
        through = template.through_name
        given: list[list[tuple[str, ast.expr]] | None] = []
        for arg in expr.args:
            if isinstance(arg, ast.Starred):
                return None
            given.append(self.dict_items(arg, depth + 1))  # a dict literal or a name bound to one
        for keyword in expr.keywords:
            given.append(
                [(keyword.arg, keyword.value)] if keyword.arg is not None else self.dict_items(keyword.value, depth + 1)
            )
        for pairs in given:
            if pairs is None:
                return None
            for name, value_expr in pairs:
                folded = self.fold(value_expr, depth + 1)
                if folded is None:
                    return None
                mapping[name] = folded.value
                through = through or folded.through_name
        value = template_substitute(template.value, mapping, safe=func.attr == "safe_substitute")
        return None if value is None else Folded(value, expr, True, through)

    def options(self, expr: ast.expr) -> list[Folded]:
        """Each constant `expr` may hold: a name assigned in two places gives two."""
        bound = self.bound_values(expr)
        if bound is None:
            folded = self.fold(expr)
            return [folded] if folded is not None else []
        out = []
        for value in bound:
            folded = self.fold(value) if value is not None else None
            if folded is not None:
                out.append(Folded(folded.value, folded.site, folded.compound, True))
        return out

    def dict_items(self, expr: ast.expr, depth: int = 0) -> list[tuple[str, ast.expr]] | None:
        """(key, value expression) pairs of a dict display, `dict(...)` call, or a
        name bound to one; None when `expr` is not a dict."""
        if depth > MAX_DEPTH:
            return None
        if isinstance(expr, ast.Dict):
            return self._dict_pairs(expr)
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "dict":
            return [(k.arg, k.value) for k in expr.keywords if k.arg is not None]
        bound = self.bound_values(expr)
        if not bound:
            return None
        found: list[tuple[str, ast.expr]] | None = None
        for value in bound:
            if value is None:
                continue
            more = self.dict_items(value, depth + 1)
            if more is not None:
                found = (found or []) + more
        return found


def _int_literal(expr: ast.expr) -> int | None:
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
