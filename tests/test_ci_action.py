"""action.yml: a composite GitHub Action whose steps run commands that exist."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import yaml

from tests.gitrepo import git_env, make_repo
from tests.helpers import console_script, fake_key, run_cli

ROOT = Path(__file__).resolve().parent.parent


def action() -> dict:
    return yaml.safe_load((ROOT / "action.yml").read_text())


def steps_using(prefix: str) -> list[dict]:
    return [s for s in action()["runs"]["steps"] if s.get("uses", "").startswith(prefix)]


def run_lines() -> list[str]:
    return [line.strip() for s in action()["runs"]["steps"] if "run" in s
            for line in s["run"].splitlines() if line.strip() and not line.strip().startswith("#")]


def test_action_is_composite_with_setup_install_scan_and_upload() -> None:
    data = action()
    assert data["name"] and data["description"]
    assert data["runs"]["using"] == "composite"
    steps = data["runs"]["steps"]
    assert all("shell" in s for s in steps if "run" in s)  # composite steps must name a shell
    kinds = [s.get("uses", "").split("@")[0] or s["run"].split()[0] for s in steps]
    assert kinds[0] == "actions/setup-python"
    assert kinds[-1] == "github/codeql-action/upload-sarif"
    assert all("@" in s["uses"] for s in steps if "uses" in s)  # pinned versions
    upload = steps_using("github/codeql-action/upload-sarif")[0]
    assert "always()" in upload["if"]  # findings (exit 1) are still uploaded
    assert upload["with"]["sarif_file"] == "${{ inputs.sarif-file }}"


def test_action_references_only_declared_inputs() -> None:
    text = (ROOT / "action.yml").read_text()
    used = set(re.findall(r"inputs\.([a-z-]+)", text))
    assert used <= set(action()["inputs"]), used - set(action()["inputs"])


def test_action_installs_this_package_from_its_own_path() -> None:
    [install] = [line for line in run_lines() if "pip install" in line]
    assert '"${GITHUB_ACTION_PATH}"' in install
    project = (ROOT / "pyproject.toml").read_text()
    assert 'maniac-guard = "maniac_guard.cli:main"' in project  # the command the next step runs


def test_action_scan_command_runs_and_writes_sarif(tmp_path: Path) -> None:
    [scan] = [line for line in run_lines() if line.startswith("maniac-guard ")]
    argv = shlex.split(scan.replace('"$SARIF_FILE"', "out.sarif").replace("$EXTRA_ARGS", ""))
    assert argv[:2] == ["maniac-guard", "ci"] and "sarif" in argv
    home = tmp_path / "home"
    home.mkdir()
    repo = make_repo(tmp_path / "repo", git_env(home))
    repo.write("a.txt", "hello\n")
    repo.commit("first")
    repo.write("b.env", f"MANIAC_API_KEY={fake_key('action')}\n")
    repo.commit("second")
    proc = run_cli(*argv[1:], cwd=repo.path, env=repo.env)
    assert proc.returncode == 1, proc.stderr
    sarif = json.loads((repo.path / "out.sarif").read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    assert subprocess.run([console_script(), "ci", "--help"], capture_output=True).returncode == 0
