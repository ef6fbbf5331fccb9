"""Never a silent pass (issue 22): where maniac-guard cannot scan what it was
asked, or was told to check nothing, it says so in one line and exits 2;
where it can scan something (a big file, a nested repository), it does."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from maniac_guard.findings import Finding
from tests.gitrepo import Repo, git_env, make_repo, push, started_repo
from tests.helpers import console_script, fake_key, run_cli, run_in_process

ELEVEN_MIB = 11 << 20


def _big_file_with_a_key_on_line_1(key: str) -> bytes:
    filler = b"const padding = 'just some text';\n" * (ELEVEN_MIB // 34)
    return f"MANIAC_API_KEY = '{key}'\n".encode() + filler


def _lines(proc: subprocess.CompletedProcess[str]) -> list[tuple[str, int, int]]:
    return [(f["path"], f["line"], f["column"]) for f in json.loads(proc.stdout)["findings"]]


# --- 5. large files -----------------------------------------------------


def test_a_key_on_line_1_of_an_11_mib_file_is_found_by_scan(tmp_path: Path) -> None:
    key = fake_key("big-disk")
    (tmp_path / "bundle.js").write_bytes(_big_file_with_a_key_on_line_1(key))
    proc = run_cli("scan", ".", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert _lines(proc) == [("bundle.js", 1, 19)]
    assert "bundle.js: 11.0 MiB is over the 10.0 MiB limit: scanned for key patterns only" in proc.stderr
    assert key not in proc.stdout + proc.stderr


def test_a_key_across_a_window_boundary_is_found_once_with_its_real_position(tmp_path: Path) -> None:
    """Keys at and around every 8 MiB window edge of a 20 MiB one-line file
    (a minified bundle): each found once, at its real column."""
    from maniac_guard.sources.windows import OVERLAP, WINDOW

    size = 20 << 20
    data = bytearray(b"x" * size)
    data[::97] = b";" * len(data[::97])
    keys: dict[int, str] = {}
    step = WINDOW - OVERLAP - 64  # where the second window starts
    for index, at in enumerate((step - 20, step + 3, WINDOW - 30, WINDOW - OVERLAP - 10, 2 * step + 7)):
        key = fake_key(f"edge-{index}")
        data[at - 1 : at] = b" "
        data[at : at + len(key)] = key.encode()
        data[at + len(key) : at + len(key) + 1] = b" "
        keys[at] = key
    (tmp_path / "min.js").write_bytes(bytes(data))
    proc = run_in_process("scan", ".", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert sorted(_lines(proc)) == [("min.js", 1, at + 1) for at in sorted(keys)]


def test_a_big_file_in_history_ci_and_pre_receive_is_scanned(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {**git_env(home), "NO_COLOR": "1"}
    server = tmp_path / "server.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(server)], check=True, env={**os.environ, **env})
    repo = make_repo(tmp_path / "clone", env)
    repo.git("remote", "add", "origin", str(server))
    repo.write("README.md", "hello\n")
    base = repo.commit("first")
    repo.git("push", "-q", "origin", "main")
    hook = server / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\nexec {console_script()} pre-receive\n")
    hook.chmod(0o755)
    repo.write("dist/bundle.js", _big_file_with_a_key_on_line_1(fake_key("big-git")))
    head = repo.commit("add a bundle")

    history = run_cli("scan", "--history", "--format", "json", cwd=repo.path, env=env)
    assert history.returncode == 1 and _lines(history) == [("dist/bundle.js", 1, 19)], history.stderr
    ci = run_cli("ci", "--range", f"{base}..{head}", "--format", "json", cwd=repo.path, env=env)
    assert ci.returncode == 1 and ("dist/bundle.js", 1, 19) in _lines(ci), ci.stderr
    staged_repo = make_repo(tmp_path / "staged", env)
    staged_repo.write("big.txt", _big_file_with_a_key_on_line_1(fake_key("big-staged")))
    staged_repo.git("add", "big.txt")
    staged = run_cli("scan", "--staged", "--format", "json", cwd=staged_repo.path, env=env)
    assert staged.returncode == 1 and _lines(staged) == [("big.txt", 1, 19)], staged.stderr
    pushed = push(repo, "main")
    assert pushed.returncode != 0 and "dist/bundle.js" in pushed.stderr, pushed.stderr


def test_windows_find_what_a_whole_file_scan_finds(tmp_path: Path) -> None:
    """The windowing itself, at a small window size, against one whole-file
    scan of the same bytes: the same findings at the same lines and columns."""
    import random

    from maniac_guard.detectors import load_detectors
    from maniac_guard.engine import scan_source
    from maniac_guard.sources import SourceFile
    from maniac_guard.sources.windows import windows

    rng = random.Random(22)
    detectors = load_detectors()
    filler = [b"a", b"b", b" ", b"\n", b";", "é".encode(), b"mk-"]
    for trial in range(40):
        parts: list[bytes] = []
        for index in range(rng.randrange(3, 12)):
            parts.append(b"".join(rng.choices(filler, k=rng.randrange(0, 1500))))
            parts.append(rng.choice([b" ", b"\n", b"=", b"\\n"]) + fake_key(f"w-{trial}-{index}").encode() + b" ")
        data = b"".join(parts)
        whole = [_where(f) for f in scan_source(SourceFile("a.txt", data), detectors)]
        stream = io.BytesIO(data)
        found: list[tuple[int, int, str]] = []
        # Short reads, as a pipe gives them.
        for window in windows("a.txt", lambda n: stream.read(min(n, 100)), window=1024, overlap=256):  # noqa: B023
            found += [_where(f) for f in scan_source(window, detectors)]
        assert sorted(found) == sorted(whole) and whole


def _where(finding: Finding) -> tuple[int, int, str]:
    return finding.line, finding.location.column, finding.secret.digest if finding.secret else ""


# --- 6. unreadable input ------------------------------------------------


def _as_nobody(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Root reads every file whatever its mode: run as `nobody` (setpriv)."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: permissions cannot be tested")
        prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    env = {**os.environ, "NO_COLOR": "1", "HOME": str(cwd), "XDG_CACHE_HOME": str(cwd / ".cache")}
    with _traversable(Path(console_script()).parent if prefix else None):
        return subprocess.run(
            [*prefix, console_script(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
        )


@contextlib.contextmanager
def _traversable(folder: Path | None) -> Iterator[None]:
    """`nobody` must reach the installed scanner: a checkout in a folder of
    root's alone (`mktemp -d` is 0700) gets the search bit for others on the
    way there, and back as it was afterwards (no folder becomes listable)."""
    widened: list[tuple[Path, int]] = []
    try:
        for path in [folder, *folder.parents] if folder is not None else []:
            mode = path.stat().st_mode
            if not mode & stat.S_IXOTH:
                path.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
                widened.append((path, stat.S_IMODE(mode)))
        yield
    finally:
        for path, mode in widened:
            path.chmod(mode)


@pytest.fixture
def locked_tree() -> Iterator[Path]:
    """A tree `nobody` can reach (pytest's own folders are root's alone)
    holding a folder and a file only root may read."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="maniac-guard-locked-") as folder:
        tree = Path(folder)
        tree.chmod(0o777)
        (tree / "readable.txt").write_text("nothing here\n")
        (tree / "private").mkdir()
        (tree / "private" / "leak.env").write_text(f"MANIAC_API_KEY={fake_key('locked')}\n")
        (tree / "secret.txt").write_text(f"key={fake_key('locked-file')}\n")
        (tree / "private").chmod(0o700)
        (tree / "secret.txt").chmod(0o600)
        yield tree


