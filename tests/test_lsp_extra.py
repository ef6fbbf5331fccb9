"""`maniac-guard lsp` without the `lsp` extra: one line and exit 2, as `--verify` without httpx."""

from __future__ import annotations

import subprocess
import sys


def test_without_the_lsp_extra_one_line_and_exit_2() -> None:
    # pygls made unimportable, as in an install without `[lsp]`.
    code = (
        "import sys; sys.modules['pygls'] = None; sys.argv = ['maniac-guard', 'lsp']; "
        "from maniac_guard.cli import main; main()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["maniac-guard: error: lsp needs pygls: pip install 'maniac-guard[lsp]'"]
    assert proc.stdout == ""
