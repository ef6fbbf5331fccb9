"""This repository's `.pre-commit-hooks.yaml`, run by the real pre-commit
framework against sample repositories.

pre-commit installs the package into a virtualenv, which is slow (about
30 s). `try-repo` always builds it in a throw-away store, so only one test
uses it; the others list the hooks in a `.pre-commit-config.yaml` (what users
do) and share one PRE_COMMIT_HOME, so the environment is built once per
session (the `hook_repo` fixture, tests/precommit_home.py). `try-repo` on a work tree with uncommitted changes would also make a
new commit per run; the session snapshots the work tree once into a
committed repository and points every run at that commit.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.gitrepo import Repo
from tests.helpers import console_script, fake_key
from tests.precommit_home import FILE_HOOK_IDS, HOOK_IDS, ROOT, HookRepo, pre_commit

# One worker runs them all: the hook's environment (~30 s) is built once per worker.
pytestmark = pytest.mark.xdist_group("pre-commit-home")


def try_repo(repo: Repo, hook: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`pre-commit try-repo` at the `rev:` the README's snippet names, as written:
    it must be something this repository has (try-repo builds the hook's
    environment anew each time, ~30 s, so one test runs it)."""
    return pre_commit(
        repo, "try-repo", "../snapshot", hook, "--ref", str(_snippet_hooks(_readme_snippet())["rev"]), *args
    )


def test_hooks_file_offers_the_three_hooks_for_python() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == set(HOOK_IDS)
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["entry"].split()[0] == "maniac-guard"
    # Every file goes to the scanner (it skips binaries itself): .env, YAML,
    # notebooks and shell files must never be filtered out by pre-commit.
    assert hooks["maniac-guard"]["types"] == ["file"] and "files" not in hooks["maniac-guard"]
    assert hooks["maniac-guard-fix"]["entry"] == "maniac-guard scan --fix --pre-commit"
    # File names follow `--`: pre-commit runs entry + args + file names.
    assert all(hook["args"] == ["--"] for hook in hooks.values() if hook.get("pass_filenames", True))


