"""Where the chain ends: the Maniac SDK as a program hands it a credential
(`sink:*`), and, in negative programs, where the literal sits instead
(`harmless:*`: somewhere it is not a Maniac credential)."""

from __future__ import annotations

from collections.abc import Callable

from tests.flowgen.model import Builder, fstring

Sink = Callable[[Builder, str], None]
SINKS: dict[str, Sink] = {}
HARMLESS: dict[str, Callable[[Builder, str], None]] = {}


def sink(name: str) -> Callable[[Sink], Sink]:
    def register(function: Sink) -> Sink:
        SINKS[name] = function
        return function

    return register


def harmless(name: str) -> Callable[[Sink], Sink]:
    def register(function: Sink) -> Sink:
        HARMLESS[name] = function
        return function

    return register


@sink("keyword")
def keyword(b: Builder, e: str) -> None:
    b.need("from maniac import Maniac")
    b.emit(f"client = Maniac(api_key={e})")


@sink("positional")
def positional(b: Builder, e: str) -> None:
    b.need("from maniac import Maniac")
    b.emit(f"client = Maniac({e})")


@sink("dict-splat")
def dict_splat(b: Builder, e: str) -> None:
    b.need("from maniac import Maniac")
    b.emit(f'client = Maniac(**{{"api_key": {e}, "timeout": 30.0}})')


@sink("partial")
def partial(b: Builder, e: str) -> None:
    b.need("import functools", "from maniac import Maniac")
    b.emit(f"make_client = functools.partial(Maniac, api_key={e})", "client = make_client()")


@sink("alias")
def alias(b: Builder, e: str) -> None:
    b.need("from maniac import Maniac as LLMClient")
    b.emit(f"client = LLMClient(api_key={e})")


@sink("async-module")
def async_module(b: Builder, e: str) -> None:
    b.need("import maniac")
    b.emit(f"client = maniac.AsyncManiac(api_key={e})")


@sink("environ-write")
def environ_write(b: Builder, e: str) -> None:
    b.need("import os", "from maniac import Maniac")
    b.emit(f'os.environ["MANIAC_API_KEY"] = {e}', "client = Maniac()")


@sink("auth-header")
def auth_header(b: Builder, e: str) -> None:
    b.need("from maniac import Maniac")
    b.emit(f'client = Maniac(default_headers={{"Authorization": {fstring("Bearer {}", e)}}})')


# ------------------------------------------------------------------ harmless


@harmless("trace-id")
def trace_id(b: Builder, literal: str) -> None:
    b.emit(f'TRACE_ID = "{literal}"', 'print("trace", TRACE_ID)')


@harmless("print")
def print_(b: Builder, literal: str) -> None:
    b.emit(f'print("build", "{literal}")')


@harmless("other-service-header")
def other_service_header(b: Builder, literal: str) -> None:
    b.need("import urllib.request")
    b.emit(
        "telemetry = urllib.request.Request(",
        '    "https://telemetry.example.org/v1/events",',
        f'    headers={{"X-Request-Id": "{literal}"}},',
        ")",
    )


@harmless("other-service-auth")
def other_service_auth(b: Builder, literal: str) -> None:
    b.need("import urllib.request")
    b.emit(
        "status = urllib.request.Request(",
        '    "https://status.example.org/api/ping",',
        f'    headers={{"Authorization": "Bearer {literal}"}},',
        ")",
    )


@harmless("logging")
def logging_(b: Builder, literal: str) -> None:
    b.need("import logging")
    b.emit(f'logging.getLogger("app").debug("session %s", "{literal}")')
