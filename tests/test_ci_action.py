"""action.yml, the composite GitHub Action: its structure, and its shell steps
run with bash in a temporary GitHub-like environment (GITHUB_OUTPUT,
RUNNER_TEMP, GITHUB_ACTION_PATH), inputs substituted through `env:` as the
runner does."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from maniac_guard import __version__
from tests.gitrepo import git_env, make_repo
from tests.helpers import console_script, fake_key

ROOT = Path(__file__).resolve().parent.parent
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def action() -> dict:
    return yaml.safe_load((ROOT / "action.yml").read_text())


def step(step_id: str) -> dict:
    [found] = [s for s in action()["runs"]["steps"] if s.get("id") == step_id]
    return found


def inputs(**given: str) -> dict[str, str]:
    values = {name: str(spec.get("default", "")) for name, spec in action()["inputs"].items()}
    values.update({name.replace("_", "-"): value for name, value in given.items()})
    return values


def evaluate(expression: str, given: dict[str, str], outputs: dict[str, dict[str, str]]) -> str:
    """The few expressions the action's env uses: inputs, step outputs, `a || b`, 'literal'."""
    value = ""
    for part in (p.strip() for p in expression.split("||")):
        if part.startswith("'"):
            value = part.strip("'")
        elif part.startswith("inputs."):
            value = given[part.removeprefix("inputs.")]
        elif part.startswith("steps."):
            _, step_id, kind, name = part.split(".", 3)
            assert kind == "outputs"
            value = outputs.get(step_id, {}).get(name, "")
        else:
            raise AssertionError(f"expression not understood by the test: {expression}")
        if value:
            return value
    return value


class Runner:
    """Runs `run:` steps as GitHub's `shell: bash` does: bash --noprofile --norc -eo pipefail FILE."""

    def __init__(self, tmp_path: Path, workspace: Path, env: dict[str, str] | None = None) -> None:
        self.tmp = tmp_path
        self.workspace = workspace
        self.temp = tmp_path / "runner-temp"
        self.temp.mkdir(exist_ok=True)
        self.env = env or {}
        self.outputs: dict[str, dict[str, str]] = {}
        self.files = {name: tmp_path / name.lower() for name in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH")}

    def run(self, step_id: str, given: dict[str, str]) -> subprocess.CompletedProcess[str]:
        spec = step(step_id)
        assert spec["shell"] == "bash" and "${{" not in spec["run"]  # inputs only through env
        script = self.tmp / f"{step_id}.sh"
        script.write_text(spec["run"])
        for path in self.files.values():
            path.write_text("")
        env = {
            **os.environ,
            **self.env,
            "RUNNER_TEMP": str(self.temp),
            "GITHUB_ACTION_PATH": str(ROOT),
            "GITHUB_WORKSPACE": str(self.workspace),
            **{k: str(v) for k, v in self.files.items()},
        }
        for name, value in (spec.get("env") or {}).items():
            env[name] = EXPRESSION.sub(lambda m: evaluate(m.group(1), given, self.outputs), str(value))
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=self.workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        lines = self.files["GITHUB_OUTPUT"].read_text().splitlines()
        self.outputs[step_id] = dict(line.split("=", 1) for line in lines if "=" in line)
        return proc

    def untouched_job_environment(self) -> bool:
        return self.files["GITHUB_ENV"].read_text() == "" and self.files["GITHUB_PATH"].read_text() == ""


def recording_stub(tmp_path: Path) -> tuple[Path, Path]:
    """A stand-in for maniac-guard that records its argv and writes a SARIF file with one result."""
    record = tmp_path / "argv.json"
    stub = tmp_path / "stub-maniac-guard"
    stub.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"json.dump(sys.argv[1:], open({str(record)!r}, 'w'))\n"
        "out = sys.argv[sys.argv.index('-o') + 1]\n"
        "json.dump({'version': '2.1.0', 'runs': [{'results': [{}]}]}, open(out, 'w'))\n"
        "sys.exit(1)\n"
    )
    stub.chmod(0o755)
    return stub, record


def test_action_is_composite_and_uploads_with_codeql_v4() -> None:
    data = action()
    assert data["name"] and data["description"] and data["runs"]["using"] == "composite"
    steps = data["runs"]["steps"]
    assert all("shell" in s for s in steps if "run" in s)  # composite steps must name a shell
    assert all("@" in s["uses"] for s in steps if "uses" in s)  # pinned versions
    upload = steps[-1]
    assert upload["uses"] == "github/codeql-action/upload-sarif@v4"
    assert "always()" in upload["if"]  # findings (exit 1) are still uploaded
    assert upload["with"] == {
        "sarif_file": "${{ steps.scan.outputs.sarif-file }}",
        "category": "${{ inputs.category }}",
    }
    assert data["inputs"]["category"]["default"] == "maniac-guard"
    assert {"findings", "sarif-file", "exit-code"} <= set(data["outputs"])


def test_setup_python_never_changes_the_jobs_python() -> None:
    [setup] = [s for s in action()["runs"]["steps"] if s.get("uses", "").startswith("actions/setup-python@")]
    assert setup["with"]["update-environment"] is False
    assert setup["if"] == "${{ steps.find-python.outputs.path == '' }}"  # only when the runner has no 3.11+


