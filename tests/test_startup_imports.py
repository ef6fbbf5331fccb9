"""Start-up budget of the hook path (issue 26): `maniac-guard scan -- FILE…`
imports only what a small scan needs. Checked on the SET of modules the
console script loads (timing is for benchmarks/), so that a new top-level
import of click, a report format or an optional library is caught here."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from maniac_guard.entry import hook_scan_options, scan_defaults
from tests.helpers import console_script, fake_key, run_cli

# What the hook path may load of ours; anything else is imported lazily, by
# the command or file kind that needs it.
ALLOWED_OWN = {
    "maniac_guard",
    "maniac_guard.baseline",
    "maniac_guard.cachefiles",
    "maniac_guard.catalog",
    "maniac_guard.commands",
    "maniac_guard.commands.boundary",
    "maniac_guard.commands.options",
    "maniac_guard.commands.scan",
    "maniac_guard.config",
    "maniac_guard.debuglog",
    "maniac_guard.detectorcache",
    "maniac_guard.detectors",
    "maniac_guard.detectors.config_files",
    "maniac_guard.detectors.encoded",
    "maniac_guard.detectors.file_names",  # MG105: every path is judged
    "maniac_guard.detectors.keys",
    "maniac_guard.detectors.permissions",
    "maniac_guard.detectors.python_code",
    "maniac_guard.detectors.snippet",
    "maniac_guard.engine",
    "maniac_guard.entry",
    "maniac_guard.errors",
    "maniac_guard.findings",
    "maniac_guard.ignorefile",
    "maniac_guard.inline",  # one file's findings merged, suppressed, masked
    "maniac_guard.interrupts",
    "maniac_guard.keyshape",
    "maniac_guard.prefilter",
    # job.py names MANIAC_API_KEY: the screen reads its `ast` (python/screen.py)
    "maniac_guard.python",
    "maniac_guard.python.screen",
    "maniac_guard.python.sdk",
    "maniac_guard.report",
    "maniac_guard.report.escape",
    "maniac_guard.report.text",
    "maniac_guard.selection",
    "maniac_guard.sources",
    "maniac_guard.sources.archives",
    "maniac_guard.sources.files",
    "maniac_guard.sources.inflate",
    "maniac_guard.sources.windows",
    "maniac_guard.sources.worktree",
    "maniac_guard.summary",
    "maniac_guard.target",
    "maniac_guard.words",
    "maniac_guard.writer",
}
# Not ours and not the standard library: only what `site` itself loads
# (setuptools' hook, a sitecustomize) and copy.py's probe for Jython.
ALLOWED_OTHER = {"_distutils_hack", "sitecustomize", "org", "org.python", "org.python.core"}


def _imported(args: list[str], cwd: Path) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", console_script(), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin", "HOME": str(cwd), "MANIAC_GUARD_CACHE_DIR": str(cwd / "c")},
        timeout=120,
    )
    modules = {
        line.split("|")[2].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "imported package" not in line
    }
    return modules, proc


@pytest.fixture
def small_change(tmp_path: Path) -> list[str]:
    (tmp_path / "job.py").write_text('import os\n\nKEY = os.getenv("MANIAC_API_KEY")\n')
    (tmp_path / "README.md").write_text("# Project\n\nNothing secret.\n")
    (tmp_path / ".env").write_text(f"MANIAC_API_KEY={fake_key('startup')}\n")
    (tmp_path / "config.yaml").write_text("name: demo\nreplicas: 2\n")
    return ["job.py", "README.md", ".env", "config.yaml"]


@pytest.mark.parametrize("hook", [["scan", "--pre-commit", "--"], ["scan", "--"]])
def test_the_hook_path_imports_only_its_allow_list(tmp_path: Path, small_change: list[str], hook: list[str]) -> None:
    modules, proc = _imported([*hook, *small_change], tmp_path)
    assert proc.returncode == 1, proc.stderr  # the .env key: the scan really ran
    own = {m for m in modules if m == "maniac_guard" or m.startswith("maniac_guard.")}
    assert own - ALLOWED_OWN == set()
    other = {m for m in modules - own if m.split(".")[0] not in sys.stdlib_module_names}
    assert other - ALLOWED_OTHER == set()  # no click, yaml, libcst, pathspec, httpx…


def test_the_fast_path_gives_scan_what_click_would(tmp_path: Path) -> None:
    from maniac_guard import cli

    for argv in (["--pre-commit", "--", "a.py", "-o"], ["--staged", "-q"], ["x.py", "--commit-msg", "--", "--select"]):
        expected = cli.scan.make_context("scan", list(argv)).params
        assert hook_scan_options(["scan", *argv]) == expected
    assert set(scan_defaults()) == {p.name for p in cli.scan.params if p.expose_value}


@pytest.mark.parametrize(
    "argv", [["scan"], ["scan", "--pre-commit", "a.py"], ["scan", "-v", "--", "a.py"], ["rules"], ["scan", "--help"]]
)
def test_anything_but_a_plain_hook_scan_goes_through_click(argv: list[str]) -> None:
    assert hook_scan_options(argv) is None or argv == ["scan"]


def test_the_fast_path_reports_like_the_full_command_line(tmp_path: Path, small_change: list[str]) -> None:
    fast = run_cli("scan", "--", *small_change, cwd=tmp_path)
    full = run_cli("scan", "--no-cache", "--", *small_change, cwd=tmp_path)  # an option: click parses
    assert fast.returncode == full.returncode == 1

    def untimed(out: str) -> str:
        return re.sub(r" in \d+\.\d+s:", " in …s:", out)

    assert untimed(fast.stdout) == untimed(full.stdout) and "mk-" in fast.stdout
    refused = run_cli("scan", "--pre-commit", *small_change, cwd=tmp_path)
    assert refused.returncode == 2 and "must end with `--`" in refused.stderr