@pytest.mark.parametrize("quiet", [[], ["-q"]])
def test_a_folder_or_file_the_user_cannot_read_is_an_error(locked_tree: Path, quiet: list[str]) -> None:
    proc = _as_nobody("scan", ".", *quiet, cwd=locked_tree)
    assert proc.returncode == 2, proc.stderr
    assert "maniac-guard: error: private: cannot list folder: Permission denied" in proc.stderr
    assert "maniac-guard: error: secret.txt: cannot read: Permission denied" in proc.stderr


def test_a_folder_git_cannot_open_is_an_error(locked_tree: Path) -> None:
    """In a work tree git lists the files, and git itself only warns (exit 0)
    about a folder it cannot open."""
    subprocess.run(["git", "init", "-q", str(locked_tree)], check=True, capture_output=True)
    if os.geteuid() == 0:  # the repository is nobody's own, the private folder still root's
        for path in [locked_tree, *locked_tree.rglob("*")]:
            if path.parent.name != "private" and path.name not in ("private", "secret.txt"):
                os.lchown(path, 65534, 65534)
    proc = _as_nobody("scan", ".", "-q", cwd=locked_tree)
    assert proc.returncode == 2, proc.stderr
    assert "maniac-guard: error: private: cannot list folder: Permission denied" in proc.stderr


