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

# What every hook run loads of ours (pinned: a module added to the hook path
# must be added here, with the reason it cannot wait for the file that needs it).
CORE_OWN = {
    "maniac_guard",
    "maniac_guard.cachefiles",  # the detector cache folder (opening reads nothing)
    "maniac_guard.catalog",  # a broken rules folder stops the run (selection.check_selectors)
    "maniac_guard.commands",
    "maniac_guard.commands.boundary",
    "maniac_guard.commands.options",
    "maniac_guard.commands.scan",
    "maniac_guard.config",
    "maniac_guard.debuglog",
    "maniac_guard.detectorcache",
    "maniac_guard.detectors",
    "maniac_guard.detectors.config_files",
    "maniac_guard.detectors.encoded",  # its hints and `wants`; the decoding is encoded_hits
    "maniac_guard.detectors.file_names",  # MG105: every path is judged
    "maniac_guard.detectors.keys",
    "maniac_guard.detectors.permissions",
    "maniac_guard.detectors.python_callers",  # which files call a wrapper of the SDK (read only for imports)
    "maniac_guard.detectors.python_code",
    "maniac_guard.detectors.snippet",
    "maniac_guard.engine",
    "maniac_guard.entry",
    "maniac_guard.errors",
    "maniac_guard.findings",
    "maniac_guard.ignorefile",  # looks for a .maniac-guard-ignore
    "maniac_guard.inline",  # one file's findings merged, suppressed, masked
    "maniac_guard.interrupts",
    "maniac_guard.keyshape",
    "maniac_guard.prefilter",
    "maniac_guard.records",  # dataclass() without the standard module's import of inspect
    "maniac_guard.report",
    "maniac_guard.report.escape",
    "maniac_guard.report.text",
    "maniac_guard.scanfile",  # one file's scan (moved out of engine.py)
    "maniac_guard.selection",
    "maniac_guard.sources",
    "maniac_guard.sources.files",
    "maniac_guard.sources.magic",  # an archive is known by its first bytes, whatever its name (archives.py: only then)
    "maniac_guard.sources.windows",
    "maniac_guard.sources.worktree",
    "maniac_guard.summary",
    "maniac_guard.target",
    "maniac_guard.words",
    "maniac_guard.writer",
}
# A Python file that names MANIAC_API_KEY: the screen reads its `ast` (python/screen.py).
SCREEN_OWN = {"maniac_guard.python", "maniac_guard.python.screen", "maniac_guard.python.sdk"}
# A file the screen cannot clear (it hands a literal to Maniac()): the analysis.
ANALYSIS_OWN = {
    *SCREEN_OWN,
    *(
        f"maniac_guard.python.{name}"
        for name in (
            "analyzer",
            "calls",
            "checks",
            "domain",
            "flow",
            "fold",
            "frames",
            "issues",
            "iteration",
            "modules",
            "objects",
            "paths",
            "resolve",
            "scopes",
            "strings",
            "strops",
            "values",
            "wrappers",
        )
    ),
}
# Not ours and not the standard library: only what `site` itself loads
# (setuptools' hook, a sitecustomize) and copy.py's probe for Jython.
ALLOWED_OTHER = {"__main__", "_distutils_hack", "sitecustomize", "org", "org.python", "org.python.core"}
# The standard library's heavier parts a hook that names its files never needs.
NEVER_STDLIB = {
    "argparse",
    "bz2",
    "concurrent",
    "dataclasses",  # imports inspect, ast, dis, tokenize: maniac_guard.records instead
    "datetime",  # tomllib's: only with a TOML config
    "decimal",
    "difflib",
    "dis",
    "email",
    "gzip",
    "html",
    "http",
    "inspect",
    "logging",
    "lzma",
    "multiprocessing",
    "pickle",
    "socket",
    "ssl",
    "subprocess",  # a hook that names its files never starts git
    "tarfile",
    "tempfile",
    "tokenize",
    "tomllib",
    "xml",
    "zipfile",
}
# Not on the hook's common path (issue 26), though the Python analysis,
# loaded for a file the screen cannot clear, may import them: typing (~3 ms;
# `TYPE_CHECKING = False` and records.NamedTuple instead), signal (its enums;
# interrupts.py uses _signal), importlib and warnings (report formats are
# imported with __import__).
NOT_BEFORE_ANALYSIS = {"typing", "signal", "importlib", "warnings"}
# Loaded only for what needs them: a config file found (pathlib), a file a
# cached detector reads (hashlib, hmac: OpenSSL), a report that hashes.
ONLY_WHEN_NEEDED = {"hashlib", "hmac", "pathlib", "urllib"}

