"""One key, one question: `GET {base}/v1/models` with retries and a deadline.

Safety lives here: only GET, the key only in the Authorization header,
TLS verification on, no redirects followed, and every wait bounded by the
run's deadline.
"""

from __future__ import annotations

import random
import threading
import time
from types import TracebackType

from maniac_guard import __version__
from maniac_guard.verification import Verification
from maniac_guard.verify.classify import UNKNOWN, Outcome, classify
from maniac_guard.verify.options import VerifyOptions

MAX_BODY = 256 * 1024  # /v1/models is small; a huge answer is not one


class Checker:
    def __init__(self, options: VerifyOptions, deadline: float) -> None:
        import httpx

        self.options = options
        self.deadline = deadline
        self.requests = 0
        self._lock = threading.Lock()
        loopback = options.base_url.startswith("http://")
        self._client = httpx.Client(
            verify=True,
            follow_redirects=False,
            # Plain HTTP goes only to loopback: never through a proxy that
            # would see the key in clear. HTTPS may use the user's proxy (CONNECT).
            trust_env=not loopback,
            headers={"User-Agent": f"maniac-guard/{__version__} (key verification)", "Accept": "application/json"},
            limits=httpx.Limits(max_connections=options.concurrency),
        )

    def __enter__(self) -> Checker:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._client.close()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _once(self, key: str) -> Outcome:
        import httpx

        left = self.remaining()
        timeout = max(0.05, min(self.options.timeout, left))
        with self._lock:
            self.requests += 1
        try:
            with self._client.stream(
                "GET",
                self.options.models_url,
                headers={"Authorization": f"Bearer {key}"},
                timeout=timeout,
            ) as response:
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    # A server that drips bytes must not hold the run past its deadline.
                    if size > MAX_BODY or self.remaining() <= 0:
                        break
                return classify(response.status_code, response.headers, b"".join(chunks), key)
        except httpx.TimeoutException:
            return Outcome(Verification(UNKNOWN, None, f"no answer within {timeout:g}s"), retry=True)
        except httpx.HTTPError as exc:
            # Name the kind of failure only: httpx messages can carry the URL.
            return Outcome(Verification(UNKNOWN, None, f"network error ({type(exc).__name__})"), retry=True)

    def _backoff(self, attempt: int) -> float:
        delay = min(self.options.backoff_cap, self.options.backoff_base * 2**attempt)
        return float(delay * random.uniform(0.5, 1.0))

    def check(self, key: str) -> tuple[Verification, bool]:
        """The verdict, and whether it is worth caching (a real answer, not a deadline)."""
        attempts = self.options.retries + 1
        made = 0
        outcome: Outcome | None = None
        for attempt in range(attempts):
            if self.remaining() <= 0:
                break
            outcome = self._once(key)
            made += 1
            if not outcome.retry:
                return outcome.verification, True
            if made == attempts:
                break
            if outcome.wait is not None:
                if outcome.wait > self.options.max_retry_wait:
                    v = outcome.verification
                    cap = self.options.max_retry_wait
                    reason = f"{v.reason}; asked to wait {outcome.wait:.0f}s, more than the {cap:g}s cap"
                    return Verification(UNKNOWN, v.status, reason), True
                wait = outcome.wait
            else:
                wait = self._backoff(attempt)
            if wait >= self.remaining():
                break
            time.sleep(wait)
        if outcome is None:
            return Verification(
                UNKNOWN, None, f"not checked: the {self.options.budget:g}s time budget was used up"
            ), False
        v = outcome.verification
        if made == attempts:
            note = f" after {attempts} attempts" if attempts > 1 else ""
            return Verification(UNKNOWN, v.status, v.reason + note), True
        return Verification(
            UNKNOWN, v.status, f"{v.reason} (stopped: the {self.options.budget:g}s time budget ran out)"
        ), False