def test_a_path_longer_than_the_system_allows_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text("fine\n")
    long_name = "n" * 300 + ".txt"
    proc = run_in_process("scan", "ok.txt", long_name, cwd=tmp_path)
    assert proc.returncode == 2
    assert f"maniac-guard: error: {long_name}: cannot read: File name too long" in proc.stderr


def test_a_folder_nested_deeper_than_the_system_allows_is_an_error(tmp_path: Path) -> None:
    folder = os.open(tmp_path, os.O_RDONLY)
    try:
        for _ in range(40):  # 40 x 120 characters: over PATH_MAX (4096); made relative to each folder
            os.mkdir("d" * 120, dir_fd=folder)
            inner = os.open("d" * 120, os.O_RDONLY, dir_fd=folder)
            os.close(folder)
            folder = inner
        with open(os.open("leak.env", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=folder), "w") as handle:
            handle.write(f"MANIAC_API_KEY={fake_key('deep')}\n")
    finally:
        os.close(folder)
    proc = run_in_process("scan", ".", "--no-gitignore", cwd=tmp_path)
    assert proc.returncode == 2
    assert "cannot list folder: File name too long" in proc.stderr


# --- 7. nested repositories ---------------------------------------------


def test_nested_repositories_are_scanned(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = git_env(home)
    outer = make_repo(tmp_path / "outer", env)
    outer.write("README.md", "outer\n")
    outer.commit("outer")
    clone = make_repo(outer.path / "vendor" / "clone", env)  # an untracked clone
    clone.write("leak.env", f"MANIAC_API_KEY={fake_key('nested-clone')}\n")
    linked = make_repo(outer.path / "linked", env)  # a gitlink, no .gitmodules
    linked.write("app.env", f"MANIAC_API_KEY={fake_key('nested-link')}\n")
    linked.commit("inner")
    outer.git("add", "linked")
    other = make_repo(tmp_path / "other", env)
    other.write("x.txt", "x\n")
    other.commit("other")
    other.git("worktree", "add", "-q", "-b", "feature", str(outer.path / "wt"))  # a linked worktree inside
    Repo(outer.path / "wt", env).write("wt.env", f"MANIAC_API_KEY={fake_key('nested-wt')}\n")
    proc = run_in_process("scan", ".", "--format", "json", cwd=outer.path, env=env)
    assert proc.returncode == 1, proc.stderr
    paths = {path for path, _, _ in _lines(proc)}
    assert paths == {"vendor/clone/leak.env", "linked/app.env", "wt/wt.env"}
    assert "directory" not in json.loads(proc.stdout)["summary"]["files_skipped"]


# --- 9. every rule switched off -----------------------------------------


@pytest.mark.parametrize(
    "args",
    [["--ignore", "MG1,MG2,MG3,MG4"], ["--select", "MG4", "--ignore", "MG4"], ["--select", "MG1", "--ignore", "MG"]],
)
def test_switching_every_rule_off_on_the_command_line_is_an_error(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "leak.env").write_text(f"MANIAC_API_KEY={fake_key('all-off')}\n")
    proc = run_in_process("scan", ".", *args, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "switch every rule off" in proc.stderr


def test_switching_every_rule_off_in_config_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.maniac-guard]\nignore = ["MG1", "MG2", "MG3", "MG4"]\n')
    (tmp_path / "leak.env").write_text(f"MANIAC_API_KEY={fake_key('all-off-config')}\n")
    proc = run_in_process("scan", ".", cwd=tmp_path)
    assert proc.returncode == 2
    assert "pyproject.toml" in proc.stderr and "switch every rule off" in proc.stderr


# --- 10. misspelt config table ------------------------------------------


@pytest.mark.parametrize("table", ["maniac_guard", "maniacguard", "Maniac-Guard", "maniac-gaurd"])
def test_a_misspelt_config_table_is_named(tmp_path: Path, table: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f'[tool.{table}]\nexclude = ["**"]\n')
    proc = run_in_process("scan", ".", cwd=tmp_path)
    assert proc.returncode == 2
    assert f"pyproject.toml: [tool.{table}] is not read; did you mean [tool.maniac-guard]?" in proc.stderr


def test_an_unknown_selector_in_a_config_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.maniac-guard]\nignore = ["MG9"]\n')
    proc = run_in_process("scan", ".", cwd=tmp_path)
    assert proc.returncode == 2
    assert "pyproject.toml: 'ignore': unknown rule selector 'MG9'" in proc.stderr


