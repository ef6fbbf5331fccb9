"""The install stays light: what `pip install maniac-guard` adds to an empty
environment, measured by really installing this checkout (no extras) into a
temporary folder, and the scanner run from there alone.

`pip install --target` holds exactly what an install adds over an empty
virtual environment (compiled .pyc files included); the interpreter then runs
with `-S`, so nothing but the standard library and that folder is importable.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import fake_key

ROOT = Path(__file__).resolve().parent.parent
MAX_PACKAGES = 20  # maniac-guard itself included
MAX_MIB = 45.0
HEAVY = {"rich", "pre_commit", "httpx", "pygments", "virtualenv", "nodeenv", "identify", "markdown_it"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, built_wheel: Path) -> Path:
    """This checkout as a user's `pip install` gets it: the wheel and its dependencies."""
    target = tmp_path_factory.mktemp("footprint") / "site"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--no-input",
            "--target",
            str(target),
            str(built_wheel),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert target.is_dir() and any(target.glob("maniac_guard-*.dist-info")), proc.stderr
    return target


def packages(site: Path) -> set[str]:
    return {p.name.split("-")[0].lower() for p in site.glob("*.dist-info")}


def size_mib(site: Path) -> float:
    total = sum(f.stat().st_size for f in site.rglob("*") if f.is_file() and not f.is_symlink())
    return total / (1024 * 1024)


def run_alone(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-S", "-m", "maniac_guard", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_install_adds_at_most_20_packages_and_45_mib(installed: Path) -> None:
    names = packages(installed)
    assert "maniac_guard" in names
    assert len(names) <= MAX_PACKAGES, sorted(names)
    assert size_mib(installed) <= MAX_MIB, f"{size_mib(installed):.1f} MiB"


def test_install_leaves_out_the_hook_framework_and_drawing_libraries(installed: Path) -> None:
    assert not packages(installed) & HEAVY, sorted(packages(installed) & HEAVY)


def test_the_light_install_scans_on_its_own(installed: Path, tmp_path: Path) -> None:
    (tmp_path / "app.env").write_text(f"MANIAC_API_KEY={fake_key('footprint')}\n")
    proc = run_alone(installed, "scan", ".", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "app.env" in proc.stdout and "MG1" in proc.stdout


def test_verify_without_its_extra_says_how_to_install_it(installed: Path, tmp_path: Path) -> None:
    (tmp_path / "app.env").write_text(f"MANIAC_API_KEY={fake_key('footprint-verify')}\n")
    proc = run_alone(installed, "scan", ".", "--verify", "--api-url", "http://127.0.0.1:9", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "maniac-guard: error: --verify needs httpx: pip install 'maniac-guard[verify]'"
    )
