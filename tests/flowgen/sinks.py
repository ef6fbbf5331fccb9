"""Where the chain ends: the Maniac SDK as a program hands it a credential
(`sink:*`), and, in negative programs, where the literal sits instead
(`harmless:*`: somewhere it is not a Maniac credential)."""

from __future__ import annotations

from collections.abc import Callable

from tests.flowgen.model import ENV_SOURCE, Builder, fstring

Sink = Callable[[Builder, str], None]
# A harmless placement writes the literal somewhere and returns the source
# expression the chain starts from (the environment's key, maybe read through
# a structure that also holds the literal).
Harmless = Callable[[Builder, str], str]
SINKS: dict[str, Sink] = {}
HARMLESS: dict[str, Harmless] = {}


def sink(name: str) -> Callable[[Sink], Sink]:
    def register(function: Sink) -> Sink:
        SINKS[name] = function
        return function

    return register


def harmless(name: str) -> Callable[[Harmless], Harmless]:
    def register(function: Harmless) -> Harmless:
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


@sink("subclass")
def subclass(b: Builder, e: str) -> None:
    b.need("from maniac import Maniac")
    b.emit("class TracedManiac(Maniac):", "    pass", f"client = TracedManiac(api_key={e})")


@sink("legacy-dict")
def legacy_dict(b: Builder, e: str) -> None:
    b.need("from maniac import Maniac")
    b.emit(f'client = Maniac({{"apiKey": {e}}})')


@sink("environ-update")
def environ_update(b: Builder, e: str) -> None:
    b.need("import os", "from maniac import Maniac")
    b.emit(f"os.environ.update(MANIAC_API_KEY={e})", "client = Maniac()")


@sink("click-option")
def click_option(b: Builder, e: str) -> None:
    """The value is a click option's default; the command builds the client
    from its parameter (run as `python main.py`, no arguments)."""
    b.need("import click", "from maniac import Maniac")
    b.emit(
        "@click.command()",
        f'@click.option("--api-key", default={e})',
        "def run(api_key):",
        "    Maniac(api_key=api_key)",
        'if __name__ == "__main__":',
        "    run()",
    )


# ------------------------------------------------------------------ harmless


@harmless("trace-id")
def trace_id(b: Builder, literal: str) -> str:
    b.emit(f'TRACE_ID = "{literal}"', 'print("trace", TRACE_ID)')
    return ENV_SOURCE


@harmless("print")
def print_(b: Builder, literal: str) -> str:
    b.emit(f'print("build", "{literal}")')
    return ENV_SOURCE


@harmless("other-service-header")
def other_service_header(b: Builder, literal: str) -> str:
    b.need("import urllib.request")
    b.emit(
        "telemetry = urllib.request.Request(",
        '    "https://telemetry.example.org/v1/events",',
        f'    headers={{"X-Request-Id": "{literal}"}},',
        ")",
    )
    return ENV_SOURCE


@harmless("other-service-auth")
def other_service_auth(b: Builder, literal: str) -> str:
    b.need("import urllib.request")
    b.emit(
        "status = urllib.request.Request(",
        '    "https://status.example.org/api/ping",',
        f'    headers={{"Authorization": "Bearer {literal}"}},',
        ")",
    )
    return ENV_SOURCE


@harmless("logging")
def logging_(b: Builder, literal: str) -> str:
    b.need("import logging")
    b.emit(f'logging.getLogger("app").debug("session %s", "{literal}")')
    return ENV_SOURCE


@harmless("sibling-dict-entry")
def sibling_dict_entry(b: Builder, literal: str) -> str:
    b.need("import os")
    b.emit(f'RUNTIME = {{"api_key": {ENV_SOURCE}, "trace_id": "{literal}"}}')
    return 'RUNTIME["api_key"]'


@harmless("sibling-class-attr")
def sibling_class_attr(b: Builder, literal: str) -> str:
    b.need("import os")
    b.emit("class Runtime:", f"    API_KEY = {ENV_SOURCE}", f'    TRACE_ID = "{literal}"')
    return "Runtime.API_KEY"


@harmless("other-getenv-default")
def other_getenv_default(b: Builder, literal: str) -> str:
    b.need("import os")
    b.emit(f'TRACE_ID = os.getenv("APP_ORACLE_TRACE_ID", "{literal}")', 'print("trace", TRACE_ID)')
    return ENV_SOURCE


@harmless("other-client-api-key")
def other_client_api_key(b: Builder, literal: str) -> str:
    """`api_key=` to a client of another service: only the Maniac SDK is a sink."""
    b.emit(
        "class BillingClient:",
        "    def __init__(self, api_key=None):",
        "        self.api_key = api_key",
        f'billing = BillingClient(api_key="{literal}")',
    )
    return ENV_SOURCE


@harmless("other-environ-write")
def other_environ_write(b: Builder, literal: str) -> str:
    b.need("import os")
    b.emit(f'os.environ["APP_ORACLE_TRACE_ID"] = "{literal}"')
    return ENV_SOURCE