# --- 14. subfolder config and the hook ----------------------------------


def test_scan_staged_and_the_hooks_file_list_give_one_verdict(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = git_env(home)
    repo = make_repo(tmp_path / "repo", env)
    repo.write("sub/.maniac-guard.toml", 'exclude = ["**"]\n')
    repo.write("sub/leak.env", f"MANIAC_API_KEY={fake_key('subfolder')}\n")
    repo.git("add", ".")
    verdicts = {}
    for name, args in {"tree": ["."], "hook": ["--", "sub/leak.env"], "staged": ["--staged"]}.items():
        proc = run_in_process("scan", "--format", "json", *args, cwd=repo.path, env=env)
        verdicts[name] = (proc.returncode, {path for path, _, _ in _lines(proc)})
    assert verdicts["tree"] == verdicts["hook"] == verdicts["staged"] == (1, {"sub/leak.env"})


def test_a_subfolder_config_that_is_not_read_is_named(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".maniac-guard.toml").write_text('exclude = ["**"]\n')
    (tmp_path / "sub" / "leak.env").write_text(f"MANIAC_API_KEY={fake_key('subfolder-note')}\n")
    proc = run_in_process("scan", "sub/leak.env", cwd=tmp_path)
    assert proc.returncode == 1
    assert "sub/.maniac-guard.toml: not read; one config governs a run" in proc.stderr


# --- 18. bad globs and unbounded reads ----------------------------------


def test_an_exclude_glob_that_does_not_compile_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_in_process("scan", ".", "--exclude", "**/[z-a]", cwd=tmp_path)
    assert proc.returncode == 2
    assert (
        proc.stderr
        == "maniac-guard: error: --exclude: invalid gitignore pattern '**/[z-a]' (bad character range z-a)\n"
    )
    (tmp_path / ".maniac-guard.toml").write_text('exclude = ["[z-a]"]\n')
    proc = run_in_process("scan", ".", cwd=tmp_path)
    assert proc.returncode == 2 and ".maniac-guard.toml: 'exclude': invalid gitignore pattern" in proc.stderr


@pytest.mark.parametrize("option", ["--baseline", "--ignore-file"])
def test_an_endless_user_file_is_refused_in_one_line(tmp_path: Path, option: str) -> None:
    proc = run_cli("scan", ".", option, "/dev/zero", cwd=tmp_path, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "/dev/zero" in proc.stderr and "64 MiB limit" in proc.stderr


def test_an_endless_ci_event_file_is_refused_in_one_line(tmp_path: Path) -> None:
    repo = started_repo(tmp_path)
    event = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": "/dev/zero"}
    proc = run_cli("ci", cwd=repo.path, env={**repo.env, **event}, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "GITHUB_EVENT_PATH /dev/zero" in proc.stderr
    assert "64 MiB limit" in proc.stderr


def test_an_endless_policy_file_in_config_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / ".maniac-guard.toml").write_text('policy = "/dev/zero"\n')
    (tmp_path / "keys.yaml").write_text("keys: []\n")
    proc = run_cli("policy", ".", cwd=tmp_path, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "/dev/zero" in proc.stderr and "64 MiB limit" in proc.stderr
