"""The installed console script: `maniac-guard policy` and MG4xx inside `scan`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from tests.helpers import FIXTURES, fake_key, run_cli

HERE = FIXTURES / "permissions"


def _tree(tmp_path: Path, *parts: str) -> Path:
    """Fixtures are excluded by this repo's own config: scan copies of them."""
    root = tmp_path / "project"
    root.mkdir()
    for part in parts:
        source = HERE / part
        if source.is_dir():
            shutil.copytree(source, root / source.name)
        else:
            (root / source.name).write_bytes(source.read_bytes())
    return root


def test_policy_infer_prints_the_minimal_permissions_as_yaml_ready_to_paste(tmp_path: Path) -> None:
    root = _tree(tmp_path, "app")
    done = run_cli("policy", "app", "--infer", cwd=root)
    assert done.returncode == 1, done.stderr  # the declared key is over- and under-privileged
    pasted = done.stdout.split("\n\n", 1)[0]
    assert yaml.safe_load(pasted) == {
        "permissions": ["containers:read", "data:write", "inference:write", "traces:read"]
    }
    assert "#   app/dynamic.py:11: getattr(m, name)" in pasted
    assert "Traceback" not in done.stderr


def test_policy_compares_a_keys_code_globs_with_what_the_code_needs(tmp_path: Path) -> None:
    root = _tree(tmp_path, "app")
    done = run_cli("policy", "--format", "json", cwd=root)
    report = json.loads(done.stdout)
    got = sorted((f["rule_id"], f["line"], f["details"]["yaml_path"]) for f in report["findings"])
    assert got == [
        ("MG404", 9, "keys[0].permissions[1]"),
        ("MG412", 9, "keys[0].permissions[1]"),
        ("MG412", 9, "keys[0].permissions[2]"),
        ("MG413", 9, "keys[0].permissions"),
        ("MG413", 9, "keys[0].permissions"),
    ]
    assert all(f["path"] == "app/maniac-keys.yaml" for f in report["findings"])


def test_policy_json_holds_the_inferred_set(tmp_path: Path) -> None:
    root = _tree(tmp_path, "app")
    report = json.loads(run_cli("policy", "--infer", "--format", "json", cwd=root).stdout)
    assert report["summary"]["inferred"]["permissions"] == [
        "containers:read",
        "data:write",
        "inference:write",
        "traces:read",
    ]
    assert len(report["summary"]["inferred"]["unresolved"]) == 2


def test_policy_with_a_user_policy_lists_waived_findings_and_counts_them(tmp_path: Path) -> None:
    root = _tree(tmp_path, "declarations", "policies")
    done = run_cli("policy", "declarations/bad", "--policy", "policies/strict.yaml", cwd=root)
    assert done.returncode == 1
    assert "MG404 info declarations/bad/maniac-keys.yaml:22:9" in done.stdout
    assert "Waived: 1 finding (listed above as info, not hidden):" in done.stdout
    assert (
        "MG404 declarations/bad/maniac-keys.yaml:22 until 2026-12-31: dashboard migration, ticket OPS-12" in done.stdout
    )
    assert "waiver expired on 2026-01-01" in done.stdout  # MG403 is back
    assert "MG410" not in done.stdout  # disabled by the policy


def test_the_config_key_policy_is_used_by_scan_and_policy(tmp_path: Path) -> None:
    root = _tree(tmp_path, "declarations", "policies")
    (root / ".maniac-guard.toml").write_text('policy = "policies/strict.yaml"\n')
    for command in ("scan", "policy"):
        done = run_cli(command, "declarations/bad", cwd=root)
        assert "waived until 2026-12-31" in done.stdout, (command, done.stdout, done.stderr)
        assert "MG410" not in done.stdout


def test_a_broken_policy_is_exit_2_with_one_line(tmp_path: Path) -> None:
    root = _tree(tmp_path, "declarations", "policies")
    done = run_cli("policy", "declarations", "--policy", "policies/broken.yaml", cwd=root)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "broken.yaml: severity.MG406: 'urgent' is not one of" in done.stderr


def test_scan_reports_bad_declarations_and_goes_on_with_the_next_file(tmp_path: Path) -> None:
    root = _tree(tmp_path, "bad-yaml", "docs")
    key = fake_key("permissions-cli")
    (root / "settings.py").write_text(f'MANIAC_KEY = "{key}"\n')
    done = run_cli("scan", ".", "--format", "json", cwd=root)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and key not in done.stdout + done.stderr
    report = json.loads(done.stdout)
    got = sorted({(f["rule_id"], f["path"], f["line"]) for f in report["findings"]})
    assert ("MG401", "bad-yaml/alias-bomb.maniac-keys.yaml", 2) in got
    assert ("MG401", "bad-yaml/malformed.maniac-keys.yaml", 5) in got
    assert ("MG401", "bad-yaml/custom-tag.maniac-keys.yaml", 4) in got
    assert ("MG401", "bad-yaml/recursive.maniac-keys.yaml", 1) in got
    assert ("MG404", "docs/full-access.yaml", 3) in got
    assert any(rule.startswith("MG1") or rule.startswith("MG2") for rule, path, _ in got if path == "settings.py")
    malformed = [f for f in report["findings"] if f["path"].endswith("malformed.maniac-keys.yaml")]
    assert malformed[0]["message"].count("\n") == 0


def test_rules_and_explain_know_the_permission_rules() -> None:
    listed = run_cli("rules").stdout
    assert all(f"MG4{n:02d}" in listed for n in range(1, 15))
    assert "## Fix safety" in run_cli("explain", "MG412").stdout
