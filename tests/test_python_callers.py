"""Callers that never name the SDK (issue 21's reach): `from app.clients
import make_client; make_client("…")` in a file without `maniac` in it is
analysed too, found from the wrapper's side in a tree scan and from the
caller's side in a scan of a few files (a hook's)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.helpers import run_cli, run_in_process

SECRET = "Zx81kQ2mP0aLw7" + "Rt"  # a credential no key pattern sees, split so no rule sees it here

CLIENTS = """
from maniac import Maniac


def make_client(key):
    return Maniac(api_key=key)


class Service:
    def __init__(self, token, region="eu"):
        self.sdk = make_client(token)
"""

INVALID = f"""
from app.clients import Service, make_client

client = make_client("{SECRET}")
service = Service("{SECRET[::-1]}")
"""

VALID = """
import os

from app.clients import make_client

client = make_client(os.environ["MANIAC_API_KEY"])
label = make_client.__name__ + "Zx81kQ2mP0aLw7Rt"
"""


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))


def _scan(root: Path, *args: str) -> list[tuple[str, str, int]]:
    proc = run_cli("scan", *args, "--format", "json", cwd=root, env={"XDG_CACHE_HOME": str(root / ".cache")})
    assert proc.returncode in (0, 1), proc.stderr
    assert "work limit" not in proc.stderr
    return sorted((f["rule_id"], f["path"], f["line"]) for f in json.loads(proc.stdout)["findings"])


@pytest.mark.parametrize("filler", [0, 150], ids=["few-files", "tree"])
def test_a_caller_that_never_names_the_sdk_is_analysed(tmp_path: Path, filler: int) -> None:
    files = {"app/__init__.py": "", "app/clients.py": CLIENTS, "app/main.py": INVALID, "app/fine.py": VALID}
    files.update({f"app/other/m{i}.py": f"def f{i}(x):\n    return x\n" for i in range(filler)})
    _write(tmp_path, files)
    expected = [("MG202", "app/main.py", 4), ("MG202", "app/main.py", 5)]
    assert _scan(tmp_path, ".") == expected
    assert _scan(tmp_path, ".") == expected  # warm: the wrapper module's result is cached, the caller still found


def test_a_hook_run_on_the_caller_alone_reads_the_unchanged_wrapper(tmp_path: Path) -> None:
    _write(tmp_path, {"app/__init__.py": "", "app/clients.py": CLIENTS, "app/main.py": INVALID, "app/fine.py": VALID})
    assert _scan(tmp_path, "app/main.py", "app/fine.py") == [("MG202", "app/main.py", 4), ("MG202", "app/main.py", 5)]


def test_a_module_that_imports_the_sdk_without_a_wrapper_sends_no_caller_to_the_analysis(tmp_path: Path) -> None:
    files = {
        "app/__init__.py": "",
        "app/clients.py": "from maniac import Maniac\n\nclient = Maniac()\n\n\ndef make_client(key):\n    return key\n",
        "app/main.py": f'from app.clients import make_client\n\nclient = make_client("{SECRET}")\n',
    }
    files.update({f"app/other/m{i}.py": "x = 1\n" for i in range(150)})
    _write(tmp_path, files)
    assert _scan(tmp_path, ".") == []


def test_the_caller_search_reads_the_same_files_named_from_inside_or_outside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A wrapper module under a folder no import can name (`site-packages-1`):
    # only files under that folder can import it, however the tree is named.
    # Named from outside (`../tree`), the folders above the tree counted as
    # package names, and the search read the whole tree (0.24 s of 0.7 on
    # the benchmark's corpus, and its read limit's note on a bigger tree).
    from maniac_guard.detectors import python_callers

    tree = tmp_path / "tree"
    files = {"site-packages-1/app/__init__.py": "", "site-packages-1/app/clients.py": CLIENTS}
    files.update({"site-packages-1/app/main.py": INVALID, "site-packages-1/app/fine.py": VALID})
    files.update({f"docs_src/m{i}.py": "x = 1\n" for i in range(150)})
    _write(tree, files)
    (tmp_path / "outside").mkdir()
    read: list[str] = []
    real_read = python_callers._read
    monkeypatch.setattr(python_callers, "_read", lambda path, *rest: read.append(path) or real_read(path, *rest))
    found = {}
    for cwd, named in ((tree, "."), (tmp_path / "outside", "../tree")):
        read.clear()
        proc = run_in_process("scan", named, "--format", "json", cwd=cwd, env={"XDG_CACHE_HOME": str(cwd / ".c")})
        assert proc.returncode == 1, proc.stderr
        found[named] = sorted((f["rule_id"], f["line"]) for f in json.loads(proc.stdout)["findings"])
        assert not [path for path in read if "docs_src" in path], named
    assert found["."] == found["../tree"] == [("MG202", 4), ("MG202", 5)]
