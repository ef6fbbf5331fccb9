"""The wheel carries rules/, so a non-editable install finds its rules.
(`built_wheel`, tests/conftest.py: built once per session.)"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_every_rule(built_wheel: Path) -> None:
    wheel = built_wheel
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {Path(n).name for n in names if n.startswith("maniac_guard/_rules/")}
    expected = {p.name for p in (ROOT / "rules").iterdir() if p.is_file()}
    assert expected and shipped == expected
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "maniac-guard = maniac_guard.entry:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_wheel_ships_the_mit_licence_and_full_metadata(built_wheel: Path) -> None:
    from maniac_guard import __version__

    wheel = zipfile.ZipFile(built_wheel)
    names = wheel.namelist()
    [licence] = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    text = wheel.read(licence).decode()
    assert text.startswith("MIT License") and text == (ROOT / "LICENSE").read_text()
    metadata = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    headers = metadata.split("\n\n", 1)[0].splitlines()
    assert "License-Expression: MIT" in headers and "License-File: LICENSE" in headers
    # One version source: the wheel's version is the one `--version` prints.
    assert f"Version: {__version__}" in headers
    classifiers = [h for h in headers if h.startswith("Classifier: ")]
    assert "Classifier: Topic :: Security" in classifiers
    assert "Classifier: Programming Language :: Python :: 3 :: Only" in classifiers
    urls = dict(h.removeprefix("Project-URL: ").split(", ", 1) for h in headers if h.startswith("Project-URL: "))
    assert {"Homepage", "Source", "Issues", "Documentation"} <= set(urls)
    assert all(url.startswith("https://") for url in urls.values())
    # The hook framework and the drawing library are not pulled in; httpx only for --verify.
    requires = [h.removeprefix("Requires-Dist: ") for h in headers if h.startswith("Requires-Dist: ")]
    plain = [r for r in requires if "extra ==" not in r]
    assert not any(r.startswith(("pre-commit", "rich", "httpx")) for r in plain), plain
    assert any(r.startswith("httpx") and "extra == 'verify'" in r for r in requires)


def test_version_is_written_once() -> None:
    project = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in project and "\nversion =" not in project
    from maniac_guard import __version__

    proc = subprocess.run(
        [str(Path(sys.executable).parent / "maniac-guard"), "--version"], capture_output=True, text=True
    )
    assert proc.stdout.strip().endswith(__version__)
