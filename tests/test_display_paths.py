"""Paths as a scan shows them: relative to the current folder, the same
from inside the tree and from outside it (`scan ../tree`), where they are
worked out once per folder rather than per file (issue 26)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from maniac_guard.sources.files import display_path_under
from tests.helpers import fake_key, run_cli


def test_display_paths_match_relpath_from_anywhere() -> None:
    paths = ["/a/b/c/d.py", "/a/b/x/y.py", "/x.py", "/a/b/c/e/f", "/a/b/cc/d", "/a/b.py", "/a/b/c", "/a/b/x/z.py"]
    for cwd in ("/a/b/c", "/", "/a", "/q/r"):
        shown = display_path_under(cwd)
        assert [shown(p) for p in paths] == [os.path.relpath(p, cwd) for p in paths]


def test_a_tree_named_from_outside_shows_the_same_findings_with_its_path(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    for n in range(120):  # enough files for the helpers to take part
        folder = tree / f"pkg{n % 7}" / f"sub{n % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"mod{n}.txt").write_text(f"value {n}\n")
    (tree / "pkg3" / "sub1" / ".env").write_text(f"MANIAC_API_KEY={fake_key('display')}\n")
    (tmp_path / "elsewhere").mkdir()
    inside = run_cli("scan", ".", "--format", "json", cwd=tree)
    outside = run_cli("scan", "../tree", "--format", "json", cwd=tmp_path / "elsewhere")
    assert inside.returncode == outside.returncode == 1, outside.stderr
    inside_found = [(f["rule_id"], f["path"], f["line"]) for f in json.loads(inside.stdout)["findings"]]
    outside_found = [(f["rule_id"], f["path"], f["line"]) for f in json.loads(outside.stdout)["findings"]]
    assert inside_found and {path for _, path, _ in inside_found} == {"pkg3/sub1/.env"}
    assert outside_found == [(rule, "../tree/" + path, line) for rule, path, line in inside_found]
