"""What the analyzer reports (`PyIssue`), and the fix kinds: the contract with
maniac_guard.fix, which finds the nodes an issue names in its own syntax tree
by their positions."""

from __future__ import annotations

import ast
import re

from maniac_guard.findings import mask
from maniac_guard.records import dataclass

# fix kinds (the contract with maniac_guard.fix)
REPLACE_WITH_GETENV = "replace-with-getenv"
DROP_GETENV_DEFAULT = "drop-getenv-default"
DROP_OR_FALLBACK = "drop-or-fallback"
REMOVE_STATEMENT = "remove-statement"
HEADER_TO_API_KEY = "header-to-api-key"

Located = ast.expr | ast.stmt  # nodes with a position


@dataclass
class PyIssue:
    rule_id: str
    message: str
    node: Located  # node whose position is reported
    secret: str | None  # folded credential value, if any
    fix_kind: str | None  # one of the fix kinds above, or None
    # replace-with-getenv: the expression to replace (literal, concatenation,
    # or the Name's assigned value at the definition); drop-getenv-default:
    # the os.getenv/os.environ.get Call; drop-or-fallback: the fallback, the
    # right side of `os.getenv(…) or <fallback>`; remove-statement: the
    # statement to remove; header-to-api-key: the Maniac(...) Call whose
    # default_headers entry must move.
    fix_node: Located | None
    fix_safety: str | None  # "safe" | "unsafe"
    # Where the value is used when the issue is reported at its definition
    # (MG202: the SDK call); the detector names its line in the message.
    call_site: Located | None = None
    # For MG207: the environment variable whose name was passed.
    env_name: str | None = None
    # The module `node` is in, when not the analyzed one (a literal imported
    # from another file): the finding is reported there, without a fix.
    path: str | None = None
    # Where the value went: (path, line, column, label) from the literal to the sink.
    flow: tuple[tuple[str, int, int, str], ...] = ()
    # The literal a decoded secret was written as (base64, hex): masked too.
    raw: str | None = None


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def source_rows(text: str) -> list[str]:
    """Lines as Python counts them (a lone CR ends one): what `ast` line numbers index."""
    return _LINE_BREAK.split(text)


def char_column(row: str, utf8_column: int) -> int:
    """The character column of an `ast` column (which counts UTF-8 bytes)."""
    return len(row.encode("utf-8", "surrogatepass")[:utf8_column].decode("utf-8", "replace"))


def short(value: str) -> str:
    """A non-secret value as shown in a message (anything odd is masked)."""
    if len(value) <= 32 and not any(c.isspace() for c in value):
        return repr(value)
    return mask(value)
