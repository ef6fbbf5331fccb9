"""`maniac-guard lsp` without the `lsp` extra: one line and exit 2, as `--verify` without httpx."""

from __future__ import annotations

import subprocess
import sys

import pytest


# The console script's own start (entry.py, no click) and the click command line.
@pytest.mark.parametrize("entry", ["maniac_guard.entry", "maniac_guard.cli"])
def test_without_the_lsp_extra_one_line_and_exit_2(entry: str) -> None:
    # pygls made unimportable, as in an install without `[lsp]`.
    code = (
        f"import sys; sys.modules['pygls'] = None; sys.argv = ['maniac-guard', 'lsp']; from {entry} import main; main()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["maniac-guard: error: lsp needs pygls: pip install 'maniac-guard[lsp]'"]
    assert proc.stdout == ""
