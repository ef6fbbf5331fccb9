"""`run_in_process` (tests/helpers.py) runs the CLI in the test's process many
times, so it must start each run from the state a new process has: every
functools cache emptied, and the module-level state it knows reset. This
finds every module-level container some code writes to, and every `global`
write, in the package: one it does not know would carry one run's state
into the next."""

from __future__ import annotations

import ast
from pathlib import Path

import maniac_guard
from tests.helpers import PER_PROCESS_STATE

PACKAGE = Path(maniac_guard.__file__).parent
MUTABLE = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)


MUTATORS = {"append", "add", "update", "setdefault", "pop", "popitem", "clear", "extend", "insert", "remove", "discard"}


def _written_names(tree: ast.Module) -> set[str]:
    """Names whose value some code changes: `x[k] = v`, `del x[k]`, `x.add(...)`."""
    written: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del)):
            target = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MUTATORS:
            target = node.func.value
        else:
            continue
        if isinstance(target, ast.Name):
            written.add(target.id)
    return written


def _module_state() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in PACKAGE.rglob("*.py"):
        if "lsp" in path.relative_to(PACKAGE).parts:
            continue  # the language server is one long process, not run by run_in_process
        module = ".".join(("maniac_guard", *path.relative_to(PACKAGE).with_suffix("").parts))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        written = _written_names(tree)
        for node in tree.body:
            target, value = None, None
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                target, value = node.target.id, node.value
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                target, value = node.targets[0].id, node.value
            empty_call = isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and not value.args
            mutable = isinstance(value, MUTABLE) or (empty_call and value.func.id in {"dict", "list", "set"})  # type: ignore[union-attr]
            if target in written and mutable:
                found.add((module, target))
        for node in ast.walk(tree):
            if isinstance(node, ast.Global):
                found.update((module, name) for name in node.names)
    return found


def test_run_in_process_resets_all_the_package_state_it_keeps() -> None:
    known = {(module, name) for module, name, _ in PER_PROCESS_STATE}
    assert _module_state() == known


def test_a_verbose_run_leaves_the_package_logger_as_a_new_process_has_it(tmp_path: Path) -> None:
    """`-v` gives the package's logger a handler and the DEBUG level; in a
    process that ends with it, in run_in_process it once stayed, and a later
    test's internal error in the same worker printed its traceback."""
    import logging

    from tests.helpers import run_in_process

    logger = logging.getLogger("maniac_guard")
    before = (logger.level, list(logger.handlers))
    (tmp_path / "a.txt").write_text("nothing\n")
    assert run_in_process("scan", ".", "-v", cwd=tmp_path).returncode == 0
    assert (logger.level, list(logger.handlers)) == before
