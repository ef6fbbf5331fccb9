"""The analysis behind rules MG201–MG208, on the standard library's `ast`:

- `scopes.py`: Python's name binding, and the qualified names of imports;
- `resolve.py`: one pass collects assignments, class attributes, calls,
  environment writes and expressions built from pieces, and resolves names,
  attributes and parameters to the expressions they can hold;
- `fold.py`: folds those expressions to constant strings;
- `wrappers.py`: follows a parameter from a wrapper function to its callers;
- `checks.py`: one small check per place a key can go (MG201–MG208).

`analyze()` returns `PyIssue`s whose nodes belong to the tree it was given;
the autofix (maniac_guard.fix) finds the same nodes in its libcst tree by
their positions. `screen.py` decides, cheaper still, whether a file needs
this analysis at all.
"""

from __future__ import annotations

import ast

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

__all__ = [
    "DROP_GETENV_DEFAULT",
    "DROP_OR_FALLBACK",
    "HEADER_TO_API_KEY",
    "REMOVE_STATEMENT",
    "REPLACE_WITH_GETENV",
    "SDK_CLASSES",
    "Folded",
    "PyIssue",
    "analyze",
    "analyze_text",
]


def analyze(tree: ast.Module, text: str, *, path: str = "") -> list[PyIssue]:
    """Every 2xx issue in the module `tree` was parsed from (`text`). `path`
    only decides whether it is test code."""
    checker = Checker(tree, text, in_test=is_test_path(path))
    checker.run()
    return checker.issues


def analyze_text(text: str, *, path: str = "") -> list[PyIssue]:
    """`analyze` on source text; raises SyntaxError when it does not parse."""
    return analyze(ast.parse(text), text, path=path)
