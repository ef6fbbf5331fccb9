"""Where and how to verify: base URL checks and settings resolution.

Kept free of httpx so the CLI can validate `--api-url` without paying for
the import.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from maniac_guard.config import ConfigError, Settings
from maniac_guard.records import dataclass

DEFAULT_BASE_URL = "https://platform.maniac.ai"
DEFAULT_TIMEOUT = 10.0  # seconds per request; the SDK's 60 s is too long for a scan
DEFAULT_RETRIES = 2  # the SDK's default
DEFAULT_BUDGET = 60.0  # seconds for the whole verification step
CONCURRENCY = 4
MAX_RETRY_WAIT = 10.0  # longest Retry-After / x-ratelimit-reset we honour
BACKOFF_BASE = 0.5  # 5xx / network errors: 0.5 s, 1 s, 2 s, … (with jitter)
BACKOFF_CAP = 4.0


@dataclass(frozen=True)
class VerifyOptions:
    base_url: str = DEFAULT_BASE_URL
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    budget: float = DEFAULT_BUDGET
    concurrency: int = CONCURRENCY
    max_retry_wait: float = MAX_RETRY_WAIT
    backoff_base: float = BACKOFF_BASE
    backoff_cap: float = BACKOFF_CAP
    use_cache: bool = True
    cache_dir: str | None = None  # None: the platformdirs user cache dir
    progress: bool = True  # a bar on a terminal, for more than a handful of keys

    @property
    def models_url(self) -> str:
        return self.base_url + "/v1/models"


def _is_loopback(host: str) -> bool:
    if host.lower() in {"localhost", "localhost."}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, origin: str = "--api-url") -> str:
    """The base URL, normalised, or ConfigError: HTTPS only, plain HTTP only to loopback."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ConfigError(f"{origin}: not a valid URL: {text!r}") from None
    if parts.scheme not in {"https", "http"} or not host:
        raise ConfigError(
            f"{origin}: must be an https:// URL (or http:// to a loopback address such as "
            f"http://127.0.0.1:8765), got {text!r}"
        )
    if parts.scheme == "http" and not _is_loopback(host):
        raise ConfigError(
            f"{origin}: plain http is only allowed to loopback addresses (127.0.0.1, ::1, localhost); use https"
        )
    if parts.username or parts.password:
        raise ConfigError(f"{origin}: must not carry a user name or password")
    if parts.query or parts.fragment:
        raise ConfigError(f"{origin}: must not carry a query or fragment")
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):  # the SDK's base excludes /v1; accept it either way
        path = path[: -len("/v1")]
    return f"{parts.scheme}://{parts.netloc}{path}"


def _env_number(env: Mapping[str, str], name: str, kind: type[float] | type[int]) -> float | int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(
            f"{name}={raw!r}: must be a {'number of seconds' if kind is float else 'whole number'}"
        ) from None
    if value < 0 or (kind is float and value == 0):
        raise ConfigError(f"{name}={raw!r}: must be {'positive' if kind is float else 'zero or more'}")
    return value


def resolve_options(settings: Settings, env: Mapping[str, str] | None = None, *, quiet: bool = False) -> VerifyOptions:
    """CLI flag, then config file, then the SDK's MANIAC_* variables, then defaults.

    The base URL never comes from a config file: a scanned repository must
    not be able to send the keys it holds somewhere else.
    """
    env = os.environ if env is None else env
    if settings.api_url:
        base = check_base_url(settings.api_url, "--api-url")
    elif env.get("MANIAC_BASE_URL", "").strip():
        base = check_base_url(env["MANIAC_BASE_URL"], "MANIAC_BASE_URL")
    else:
        base = DEFAULT_BASE_URL
    timeout = settings.verify_timeout
    if timeout is None:
        timeout = float(_env_number(env, "MANIAC_TIMEOUT", float) or DEFAULT_TIMEOUT)
    retries = settings.verify_retries
    if retries is None:
        from_env = _env_number(env, "MANIAC_MAX_RETRIES", int)
        retries = DEFAULT_RETRIES if from_env is None else int(from_env)
    budget = settings.verify_budget if settings.verify_budget is not None else DEFAULT_BUDGET
    return VerifyOptions(
        base_url=base,
        timeout=timeout,
        retries=retries,
        budget=budget,
        use_cache=settings.verify_cache,
        progress=not quiet,
    )
