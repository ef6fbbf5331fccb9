"""The analysis behind rules MG201–MG208, on the standard library's `ast`:

- `issues.py`: what is reported, and how `ast` positions map to text;
- `scopes.py`, `resolve.py`: Python's name binding, and one pass that
  collects the calls and writes the checks look at;
- `domain.py`: the abstract values (strings with their origin, the
  environment, parameters, containers, functions, classes, modules);
- `flow.py`, `calls.py`, `objects.py`, `strops.py`: the value flow, asked
  on demand from each sink; `modules.py`: the other modules of the project;
- `fold.py`: the checks' view of it; `sdk.py`: the sinks' classes;
- `checks.py`: one small check per place a key can go (MG201–MG208).

`analyze()` returns `PyIssue`s whose nodes belong to the tree it was given
(or, with `path` set, to another module of the project); the autofix
(maniac_guard.fix) finds the same nodes in its libcst tree by their
positions. `screen.py` decides, cheaper still, whether a file needs this
analysis at all.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from maniac_guard.python.checks import Checker
from maniac_guard.python.fold import Folded
from maniac_guard.python.issues import (
    DROP_GETENV_DEFAULT,
    DROP_OR_FALLBACK,
    HEADER_TO_API_KEY,
    REMOVE_STATEMENT,
    REPLACE_WITH_GETENV,
    PyIssue,
)
from maniac_guard.python.sdk import SDK_CLASSES
from maniac_guard.python.values import is_test_path
from maniac_guard.records import dataclass, field

if TYPE_CHECKING:
    from maniac_guard.sources import ProjectReader

__all__ = [
    "DROP_GETENV_DEFAULT",
    "DROP_OR_FALLBACK",
    "HEADER_TO_API_KEY",
    "REMOVE_STATEMENT",
    "REPLACE_WITH_GETENV",
    "SDK_CLASSES",
    "Analysis",
    "Folded",
    "PyIssue",
    "analyze",
    "analyze_project",
    "analyze_text",
]


@dataclass
class Analysis:
    issues: list[PyIssue]
    # Each other file read (path → hash of its bytes, None: absent): what
    # the result depends on besides the file itself.
    reads: dict[str, str | None] = field(default_factory=dict)
    exhausted: bool = False  # the budget ran out: what was found so far


def analyze_project(tree: ast.Module, text: str, *, path: str = "", reader: ProjectReader | None = None) -> Analysis:
    """Every 2xx issue in the module `tree` was parsed from (`text`), its
    imports read through `reader`."""
    from maniac_guard.python.flow import Exhausted

    checker = Checker(tree, text, in_test=is_test_path(path), path=path, reader=reader)
    exhausted = False
    try:
        checker.run()
    except Exhausted:
        exhausted = True
    return Analysis(checker.issues, dict(checker.project.reads), exhausted or checker.project.exhausted)


def analyze(tree: ast.Module, text: str, *, path: str = "") -> list[PyIssue]:
    """The issues of `analyze_project` on this module alone. `path` decides
    whether it is test code."""
    return analyze_project(tree, text, path=path).issues


def analyze_text(text: str, *, path: str = "") -> list[PyIssue]:
    """`analyze` on source text; raises SyntaxError when it does not parse."""
    return analyze(ast.parse(text), text, path=path)
