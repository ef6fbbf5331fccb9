"""The libcst analysis behind rules MG201–MG208, in parts:

- `resolve.py`: one visitor pass collects assignments, class attributes,
  calls, environment writes and expressions built from pieces, and resolves
  names, attributes and parameters to the expressions they can hold;
- `fold.py`: folds those expressions to constant strings;
- `wrappers.py`: follows a parameter from a wrapper function to its callers;
- `checks.py`: one small check per place a key can go (MG201–MG208).

`analyze()` returns `PyIssue`s whose nodes belong to `wrapper.module`: the
autofix (maniac_guard.fix) rewrites exactly those nodes. `screen.py` decides,
without libcst, whether a file needs this analysis at all.
"""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst
from libcst.metadata import MetadataWrapper

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
    "iter_issue_nodes",
]


def analyze(wrapper: MetadataWrapper, *, path: str = "") -> list[PyIssue]:
    """Every 2xx issue in the module. `path` only decides whether it is test code."""
    checker = Checker(in_test=is_test_path(path))
    wrapper.visit(checker)
    return checker.issues


def iter_issue_nodes(issues: Iterable[PyIssue]) -> list[cst.CSTNode]:
    """Nodes whose positions the detector needs (reported and call sites)."""
    out: list[cst.CSTNode] = []
    for issue in issues:
        out.append(issue.node)
        if issue.call_site is not None:
            out.append(issue.call_site)
    return out
