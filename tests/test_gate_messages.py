"""What the git gates say when they are given something they cannot use:
an empty range (an unset CI variable), a date where a revision goes, lines
on a hook's stdin that are not git's, a CI clone without `origin`; and what
history says about a key still at HEAD under another rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.gitrepo import Repo, started_repo
from tests.helpers import fake_key, run_cli, run_in_process


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return started_repo(tmp_path)


@pytest.mark.parametrize(
    "args",
    [
        ("scan", "--range", ""),
        ("scan", "--since", ""),
        ("scan", "--history", "--range", ""),
        ("ci", "--range", ""),
    ],
    ids=["scan-range", "scan-since", "history-range", "ci-range"],
)
def test_an_empty_range_is_a_usage_error_not_a_scan_of_the_work_tree(repo: Repo, args: tuple[str, ...]) -> None:
    # A key in the work tree: scanning it instead of the (empty) range would exit 1.
    repo.write("leak.env", f"MANIAC_API_KEY={fake_key('empty-range')}\n")
    proc = run_cli(*args, cwd=repo.path, env=repo.env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1, proc.stderr
    assert "is empty" in errors[0] and args[-2] in errors[0]
    assert "leak.env" not in proc.stdout + proc.stderr


def test_since_with_a_date_says_it_takes_a_revision(repo: Repo) -> None:
    proc = run_in_process("scan", "--since", "2024-01-01", cwd=repo.path, env=repo.env)
    assert proc.returncode == 2
    assert "--since takes a revision" in proc.stderr, proc.stderr
    assert "'2024-01-01'" in proc.stderr


def test_pre_push_with_lines_that_are_not_gits_says_what_it_expects(repo: Repo) -> None:
    proc = run_in_process("pre-push", "origin", "url", cwd=repo.path, env=repo.env, input="x y z w\n")
    assert proc.returncode == 2
    assert "fatal" not in proc.stderr and "bad revision" not in proc.stderr, proc.stderr
    assert "stdin line 1 is not `<local ref> <local sha> <remote ref> <remote sha>`" in proc.stderr


def test_ci_on_a_new_branch_without_origin_does_not_claim_a_branch_it_lacks(repo: Repo) -> None:
    env = {**repo.env, "GITLAB_CI": "true", "CI_PIPELINE_SOURCE": "push", "CI_DEFAULT_BRANCH": "main"}
    env |= {"CI_COMMIT_SHA": repo.head(), "CI_COMMIT_BRANCH": "feature", "CI_COMMIT_BEFORE_SHA": "0" * 40}
    proc = run_in_process("ci", cwd=repo.path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "using this clone's origin/main" not in proc.stderr
    assert "no remote `origin`" in proc.stderr, proc.stderr


def test_history_says_a_key_is_still_at_head_when_another_rule_reports_it_there(repo: Repo) -> None:
    key = fake_key("still-at-head")
    # Added first as a plain key (MG101), then used by the SDK (MG201) at HEAD.
    repo.write("app.py", f'KEY = "{key}"\n')
    repo.commit("a key")
    repo.write("app.py", f'from maniac import Maniac\nKEY = "{key}"\nclient = Maniac(api_key=KEY)\n')
    repo.commit("use it")
    proc = run_in_process("scan", "--history", "--format", "json", cwd=repo.path, env=repo.env)
    assert proc.returncode == 1, proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    assert findings
    for finding in findings:
        assert finding["details"]["present_at_head"] is True, finding
        assert "no longer at HEAD" not in finding["message"]


def _fingerprint(repo: Repo, path: str) -> str:
    proc = run_cli("scan", path, "--format", "json", cwd=repo.path, env=repo.env)
    return str(json.loads(proc.stdout)["findings"][0]["fingerprint"])


@pytest.mark.parametrize("how", ["config-exclude", "config-ignore-rules", "ignore-file", "baseline", "max-file-size"])
def test_ci_judges_a_change_by_its_bases_configuration_not_its_own(repo: Repo, how: str) -> None:
    key = fake_key(f"trust-{how}")
    repo.write("deploy.sh", f"export MANIAC_API_KEY={key}\n")
    if how == "config-exclude":
        repo.write(".maniac-guard.toml", 'exclude = ["**"]\n')
    elif how == "config-ignore-rules":
        repo.write("pyproject.toml", '[tool.maniac-guard]\nignore = ["MG101"]\nselect = ["MG1", "MG3"]\n')
    elif how == "max-file-size":
        repo.write(".maniac-guard.toml", "max-file-size = 10\n")
    elif how == "ignore-file":
        repo.write(".maniac-guard-ignore", f"{_fingerprint(repo, 'deploy.sh')}  # accepted by the change itself\n")
    else:
        run = run_in_process("baseline", "create", "deploy.sh", cwd=repo.path, env=repo.env)
        assert run.returncode == 0, run.stderr
    repo.commit("a key, and the rules to let it through")
    args = ("--baseline", ".maniac-guard-baseline.json") if how == "baseline" else ()
    proc = run_in_process("ci", "--format", "json", *args, cwd=repo.path, env=repo.env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert [f["rule_id"] for f in json.loads(proc.stdout)["findings"]] == ["MG101"]
    assert "judged by its base" in proc.stderr


def test_ci_applies_the_bases_configuration(repo: Repo) -> None:
    repo.write(".maniac-guard.toml", 'exclude = ["vendor/**"]\n')
    repo.commit("config")
    repo.write("vendor/lib.sh", f"export MANIAC_API_KEY={fake_key('vendored')}\n")
    repo.commit("a vendored file")
    proc = run_in_process("ci", cwd=repo.path, env=repo.env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "configuration from .maniac-guard.toml at" in proc.stderr


def test_ci_lists_the_inline_suppressions_a_change_adds(repo: Repo) -> None:
    key = fake_key("suppressed-by-change")
    repo.write("old.sh", f"export OLD={fake_key('suppressed-before')}  # maniac-guard: ignore\n")
    repo.commit("an accepted key, long ago")
    repo.write("old.sh", f"echo start\nexport OLD={fake_key('suppressed-before')}  # maniac-guard: ignore\n")
    repo.write("deploy.sh", f"export MANIAC_API_KEY={key}  # maniac-guard: ignore[MG101]\n")
    body = 'PREFIX = "mk-"\nclient = Maniac(api_key=PREFIX + "SKuCzYRumfOhEmUv5a41WEODLWfspjT7")'
    repo.write("app.py", f"from maniac import Maniac\n{body}  # maniac-guard: ignore\n")
    repo.commit("a key and a comment that hides it")
    proc = run_in_process("ci", "--format", "json", cwd=repo.path, env=repo.env)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["findings"] == []
    added = report["summary"]["suppressions_added"]
    assert sorted((s["rule_id"], s["path"], s["line"]) for s in added) == [
        ("MG101", "deploy.sh", 1),
        ("MG203", "app.py", 3),
    ]
    text = run_in_process("ci", cwd=repo.path, env=repo.env)
    assert "2 inline suppressions added by this change: " in text.stdout, text.stdout
    sarif = run_in_process("ci", "--format", "sarif", cwd=repo.path, env=repo.env)
    results = json.loads(sarif.stdout)["runs"][0]["results"]
    assert sorted(r["ruleId"] for r in results) == ["MG101", "MG203"]
    assert all(r["suppressions"][0]["kind"] == "inSource" for r in results)
    assert key not in sarif.stdout + text.stdout + proc.stdout

    failing = run_in_process("ci", "--format", "json", "--fail-on-new-suppressions", cwd=repo.path, env=repo.env)
    assert failing.returncode == 1, failing.stderr
    assert sorted(f["rule_id"] for f in json.loads(failing.stdout)["findings"]) == ["MG101", "MG203"]
