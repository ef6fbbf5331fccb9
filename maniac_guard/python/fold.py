"""Constant folding for the Python rules: the string values an expression can
hold, built from literals through names, attributes, parameter defaults,
container subscripts and every string-building form (`+`, implicit
concatenation, f-strings, `%`, `str.format`, `"".join`, `string.Template`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

from maniac_guard.python.resolve import MAX_DEPTH, Resolver, Values
from maniac_guard.python.strings import percent_format, str_format, template_substitute

TEMPLATE_CLASSES = frozenset({"string.Template"})


@dataclass(frozen=True)
class Folded:
    """A constant string and where its code is."""

    value: str
    site: cst.BaseExpression  # the literal, or the expression that builds it
    compound: bool  # built from pieces (concatenation, join, format, f-string)
    through_name: bool  # reached through a name or attribute


class Folder(Resolver):
    def __init__(self) -> None:
        super().__init__()
        self._memo: dict[cst.CSTNode, Folded | None] = {}
        self._folding: set[cst.CSTNode] = set()

    def bound_values(self, expr: cst.BaseExpression) -> Values | None:
        if isinstance(expr, cst.Subscript):
            return self._subscript_values(expr, 0)
        return super().bound_values(expr)

    def _subscript_values(self, expr: cst.Subscript, depth: int) -> Values | None:
        """`CONFIG["maniac"]["key"]`, `KEYS[0]`: the element of a dict, list or
        tuple literal (or a name bound to one) read with a constant index."""
        if depth > MAX_DEPTH or len(expr.slice) != 1 or not isinstance(expr.slice[0].slice, cst.Index):
            return None
        index = expr.slice[0].slice.value
        position = _int_literal(index)
        key = self.fold(index) if position is None else None
        if position is None and key is None:
            return None
        out: Values = []
        for container in self._containers(expr.value, depth):
            if isinstance(container, cst.Dict) and key is not None:
                out += [value for name, value in self._dict_pairs(container) if name == key.value]
            elif isinstance(container, (cst.List, cst.Tuple)) and position is not None:
                elements = container.elements
                if any(isinstance(e, cst.StarredElement) for e in elements):
                    return None
                if -len(elements) <= position < len(elements):
                    out.append(elements[position].value)
        return out or None

    def _containers(self, expr: cst.BaseExpression, depth: int) -> list[cst.BaseExpression]:
        if isinstance(expr, (cst.Dict, cst.List, cst.Tuple)):
            return [expr]
        if isinstance(expr, cst.Subscript):
            inner = self._subscript_values(expr, depth + 1) or []
        else:
            inner = super().bound_values(expr) or []
        out: list[cst.BaseExpression] = []
        for value in inner:
            if value is not None:
                out += self._containers(value, depth + 1) if depth < MAX_DEPTH else []
        return out

    def _dict_pairs(self, expr: cst.Dict) -> list[tuple[str, cst.BaseExpression]]:
        items = []
        for element in expr.elements:
            if isinstance(element, cst.DictElement):
                key = self.fold(element.key)
                if key is not None:
                    items.append((key.value, element.value))
        return items

    def fold(self, expr: cst.BaseExpression, depth: int = 0) -> Folded | None:
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

    def _fold(self, expr: cst.BaseExpression, depth: int) -> Folded | None:
        if isinstance(expr, cst.SimpleString):
            try:
                value = expr.evaluated_value
            except Exception:  # noqa: BLE001 -- libcst raises plain errors on odd escapes
                return None
            return Folded(value, expr, False, False) if isinstance(value, str) else None
        if isinstance(expr, cst.ConcatenatedString):
            return self._join(expr, [expr.left, expr.right], depth)
        if isinstance(expr, cst.BinaryOperation):
            if isinstance(expr.operator, cst.Add):
                return self._join(expr, [expr.left, expr.right], depth)
            if isinstance(expr.operator, cst.Modulo):
                return self._fold_percent(expr, depth)
            return None
        if isinstance(expr, cst.FormattedString):
            return self._fold_fstring(expr, depth)
        if isinstance(expr, cst.Call):
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

    def _fold_all(self, parts: Sequence[cst.BaseExpression], depth: int) -> list[Folded] | None:
        folds = [self.fold(p, depth + 1) for p in parts]
        return None if any(f is None for f in folds) else [f for f in folds if f is not None]

    def _join(self, expr: cst.BaseExpression, parts: Sequence[cst.BaseExpression], depth: int) -> Folded | None:
        folds = self._fold_all(parts, depth)
        if folds is None:
            return None
        return Folded(
            "".join(f.value for f in folds),
            expr,
            True,
            any(f.through_name for f in folds),
        )

    def _fold_fstring(self, expr: cst.FormattedString, depth: int) -> Folded | None:
        raw = "r" in expr.prefix.lower()
        pieces: list[str] = []
        through = False
        for part in expr.parts:
            if isinstance(part, cst.FormattedStringText):
                if "\\" in part.value and not raw:
                    return None  # escapes: not worth evaluating, keys hold none
                pieces.append(part.value.replace("{{", "{").replace("}}", "}"))
            elif isinstance(part, cst.FormattedStringExpression):
                if part.conversion is not None or part.format_spec is not None:
                    return None
                inner = self.fold(part.expression, depth + 1)
                if inner is None:
                    return None
                pieces.append(inner.value)
                through = through or inner.through_name
            else:
                return None
        return Folded("".join(pieces), expr, True, through)

    def _fold_percent(self, expr: cst.BinaryOperation, depth: int) -> Folded | None:
        template = self.fold(expr.left, depth + 1)
        if template is None:
            return None
        right = expr.right
        through = template.through_name
        values: list[str] | dict[str, str]
        if isinstance(right, cst.Tuple):
            if any(isinstance(e, cst.StarredElement) for e in right.elements):
                return None
            folds = self._fold_all([e.value for e in right.elements], depth)
            if folds is None:
                return None
            values = [f.value for f in folds]
            through = through or any(f.through_name for f in folds)
        elif isinstance(right, cst.Dict):
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

    def _call_arguments(self, call: cst.Call, depth: int) -> tuple[list[str], dict[str, str], bool] | None:
        """Folded positional and keyword arguments (a literal `**{…}` too)."""
        positional: list[str] = []
        keywords: dict[str, str] = {}
        through = False
        for arg in call.args:
            if arg.star == "**" and isinstance(arg.value, cst.Dict):
                pairs = [(name, self.fold(value, depth + 1)) for name, value in self._dict_pairs(arg.value)]
                if any(f is None for _, f in pairs):
                    return None
                keywords.update((name, f.value) for name, f in pairs if f is not None)
                continue
            if arg.star:
                return None
            folded = self.fold(arg.value, depth + 1)
            if folded is None:
                return None
            through = through or folded.through_name
            if arg.keyword is None:
                positional.append(folded.value)
            else:
                keywords[arg.keyword.value] = folded.value
        return positional, keywords, through

    def _fold_call(self, expr: cst.Call, depth: int) -> Folded | None:
        func = expr.func
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        if method in ("substitute", "safe_substitute"):
            return self._fold_template(expr, func, depth)
        if method not in ("join", "format"):
            return None
        base = self.fold(func.value, depth + 1)
        if base is None:
            return None
        if method == "join":
            if len(expr.args) != 1 or expr.args[0].keyword is not None or expr.args[0].star:
                return None
            seq = expr.args[0].value
            if not isinstance(seq, (cst.List, cst.Tuple)) or any(
                isinstance(e, cst.StarredElement) for e in seq.elements
            ):
                return None
            folds = self._fold_all([e.value for e in seq.elements], depth)
            if folds is None:
                return None
            return Folded(
                base.value.join(f.value for f in folds),
                expr,
                True,
                any(f.through_name for f in folds),
            )
        arguments = self._call_arguments(expr, depth)
        if arguments is None:
            return None
        positional, keywords, through = arguments
        value = str_format(base.value, positional, keywords)
        return None if value is None else Folded(value, expr, True, through or base.through_name)

    def _fold_template(self, expr: cst.Call, func: cst.Attribute, depth: int) -> Folded | None:
        """`string.Template("…").substitute({…}, name=…)` on literals."""
        maker = func.value
        if not isinstance(maker, cst.Call) or not self.qnames(maker.func) & TEMPLATE_CLASSES:
            return None
        if len(maker.args) != 1 or maker.args[0].keyword is not None or maker.args[0].star:
            return None
        template = self.fold(maker.args[0].value, depth + 1)
        if template is None:
            return None
        mapping: dict[str, str] = {}
        through = template.through_name
        for arg in expr.args:
            if arg.keyword is not None:
                pairs: list[tuple[str, cst.BaseExpression]] | None = [(arg.keyword.value, arg.value)]
            elif arg.star in (
                "",
                "**",
            ):  # a mapping: a dict literal or a name bound to one
                pairs = self.dict_items(arg.value, depth + 1)
            else:
                return None
            for name, value_expr in pairs if pairs is not None else [("", None)]:
                folded = self.fold(value_expr, depth + 1) if value_expr is not None else None
                if folded is None:
                    return None
                mapping[name] = folded.value
                through = through or folded.through_name
        value = template_substitute(template.value, mapping, safe=func.attr.value == "safe_substitute")
        return None if value is None else Folded(value, expr, True, through)

    def options(self, expr: cst.BaseExpression) -> list[Folded]:
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

    def dict_items(self, expr: cst.BaseExpression, depth: int = 0) -> list[tuple[str, cst.BaseExpression]] | None:
        """(key, value expression) pairs of a dict display, `dict(...)` call, or a
        name bound to one; None when `expr` is not a dict."""
        if depth > MAX_DEPTH:
            return None
        if isinstance(expr, cst.Dict):
            return self._dict_pairs(expr)
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value == "dict":
            return [(a.keyword.value, a.value) for a in expr.args if a.keyword is not None]
        bound = self.bound_values(expr)
        if not bound:
            return None
        found: list[tuple[str, cst.BaseExpression]] | None = None
        for value in bound:
            if value is None:
                continue
            more = self.dict_items(value, depth + 1)
            if more is not None:
                found = (found or []) + more
        return found


def _int_literal(expr: cst.BaseExpression) -> int | None:
    if isinstance(expr, cst.Integer):
        return int(expr.evaluated_value)
    if (
        isinstance(expr, cst.UnaryOperation)
        and isinstance(expr.operator, cst.Minus)
        and isinstance(expr.expression, cst.Integer)
    ):
        return -int(expr.expression.evaluated_value)
    return None