# The console script's own code (pip writes it: `import re, sys` and main()),
# run with the modules it loaded written out at exit (the hook leaves with
# os._exit, which runs no atexit handler). sys.modules: every module loaded,
# however it was imported. Run as Python runs a script (runpy's pkgutil would
# import typing).
_DUMP_MODULES = """
import atexit, os, sys
script, listing = sys.argv.pop(1), sys.argv.pop(1)
dump = lambda: open(listing, "w").write("\\n".join(sys.modules))
atexit.register(dump)
real_exit = os._exit
os._exit = lambda code: (dump(), real_exit(code))
sys.argv[0] = script
with open(script, "rb") as handle:
    code = compile(handle.read(), script, "exec")
exec(code, {"__name__": "__main__", "__file__": script, "__builtins__": __builtins__})
"""


def _imported(args: list[str], cwd: Path) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    listing = cwd / "modules.txt"
    proc = subprocess.run(
        [sys.executable, "-c", _DUMP_MODULES, console_script(), str(listing), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin", "HOME": str(cwd), "MANIAC_GUARD_CACHE_DIR": str(cwd / "c")},
        timeout=120,
    )
    assert listing.exists(), proc.stderr
    return set(listing.read_text().split()), proc


def _split(modules: set[str]) -> tuple[set[str], set[str], set[str]]:
    """(ours, the standard library's top-level names, anything else)."""
    own = {m for m in modules if m == "maniac_guard" or m.startswith("maniac_guard.")}
    tops = {m.split(".")[0] for m in modules - own}
    stdlib = tops & sys.stdlib_module_names
    other = {m for m in modules - own if m.split(".")[0] not in sys.stdlib_module_names}
    return own, stdlib, other


@pytest.fixture
def small_change(tmp_path: Path) -> list[str]:
    (tmp_path / "job.py").write_text('import os\n\nKEY = os.getenv("MANIAC_API_KEY")\n')
    (tmp_path / "README.md").write_text("# Project\n\nNothing secret.\n")
    (tmp_path / ".env").write_text(f"MANIAC_API_KEY={fake_key('startup')}\n")
    (tmp_path / "config.yaml").write_text("name: demo\nreplicas: 2\n")
    (tmp_path / "util.py").write_text("def add(a, b):\n    return a + b\n")
    return ["job.py", "README.md", ".env", "config.yaml", "util.py"]


@pytest.mark.parametrize("hook", [["scan", "--pre-commit", "--"], ["scan", "--"]])
def test_files_the_screen_clears_load_the_core_and_the_screen(
    tmp_path: Path, small_change: list[str], hook: list[str]
) -> None:
    modules, proc = _imported([*hook, *small_change], tmp_path)
    assert proc.returncode == 1, proc.stderr  # the .env key: the scan really ran
    own, stdlib, other = _split(modules)
    assert own - (CORE_OWN | SCREEN_OWN) == set()
    assert own >= SCREEN_OWN  # job.py names MANIAC_API_KEY: it was screened, and cleared
    assert stdlib & (NEVER_STDLIB | ONLY_WHEN_NEEDED | NOT_BEFORE_ANALYSIS) == set()
    assert other - ALLOWED_OTHER == set()  # no click, yaml, libcst, pathspec, httpx…


def test_files_without_python_to_screen_load_no_python_analysis(tmp_path: Path, small_change: list[str]) -> None:
    # util.py names nothing of Maniac's: no rule of the Python analysis can fire.
    modules, proc = _imported(["scan", "--pre-commit", "--", *small_change[1:]], tmp_path)
    assert proc.returncode == 1, proc.stderr
    own, stdlib, other = _split(modules)
    assert own - CORE_OWN == set()
    # ast: only to screen Python, and no file here is Python
    assert stdlib & (NEVER_STDLIB | ONLY_WHEN_NEEDED | NOT_BEFORE_ANALYSIS | {"ast"}) == set()
    assert other - ALLOWED_OTHER == set()


def test_a_file_the_screen_cannot_clear_loads_the_analysis_and_nothing_more(
    tmp_path: Path, small_change: list[str]
) -> None:
    (tmp_path / "client.py").write_text('from maniac import Maniac\n\nclient = Maniac(api_key="Zx81kQ2mP0aLw7Rt")\n')
    modules, proc = _imported(["scan", "--pre-commit", "--", *small_change, "client.py"], tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "client.py" in proc.stdout  # the analysis ran on it and reported the literal
    own, stdlib, other = _split(modules)
    assert own - (CORE_OWN | ANALYSIS_OWN) == set()
    assert "maniac_guard.python.analyzer" in own
    assert stdlib & NEVER_STDLIB == set()
    assert other - ALLOWED_OTHER == set()


@pytest.mark.parametrize("exclude", [False, True])
def test_pathspec_and_tomllib_load_only_for_a_config_that_needs_them(
    tmp_path: Path, small_change: list[str], exclude: bool
) -> None:
    table = '[tool.maniac-guard]\nfail-on = "high"\n' + ('exclude = ["docs/**"]\n' if exclude else "")
    (tmp_path / "pyproject.toml").write_text(table)
    modules, proc = _imported(["scan", "--pre-commit", "--", *small_change], tmp_path)
    assert proc.returncode == 1, proc.stderr
    own, stdlib, other = _split(modules)
    assert own - (CORE_OWN | SCREEN_OWN) == set()
    assert "tomllib" in stdlib  # the config was read
    assert ("pathspec" in other) is exclude  # loaded only to match patterns that exist


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


def test_the_fast_exit_flushes_a_long_report_into_a_pipe(tmp_path: Path) -> None:
    # The hook leaves with os._exit (no teardown): a report larger than a
    # pipe's buffer must still arrive whole, on both streams, with its exit code.
    lines = [f"KEY_{i} = '{fake_key(f'pipe-{i}')}'" for i in range(300)]
    (tmp_path / "many.py").write_text("\n".join(lines) + "\n")
    fast = run_cli("scan", "--", "many.py", "gone.txt", cwd=tmp_path)
    full = run_cli("scan", "--no-cache", "--", "many.py", "gone.txt", cwd=tmp_path)
    assert fast.returncode == full.returncode == 1
    assert len(fast.stdout) > 65536 and fast.stdout.endswith(": 300 findings (300 critical).\n")
    assert re.sub(r" in \d+\.\d+s:", "", fast.stdout) == re.sub(r" in \d+\.\d+s:", "", full.stdout)
    assert fast.stderr == full.stderr and "gone.txt: no such file or directory" in fast.stderr


def test_a_wheel_is_read_without_zipfile(tmp_path: Path) -> None:
    """A staged wheel is opened where the hook meets it (archives.py); its
    central directory is read by sources/zipdir.py, without zipfile's import
    (pathlib, shutil, urllib.parse, ipaddress: ~6 ms in every process that
    meets a zip)."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("pkg/.env", f"MANIAC_API_KEY={fake_key('wheel')}\n")
        archive.writestr("pkg/__init__.py", "VERSION = 1\n")
    (tmp_path / "pkg-1.0-py3-none-any.whl").write_bytes(buffer.getvalue())
    modules, proc = _imported(["scan", "--pre-commit", "--", "pkg-1.0-py3-none-any.whl"], tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "pkg-1.0-py3-none-any.whl!/pkg/.env" in proc.stdout
    _, stdlib, _ = _split(modules)
    assert stdlib & {"zipfile", "pathlib", "shutil", "urllib", "tarfile"} == set()


def test_the_analysis_and_its_findings_hash_without_hashlib(tmp_path: Path) -> None:
    """The analysis hashes what it reads (the cache's key) and a finding
    hashes its key (the fingerprint): CPython's own BLAKE2b and SHA-256 do,
    since hashlib loads OpenSSL (~3 ms in each process of a tree scan)."""
    (tmp_path / "settings.py").write_text('KEY = "Zx81kQ2mP0aLw7Rt"\n')
    (tmp_path / "client.py").write_text(
        "from maniac import Maniac\nimport settings\n\nc = Maniac(api_key=settings.KEY)\n"
    )
    modules, proc = _imported(["scan", "--pre-commit", "--", "client.py", "settings.py"], tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "settings.py" in proc.stdout  # the literal, found through the import
    _, stdlib, _ = _split(modules)
    assert "hashlib" not in stdlib


def test_the_language_server_starts_without_click(tmp_path: Path) -> None:
    """An editor starts `maniac-guard lsp --stdio` on every launch (and the
    tests 22 times): the server needs no command-line parser (~45 ms)."""
    listing = tmp_path / "modules.txt"
    proc = subprocess.run(
        [sys.executable, "-c", _DUMP_MODULES, console_script(), str(listing), "lsp", "--stdio"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,  # end of input: the server stops
        capture_output=True,
        text=True,
        env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    modules = set(listing.read_text().split())
    assert "maniac_guard.lsp.server" in modules  # the server itself ran
    assert "click" not in modules
