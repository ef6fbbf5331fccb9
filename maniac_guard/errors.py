"""The errors a user can cause, and how each ends a run.

Every command runs inside one boundary (`cli.main`): a `UsageError` (bad
usage, config or input) is one line on stderr and exit 2; anything else is
an internal error, one line and exit 3 (`-v` shows the traceback). A run
that ends in an error never exits 0 or 1, which a CI gate would read as
"clean" or "findings".
"""

from __future__ import annotations

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2  # usage, config or input error
EXIT_INTERNAL = 3  # a bug of ours
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader of stdout went away


class UsageError(Exception):
    """Bad usage, config or input: exit 2 with this one-line reason."""


class ConfigError(UsageError):
    """A config file, option or the environment is wrong."""


class CatalogError(UsageError):
    """The rules folder cannot be read or holds a broken rule."""
