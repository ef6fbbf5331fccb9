"""Verification against a fake Maniac API (a real HTTP server on 127.0.0.1)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from maniac_guard.config import ConfigError, Settings
from maniac_guard.findings import Finding, Location, Secret, Severity
from maniac_guard.verification import Verification
from maniac_guard.verify.cache import VerifyCache
from maniac_guard.verify.classify import classify, parse_wait
from maniac_guard.verify.options import VerifyOptions, check_base_url, resolve_options
from maniac_guard.verify.run import LIVE_REMEDIATION, verify_findings, verify_keys
from tests.fake_maniac import BEHAVIOURS, FakeManiac
from tests.helpers import fake_key


@pytest.fixture
def api() -> Iterator[FakeManiac]:
    with FakeManiac() as server:
        yield server


def fast(api: FakeManiac, **changes: object) -> VerifyOptions:
    """Options that keep the suite fast: short timeouts, tiny backoff, no cache."""
    values: dict[str, object] = dict(
        base_url=api.url,
        timeout=0.5,
        retries=2,
        budget=20.0,
        use_cache=False,
        backoff_base=0.01,
        backoff_cap=0.05,
        max_retry_wait=2.0,
        progress=False,
    )
    values.update(changes)
    return VerifyOptions(**values)  # type: ignore[arg-type]


def finding(secret: str | None, path: str = "app.py", line: int = 1, rule_id: str = "MG101") -> Finding:
    return Finding(
        rule_id=rule_id,
        severity=Severity.HIGH,
        message="Maniac API key in plain text",
        location=Location(path, line, 1, line, 40),
        secret=Secret(secret) if secret is not None else None,
        subject="" if secret else "committed config",
    )


# state, HTTP status of the final answer, requests the server sees (1 + retries)
EXPECTED = {
    "live": ("live", 200, 1),
    "revoked": ("revoked", 401, 1),
    "revoked-flat": ("revoked", 401, 1),
    "forbidden": ("live", 403, 1),
    "rate-limited-then-live": ("live", 200, 2),
    "reset-then-live": ("live", 200, 2),
    "rate-limited-long": ("unknown", 429, 1),
    "unavailable-then-live": ("live", 200, 2),
    "failing": ("unknown", 500, 3),
    "slow": ("unknown", None, 3),
    "malformed": ("unknown", 200, 1),
    "redirect": ("unknown", 302, 1),
}


def test_every_behaviour_is_classified_and_each_key_requested_once_plus_retries(api: FakeManiac) -> None:
    assert set(EXPECTED) == set(BEHAVIOURS)
    keys = {name: api.add(fake_key(f"behaviour-{name}"), name) for name in BEHAVIOURS}
    started = time.monotonic()
    report = verify_keys(list(keys.values()), fast(api, timeout=0.3))
    elapsed = time.monotonic() - started
    for name, key in keys.items():
        state, status, requests = EXPECTED[name]
        verdict = report.verdicts[key]
        assert (verdict.state, verdict.status) == (state, status), (name, verdict)
        assert len(api.requests_for(key)) == requests, name
    assert report.requests == len(api.requests) == sum(n for _, _, n in EXPECTED.values())
    # Three slow attempts at 0.3 s run alongside the rest (concurrency 4).
    assert elapsed < 5


def test_only_get_on_models_with_the_key_only_in_the_authorization_header(api: FakeManiac) -> None:
    keys = [api.add(fake_key(f"get-{b}"), b) for b in ("live", "revoked", "failing", "rate-limited-then-live")]
    verify_keys(keys, fast(api))
    assert api.requests
    for request in api.requests:
        assert request.method == "GET"
        assert request.path == "/v1/models"
        assert request.body == b""
        assert request.headers["authorization"] == f"Bearer {request.key}"
        others = {name: value for name, value in request.headers.items() if name != "authorization"}
        assert not any(key in str(others) or key in request.path for key in keys)


def test_reasons_explain_the_verdict_and_never_hold_the_key(api: FakeManiac) -> None:
    # The fake echoes the full key in its 401 message, as some APIs do.
    revoked = api.add(fake_key("echo"), "revoked")
    flat = api.add(fake_key("flat"), "revoked-flat")
    forbidden = api.add(fake_key("forbidden"), "forbidden")
    limited = api.add(fake_key("limited"), "rate-limited-long")
    report = verify_keys([revoked, flat, forbidden, limited], fast(api))
    assert revoked not in report.verdicts[revoked].reason
    assert "invalid_api_key" in report.verdicts[revoked].reason
    assert "invalid_api_key" in report.verdicts[flat].reason
    assert "lacks permission" in report.verdicts[forbidden].reason
    assert "rate limited" in report.verdicts[limited].reason and "cap" in report.verdicts[limited].reason


def test_distinct_keys_are_sent_once_and_only_keys_the_key_detector_accepts(api: FakeManiac) -> None:
    key = api.add(fake_key("dup"), "live")
    other_format = "sk-" + fake_key("other")[3:]  # a Python-rule literal in another format
    placeholder = "mk-" + "your" + "KeyHere1234567890"
    findings = [
        finding(key, "a.py", 1),
        finding(key, "b.env", 7),
        finding(key, "a.py", 9, rule_id="MG102"),
        finding(other_format, "c.py", 3, rule_id="MG201"),
        finding(placeholder, "d.py", 1),
        finding(None, "e.yaml"),
    ]
    out, report = verify_findings(findings, fast(api))
    assert [r.key for r in api.requests] == [key]
    assert report.requests == 1
    assert [f.verification.state if f.verification else None for f in out] == ["live"] * 3 + [None] * 3
    assert [f.severity for f in out[3:]] == [Severity.HIGH] * 3


def test_live_becomes_critical_with_remediation_revoked_low_unknown_unchanged(api: FakeManiac) -> None:
    live = api.add(fake_key("p-live"), "live")
    revoked = api.add(fake_key("p-revoked"), "revoked")
    unknown = api.add(fake_key("p-unknown"), "malformed")
    out, _ = verify_findings([finding(live), finding(revoked), finding(unknown), finding(None)], fast(api))
    assert [f.severity for f in out] == [Severity.CRITICAL, Severity.LOW, Severity.HIGH, Severity.HIGH]
    assert out[0].extra["remediation"] == LIVE_REMEDIATION
    for step in (
        "Revoke it in the Maniac dashboard now",
        "create a new key",
        "update the environment",
        "test",
        "delete the old key",
        "purge it from git history",
    ):
        assert step in LIVE_REMEDIATION
    assert out[0].fingerprint == finding(live).fingerprint  # baselines still match


def test_only_live_drops_revoked_keys_and_findings_without_a_key(api: FakeManiac) -> None:
    live = api.add(fake_key("o-live"), "forbidden")
    revoked = api.add(fake_key("o-revoked"), "revoked")
    failing = api.add(fake_key("o-failing"), "failing")
    findings = [finding(live), finding(revoked), finding(None), finding(failing)]
    out, _ = verify_findings(findings, fast(api), only_live=True)
    assert [f.secret for f in out] == [Secret(live), Secret(failing)]  # unknown is kept: fail closed


def test_redirects_are_not_followed_to_another_host(api: FakeManiac) -> None:
    with FakeManiac() as elsewhere:
        api.redirect_to = elsewhere.url + "/v1/models"
        key = api.add(fake_key("redirect"), "redirect")
        report = verify_keys([key], fast(api))
        assert report.verdicts[key].state == "unknown"
        assert elsewhere.requests == []


def test_the_time_budget_bounds_the_whole_step(api: FakeManiac) -> None:
    keys = [api.add(fake_key(f"slow-{i}"), "slow") for i in range(10)]
    started = time.monotonic()
    report = verify_keys(keys, fast(api, timeout=5.0, budget=0.6))
    assert time.monotonic() - started < 2.0
    assert {v.state for v in report.verdicts.values()} == {"unknown"}
    assert all("budget" in v.reason for v in report.verdicts.values())
    # Keys not reached before the deadline are never sent.
    assert len({r.key for r in api.requests}) <= 4


def test_rate_limit_wait_honours_retry_after_and_reset() -> None:
    now = 1_700_000_000.0
    assert parse_wait({"retry-after": "7"}, now) == 7
    assert parse_wait({"retry-after": "Tue, 14 Nov 2023 22:13:30 GMT"}, now) == pytest.approx(10, abs=1)
    assert parse_wait({"x-ratelimit-reset": "0.25"}, now) == 0.25
    assert parse_wait({"x-ratelimit-reset": str(now + 4)}, now) == pytest.approx(4)
    assert parse_wait({"x-ratelimit-reset": "1m30s"}, now) == 90
    assert parse_wait({"x-ratelimit-reset": "250ms"}, now) == 0.25
    assert parse_wait({}, now) is None


def test_an_outage_or_rate_limit_is_never_revoked() -> None:
    key = fake_key("never-revoked")
    auth_error = b'{"error": {"type": "authentication_error", "code": "invalid_api_key", "message": "x"}}'
    for status in (429, 500, 502, 503, 504):
        assert classify(status, {}, auth_error, key).verification.state == "unknown"
    assert classify(400, {}, b'{"error": "invalid_api_key", "message": "bad"}', key).verification.state == "revoked"
    assert classify(404, {}, b"{}", key).verification.state == "unknown"
    assert classify(403, {}, b"<html>blocked</html>", key).verification.state == "unknown"


def test_cache_answers_repeat_runs_without_storing_the_key(api: FakeManiac, tmp_path: Path) -> None:
    live = api.add(fake_key("c-live"), "live")
    revoked = api.add(fake_key("c-revoked"), "revoked")
    failing = api.add(fake_key("c-failing"), "failing")
    options = fast(api, use_cache=True, cache_dir=str(tmp_path), retries=0)
    verify_keys([live, revoked, failing], options)
    assert len(api.requests) == 3
    second = verify_keys([live, revoked, failing], options)
    assert len(api.requests) == 3 and second.cached == 3
    assert "cached" in second.verdicts[live].reason
    for path in tmp_path.rglob("*"):
        data = path.read_bytes()
        for key in (live, revoked, failing):
            assert key.encode() not in data and key[3:].encode() not in data and key not in path.name
    # --no-cache asks again
    verify_keys([live], fast(api, use_cache=False, cache_dir=str(tmp_path)))
    assert len(api.requests_for(live)) == 2


def test_cache_lifetimes_are_short_for_live_and_unknown(tmp_path: Path) -> None:
    cache = VerifyCache("https://platform.maniac.ai", tmp_path)
    key = fake_key("ttl")
    now = 1_000_000.0
    for state, fresh, stale in (("live", 60, 16 * 60), ("unknown", 30, 120), ("revoked", 24 * 3600, 8 * 24 * 3600)):
        cache.put(key, Verification(state, 200, "r"), now=now)
        assert cache.get(key, now=now + fresh) is not None, state
        assert cache.get(key, now=now + stale) is None, state
    # Another API base never sees this answer.
    assert VerifyCache("http://127.0.0.1:1", tmp_path).get(key, now=now) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://platform.maniac.ai",
        "http://127.0.0.1:8080",
        "http://localhost:1",
        "http://[::1]:9",
        "https://proxy.example.com/maniac/v1/",
    ],
)
def test_https_and_loopback_http_are_accepted(url: str) -> None:
    assert check_base_url(url).startswith(url.split(":")[0])
    assert not check_base_url(url).endswith("/v1")


@pytest.mark.parametrize(
    "url",
    [
        "http://platform.maniac.ai",
        "http://10.0.0.1",
        "ftp://127.0.0.1",
        "https://user:pw@platform.maniac.ai",
        "https://platform.maniac.ai/?k=1",
        "nonsense",
    ],
)
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigError):
        check_base_url(url)


def test_options_come_from_flags_then_config_then_sdk_variables() -> None:
    env = {"MANIAC_BASE_URL": "http://127.0.0.1:5", "MANIAC_TIMEOUT": "2.5", "MANIAC_MAX_RETRIES": "0"}
    options = resolve_options(Settings(), env)
    assert (options.base_url, options.timeout, options.retries) == ("http://127.0.0.1:5", 2.5, 0)
    flags = Settings(api_url="https://api.example.com", verify_timeout=1.0, verify_retries=4)
    options = resolve_options(flags, env)
    assert (options.base_url, options.timeout, options.retries) == ("https://api.example.com", 1.0, 4)
    assert resolve_options(Settings(), {}).base_url == "https://platform.maniac.ai"
    with pytest.raises(ConfigError, match="MANIAC_TIMEOUT"):
        resolve_options(Settings(), {"MANIAC_TIMEOUT": "soon"})
    with pytest.raises(ConfigError, match="MANIAC_BASE_URL"):
        resolve_options(Settings(), {"MANIAC_BASE_URL": "http://evil.example.com"})


def test_keys_only_in_deselected_rules_are_not_sent(api: FakeManiac) -> None:
    from maniac_guard.summary import ScanResult
    from maniac_guard.verify import verify_result

    kept = api.add(fake_key("sel-kept"), "live")
    dropped = api.add(fake_key("sel-dropped"), "live")
    result = ScanResult(findings=[finding(kept, rule_id="MG102"), finding(dropped, rule_id="MG101")])
    settings = Settings(verify=True, select=["MG102"], api_url=api.url, verify_cache=False)
    verify_result(result, settings, quiet=True)
    assert [r.key for r in api.requests] == [kept]
    assert result.stages.verification["live"] == 1  # type: ignore[index]
