"""The codemod: replace, by node identity, what the Python analyzer found.

The analyzer (maniac_guard.python.analyzer) says which node holds a key and
what kind of edit removes it; this module only edits. Fix kinds:

- ``replace-with-getenv``: the expression becomes ``os.getenv("NAME")``;
- ``drop-getenv-default``: ``os.getenv("NAME", "mk-…")`` loses its default;
- ``drop-or-fallback``: ``os.getenv("NAME") or "mk-…"`` becomes ``os.getenv("NAME")``;
- ``remove-statement``: ``os.environ["NAME"] = "mk-…"`` goes away;
- ``header-to-api-key``: the ``Authorization`` entry of ``default_headers=``
  leaves the ``Maniac(...)`` call and ``api_key=os.getenv("NAME")`` comes in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

import libcst as cst
from libcst.metadata import MetadataWrapper, ParentNodeProvider

from maniac_guard.fix.edits import getenv_call, insert_arg_before, remove_element
from maniac_guard.fix.osname import add_os_import, choose_os_name
from maniac_guard.records import dataclass, field

GETENV_KINDS = frozenset({"replace-with-getenv", "header-to-api-key"})
FIX_KINDS = GETENV_KINDS | {"drop-getenv-default", "drop-or-fallback", "remove-statement"}
ENV_NAME_RE = re.compile(r"[A-Z][A-Z0-9_]*\Z")
AUTH_HEADERS = frozenset({"authorization", "api-key", "x-api-key"})


class Issue(Protocol):
    """What the fixer needs of the analyzer's PyIssue."""

    @property
    def rule_id(self) -> str: ...
    @property
    def secret(self) -> str | None: ...
    @property
    def fix_kind(self) -> str | None: ...
    @property
    def fix_node(self) -> cst.CSTNode | None: ...
    @property
    def fix_safety(self) -> str | None: ...


@dataclass(frozen=True)
class FixOptions:
    env_var: str = "MANIAC_API_KEY"
    unsafe: bool = False
    # ruff-style rule selectors (`MG2`, `MG204`), as for the scan.
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()


