"""Issue 22, items 1-3: no piece, encoding or file name of a key in any output.

Each test writes a small tree, runs every output format (and `-v`, `fix
--diff`, a baseline, the detector cache): each command and mode once as the
installed console script, its other formats in-process (split_by_mode), and
asserts that no 8 consecutive characters of a key's body (or of its encoded
form) appear anywhere the tool wrote.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.gitrepo import git_env, make_repo
from tests.helpers import fake_key, run_cli, run_in_process, split_by_mode

FORMATS = ("text", "json", "sarif", "github", "gitlab", "junit")
WINDOW = 8


def windows(text: str, size: int = WINDOW) -> set[str]:
    return {text[i : i + size] for i in range(len(text) - size + 1)}


def leaked(secret_texts: list[str], output: str) -> list[str]:
    """The 8-character windows of the secrets that appear in `output`."""
    return sorted(w for text in secret_texts for w in windows(text) if w in output)


def outputs(tree: Path, cache: Path, *extra: tuple[str, ...]) -> dict[str, str]:
    """stdout+stderr of every format, -v, fix --diff and a baseline file, and the cache files."""
    env = {"MANIAC_GUARD_CACHE_DIR": str(cache), "XDG_CACHE_HOME": str(cache / "xdg")}
    runs: list[tuple[str, ...]] = [("scan", ".", "--format", fmt) for fmt in FORMATS]
    runs += [("scan", ".", "-v"), ("fix", ".", "--diff", "--unsafe-fixes"), *extra]
    runs.append(("baseline", "create", ".", "-o", str(tree.parent / "baseline.json")))
    seen: dict[str, str] = {}
    processes, _ = split_by_mode(runs)
    for args in runs:
        proc = (run_cli if args in processes else run_in_process)(*args, cwd=tree, env=env)
        assert proc.returncode in (0, 1), (args, proc.stderr)
        seen[" ".join(args)] = proc.stdout + proc.stderr
    seen["baseline.json"] = (tree.parent / "baseline.json").read_text()
    for path in cache.rglob("*"):
        if path.is_file():
            seen[f"cache {path.name}"] = path.read_bytes().decode("latin-1")
    return seen


def assert_hidden(secret_texts: list[str], seen: dict[str, str]) -> None:
    found = {name: leaked(secret_texts, text) for name, text in seen.items()}
    assert {name: w for name, w in found.items() if w} == {}


# Item 1: each way of building a key from pieces (MG203, MG205, MG206), the
# body split where a real file would split it.
PIECES = {
    "prefix-constant": 'PREFIX = "mk-"\nc = Maniac(api_key=PREFIX + "{b}")\n',
    "implicit": 'c = Maniac(api_key="mk-{b0}" "{b1}")\n',
    "join": 'c = Maniac(api_key="".join(["mk-{b0}", "{b1}"]))\n',
    "format": 'c = Maniac(api_key="mk-{{}}{{}}".format("{b0}", "{b1}"))\n',
    "percent": 'c = Maniac(api_key="mk-%s" % "{b}")\n',
    "fstring": 'HEAD = "{b0}"\nc = Maniac(api_key=f"mk-{{HEAD}}{b1}")\n',
    "getenv-default": 'c = Maniac(api_key=os.getenv("MANIAC_API_KEY", "mk-{b0}" + "{b1}"))\n',
    "header": 'c = Maniac(default_headers={{"Authorization": "Bearer mk-{b0}" + "{b1}"}})\n',
    "two-lines": 'HEAD = "mk-{b0}"\nTAIL = "{b1}"\nc = Maniac(api_key=HEAD + TAIL)\n',
}


@pytest.mark.parametrize("cut", [5, 12, 20])
def test_no_piece_of_a_key_built_from_pieces_in_any_output(tmp_path: Path, cut: int) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    bodies = {}
    for form, template in PIECES.items():
        body = fake_key(f"pieces-{form}-{cut}")[3:]
        bodies[f"{form}.py"] = body
        code = template.format(b=body, b0=body[:cut], b1=body[cut:])
        (tree / f"{form}.py").write_text("import os\nfrom maniac import Maniac\n" + code)
    seen = outputs(tree, tmp_path / "cache")
    report = json.loads(_json(seen))
    reported = {f["path"] for f in report["findings"] if f["rule_id"] in {"MG203", "MG205", "MG206"}}
    assert reported == set(bodies), report["findings"]
    assert_hidden(list(bodies.values()), seen)


def _json(seen: dict[str, str]) -> str:
    out = seen["scan . --format json"]
    return out[: out.rindex("}") + 1]


def test_no_piece_in_a_notebook_cell(tmp_path: Path) -> None:
    key = fake_key("pieces-notebook")
    body = key[3:]
    tree = tmp_path / "tree"
    tree.mkdir()
    cell = ["from maniac import Maniac\n", f'client = Maniac(api_key="mk-{body[:9]}" + "{body[9:]}")\n']
    notebook = {
        "cells": [{"cell_type": "code", "metadata": {}, "source": cell, "outputs": [], "execution_count": None}],
        "metadata": {"kernelspec": {"language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (tree / "nb.ipynb").write_text(json.dumps(notebook, indent=1))
    seen = outputs(tree, tmp_path / "cache")
    assert "MG203" in seen["scan . --format text"]
    assert_hidden([body], seen)


# Item 2: a key in base64 (a Kubernetes Secret) and percent-encoded.
def test_encoded_key_is_masked_in_every_output(tmp_path: Path) -> None:
    key = fake_key("encoded-b64")
    encoded = base64.b64encode(key.encode()).decode()
    wrapped_key = fake_key("encoded-b64-wrapped")
    env_file = f"{'#' * 40}\nMANIAC_API_KEY={wrapped_key}\nOTHER=1\n".encode()
    wrapped = base64.encodebytes(env_file).decode()  # 76 columns
    percent_key = fake_key("encoded-percent")
    percent = "mk%2D" + percent_key[3:]
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "secret.yaml").write_text(
        f"apiVersion: v1\nkind: Secret\ndata:\n  MANIAC_API_KEY: {encoded}\n  app.env: |\n"
        + "".join(f"    {line}\n" for line in wrapped.splitlines())
    )
    (tree / "access.log").write_text(f"GET /v1/models?key={percent}&x=1 200\n")
    seen = outputs(tree, tmp_path / "cache")
    text = seen["scan . --format text"]
    assert text.count("MG102") >= 2 and "MG101" in text
    # The encoded text minus the part that encodes `mk-` (4 characters).
    assert_hidden([encoded[4:], *wrapped.replace("\n", " ").split(), percent_key[3:], key[3:]], seen)


# Item 3: a key as a file name (and as a folder name).
def test_key_in_a_file_name_is_reported_and_masked_everywhere(tmp_path: Path) -> None:
    key = fake_key("file-name")
    folder_key = fake_key("folder-name")
    tree = tmp_path / "tree"
    (tree / f"mk-{folder_key[3:]}").mkdir(parents=True)
    (tree / f"{key}.json").write_text('{"name": "prod"}\n')
    (tree / f"mk-{folder_key[3:]}" / "notes.txt").write_text("nothing here\n")
    # A file the Python rules cannot parse: its note on stderr names the path.
    (tree / f"{key}.py").write_text("import maniac\ndef broken(:\n")
    seen = outputs(tree, tmp_path / "cache", ("scan", ".", "-v", "--format", "json"))
    report = json.loads(_json(seen))
    names = sorted(f["rule_id"] for f in report["findings"])
    assert names == ["MG105", "MG105", "MG105"], report["findings"]
    assert all(
        f["masked_secret"] in (f"mk-{key[3:7]}…{key[-2:]}", f"mk-{folder_key[3:7]}…{folder_key[-2:]}")
        for f in report["findings"]
    )
    assert "does not parse" in seen["scan . -v"]  # the note was printed, with the path masked
    assert_hidden([key[3:], folder_key[3:]], seen)


def test_a_binary_file_is_still_named_after_a_key_on_disk_staged_and_in_history(tmp_path: Path) -> None:
    key = fake_key("binary-name")
    home = tmp_path / "home"
    home.mkdir()
    repo = make_repo(tmp_path / "tree", git_env(home))
    masked = f"mk-{key[3:7]}…{key[-2:]}"
    # A suffix the walk never opens, and content that is binary whatever the name.
    repo.write(f"{key}.png", b"\x89PNG\r\n\x1a\n\x00\x00")
    repo.write(f"backup-{key}.dat", b"\x00\x01\x02")
    expected = [("MG105", f"backup-{masked}.dat"), ("MG105", f"{masked}.png")]
    repo.git("add", ".")
    for args in (["scan", "."], ["scan", "--staged"], ["scan", "--history"]):
        if args[-1] == "--history":
            repo.commit("binary files named after a key")
        done = run_cli(*args, "--format", "json", cwd=repo.path, env=repo.env)
        assert done.returncode == 1, (args, done.stderr)
        found = sorted((f["rule_id"], f["path"]) for f in json.loads(done.stdout)["findings"])
        assert found == expected, args
        assert key[3:] not in done.stdout + done.stderr
    history = json.loads(run_cli("scan", "--history", "--format", "json", cwd=repo.path, env=repo.env).stdout)
    assert all(f["details"]["present_at_head"] for f in history["findings"])
