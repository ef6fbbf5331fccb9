"""The analyzer reports on the standard library's `ast` (fast, and what the
scan uses); the codemod edits libcst's tree (it keeps formatting). This finds
each issue's nodes in the libcst tree of the same code, by their positions."""

from __future__ import annotations

import ast
from collections.abc import Sequence

import libcst as cst
from libcst.metadata import MetadataWrapper, ParentNodeProvider, PositionProvider

from maniac_guard.python.issues import DROP_OR_FALLBACK, REMOVE_STATEMENT, Located, PyIssue, char_column, source_rows
from maniac_guard.records import dataclass

Span = tuple[int, int, int, int]  # start line, column, end line, column (characters)


@dataclass
class CstIssue:
    """A PyIssue whose nodes are libcst's (the fields of PyIssue)."""

    rule_id: str
    message: str
    node: cst.CSTNode | None
    secret: str | None
    fix_kind: str | None
    fix_node: cst.CSTNode | None
    fix_safety: str | None
    call_site: cst.CSTNode | None = None
    env_name: str | None = None


class NodeMap:
    def __init__(self, wrapper: MetadataWrapper) -> None:
        self._rows = source_rows(wrapper.module.code)
        self._parents = wrapper.resolve(ParentNodeProvider)
        self._at: dict[Span, list[cst.CSTNode]] = {}
        for node, where in wrapper.resolve(PositionProvider).items():  # outer nodes first
            span = (where.start.line, where.start.column, where.end.line, where.end.column)
            self._at.setdefault(span, []).append(node)

    def _column(self, line: int, utf8_column: int) -> int:
        return char_column(self._rows[line - 1] if 0 < line <= len(self._rows) else "", utf8_column)

    def find(self, node: Located | None) -> cst.CSTNode | None:
        """The libcst expression or small statement at the place of `node`."""
        if node is None:
            return None
        end_line = node.end_lineno or node.lineno
        span = (
            node.lineno,
            self._column(node.lineno, node.col_offset),
            end_line,
            self._column(end_line, node.end_col_offset or 0),
        )
        kind = cst.BaseSmallStatement if isinstance(node, ast.stmt) else cst.BaseExpression
        return next((n for n in self._at.get(span, []) if isinstance(n, kind)), None)

    def fix_node(self, issue: PyIssue) -> cst.CSTNode | None:
        found = self.find(issue.fix_node)
        if found is None:
            return None
        parent = self._parents.get(found)
        if issue.fix_kind == DROP_OR_FALLBACK:
            # The analyzer names the fallback; the edit replaces its `… or`.
            return parent if isinstance(parent, cst.BooleanOperation) and parent.right is found else None
        if issue.fix_kind == REMOVE_STATEMENT:
            # A statement alone on its line goes with its line.
            if isinstance(parent, cst.SimpleStatementLine):
                return parent if len(parent.body) == 1 else found
            return None
        return found


def to_cst(issues: Sequence[PyIssue], wrapper: MetadataWrapper) -> list[CstIssue]:
    """The issues with libcst nodes; a fix whose code is not found is dropped
    (the scan after the fix still reports what it leaves)."""
    nodes = NodeMap(wrapper)
    out = []
    for issue in issues:
        fix_node = nodes.fix_node(issue) if issue.fix_kind is not None else None
        out.append(
            CstIssue(
                issue.rule_id,
                issue.message,
                nodes.find(issue.node),
                issue.secret,
                issue.fix_kind if fix_node is not None else None,
                fix_node,
                issue.fix_safety if fix_node is not None else None,
                nodes.find(issue.call_site),
                issue.env_name,
            )
        )
    return out