@dataclass
class ModuleFix:
    module: cst.Module
    applied: list[Issue] = field(default_factory=list)
    # Fixes that exist but were not applied, each with the reason.
    skipped: list[tuple[Issue, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.applied)


def analyze(wrapper: MetadataWrapper, path: str) -> Sequence[Issue]:
    """The analyzer's issues on this module, with its libcst nodes."""
    from maniac_guard.fix.nodemap import to_cst
    from maniac_guard.python.analyzer import analyze_text

    try:
        issues = analyze_text(wrapper.module.code, path=path)
    except (SyntaxError, ValueError):  # newer syntax than this Python reads
        return []
    return to_cst(issues, wrapper)


def rule_selected(rule_id: str, options: FixOptions) -> bool:
    def matches(selectors: tuple[str, ...]) -> bool:
        return any(rule_id.startswith(s.strip().upper()) for s in selectors if s.strip())

    return (not options.select or matches(options.select)) and not matches(options.ignore)


def wanted(issue: Issue, options: FixOptions) -> bool:
    if issue.fix_kind not in FIX_KINDS or issue.fix_node is None:
        return False
    if not rule_selected(issue.rule_id, options):
        return False
    return issue.fix_safety == "safe" or (options.unsafe and issue.fix_safety == "unsafe")


def fix_module(module: cst.Module, options: FixOptions, path: str = "") -> ModuleFix:
    """Apply the fixes that `options` allow; the module is returned unchanged
    (and `applied` empty) when there is nothing to do or it cannot be done."""
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    issues = list(analyze(wrapper, path))
    if "maniac-guard" in module.code:
        issues = [i for i in issues if not _suppressed(wrapper, i)]
    return apply_issues(wrapper, issues, options)


def _suppressed(wrapper: MetadataWrapper, issue: Issue) -> bool:
    """An inline `maniac-guard: ignore[...]` on the reported line keeps the code as it is."""
    from libcst.metadata import PositionProvider

    from maniac_guard.selection import suppresses, suppressions

    node = getattr(issue, "node", None) or issue.fix_node
    if node is None:
        return False
    positions = wrapper.resolve(PositionProvider)
    if node not in positions:
        return False
    # In a comment only, as the scan honours it (a marker in a string is text).
    marked = suppressions(wrapper.module.code, "python")
    line = positions[node].start.line - 1
    return line in marked and suppresses(marked[line], issue.rule_id)


def _rule_promises_a_fix(rule_id: str) -> bool:
    """A rule whose doc offers a fix: where it cannot give one, `fix` says so rather than nothing."""
    from maniac_guard.catalog import get_rule

    return get_rule(rule_id).fix != "none"


def apply_issues(wrapper: MetadataWrapper, issues: Sequence[Issue], options: FixOptions) -> ModuleFix:
    result = ModuleFix(wrapper.module)
    chosen: list[Issue] = []
    # An issue whose edit is done by another one's (the same node reported
    # twice, a piece of a replaced concatenation): id(node) -> owner's id.
    owner: dict[int, int] = {}
    riders: list[Issue] = []
    for issue in issues:
        if issue.fix_kind is None or issue.fix_node is None:
            if _rule_promises_a_fix(issue.rule_id):
                result.skipped.append(
                    (issue, f"no automatic fix for this case; see `maniac-guard explain {issue.rule_id}`")
                )
            continue
        if not wanted(issue, options):
            if issue.fix_safety == "unsafe":
                result.skipped.append((issue, "unsafe fix; use --unsafe-fixes"))
            continue
        if any(id(issue.fix_node) == id(c.fix_node) for c in chosen):
            owner[id(issue.fix_node)] = id(issue.fix_node)
            riders.append(issue)
            continue
        chosen.append(issue)
    for issue in chosen:
        if issue.fix_kind == "replace-with-getenv" and issue.fix_node is not None:
            for inner in _descendants(issue.fix_node):
                owner.setdefault(inner, id(issue.fix_node))
    riders += [i for i in chosen if id(i.fix_node) in owner and owner[id(i.fix_node)] != id(i.fix_node)]
    chosen = [i for i in chosen if id(i.fix_node) not in owner or owner[id(i.fix_node)] == id(i.fix_node)]
    if not chosen:
        return result

    sites = [i.fix_node for i in chosen if i.fix_kind in GETENV_KINDS and i.fix_node is not None]
    os_name, need_import, problem = choose_os_name(wrapper, sites)
    if problem:
        for issue in chosen:
            if issue.fix_kind in GETENV_KINDS:
                result.skipped.append((issue, problem))
        chosen = [i for i in chosen if i.fix_kind not in GETENV_KINDS]

    parents = wrapper.resolve(ParentNodeProvider)
    transformer = FixTransformer(chosen, options, os_name, parents)
    new_module = wrapper.module.visit(transformer)
    for issue in chosen:
        if issue.fix_kind == "remove-statement" and id(issue.fix_node) not in transformer.removed_ids:
            transformer.refused.append((issue, "not a statement that can be removed"))
            transformer.refused_ids.add(id(issue.fix_node))
    for issue, reason in transformer.refused:
        result.skipped.append((issue, reason))
    done = [i for i in chosen if id(i.fix_node) not in transformer.refused_ids]
    if not done:
        return result
    if need_import and transformer.used_getenv:
        new_module = add_os_import(new_module, os_name)
    result.module = new_module
    done_nodes = {id(i.fix_node) for i in done}
    result.applied = done + [i for i in riders if owner.get(id(i.fix_node)) in done_nodes]
    return result


def _descendants(node: cst.CSTNode) -> set[int]:
    found: set[int] = set()
    stack = list(node.children)
    while stack:
        child = stack.pop()
        found.add(id(child))
        stack.extend(child.children)
    return found


def env_name_for(issue: Issue, options: FixOptions) -> str:
    """`Maniac(api_key="MANIAC_API_KEY_PROD")` meant that variable: keep its name."""
    named = getattr(issue, "env_name", None)
    if isinstance(named, str) and ENV_NAME_RE.match(named):
        return named
    node = issue.fix_node
    if issue.secret is None and isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        if isinstance(value, str) and ENV_NAME_RE.match(value) and value.startswith("MANIAC"):
            return value
    return options.env_var


# Where an expression can lose its parentheses without touching its
# neighbours (`return("mk-…")` cannot: `returnos.getenv` would not parse).
_BARE_PARENTS = (cst.Assign, cst.AnnAssign, cst.Arg, cst.DictElement, cst.Element, cst.AugAssign)


class FixTransformer(cst.CSTTransformer):
    def __init__(self, issues: Sequence[Issue], options: FixOptions, os_name: str, parents: object) -> None:
        super().__init__()
        self.options = options
        self.os_name = os_name
        self.parents = parents
        self.by_node: dict[int, Issue] = {id(i.fix_node): i for i in issues}
        self.remove_ids = {id(i.fix_node) for i in issues if i.fix_kind == "remove-statement"}
        self.refused: list[tuple[Issue, str]] = []
        self.refused_ids: set[int] = set()
        self.used_getenv = False
        self.removed_ids: set[int] = set()
        self._dropped: list[cst.CSTNode] = []  # statement lines emptied by removals

    def _refuse(self, issue: Issue, reason: str) -> None:
        self.refused.append((issue, reason))
        self.refused_ids.add(id(issue.fix_node))

    # -- replace-with-getenv, drop-getenv-default, drop-or-fallback, header-to-api-key
    def on_leave(  # type: ignore[override]
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel[cst.CSTNode]:
        issue = self.by_node.get(id(original_node))
        if issue is not None and issue.fix_kind != "remove-statement":
            updated_node = self._fix_expression(issue, original_node, updated_node)
        return super().on_leave(original_node, updated_node)

    def _fix_expression(self, issue: Issue, original: cst.CSTNode, updated: cst.CSTNode) -> cst.CSTNode:
        if issue.fix_kind == "replace-with-getenv":
            if not isinstance(updated, cst.BaseExpression):
                self._refuse(issue, "not an expression")
                return updated
            self.used_getenv = True
            call = getenv_call(self.os_name, env_name_for(issue, self.options))
            parent = getattr(self.parents, "get", lambda _n: None)(original)
            if updated.lpar and not (isinstance(parent, _BARE_PARENTS) and getattr(parent, "value", None) is original):
                return call.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
            return call
        if issue.fix_kind == "drop-getenv-default" and isinstance(updated, cst.Call):
            return self._drop_default(issue, updated)
        if issue.fix_kind == "drop-or-fallback" and isinstance(updated, cst.BooleanOperation):
            # `os.getenv(…) or "mk-…"` → `os.getenv(…)`, keeping any parentheses around it.
            return updated.left if not updated.lpar else updated.left.with_changes(lpar=updated.lpar, rpar=updated.rpar)
        if issue.fix_kind == "header-to-api-key" and isinstance(updated, cst.Call):
            return self._move_header(issue, updated)
        self._refuse(issue, f"unexpected node for {issue.fix_kind}")
        return updated

    def _drop_default(self, issue: Issue, call: cst.Call) -> cst.Call:
        index = next(
            (n for n, a in enumerate(call.args) if a.keyword is not None and a.keyword.value == "default"), None
        )
        if index is None:
            positional = [n for n, a in enumerate(call.args) if a.keyword is None and not a.star]
            index = positional[1] if len(positional) > 1 else None
        if index is None:
            self._refuse(issue, "no default to drop")
            return call
        return call.with_changes(args=remove_element(call.args, index))

    def _move_header(self, issue: Issue, call: cst.Call) -> cst.Call:
        args = list(call.args)
        where = next(
            (n for n, a in enumerate(args) if a.keyword is not None and a.keyword.value == "default_headers"), None
        )
        if where is None or not isinstance(args[where].value, cst.Dict):
            self._refuse(issue, "default_headers is not a dict literal in the call; fix by hand")
            return call
        if any(a.star for a in args):
            self._refuse(issue, "the call passes *args/**kwargs, which may already hold api_key; fix by hand")
            return call
        headers = args[where].value
        assert isinstance(headers, cst.Dict)
        elements = list(headers.elements)
        auth = [
            n for n, e in enumerate(elements) if isinstance(e, cst.DictElement) and _header_name(e.key) in AUTH_HEADERS
        ]
        if not auth:
            self._refuse(issue, "no Authorization entry in default_headers")
            return call
        for n in reversed(auth):
            elements = remove_element(elements, n)
        has_key = any(a.keyword is not None and a.keyword.value == "api_key" for a in args) or (
            bool(args) and args[0].keyword is None
        )
        new_arg = cst.Arg(
            keyword=cst.Name("api_key"),
            value=getenv_call(self.os_name, self.options.env_var),
            equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
            ),
        )
        if elements:
            args[where] = args[where].with_changes(value=headers.with_changes(elements=elements))
            if has_key:
                return call.with_changes(args=args)
            self.used_getenv = True
            before = call.whitespace_before_args if where == 0 else _comma_after(args[where - 1])
            if where == 0:
                # The new argument takes the first slot's leading whitespace.
                return call.with_changes(args=insert_arg_before(args, 0, new_arg, before))
            return call.with_changes(args=insert_arg_before(args, where, new_arg, before))
        if has_key:
            return call.with_changes(args=remove_element(args, where))
        self.used_getenv = True
        old = args[where]
        args[where] = new_arg.with_changes(comma=old.comma, whitespace_after_arg=old.whitespace_after_arg)
        return call.with_changes(args=args)

    # -- remove-statement ----------------------------------------------------
    def _kept_smalls(
        self,
        original: cst.SimpleStatementLine | cst.SimpleStatementSuite,
        updated: cst.SimpleStatementLine | cst.SimpleStatementSuite,
    ) -> list[cst.BaseSmallStatement] | None:
        """The small statements left, or None when none was removed."""
        if id(original) in self.remove_ids:
            self.removed_ids.add(id(original))
            return []
        self.removed_ids.update(id(o) for o in original.body if id(o) in self.remove_ids)
        kept = [u for o, u in zip(original.body, updated.body) if id(o) not in self.remove_ids]
        if len(kept) == len(updated.body):
            return None
        if kept:
            kept[-1] = kept[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
        return kept

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        kept = self._kept_smalls(original_node, updated_node)
        if kept is None:
            return updated_node
        if kept:
            return updated_node.with_changes(body=kept)
        # Emptied: the enclosing block drops it (or puts `pass` in its place).
        marked = updated_node.with_changes(body=[cst.Pass()])
        self._dropped.append(marked)
        return marked

    def leave_SimpleStatementSuite(
        self, original_node: cst.SimpleStatementSuite, updated_node: cst.SimpleStatementSuite
    ) -> cst.SimpleStatementSuite:
        kept = self._kept_smalls(original_node, updated_node)
        if kept is None:
            return updated_node
        return updated_node.with_changes(body=kept or [cst.Pass()])

    def _drop_lines(self, body: Sequence[cst.BaseStatement]) -> tuple[list[cst.BaseStatement], list[cst.EmptyLine]]:
        """Remove emptied lines, handing their comment lines to the next statement.
        Returns the new body and comment lines left over at its end."""
        dropped = {id(n) for n in self._dropped}
        out: list[cst.BaseStatement] = []
        carry: list[cst.EmptyLine] = []
        for stmt in body:
            if id(stmt) in dropped:
                assert isinstance(stmt, cst.SimpleStatementLine)
                if any(line.comment is not None for line in stmt.leading_lines):
                    carry.extend(stmt.leading_lines)
                continue
            if carry:
                leading = getattr(stmt, "leading_lines", None)
                if leading is not None:
                    stmt = stmt.with_changes(leading_lines=[*carry, *leading])
                    carry = []
            out.append(stmt)
        return out, carry

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        if not any(
            isinstance(s, cst.SimpleStatementLine) and any(s is d for d in self._dropped) for s in updated_node.body
        ):
            return updated_node
        body, carry = self._drop_lines(updated_node.body)
        if not body:
            # A block cannot be empty: the last removed line becomes `pass`.
            last = updated_node.body[-1]
            assert isinstance(last, cst.SimpleStatementLine)
            return updated_node.with_changes(body=[last.with_changes(leading_lines=carry or last.leading_lines)])
        return updated_node.with_changes(body=body, footer=[*carry, *updated_node.footer])

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self._dropped:
            return updated_node
        body, carry = self._drop_lines(updated_node.body)
        return updated_node.with_changes(body=body, footer=[*carry, *updated_node.footer])


def _header_name(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value.lower() if isinstance(value, str) else ""
    return ""


def _comma_after(arg: cst.Arg) -> cst.BaseParenthesizableWhitespace | None:
    return arg.comma.whitespace_after if isinstance(arg.comma, cst.Comma) else None
