"""stdout that cannot be written (a full disk) ends in one line on stderr and
exit 2, as `-o` on the same disk does, never a traceback or exit 1."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import console_script, fake_key


@pytest.mark.parametrize(
    "args", [["scan"], ["scan", "--format", "json"], ["scan", "--format", "sarif"], ["scan", "--diff"]]
)
def test_a_full_disk_on_stdout_is_one_line_and_exit_2(args: list[str], tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(f'from maniac import Maniac\nclient = Maniac(api_key="{fake_key("full")}")\n')
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [console_script(), *args, "."],
            cwd=tmp_path,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "NO_COLOR": "1"},
            check=False,
            timeout=120,
        )
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["maniac-guard: error: stdout: cannot write: No space left on device"]


def test_a_clean_quiet_scan_writes_nothing_and_passes_on_a_full_disk(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("print('hello')\n")
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [console_script(), "scan", "-q", "."],
            cwd=tmp_path,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=120,
        )
    assert (proc.returncode, proc.stderr) == (0, "")
