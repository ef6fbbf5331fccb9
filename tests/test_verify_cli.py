"""`maniac-guard scan --verify` end to end: the installed console script
against a fake Maniac API on 127.0.0.1."""

from __future__ import annotations

import json
import os
import pty
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_maniac import FakeManiac
from tests.helpers import console_script, fake_key, run_cli, run_in_process


@pytest.fixture
def api() -> Iterator[FakeManiac]:
    with FakeManiac() as server:
        yield server


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A private cache dir, and no MANIAC_* settings leaking in from the caller."""
    values = {
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "MANIAC_BASE_URL": "",
        "MANIAC_TIMEOUT": "",
        "MANIAC_MAX_RETRIES": "",
    }
    return values


class Tree:
    def __init__(self, root: Path, api: FakeManiac) -> None:
        self.root = root
        self.live = api.add(fake_key("cli-live"), "live")
        self.forbidden = api.add(fake_key("cli-forbidden"), "forbidden")
        self.revoked = api.add(fake_key("cli-revoked"), "revoked")  # echoes the key in its message
        self.failing = api.add(fake_key("cli-failing"), "failing")
        self.keys = [self.live, self.forbidden, self.revoked, self.failing]
        root.mkdir()
        (root / "app.py").write_text(f'client = Maniac(api_key="{self.live}")\nOTHER = "{self.revoked}"\n')
        (root / "settings.env").write_text(f"MANIAC_API_KEY={self.live}\nBACKUP={self.forbidden}\n")
        (root / "notes.md").write_text(f"old key: {self.failing}\n")


@pytest.fixture
def tree(tmp_path: Path, api: FakeManiac) -> Tree:
    return Tree(tmp_path / "project", api)


def scan(api: FakeManiac, tree: Tree, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_in_process(
        "scan",
        ".",
        "--verify",
        "--api-url",
        api.url,
        "--verify-timeout",
        "0.5",
        "--verify-retries",
        "1",
        *args,
        env=env,
        cwd=tree.root,
    )


def assert_no_key(tree: Tree, *texts: str, folders: tuple[Path, ...] = ()) -> None:
    blobs = [t.encode() for t in texts]
    for folder in folders:
        blobs += [p.read_bytes() + p.name.encode() for p in folder.rglob("*") if p.is_file()]
    for key in tree.keys:
        for blob in blobs:
            assert key.encode() not in blob and key[3:].encode() not in blob


def test_json_report_carries_each_verdict_and_live_keys_become_critical(
    api: FakeManiac, tree: Tree, env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "report.json"
    result = scan(api, tree, env, "--format", "json", "-o", str(out), "--fail-on", "critical")
    assert result.returncode == 1, result.stderr
    report = json.loads(out.read_text())
    by_line = {(f["path"], f["line"]): f for f in report["findings"]}
    live = by_line[("app.py", 1)]
    assert live["verification"] == {"state": "live", "status": 200, "reason": "the key works: it listed the models"}
    assert live["severity"] == "critical"
    assert "Revoke it in the Maniac dashboard now" in live["details"]["remediation"]
    assert by_line[("settings.env", 1)]["verification"]["state"] == "live"
    assert by_line[("settings.env", 2)]["verification"]["state"] == "live"
    assert by_line[("settings.env", 2)]["verification"]["status"] == 403
    assert by_line[("app.py", 2)]["verification"]["state"] == "revoked"
    assert by_line[("app.py", 2)]["severity"] == "low"
    unknown = by_line[("notes.md", 1)]["verification"]
    assert unknown["state"] == "unknown" and unknown["status"] == 500
    summary = report["summary"]["verification"]
    assert (summary["keys"], summary["live"], summary["revoked"], summary["unknown"]) == (4, 2, 1, 1)
    # One request per distinct key (the live key is in two files), plus one retry for the failing one.
    assert sorted(r.key for r in api.requests) == sorted([tree.live, tree.forbidden, tree.revoked] + [tree.failing] * 2)
    assert {r.method for r in api.requests} == {"GET"}
    assert_no_key(tree, result.stdout, result.stderr, folders=(tmp_path / "cache", out.parent))


def test_fail_on_still_decides_the_exit_code(api: FakeManiac, tmp_path: Path, env: dict[str, str]) -> None:
    root = tmp_path / "only-revoked"
    root.mkdir()
    (root / "old.txt").write_text(api.add(fake_key("exit-revoked"), "revoked-flat") + "\n")
    args = ("scan", str(root), "--verify", "--api-url", api.url, "--format", "json")
    assert run_cli(*args, "--fail-on", "medium", env=env).returncode == 0  # revoked → low
    assert run_cli(*args, "--no-cache", "--fail-on", "low", env=env).returncode == 1


def test_text_report_shows_the_verdict_beside_each_finding(api: FakeManiac, tree: Tree, env: dict[str, str]) -> None:
    result = scan(api, tree, env, "--format", "text")
    assert result.returncode == 1
    assert "verified: live (HTTP 200): the key works" in result.stdout
    assert "verified: revoked (HTTP 401)" in result.stdout
    assert "verified: unknown (HTTP 500)" in result.stdout
    assert "help: This key still works. Revoke it in the Maniac dashboard now." in result.stdout
    assert "Verified 4 distinct key(s)" in result.stdout
    assert_no_key(tree, result.stdout, result.stderr)


def test_sarif_results_carry_state_status_and_reason(api: FakeManiac, tree: Tree, env: dict[str, str]) -> None:
    result = scan(api, tree, env, "--format", "sarif")
    results = json.loads(result.stdout)["runs"][0]["results"]
    keyed = [r for r in results if "maskedSecret" in r["properties"]]
    assert all("verification" not in r["properties"] for r in results if r not in keyed)
    states = sorted(r["properties"]["verification"] for r in keyed)
    assert states == ["live", "live", "live", "revoked", "unknown"]
    live = next(r for r in keyed if r["properties"]["verificationStatus"] == 200)
    assert live["level"] == "error" and live["properties"]["verificationReason"]
    assert_no_key(tree, result.stdout, result.stderr)


def test_only_live_reports_live_keys_only(api: FakeManiac, tree: Tree, env: dict[str, str]) -> None:
    (tree.root / "id_maniac.yaml").write_text("api_key: ${MANIAC_API_KEY}\n")
    result = run_cli(
        "scan",
        str(tree.root),
        "--only-live",
        "--api-url",
        api.url,
        "--verify-retries",
        "0",
        "--format",
        "json",
        env=env,
    )
    findings = json.loads(result.stdout)["findings"]
    # Live keys, and the failing one (unknown: fails closed); the revoked key
    # and the config file (no key) are dropped.
    assert findings and {f["verification"]["state"] for f in findings} == {"live", "unknown"}
    assert len(findings) == 4


def test_without_verify_nothing_is_sent(api: FakeManiac, tree: Tree, env: dict[str, str]) -> None:
    result = run_cli("scan", str(tree.root), "--format", "json", env={**env, "MANIAC_BASE_URL": api.url})
    assert result.returncode == 1
    assert api.requests == []
    assert all(f["verification"] is None for f in json.loads(result.stdout)["findings"])


def test_config_file_can_turn_verify_on_but_not_choose_where_keys_go(
    api: FakeManiac, tree: Tree, env: dict[str, str]
) -> None:
    (tree.root / ".maniac-guard.toml").write_text("verify = true\nverify-retries = 0\n")
    result = run_cli("scan", str(tree.root), "--format", "json", env={**env, "MANIAC_BASE_URL": api.url})
    assert {r.key for r in api.requests} == set(tree.keys)
    assert len(api.requests) == 4  # verify-retries = 0 from the config
    keyed = [f for f in json.loads(result.stdout)["findings"] if f["masked_secret"]]
    assert keyed and all(f["verification"] for f in keyed)
    (tree.root / ".maniac-guard.toml").write_text(f'verify = true\napi-url = "{api.url}"\n')
    refused = run_cli("scan", str(tree.root), env=env)
    assert refused.returncode == 2 and "unknown config key 'api-url'" in refused.stderr


def test_plain_http_to_another_host_is_refused_before_scanning(tree: Tree, env: dict[str, str]) -> None:
    result = run_cli("scan", str(tree.root), "--verify", "--api-url", "http://platform.maniac.ai", env=env)
    assert result.returncode == 2
    assert "loopback" in result.stderr and "Traceback" not in result.stderr
    from_env = run_cli("scan", str(tree.root), "--verify", env={**env, "MANIAC_BASE_URL": "http://203.0.113.9"})
    assert from_env.returncode == 2
    assert from_env.stderr.strip().count("\n") == 0 and "MANIAC_BASE_URL" in from_env.stderr


def test_sdk_environment_variables_are_honoured(api: FakeManiac, tree: Tree, env: dict[str, str]) -> None:
    api.add(tree.failing, "slow")
    result = run_cli(
        "scan",
        str(tree.root),
        "--verify",
        "--format",
        "json",
        "--no-cache",
        env={**env, "MANIAC_BASE_URL": api.url, "MANIAC_TIMEOUT": "0.3", "MANIAC_MAX_RETRIES": "0"},
    )
    slow = [f for f in json.loads(result.stdout)["findings"] if f["path"].endswith("notes.md")][0]
    assert slow["verification"]["state"] == "unknown"
    assert "0.3s" in slow["verification"]["reason"]
    assert len(api.requests_for(tree.failing)) == 1


def test_a_second_run_is_answered_from_the_cache_and_no_cache_asks_again(
    api: FakeManiac, tree: Tree, env: dict[str, str], tmp_path: Path
) -> None:
    scan(api, tree, env, "--format", "json")
    first = len(api.requests)
    again = scan(api, tree, env, "--format", "json")
    summary = json.loads(again.stdout)["summary"]["verification"]
    # live and revoked answers are reused; the failing key's unknown is too, for a minute.
    assert len(api.requests) == first and summary["cached"] == 4
    scan(api, tree, env, "--format", "json", "--no-cache")
    assert len(api.requests) == 2 * first
    assert_no_key(tree, again.stdout, again.stderr, folders=(tmp_path / "cache",))


def test_progress_bar_on_a_terminal_shows_counts_not_keys(api: FakeManiac, tmp_path: Path, env: dict[str, str]) -> None:
    root = tmp_path / "many"
    root.mkdir()
    keys = [api.add(fake_key(f"many-{i}"), "live") for i in range(8)]
    (root / "keys.txt").write_text("\n".join(keys) + "\n")
    out = tmp_path / "report.json"
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [console_script(), "scan", str(root), "--verify", "--api-url", api.url, "--format", "json", "-o", str(out)],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env={**os.environ, **env, "TERM": "xterm"},
        close_fds=True,
    )
    os.close(follower)
    captured = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        captured += chunk
    assert process.wait(timeout=60) == 1
    os.close(leader)
    assert len(api.requests) == 8
    text = captured.decode("utf-8", "replace")
    assert "Verifying keys" in text
    assert not any(key in text or key[3:] in text for key in keys)


@pytest.mark.parametrize("only_live", [False, True])
def test_fix_keeps_the_verdicts_of_what_it_could_not_fix(
    api: FakeManiac, tmp_path: Path, env: dict[str, str], only_live: bool
) -> None:
    """After --fix, the fixed files are scanned again; what is still there
    keeps its verdict (no second request), and --only-live still hides the rest."""
    live, revoked = api.add(fake_key("fix-live"), "live"), api.add(fake_key("fix-revoked"), "revoked")
    root = tmp_path / "fixme"
    root.mkdir()
    (root / "app.py").write_text(
        f'from maniac import Maniac\n\n# old key: {live}\nclient = Maniac(api_key="{live}")\nOTHER = "{revoked}"\n'
    )
    verify = "--only-live" if only_live else "--verify"
    result = run_cli("scan", ".", "--fix", verify, "--api-url", api.url, "--format", "json", env=env, cwd=root)
    assert 'Maniac(api_key=os.getenv("MANIAC_API_KEY"))' in (root / "app.py").read_text()
    states = {f["line"]: (f["verification"] or {}).get("state") for f in json.loads(result.stdout)["findings"]}
    assert states == ({4: "live"} if only_live else {4: "live", 6: "revoked"})  # `import os` came first
    assert sorted(r.key for r in api.requests) == [live, revoked]


def test_ctrl_c_exits_130_not_1(tmp_path: Path, env: dict[str, str]) -> None:
    """Interrupted (here while a verification request hangs), the scan has no
    verdict: exit 130, as shells report SIGINT, never 1 ("findings")."""
    import signal
    import socket
    import time

    (tmp_path / "a.env").write_text(f"MANIAC_API_KEY={fake_key('sigint')}\n")
    with socket.socket() as silent:  # accepts, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        proc = subprocess.Popen(
            [console_script(), "scan", str(tmp_path), "--verify", "--api-url", url, "--verify-timeout", "60"],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        silent.settimeout(30)
        connection, _ = silent.accept()  # the request is in flight
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        connection.close()
    assert proc.returncode == 130, (out, err)
    assert err.strip().splitlines()[-1] == "maniac-guard: interrupted"
