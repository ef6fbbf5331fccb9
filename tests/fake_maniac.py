"""A fake Maniac API for the tests: a real HTTP server on 127.0.0.1.

It serves `GET /v1/models` and answers by the Bearer key's behaviour. Every
request (any method, any path) is recorded with its headers, so tests can
check what maniac-guard sent and how often.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODELS = {"object": "list", "data": [{"id": "maniac-large", "object": "model"}]}

# Behaviour name → what the server does. Stateful ones count attempts per key.
BEHAVIOURS = (
    "live",  # 200 models list
    "revoked",  # 401 nested error body that echoes the full key
    "revoked-flat",  # 401 flat error body
    "forbidden",  # 403: authenticates, lacks permission
    "rate-limited-then-live",  # 429 Retry-After: 0, then 200
    "reset-then-live",  # 429 x-ratelimit-reset: 0.1, then 200
    "rate-limited-long",  # 429 Retry-After: 3600 (beyond any cap)
    "unavailable-then-live",  # 503, then 200
    "failing",  # always 500
    "slow",  # answers after SLOW_SECONDS (a client timeout)
    "malformed",  # 200 with an HTML body
    "redirect",  # 302 to another server
)
SLOW_SECONDS = 3.0


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def key(self) -> str:
        auth = self.headers.get("authorization", "")
        return auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""


class FakeManiac:
    """`with FakeManiac() as api: api.add(key, "live"); api.url`"""

    def __init__(self) -> None:
        self.behaviours: dict[str, str] = {}
        self.requests: list[Request] = []
        self.redirect_to = "http://127.0.0.1:9/elsewhere"
        self._attempts: Counter[str] = Counter()
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with fake._lock:
                    fake.requests.append(request)
                    fake._attempts[request.key] += 1
                    attempt = fake._attempts[request.key]
                status, headers, payload = fake.answer(request, attempt)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that timed out and hung up is what "slow" tests

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, key: str, behaviour: str) -> str:
        assert behaviour in BEHAVIOURS, behaviour
        self.behaviours[key] = behaviour
        return key

    def requests_for(self, key: str) -> list[Request]:
        return [r for r in self.requests if r.key == key]

    def answer(self, request: Request, attempt: int) -> tuple[int, dict[str, str], bytes]:
        json_type = {"Content-Type": "application/json"}
        if request.path != "/v1/models":
            return 404, json_type, _json({"error": {"type": "not_found", "code": "not_found", "message": "no route"}})
        behaviour = self.behaviours.get(request.key)
        if behaviour is None or behaviour == "revoked":
            error = {
                "type": "authentication_error",
                "code": "invalid_api_key",
                "message": f"Incorrect API key provided: {request.key}",
            }
            return 401, json_type, _json({"error": error})
        if behaviour == "live":
            return 200, json_type, _json(MODELS)
        if behaviour == "revoked-flat":
            return 401, json_type, _json({"error": "invalid_api_key", "message": "This API key has been revoked."})
        if behaviour == "forbidden":
            error = {
                "type": "permission_error",
                "code": "insufficient_permissions",
                "message": "This key lacks models:read.",
            }
            return 403, json_type, _json({"error": error})
        if behaviour in ("rate-limited-then-live", "reset-then-live") and attempt == 1:
            wait = {"Retry-After": "0"} if behaviour == "rate-limited-then-live" else {"x-ratelimit-reset": "0.1"}
            error = {"type": "rate_limit_error", "code": "rate_limited", "message": "Slow down."}
            return 429, {**json_type, **wait}, _json({"error": error})
        if behaviour == "rate-limited-long":
            return 429, {**json_type, "Retry-After": "3600"}, _json({"error": "rate_limited", "message": "Slow down."})
        if behaviour == "unavailable-then-live" and attempt == 1:
            return (
                503,
                json_type,
                _json({"error": {"type": "service_unavailable", "code": "auth_backend_down", "message": "Try again."}}),
            )
        if behaviour in ("rate-limited-then-live", "reset-then-live", "unavailable-then-live"):
            return 200, json_type, _json(MODELS)
        if behaviour == "failing":
            return 500, json_type, _json({"error": {"type": "server_error", "code": "internal", "message": "Boom."}})
        if behaviour == "slow":
            time.sleep(SLOW_SECONDS)
            return 200, json_type, _json(MODELS)
        if behaviour == "malformed":
            return 200, {"Content-Type": "text/html"}, b"<html><body>Welcome to the captive portal</body></html>"
        if behaviour == "redirect":
            return 302, {"Location": self.redirect_to}, b""
        raise AssertionError(behaviour)

    def __enter__(self) -> FakeManiac:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _json(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")
