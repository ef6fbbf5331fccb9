"""Issue 22, item 13: `maniac-guard: ignore` is honoured only in a comment of
the file's language (a notebook cell's own language; JSON has none), and the
summary says how many findings it suppressed."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import fake_key, run_cli, run_in_process

MARK = "maniac-guard: ignore"


def _scan(tree: Path, *args: str) -> tuple[list[tuple[str, int, str]], dict[str, object], str]:
    proc = run_cli("scan", ".", "--format", "json", *args, cwd=tree)
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    found = sorted((f["path"], f["line"], f["rule_id"]) for f in report["findings"])
    return found, report["summary"], proc.stderr


def _notebook(cells: list[dict[str, object]], language: str = "python") -> str:
    document = {
        "cells": cells,
        "metadata": {"kernelspec": {"language": language, "name": language}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(document, separators=(",", ":"))  # one line, as some tools write them


def _code(*lines: str, outputs: list[str] | None = None) -> dict[str, object]:
    return {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {},
        "source": list(lines),
        "outputs": [{"output_type": "stream", "name": "stdout", "text": outputs}] if outputs else [],
    }


def test_a_marker_outside_a_comment_suppresses_nothing(tmp_path: Path) -> None:
    keys = {name: fake_key(f"suppress-{name}") for name in ("json", "py", "glued", "env", "bundle", "nb", "nbout")}
    (tmp_path / "config.json").write_text(json.dumps({"key": f"{keys['json']} {MARK}"}) + "\n")
    (tmp_path / "app.py").write_text(f'KEY = "{keys["py"]} # {MARK}"\n')
    (tmp_path / "notes.txt").write_text(f"key={keys['glued']}{MARK}\n")
    (tmp_path / "deploy.env").write_text(f"MANIAC_API_KEY={keys['env']}#{MARK}\n")
    (tmp_path / "bundle.min.js").write_text(f'var a="{MARK}";var k="{keys["bundle"]}";\n')
    # One-line notebooks: a comment in one cell, keys in another cell and in an output.
    (tmp_path / "one.ipynb").write_text(
        _notebook(
            [
                _code(f"x = 1  # {MARK}\n"),
                _code(f'print("{keys["nb"]}")\n', outputs=[f"{keys['nbout']}\n"]),
            ]
        )
    )
    found, summary, _ = _scan(tmp_path)
    paths = {path for path, _, _ in found}
    assert paths >= {"config.json", "app.py", "notes.txt", "deploy.env", "bundle.min.js", "one.ipynb"}, found
    assert len([f for f in found if f[0] == "one.ipynb" and f[2] == "MG101"]) == 2
    assert summary["suppressed"] == 0


def test_a_comment_of_the_files_language_suppresses_and_is_counted(tmp_path: Path) -> None:
    k = [fake_key(f"suppressed-{i}") for i in range(9)]
    (tmp_path / "app.py").write_text(f'KEY = "{k[0]}"  # {MARK}\nOTHER = "{k[1]}"  # {MARK}[MG302]\n')
    (tmp_path / "client.js").write_text(f'const a = "{k[2]}"; // {MARK}\nconst b = "{k[3]}"; /* {MARK} */\n')
    (tmp_path / "page.html").write_text(f"<p>{k[4]}</p> <!-- {MARK} -->\n")
    (tmp_path / "query.sql").write_text(f"SELECT '{k[5]}'; -- {MARK}\n")
    (tmp_path / "settings.ini").write_text(f"[a]\nkey = {k[6]} ; {MARK}\n")
    (tmp_path / "nb.ipynb").write_text(
        _notebook([_code(f'KEY = "{k[7]}"  # {MARK}\n', f'OTHER = "{k[8]}"\n')], language="python")
    )
    found, summary, _ = _scan(tmp_path)
    assert found == [("app.py", 2, "MG101"), ("nb.ipynb", 1, "MG101")], found
    assert summary["suppressed"] == 7
    text = run_cli("scan", ".", cwd=tmp_path).stdout.splitlines()[-1]
    assert text.endswith("2 findings (2 critical); 7 suppressed by inline comments.")


def test_history_honours_the_same_comments(tmp_path: Path) -> None:
    from tests.gitrepo import git_env, make_repo

    home = tmp_path / "home"
    home.mkdir()
    repo = make_repo(tmp_path / "repo", git_env(home))
    kept, quiet, data = (fake_key(f"history-suppress-{i}") for i in range(3))
    repo.write("nb.ipynb", _notebook([_code(f'A = "{quiet}"  # {MARK}\n', f'B = "{kept}"\n')]))
    repo.write("config.json", json.dumps({"key": f"{data} # {MARK}"}) + "\n")
    repo.commit("add")
    proc = run_in_process("scan", "--history", "--format", "json", cwd=repo.path, env=git_env(home))
    report = json.loads(proc.stdout)
    assert sorted(f["path"] for f in report["findings"]) == ["config.json", "nb.ipynb"], report["findings"]
    assert report["summary"]["suppressed"] == 1