def test_action_references_only_declared_inputs() -> None:
    text = (ROOT / "action.yml").read_text()
    used = set(re.findall(r"inputs\.([a-z-]+)", text))
    assert used <= set(action()["inputs"]), used - set(action()["inputs"])


def test_args_reach_maniac_guard_one_literal_argument_per_line(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    (workspace / "tests").mkdir(parents=True)
    (workspace / "tests" / "a.py").write_text("")  # what `tests/*` would glob to
    (workspace / "tests" / "b.py").write_text("")
    stub, record = recording_stub(tmp_path)
    runner = Runner(tmp_path, workspace)
    runner.outputs["install"] = {"maniac-guard": str(stub), "python": sys.executable}
    given = inputs(args="--exclude\ntests/*\n  --fail-on  \nhigh\n\n--baseline\nmy baseline.json\r\n$HOME\n")
    proc = runner.run("scan", given)
    assert proc.returncode == 1, proc.stderr  # maniac-guard's exit code is the step's
    assert json.loads(record.read_text()) == [
        "ci",
        "--format",
        "sarif",
        "-o",
        "maniac-guard.sarif",
        "--exclude",
        "tests/*",
        "--fail-on",
        "high",
        "--baseline",
        "my baseline.json",
        "$HOME",
    ]
    assert runner.outputs["scan"] == {"exit-code": "1", "sarif-file": "maniac-guard.sarif", "findings": "1"}


def test_no_args_passes_no_empty_argument(tmp_path: Path) -> None:
    stub, record = recording_stub(tmp_path)
    runner = Runner(tmp_path, tmp_path)
    runner.outputs["install"] = {"maniac-guard": str(stub), "python": sys.executable}
    runner.run("scan", inputs(sarif_file="report.sarif"))
    assert json.loads(record.read_text()) == ["ci", "--format", "sarif", "-o", "report.sarif"]


def test_scan_step_with_the_real_scanner_reports_count_and_path(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    repo = make_repo(tmp_path / "repo", git_env(home))
    repo.write("a.txt", "hello\n")
    repo.commit("first")
    repo.write("b.env", f"MANIAC_API_KEY={fake_key('action')}\nOTHER={fake_key('action-2')}\n")
    repo.write("tests/t.env", f"MANIAC_API_KEY={fake_key('action-test')}\n")
    repo.commit("second")
    runner = Runner(tmp_path, repo.path, env=repo.env)
    runner.outputs["install"] = {"maniac-guard": console_script(), "python": sys.executable}
    proc = runner.run("scan", inputs(args="--exclude\ntests/*", sarif_file="scan.sarif"))
    assert proc.returncode == 1, proc.stderr
    sarif = json.loads((repo.path / "scan.sarif").read_text())
    results = sarif["runs"][0]["results"]
    assert len(results) >= 2 and "tests/" not in json.dumps(results)  # both keys; the excluded folder is not scanned
    assert runner.outputs["scan"] == {"exit-code": "1", "sarif-file": "scan.sarif", "findings": str(len(results))}


def test_a_usage_error_writes_no_count_and_keeps_exit_2(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    repo = make_repo(tmp_path / "repo", git_env(home))
    repo.write("a.txt", "hello\n")
    repo.commit("first")
    runner = Runner(tmp_path, repo.path, env=repo.env)
    runner.outputs["install"] = {"maniac-guard": console_script(), "python": sys.executable}
    proc = runner.run("scan", inputs(args="--range\nnope..HEAD"))
    assert proc.returncode == 2
    assert runner.outputs["scan"] == {"exit-code": "2"}


@pytest.mark.parametrize("pinned", ["", "3.12"])
def test_find_python_uses_the_runners_python_unless_a_version_is_pinned(tmp_path: Path, pinned: str) -> None:
    runner = Runner(tmp_path, tmp_path)
    proc = runner.run("find-python", inputs(python_version=pinned))
    assert proc.returncode == 0, proc.stderr
    if pinned:
        assert runner.outputs["find-python"] == {}  # setup-python's turn
    else:
        found = runner.outputs["find-python"]["path"]
        check = "import sys; sys.exit(sys.version_info < (3, 11))"
        assert subprocess.run([found, "-c", check], check=False).returncode == 0


def test_install_step_builds_its_own_venv_from_the_actions_checkout(tmp_path: Path) -> None:
    runner = Runner(tmp_path, tmp_path)
    runner.outputs["find-python"] = {"path": sys.executable}
    proc = runner.run("install", inputs())
    assert proc.returncode == 0, proc.stderr
    venv = runner.temp / "maniac-guard-venv"
    installed = runner.outputs["install"]
    assert installed == {"python": str(venv / "bin" / "python"), "maniac-guard": str(venv / "bin" / "maniac-guard")}
    assert proc.stdout.strip() == f"maniac-guard, version {__version__}"  # the action's own version
    where = subprocess.run(
        [installed["python"], "-c", "import maniac_guard; print(maniac_guard.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout
    assert where.startswith(str(venv))  # a real install in the venv, not the job's packages
    assert runner.untouched_job_environment()  # no PATH or env changes for later steps
