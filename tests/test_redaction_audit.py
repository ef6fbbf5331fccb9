"""Issue 9: the secret-never-leaks audit.

Distinct keys are planted in every place maniac-guard reads (files of every
kind, notebook code and outputs, a base64 Kubernetes secret, a minified
bundle, a declaration file, a file that fails to parse, git history, the
index, the fake API's error messages that echo the key). Then every command
runs in every output format, and no planted key (nor its body, the part
after `mk-`) may appear in stdout, stderr, any written file or the caches.

One module-scoped fixture builds the tree and runs the commands; the tests
only read. Each command in each mode (--history, --staged, --verify, -v, …)
runs once as the installed console script, in parallel threads, so what only
a process shows (a git child's or a worker's stderr, anything printed at
exit) is audited for every code path; its other output formats, which differ
only in the report a process would write the same way, run in this process
(run_in_process: a tenth of the CPU, no start-up and imports per command).
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.fake_maniac import FakeManiac
from tests.gitrepo import Repo, git_env, make_repo
from tests.helpers import fake_key, run_cli, run_in_process, split_by_mode

FORMATS = ("text", "json", "sarif", "github", "gitlab", "junit")
# Where each key is planted (the seed is the place, so every key is distinct).
PLACES = (
    "env",
    "maniac-config",
    "sdk",
    "pieces",
    "nb-code",
    "nb-output",
    "k8s-b64",
    "js-bundle",
    "declaration",
    "declaration-scope",
    "broken-python",
    "history",
    "staged",
    "verify-live",
    "verify-forbidden",
)
KEYS = {place: fake_key(f"audit-{place}") for place in PLACES}


def body(key: str) -> str:
    return key[len("mk-") :]


@dataclass
class Run:
    args: tuple[str, ...]
    rc: int
    out: str
    err: str
    seconds: float = 0.0


@dataclass
class Audit:
    root: Path  # everything the test created: project, copy, outputs, caches
    project: Path
    fixed: Path  # a copy of the project that `scan --fix` rewrote
    outputs: Path
    runs: list[Run] = field(default_factory=list)
    planted: dict[Path, bytes] = field(default_factory=dict)  # files we wrote, as written
    log_text: str = ""


def _plant(repo: Repo) -> None:
    k = KEYS
    secret_b64 = base64.b64encode(k["k8s-b64"].encode()).decode()
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": 1,
                "metadata": {},
                "source": ["from maniac import Maniac\n", f'client = Maniac(api_key="{k["nb-code"]}")\n'],
                "outputs": [{"output_type": "stream", "name": "stdout", "text": [f"using {k['nb-output']}\n"]}],
            },
        ],
        "metadata": {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    half = len(k["pieces"]) // 2
    files = {
        ".env": f"MANIAC_API_KEY={k['env']}\n",
        ".maniac/config.yaml": f"api_key: {k['maniac-config']}\nenvironment: production\n",
        "app.py": f'from maniac import Maniac\n\nclient = Maniac(api_key="{k["sdk"]}")\n',
        "pieces.py": (
            f'from maniac import Maniac\n\nHEAD = "{k["pieces"][:half]}"\nTAIL = "{k["pieces"][half:]}"\n'
            "client = Maniac(api_key=HEAD + TAIL)\n"
        ),
        "analysis.ipynb": json.dumps(notebook, indent=1) + "\n",
        "deploy/secret.yaml": (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: maniac\ntype: Opaque\n"
            f"data:\n  MANIAC_API_KEY: {secret_b64}\n"
        ),
        "dist/bundle.js": (
            "!function(){var e={};" * 40 + f'e.c=new Maniac({{apiKey:"{k["js-bundle"]}"}});' + "}();" * 40 + "\n"
        ),
        "maniac-keys.yaml": (
            "version: 1\nkeys:\n  - name: ci\n    owner: team@example.com\n"
            f"    api_key: {k['declaration']}\n"
            f"    permissions: [models:read, {k['declaration-scope']}]\n"
        ),
        "broken.py": f'from maniac import Maniac\n\ndef broken(:\n    return Maniac(api_key="{k["broken-python"]}")\n',
        "live.py": f'LIVE = "{k["verify-live"]}"\nFORBIDDEN = "{k["verify-forbidden"]}"\n',
    }
    for name, text in files.items():
        repo.write(name, text)


def _build(root: Path) -> Audit:
    home = root / "home"
    home.mkdir()
    project = root / "project"
    repo = make_repo(project, git_env(home))
    repo.write("README.md", "audit\n")
    first = repo.commit("start", "README.md")
    repo.write("old.py", f'OLD = "{KEYS["history"]}"\n')
    repo.commit("a key", "old.py")
    (project / "old.py").unlink()
    _plant(repo)
    repo.commit("delete the key; add the rest")
    repo.write("staged.env", f"MANIAC_API_KEY={KEYS['staged']}\n")
    repo.git("add", "staged.env")
    audit = Audit(root, project, root / "fixed", root / "out")
    audit.outputs.mkdir()
    for path in project.rglob("*"):
        if path.is_file() and ".git" not in path.relative_to(project).parts:
            audit.planted[path] = path.read_bytes()
    shutil.copytree(project, audit.fixed)
    audit.first_commit = first  # type: ignore[attr-defined]
    return audit


def _commands(audit: Audit, api_url: str) -> list[tuple[str, ...]]:
    out = audit.outputs
    commands: list[tuple[str, ...]] = []
    for fmt in FORMATS:
        commands.append(("scan", ".", "--format", fmt))
        commands.append(("scan", ".", "--format", fmt, "-o", str(out / f"scan.{fmt}")))
    commands += [
        ("scan", ".", "--history", "--format", "json"),
        ("scan", ".", "--history", "--format", "github"),
        ("policy", "."),
        ("policy", ".", "--format", "gitlab"),
        ("policy", ".", "--format", "junit", "-o", str(out / "policy.junit")),
        ("scan", ".", "-v"),
        ("scan", ".", "--verbose", "--format", "json", "--no-gitignore"),
        ("scan", "--history", "-v", "-o", str(out / "history.sarif"), "--format", "sarif"),
        ("scan", "--staged", "-v"),
        ("scan", "--staged", "--format", "json", "-o", str(out / "staged.json")),
        ("ci", "--range", f"{audit.first_commit}..HEAD"),  # type: ignore[attr-defined]
        ("ci", "--range", "HEAD~1..HEAD", "--format", "sarif", "-o", str(out / "ci.sarif")),
        ("scan", ".", "--verify", "--api-url", api_url, "-v"),
        ("scan", ".", "--verify", "--api-url", api_url, "--format", "json", "-o", str(out / "verify.json")),
        ("scan", ".", "--only-live", "--api-url", api_url, "--format", "sarif"),
        ("fix", ".", "--diff"),
        ("scan", ".", "--diff", "--unsafe-fixes"),
        ("policy", ".", "--infer"),
        ("policy", ".", "--infer", "--format", "json", "-o", str(out / "policy.json")),
        ("rules",),
        *[("explain", rule) for rule in ("MG101", "MG102", "MG201", "MG301", "MG302", "MG401")],
    ]
    return commands


def _run(cwd: Path, args: tuple[str, ...], env: dict[str, str], process: bool = True) -> Run:
    start = time.monotonic()
    proc = (run_cli if process else run_in_process)(*args, cwd=cwd, env=env)
    return Run(args, proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)


def _debug_log(audit: Audit, env: dict[str, str]) -> str:
    """Everything maniac-guard logs at DEBUG level during an in-process scan
    (there is no flag for it: this is what a user's logging config would show)."""
    from click.testing import CliRunner

    from maniac_guard.cli import main

    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Collect(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    old_cwd = os.getcwd()
    try:
        os.chdir(audit.project)
        result = CliRunner().invoke(main, ["scan", ".", "-j", "1", "-v", "--no-cache"], env=env)
        records.append(result.output)
    finally:
        os.chdir(old_cwd)
        root.removeHandler(handler)
        root.setLevel(old_level)
    return "\n".join(records)


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Audit]:
    audit = _build(tmp_path_factory.mktemp("audit"))
    cache = audit.root / "cache"
    env = {
        "XDG_CACHE_HOME": str(cache / "xdg"),
        "MANIAC_GUARD_CACHE_DIR": str(cache / "mg"),
        "HOME": str(audit.root / "home"),
        **git_env(audit.root / "home"),
    }
    with FakeManiac() as api:
        api.add(KEYS["verify-live"], "live")
        api.add(KEYS["verify-forbidden"], "forbidden")  # every other key: 401 echoing the key
        processes, in_process = split_by_mode(_commands(audit, api.url))
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            audit.runs = list(pool.map(lambda args: _run(audit.project, args, env), processes))
        audit.runs += [_run(audit.project, args, env, process=False) for args in in_process]
        assert api.requests, "the --verify runs never reached the fake API"
    # Commands that write: baseline, then a scan against it; the fix on the copy, then its reports.
    baseline = audit.outputs / "baseline.json"
    for args in (
        ("baseline", "create", ".", "-o", str(baseline)),
        ("scan", ".", "--baseline", str(baseline), "-v"),
        ("baseline", "update", ".", "-o", str(baseline), "--add-new"),
    ):
        audit.runs.append(_run(audit.project, args, env))
    audit.runs.append(_run(audit.fixed, ("scan", ".", "--fix", "--unsafe-fixes", "-v"), env))
    for args in [("scan", ".", "--format", f) for f in ("text", "sarif")]:
        audit.runs.append(_run(audit.fixed, args, env, process=False))
    audit.log_text = _debug_log(audit, env)
    yield audit


def _leaks(text: str) -> list[str]:
    return [place for place, key in KEYS.items() if key in text or body(key) in text]


def test_every_command_ran_and_saw_the_planted_keys(audit: Audit) -> None:
    # A run that failed early would leak nothing and prove nothing.
    errors = [(r.args, r.err) for r in audit.runs if r.rc not in (0, 1)]
    assert not errors
    plain = next(r for r in audit.runs if r.args == ("scan", ".", "--format", "json"))
    paths = {f["path"] for f in json.loads(plain.out)["findings"]}
    assert {
        ".env",
        ".maniac/config.yaml",
        "app.py",
        "pieces.py",
        "analysis.ipynb",
        "deploy/secret.yaml",
        "dist/bundle.js",
        "maniac-keys.yaml",
        "broken.py",
        "live.py",
    } <= paths
    history = next(r for r in audit.runs if r.args == ("scan", ".", "--history", "--format", "json"))
    assert "old.py" in {f["path"] for f in json.loads(history.out)["findings"]}
    staged = next(r for r in audit.runs if r.args == ("scan", "--staged", "-v"))
    assert "staged.env" in staged.out
    verified = json.loads((audit.outputs / "verify.json").read_text())
    states = {(f.get("verification") or {}).get("state") for f in verified["findings"]}
    assert {"live", "revoked"} <= states
    diff = next(r for r in audit.runs if r.args == ("fix", ".", "--diff"))
    assert diff.rc == 1 and "app.py" in diff.out


def test_no_key_in_any_stdout_or_stderr(audit: Audit) -> None:
    leaks = {" ".join(r.args): _leaks(r.out + r.err) for r in audit.runs}
    assert {command: places for command, places in leaks.items() if places} == {}


def test_no_key_in_debug_logging(audit: Audit) -> None:
    assert "broken.py" in audit.log_text  # the parse failure was logged
    assert _leaks(audit.log_text) == []


def _written_files(audit: Audit) -> Iterator[tuple[Path, bytes]]:
    """Every file a command wrote or rewrote, with what was there before (b"": new)."""
    for path in audit.root.rglob("*"):
        if not path.is_file() or ".git" in path.parts or "home" in path.relative_to(audit.root).parts:
            continue
        planted_as = audit.project / path.relative_to(audit.fixed) if audit.fixed in path.parents else path
        original = audit.planted.get(planted_as, b"")
        if path.read_bytes() != original:
            yield path, original


def test_no_key_in_any_written_file_or_cache(audit: Audit) -> None:
    written = {path.relative_to(audit.root).as_posix(): (path, original) for path, original in _written_files(audit)}
    # What the commands wrote: reports, the baseline, both caches, the fixed sources.
    assert {f"out/scan.{fmt}" for fmt in FORMATS} <= written.keys()
    assert {"out/baseline.json", "out/verify.json", "out/ci.sarif", "out/policy.json", "fixed/app.py"} <= written.keys()
    assert any(n.startswith("cache/xdg/maniac-guard/verify/") for n in written), sorted(written)
    assert any(n.startswith("cache/mg/found-") for n in written), sorted(written)  # findings kept, keys not
    leaks = {}
    for name, (path, original) in written.items():
        # A rewritten source keeps what the fix did not touch (a notebook's
        # outputs): only a key it did not hold before is a leak.
        before = original.decode("utf-8", "replace")
        leaks[name] = [p for p in _leaks(path.read_text("utf-8", "replace")) if KEYS[p] not in before]
    assert {name: places for name, places in leaks.items() if places} == {}


def test_fix_removed_the_keys_it_fixed(audit: Audit) -> None:
    for name, place in (("app.py", "sdk"), ("analysis.ipynb", "nb-code")):
        text = (audit.fixed / name).read_text()
        assert KEYS[place] not in text and body(KEYS[place])[:8] not in text, name
    # A key built from pieces: the call now reads the environment, the key is
    # no longer whole in the file (its pieces stay: the fix edits uses, not constants).
    pieces = (audit.fixed / "pieces.py").read_text()
    assert 'os.getenv("MANIAC_API_KEY")' in pieces and KEYS["pieces"] not in pieces


def test_git_objects_are_the_only_other_home_of_the_history_key(audit: Audit) -> None:
    # Sanity of the setup: the history key is not in the work tree at all.
    assert not (audit.project / "old.py").exists()
    shown = subprocess.run(["git", "log", "-p"], cwd=audit.project, capture_output=True, text=True).stdout
    assert KEYS["history"] in shown


# Issue 22: the generated audit. Keys split into every number of pieces at
# every offset (each way Python builds a string), encoded (base64 at each
# byte alignment, wrapped and not; percent-encoded), and as file and folder
# names; every output format, -v, --diff, --history, a baseline and the
# detector cache on disk. No 8 consecutive characters of any body (nor of an
# encoded form, past its `mk-` part) may appear anywhere.

PIECE_WINDOW = 8
BODY = 32


def _splits() -> list[tuple[int, ...]]:
    """Cut points: 2 pieces at every offset; 3 to 8 pieces at every shift of
    evenly spaced cuts; 16 and 32 pieces (one character each)."""
    splits = [(cut,) for cut in range(1, BODY)]
    for pieces in range(3, 9):
        step = BODY // pieces
        for shift in range(step):
            cuts = tuple(shift + step * i for i in range(1, pieces) if 0 < shift + step * i < BODY)
            splits.append(cuts)
    splits += [tuple(range(2, BODY, 2)), tuple(range(1, BODY))]
    return list(dict.fromkeys(splits))


def _parts(body: str, cuts: tuple[int, ...]) -> list[str]:
    bounds = [0, *cuts, len(body)]
    return [body[a:b] for a, b in itertools.pairwise(bounds) if b > a]


def _q(parts: list[str]) -> list[str]:
    return [f'"{p}"' for p in parts]


# How each construct writes `mk-` + the pieces (names: constants defined above the call).
BUILDERS = {
    "plus": lambda p, names: f"Maniac(api_key={' + '.join(_q(['mk-', *p]))})",
    "implicit": lambda p, names: f'Maniac(api_key=("mk-{p[0]}" {" ".join(_q(p[1:]))}))',
    "join": lambda p, names: f'Maniac(api_key="".join([{", ".join(_q(["mk-", *p]))}]))',
    "format": lambda p, names: f'Maniac(api_key="mk-{"{}" * len(p)}".format({", ".join(_q(p))}))',
    "percent": lambda p, names: f'Maniac(api_key="mk-{"%s" * len(p)}" % ({", ".join(_q(p))},))',
    "names": lambda p, names: f"Maniac(api_key=PREFIX + {' + '.join(names)})",
    "fstring": lambda p, names: f'Maniac(api_key=f"mk-{"".join("{" + n + "}" for n in names)}")',
    "getenv": lambda p, names: f'Maniac(api_key=os.getenv("MANIAC_API_KEY", {" + ".join(_q(["mk-", *p]))}))',
    "header": lambda p, names: f'Maniac(default_headers={{"Authorization": {" + ".join(_q(["Bearer mk-", *p]))}}})',
}


@dataclass
class Generated:
    root: Path
    tree: Path
    secrets: list[str] = field(default_factory=list)  # bodies and encoded forms
    outputs: dict[str, str] = field(default_factory=dict)  # stdout + stderr, files written
    json_report: dict[str, Any] = field(default_factory=dict)


def _generated_tree(tree: Path, secrets: list[str]) -> int:
    """Write the tree; returns how many findings it must give at least."""
    expected = 0
    for construct, build in BUILDERS.items():
        lines = ["import os", "from maniac import Maniac", 'PREFIX = "mk-"']
        for index, cuts in enumerate(_splits()):
            body = fake_key(f"gen-{construct}-{index}")[3:]
            secrets.append(body)
            parts = _parts(body, cuts)
            names = [f"P{index}_{i}" for i in range(len(parts))]
            if construct in ("names", "fstring"):
                lines += [f'{name} = "{part}"' for name, part in zip(names, parts)]
            lines.append(f"c{index} = {build(parts, names)}")
            expected += 1
        (tree / f"built_{construct}.py").write_text("\n".join(lines) + "\n")
    # base64 at each byte alignment, alone and inside an encoded .env file, wrapped at 76 columns.
    documents = []
    for pad in range(3):
        key = fake_key(f"gen-b64-{pad}")
        plain = "#" * pad + f"MANIAC_API_KEY={key}\nREGION=eu\n" + "x" * 40 + "\n"
        encoded, alone = base64.b64encode(plain.encode()).decode(), base64.b64encode(key.encode()).decode()
        wrapped = base64.encodebytes(plain.encode()).decode()
        secrets += [key[3:], alone[4:], *(line for line in wrapped.split() if len(line) >= PIECE_WINDOW)]
        secrets += [encoded[i : i + 24] for i in range(0, len(encoded), 12)]
        documents.append(f"  key{pad}: {alone}\n  env{pad}: {encoded}\n  wrapped{pad}: |\n")
        documents.append("".join(f"    {line}\n" for line in wrapped.splitlines()))
        expected += 3
    (tree / "secret.yaml").write_text("apiVersion: v1\nkind: Secret\ndata:\n" + "".join(documents))
    percent = [fake_key(f"gen-percent-{i}") for i in range(2)]
    secrets += [k[3:] for k in percent]
    (tree / "access.log").write_text(
        f"GET /v1/models?api_key=mk%2D{percent[0][3:]} 200\nGET /login?next=%2Fapi%3Fkey%3D{percent[1]} 302\n"
    )
    expected += 2
    # Keys as names: a text file, a folder, a binary file, a Python file that does not parse.
    names = [fake_key(f"gen-name-{i}") for i in range(4)]
    secrets += [k[3:] for k in names]
    (tree / f"{names[0]}.json").write_text("{}\n")
    (tree / names[1]).mkdir()
    (tree / names[1] / "settings.yaml").write_text("region: eu\n")
    (tree / f"{names[2]}.dat").write_bytes(b"\0\1\2binary")
    (tree / f"{names[3]}.py").write_text("import maniac\ndef broken(:\n")
    expected += 4
    # What the detector cache keeps: a file whose key is written whole, and a clean one.
    literal = fake_key("gen-literal")
    secrets.append(literal[3:])
    (tree / "literal.py").write_text(f'from maniac import Maniac\nclient = Maniac(api_key="{literal}")\n')
    (tree / "clean.py").write_text('import os\nfrom maniac import Maniac\nclient = Maniac(api_key=os.getenv("K"))\n')
    expected += 1
    return expected


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    root = tmp_path_factory.mktemp("generated")
    home = root / "home"
    home.mkdir()
    gen = Generated(root, root / "tree")
    repo = make_repo(gen.tree, git_env(home))
    expected = _generated_tree(gen.tree, gen.secrets)
    repo.commit("everything")
    cache = root / "cache"
    env = {
        "MANIAC_GUARD_CACHE_DIR": str(cache),
        "XDG_CACHE_HOME": str(cache / "xdg"),
        "XDG_STATE_HOME": str(home / "state"),
        "HOME": str(home),
        **git_env(home),
    }
    baseline = root / "baseline.json"
    runs: list[tuple[str, ...]] = [("scan", ".", "--format", fmt) for fmt in FORMATS]
    runs += [
        ("scan", ".", "--format", "json"),  # again: from the warm detector cache
        ("scan", ".", "-v"),
        ("scan", "--history", "--format", "json"),
        ("fix", ".", "--diff", "--unsafe-fixes"),
        ("baseline", "create", ".", "-o", str(baseline)),
        ("scan", ".", "--baseline", str(baseline), "-v"),
    ]
    processes, _ = split_by_mode(runs)
    for index, args in enumerate(runs):
        if args in processes:
            processes.remove(args)
            proc = run_cli(*args, cwd=gen.tree, env=env, timeout=600)
        else:
            proc = run_in_process(*args, cwd=gen.tree, env=env)
        assert proc.returncode in (0, 1), (args, proc.stderr[-2000:])
        gen.outputs[f"{index}: {' '.join(args)}"] = proc.stdout + proc.stderr
        if args == ("scan", ".", "--format", "json"):
            gen.json_report = json.loads(proc.stdout)
    assert len(gen.json_report["findings"]) >= expected, (len(gen.json_report["findings"]), expected)
    gen.outputs["baseline.json"] = baseline.read_text()
    for path in cache.rglob("*"):
        if path.is_file():
            gen.outputs[f"cache {path.relative_to(cache)}"] = path.read_bytes().decode("latin-1")
    assert any(name.startswith("cache found-") for name in gen.outputs), sorted(gen.outputs)
    return gen


def test_generated_keys_leave_no_8_characters_anywhere(generated: Generated) -> None:
    windows = {s[i : i + PIECE_WINDOW] for s in generated.secrets for i in range(len(s) - PIECE_WINDOW + 1)}
    leaks = {}
    for name, text in generated.outputs.items():
        seen = {text[i : i + PIECE_WINDOW] for i in range(len(text) - PIECE_WINDOW + 1)}
        found = windows & seen
        if found:
            leaks[name] = sorted(found)[:5]
    assert leaks == {}


def test_generated_keys_are_each_reported(generated: Generated) -> None:
    # A leak check over a scan that found nothing would prove nothing.
    text = generated.outputs[f"{FORMATS.index('text')}: scan . --format text"]
    for rule in ("MG102", "MG105", "MG203", "MG205", "MG206"):
        assert rule in text, rule
    assert "does not parse" in generated.outputs["7: scan . -v"]