@pytest.mark.parametrize("hook", FILE_HOOK_IDS)
def test_each_hook_entry_is_a_working_command(hook: str, tmp_path: Path) -> None:
    spec = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}[hook]
    (tmp_path / "clean.yaml").write_text("name: nothing here\n")
    command = [console_script(), *spec["entry"].split()[1:], *spec["args"], "clean.yaml"]
    proc = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    # Without the `--` (a user's own args that left it out) the hook refuses, even for `-h`.
    refused = subprocess.run(command[:-2] + ["-h"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert refused.returncode == 2 and "must end with `--`" in refused.stderr


def test_a_commit_adding_a_key_is_blocked_and_a_clean_commit_passes(hook_repo: HookRepo) -> None:
    repo = hook_repo.configured()
    installed = pre_commit(repo, "install")
    assert installed.returncode == 0, installed.stderr

    key = fake_key("precommit")
    repo.write("app/settings.py", f"DEBUG = True\nMANIAC_KEY = '{key}'\n")
    repo.git("add", ".")
    env = {**os.environ, **repo.env}
    blocked = subprocess.run(
        ["git", "commit", "-m", "leak"], cwd=repo.path, env=env, capture_output=True, text=True, timeout=900
    )
    shown = blocked.stdout + blocked.stderr
    assert blocked.returncode == 1, shown
    assert "app/settings.py:2" in shown and "MG101" in shown and "Failed" in shown
    assert key not in shown
    assert repo.git("log", "--format=%s") == "config"

    repo.write("app/settings.py", "import os\nMANIAC_KEY = os.environ['MANIAC_API_KEY']\n")
    repo.git("add", ".")
    clean = subprocess.run(
        ["git", "commit", "-m", "clean"], cwd=repo.path, env=env, capture_output=True, text=True, timeout=900
    )
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Passed" in clean.stdout + clean.stderr


def test_try_repo_files_scans_env_yaml_notebook_and_shell_files(hook_repo: HookRepo) -> None:
    repo = hook_repo.sample()
    repo.write(".env", f"MANIAC_API_KEY={fake_key('env')}\n")
    repo.write("deploy/values.yaml", f"maniac:\n  token: {fake_key('yaml')}\n")
    cell = {
        "cell_type": "code",
        "metadata": {},
        "outputs": [],
        "execution_count": None,
        "source": [f"client = Maniac(api_key='{fake_key('nb')}')\n"],
    }
    repo.write("explore.ipynb", json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    repo.write("run.sh", f"#!/bin/sh\nexport MANIAC_API_KEY={fake_key('sh')}\n")
    repo.write("clean.txt", "nothing\n")
    repo.git("add", ".")
    files = [".env", "deploy/values.yaml", "explore.ipynb", "run.sh", "clean.txt"]

    # The README's snippet as written (its rev and hook id; only the URL is the local snapshot).
    (hook,) = _snippet_hooks(_readme_snippet())["hooks"]  # type: ignore[misc]
    proc = try_repo(repo, hook["id"], "--verbose", "--files", *files)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    for name in (".env:1", "deploy/values.yaml:2", "explore.ipynb", "run.sh:2"):
        assert name in proc.stdout, name
    assert "Scanned 5 files" in proc.stdout  # none silently dropped


def test_all_files_finds_keys_in_files_outside_the_commit(hook_repo: HookRepo) -> None:
    repo = hook_repo.configured()
    repo.write("legacy/old_config.py", f"KEY = '{fake_key('legacy')}'\n")
    repo.commit("old leak, committed without hooks")
    repo.write("new.py", "print('clean')\n")
    repo.git("add", "new.py")

    only_staged = pre_commit(repo, "run", "maniac-guard", "--files", "new.py")
    assert only_staged.returncode == 0, only_staged.stdout
    everything = pre_commit(repo, "run", "maniac-guard", "--all-files")
    assert everything.returncode == 1
    assert "legacy/old_config.py:1" in everything.stdout


def test_fix_hook_rewrites_a_staged_python_file_and_fails(hook_repo: HookRepo) -> None:
    repo = hook_repo.configured()
    key = fake_key("fixhook")
    original = f"from maniac import Maniac\n\nclient = Maniac(api_key='{key}')\n"
    repo.write("client.py", original)
    repo.git("add", "client.py")

    proc = pre_commit(repo, "run", "maniac-guard-fix", "--files", "client.py")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    fixed = (repo.path / "client.py").read_text()
    assert key not in fixed and "MANIAC_API_KEY" in fixed
    assert "files were modified by this hook" in proc.stdout
    # The index still holds the old version: the user reviews and re-stages.
    assert key in repo.git("show", ":client.py")


def _commit(repo: Repo, message: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **repo.env}
    return subprocess.run(
        ["git", "commit", "-m", message],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_staged_files_named_like_options_are_scanned_as_files(hook_repo: HookRepo) -> None:
    """A file named `--select=MG4` once switched the key rules off, and one
    named `-o` made the report overwrite the next staged file."""
    repo = hook_repo.configured()
    assert pre_commit(repo, "install").returncode == 0
    key = fake_key("option-names")
    leak = f"MANIAC_API_KEY={key}\n"
    repo.write("--select=MG4", "nothing to see\n")
    repo.write("-o", "nothing either\n")
    repo.write("leak.env", leak)
    repo.git("add", "--", ".")

    blocked = _commit(repo, "leak")
    shown = blocked.stdout + blocked.stderr
    assert blocked.returncode == 1, shown
    assert "leak.env:1" in shown and "MG101" in shown and key not in shown
    assert "Scanned 3 files" in shown
    assert (repo.path / "leak.env").read_text() == leak  # no report written over it


def test_own_args_without_the_double_dash_are_refused(hook_repo: HookRepo) -> None:
    repo = hook_repo.configured(args=["--fail-on", "high"])
    assert pre_commit(repo, "install").returncode == 0
    repo.write("--fail-on=info", "nothing\n")
    repo.write("leak.env", f"MANIAC_API_KEY={fake_key('no-dash')}\n")
    repo.git("add", "--", ".")
    refused = _commit(repo, "own args")
    shown = refused.stdout + refused.stderr
    assert refused.returncode == 1, shown
    assert "must end with `--`" in shown and "exit code: 2" in shown

    fixed = hook_repo.configured(args=["--fail-on", "high", "--"])
    fixed.write("leak.env", f"MANIAC_API_KEY={fake_key('with-dash')}\n")
    fixed.git("add", "--", ".")
    proc = pre_commit(fixed, "run", "maniac-guard", "--files", "leak.env")
    assert proc.returncode == 1 and "leak.env:1" in proc.stdout and "exit code: 1" in proc.stdout


def test_the_hook_judges_each_file_as_scan_dot_does(hook_repo: HookRepo) -> None:
    """One config governs a run (issue 22, item 14): a fixtures folder's own
    config does not hide its key from the hook, as it does not from `scan .`;
    the hook names the config it did not read."""
    repo = hook_repo.configured()
    assert pre_commit(repo, "install").returncode == 0
    repo.write("fixtures/.maniac-guard.toml", 'ignore = ["MG1", "MG3"]\n')
    repo.write("fixtures/a.txt", f"sample = {fake_key('fixture')}\n")
    repo.write("src/leak.env", f"MANIAC_API_KEY={fake_key('per-file-hook')}\n")
    repo.git("add", "--", ".")

    blocked = _commit(repo, "fixtures and a leak")
    shown = blocked.stdout + blocked.stderr
    assert blocked.returncode == 1, shown
    assert "src/leak.env:1" in shown and "fixtures/a.txt:1" in shown
    assert "fixtures/.maniac-guard.toml: not read" in shown


def test_the_commit_msg_hook_blocks_a_key_in_the_message(hook_repo: HookRepo) -> None:
    repo = hook_repo.configured()
    installed = pre_commit(repo, "install", "--hook-type", "commit-msg")
    assert installed.returncode == 0, installed.stderr
    repo.write("notes.txt", "clean\n")
    repo.git("add", ".")
    key = fake_key("commit-msg-hook")
    env = {**os.environ, **repo.env}
    blocked = subprocess.run(
        ["git", "commit", "-m", f"try with {key}"], cwd=repo.path, env=env, capture_output=True, text=True, timeout=900
    )
    shown = blocked.stdout + blocked.stderr
    assert blocked.returncode == 1, shown
    assert "MG101" in shown and key not in shown


def _yaml_blocks(markdown: Path) -> list[str]:
    text = markdown.read_text(encoding="utf-8")
    return [block.split("```", 1)[0] for block in text.split("```yaml\n")[1:]]


def _readme_snippet() -> str:
    return next(b for b in _yaml_blocks(ROOT / "README.md") if "- repo:" in b)


def _snippet_hooks(block: str) -> dict[str, object]:
    """The first `- repo:` entry of a documented snippet, pointed at the snapshot
    (the tests reach no network) with every other word as written."""
    loaded = yaml.safe_load(block)
    entries = loaded["repos"] if isinstance(loaded, dict) else loaded
    entry = dict(entries[0])
    assert entry["repo"] == "https://github.com/maniac-guard/maniac-guard"
    entry["repo"] = "../snapshot"
    return entry


def test_the_documented_hook_set_reports_each_finding_once_per_stage(hook_repo: HookRepo) -> None:
    block = next(b for b in _yaml_blocks(ROOT / "docs" / "git-and-ci.md") if "maniac-guard-pre-push" in b)
    entry = _snippet_hooks(block)
    entry["rev"] = hook_repo.rev
    repo = hook_repo.sample()
    repo.write(".pre-commit-config.yaml", yaml.safe_dump({"repos": [entry]}))
    repo.commit("config", ".pre-commit-config.yaml")
    key = fake_key("stages")
    repo.write("leak.env", f"MANIAC_API_KEY={key}\n")
    # An over-broad declared key: a least-privilege finding (MG4xx).
    repo.write("maniac-keys.yaml", "version: 1\nkeys:\n  - name: grafana\n    permissions: ['*']\n")
    repo.git("add", ".")
    at_commit = pre_commit(repo, "run", "--all-files")
    shown = at_commit.stdout + at_commit.stderr
    assert at_commit.returncode == 1, shown
    assert _finding_lines(shown, "MG101") == ["MG101 critical leak.env:1:16"], shown
    mg4 = _finding_lines(shown, "MG4")
    assert mg4 and len(mg4) == len(set(mg4)), shown
    base = repo.git("rev-parse", "HEAD")
    repo.git("commit", "-q", "--no-verify", "-m", "leak")
    at_push = pre_commit(
        repo, "run", "--hook-stage", "pre-push", "--from-ref", base, "--to-ref", repo.git("rev-parse", "HEAD")
    )
    shown = at_push.stdout + at_push.stderr
    assert at_push.returncode == 1, shown
    assert len(_finding_lines(shown, "MG101")) == 1, shown


def _finding_lines(shown: str, rule: str) -> list[str]:
    """The text report's heading line of each finding of `rule` (a prefix)."""
    return [
        line.strip().rsplit(" ", 1)[0] if "mk-" in line else line.strip()
        for line in shown.splitlines()
        if line.strip().startswith(rule)
    ]


def test_the_readme_install_line_installs_from_the_repository(hook_repo: HookRepo, tmp_path: Path) -> None:
    """The tour's `pip install '… @ git+URL@REV'`, as written but for the URL
    (the snapshot of this checkout: the tests reach no network)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(row for row in readme.splitlines() if row.startswith("pip install 'git+"))
    requirement = line.split("'")[1].replace(
        "https://github.com/maniac-guard/maniac-guard", f"file://{hook_repo.base}/snapshot"
    )
    import sys

    target = tmp_path / "site"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--disable-pip-version-check",
            "--target",
            str(target),
            requirement,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert (target / "maniac_guard" / "cli.py").is_file()
    assert any(target.glob("maniac_guard/_rules/MG101.yaml"))
