"""`maniac-guard lsp`: the language server on stdin/stdout (the `lsp` extra)."""

from __future__ import annotations

from maniac_guard.errors import EXIT_CLEAN, ConfigError
from maniac_guard.lsp import LSP_EXTRA_HINT


def run_command() -> int:
    try:
        from maniac_guard.lsp.server import run
    except ImportError as exc:
        if (exc.name or "").split(".")[0] in ("pygls", "lsprotocol", "cattrs", "attrs"):
            raise ConfigError(LSP_EXTRA_HINT) from None
        raise
    run()
    return EXIT_CLEAN
