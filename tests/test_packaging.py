"""The wheel carries rules/, so a non-editable install finds its rules."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_every_rule(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    wheel = next(tmp_path.glob("maniac_guard-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {Path(n).name for n in names if n.startswith("maniac_guard/_rules/")}
    expected = {p.name for p in (ROOT / "rules").iterdir() if p.is_file()}
    assert expected and shipped == expected
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "maniac-guard = maniac_guard.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
