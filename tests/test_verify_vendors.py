"""Verification that fails closed and keeps other vendors' keys away from
Maniac, through the console script in SARIF against the stand-in API.

Issue 22, item 11: `--only-live` with the API unreachable dropped the key and
exited 0. Issue 23, item 5: Metaso issues `mk-` + 32 upper-case hex keys; a
key whose line names Metaso is still a leaked secret, reported with its
vendor, and never sent to the Maniac API; a key Maniac does not know is "not
live at Maniac (revoked, or not a Maniac key)", not "revoked".
"""

from __future__ import annotations

import json
import random
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fake_maniac import FakeManiac
from tests.helpers import fake_key, run_cli


@pytest.fixture
def api() -> Iterator[FakeManiac]:
    with FakeManiac() as server:
        yield server


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"XDG_CACHE_HOME": str(tmp_path / "cache"), "MANIAC_BASE_URL": "", "MANIAC_TIMEOUT": ""}


def metaso_key(seed: str) -> str:
    rng = random.Random(f"metaso-{seed}")
    return "mk-" + "".join(rng.choice("0123456789ABCDEF") for _ in range(32))


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there now


def _sarif(root: Path, env: dict[str, str], *args: str) -> tuple[int, list[dict[str, Any]], str]:
    proc = run_cli("scan", ".", *args, "--verify-retries", "0", "--format", "sarif", cwd=root, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)["runs"][0]["results"], proc.stdout + proc.stderr


@pytest.mark.parametrize("answer", ["unreachable", "failing"])
def test_only_live_keeps_a_key_the_api_did_not_answer_for(
    api: FakeManiac, tmp_path: Path, env: dict[str, str], answer: str
) -> None:
    key = api.add(fake_key(f"only-live-{answer}"), "failing")
    live = api.add(fake_key(f"only-live-live-{answer}"), "live")
    revoked = api.add(fake_key(f"only-live-revoked-{answer}"), "revoked")
    (tmp_path / ".env").write_text(f"MANIAC_API_KEY={key}\nLIVE={live}\nOLD={revoked}\n")
    url = _closed_port_url() if answer == "unreachable" else api.url
    code, results, output = _sarif(tmp_path, env, "--only-live", "--api-url", url, "--verify-timeout", "2")
    assert code == 1  # fails closed: an unanswered key is not a pass
    states = {
        r["locations"][0]["physicalLocation"]["region"]["startLine"]: r["properties"]["verification"] for r in results
    }
    if answer == "unreachable":
        assert states == {1: "unknown", 2: "unknown", 3: "unknown"}
    else:
        assert states == {1: "unknown", 2: "live"}  # the revoked key is the one dropped
    assert key[3:] not in output


def test_a_key_named_for_another_vendor_is_reported_and_never_sent(
    api: FakeManiac, tmp_path: Path, env: dict[str, str]
) -> None:
    metaso, vite = metaso_key("env"), metaso_key("vite")
    maniac = api.add(fake_key("vendor-maniac"), "live")
    (tmp_path / "web").mkdir()
    (tmp_path / ".env").write_text(f"METASO_API_KEY={metaso}\nMANIAC_API_KEY={maniac}\n")
    (tmp_path / "web" / ".env.local").write_text(f"VITE_METASO_API_KEY={vite}\n")
    (tmp_path / "notes.md").write_text(f"the old search key was {metaso}\n")  # unnamed here: still never sent
    code, results, output = _sarif(tmp_path, env, "--verify", "--api-url", api.url)
    assert code == 1
    sent = {request.key for request in api.requests}
    assert sent == {maniac}
    by_path: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        by_path.setdefault(result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], []).append(result)
    for path in (".env", "web/.env.local"):
        named = [r for r in by_path[path] if "Metaso" in r["message"]["text"]]
        assert len(named) == 1 and named[0]["ruleId"] == "MG101" and named[0]["level"] == "error"
        assert "probably a Metaso key" in named[0]["message"]["text"]
        assert named[0]["properties"]["verification"] == "unknown"
        assert "not sent to the Maniac API" in named[0]["properties"]["verificationReason"]
    assert by_path["notes.md"][0]["properties"]["verification"] == "unknown"
    maniac_result = next(r for r in by_path[".env"] if "Metaso" not in r["message"]["text"])
    assert maniac_result["properties"]["verification"] == "live"
    for key in (metaso, vite, maniac):
        assert key[3:] not in output


def test_a_key_maniac_does_not_know_is_not_live_at_maniac(api: FakeManiac, tmp_path: Path, env: dict[str, str]) -> None:
    unknown_to_maniac = fake_key("never-issued")  # the stand-in answers 401 invalid_api_key
    (tmp_path / "config.env").write_text(f"SEARCH_KEY={unknown_to_maniac}\n")
    code, results, output = _sarif(tmp_path, env, "--verify", "--api-url", api.url, "--fail-on", "critical")
    assert code == 0  # a key Maniac rejects is low severity: it grants no Maniac access
    (result,) = results
    assert result["properties"]["verification"] == "revoked"
    assert "not live at Maniac (revoked, or not a Maniac key)" in result["message"]["text"]
    assert "(revoked;" not in result["message"]["text"]
    assert "not live at Maniac" in result["properties"]["verificationReason"]
    assert unknown_to_maniac[3:] not in output
