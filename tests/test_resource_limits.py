"""Issue 9: huge, many and deep inputs finish with bounded memory and say
what they skipped. Memory is the peak RSS of the scan process and its
workers, read with getrusage(RUSAGE_CHILDREN) in a fresh wrapper process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import console_script, fake_key

MEMORY_BOUND_MB = 300

_WRAPPER = """
import json, resource, subprocess, sys
proc = subprocess.run(sys.argv[2:], cwd=sys.argv[1], capture_output=True, text=True,
                      env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"})
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": proc.returncode, "out": proc.stdout, "err": proc.stderr, "peak_mb": peak_kb / 1024}))
"""


def _measured_scan(cwd: Path, *args: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", _WRAPPER, str(cwd), console_script(), "scan", *args, "--format", "json"],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    outcome: dict[str, object] = json.loads(proc.stdout)
    outcome["report"] = json.loads(str(outcome["out"]))
    return outcome


def test_sparse_gigabyte_file_is_skipped_as_binary_without_reading_it(tmp_path: Path) -> None:
    with open(tmp_path / "disk.img", "wb") as handle:
        handle.truncate(1 << 30)
    (tmp_path / "leak.env").write_text(f"MANIAC_API_KEY={fake_key('sparse')}\n")
    outcome = _measured_scan(tmp_path, ".")
    assert "disk.img" not in str(outcome["err"])  # its first window holds NULs: binary, the rest is not read
    assert outcome["report"]["summary"]["files_skipped"] == {"binary": 1}  # type: ignore[index]
    assert float(outcome["peak_mb"]) < MEMORY_BOUND_MB  # type: ignore[arg-type]


def test_hundred_megabyte_line_is_scanned_when_allowed(tmp_path: Path) -> None:
    key = fake_key("long-line")
    with open(tmp_path / "bundle.js", "wb") as handle:
        handle.write(b"x=1;" * (25 << 20))
        handle.write(f'k="{key}";\n'.encode())
    outcome = _measured_scan(tmp_path, ".", "--max-file-size", str(128 << 20))
    report = outcome["report"]
    assert [f["line"] for f in report["findings"]] == [1]  # type: ignore[index]
    assert key not in str(outcome["out"])
    assert float(outcome["peak_mb"]) < MEMORY_BOUND_MB  # type: ignore[arg-type]


def test_hundred_thousand_tiny_files(tmp_path: Path) -> None:
    root = tmp_path / "many"
    # Each folder's files are hard links to its first: 100,000 paths the walk
    # lists and the scan opens and reads one by one, as distinct files, but
    # without allocating (and later freeing) 100,000 inodes, which cost 5 to
    # 30 CPU-seconds of kernel time on a busy machine against ~1.5 for links.
    # A scan that counted an inode once would fail the count below.
    for folder in range(100):
        sub = root / f"d{folder:03}"
        sub.mkdir(parents=True)
        first = sub / "f0000.txt"
        first.write_bytes(b"hello mk-short\n")
        for index in range(1, 1000):
            os.link(first, sub / f"f{index:04}.txt")
    (root / "d050" / "f0500.txt").unlink()  # its own file, not a link to the others
    (root / "d050" / "f0500.txt").write_text(f"key={fake_key('needle')}\n")
    outcome = _measured_scan(root, ".")
    report = outcome["report"]
    assert report["summary"]["files_scanned"] == 100_000  # type: ignore[index]
    assert [f["path"] for f in report["findings"]] == ["d050/f0500.txt"]  # type: ignore[index]
    assert float(outcome["peak_mb"]) < MEMORY_BOUND_MB  # type: ignore[arg-type]


def test_deeply_nested_directory(tmp_path: Path) -> None:
    deep = tmp_path
    for _ in range(400):
        deep = deep / "d"
    deep.mkdir(parents=True)
    (deep / "leak.txt").write_text(f"key={fake_key('deep')}\n")
    outcome = _measured_scan(tmp_path, ".")
    findings = outcome["report"]["findings"]  # type: ignore[index]
    assert len(findings) == 1 and findings[0]["path"].count("/") == 400
