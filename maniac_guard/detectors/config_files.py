"""Committed key files (MG301, MG302): a Maniac `config.yaml` holding an
`api_key`, and `.env` files setting `MANIAC_API_KEY`. Read line by line, so
no YAML parser is needed and every finding has its line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from maniac_guard.findings import Finding, mask
from maniac_guard.keyshape import placeholder_reason
from maniac_guard.sources import SourceFile

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (records.py)
if TYPE_CHECKING:
    from typing import AnyStr

RULE_IDS = frozenset({"MG301", "MG302"})

CONFIG_NAMES = frozenset({"config.yaml", "config.yml"})
# Text without any of these cannot hold a finding (see detectors/__init__).
HINTS = (rb"MANIAC_API_KEY", rb"api[_-]?[kK]ey")
# The patterns are compiled when `detect` first needs them (`_compiled`):
# most files of a hook run are neither env files nor configs.
ENV_VAR = rb"^[ \t]*(?:export[ \t]+)?(MANIAC_API_KEY(?:_[A-Za-z0-9_]+)?)[ \t]*[=:][ \t]*(.*?)[ \t]*\r?$"
YAML_KEY = rb"^[ \t]*[\"']?(api_key|apiKey|api-key)[\"']?[ \t]*:[ \t]*(.*?)[ \t]*\r?$"
# Values a human writes in a template rather than a real key.
_TEMPLATE = r"^$|^[<{\[].*[>}\]]$|^\$|\$\{|\.\.\.|…|xxx|your|example|placeholder|changeme|replace|redacted|dummy|sample|todo|none|null|~"


@cache
def _compiled(pattern: AnyStr, flags: int) -> re.Pattern[AnyStr]:
    return re.compile(pattern, flags)


def is_env_file(name: str) -> bool:
    return name == ".env" or name.startswith(".env.") or name.endswith(".env")


def wants(source: SourceFile) -> bool:
    name = source.name
    if is_env_file(name):
        return b"MANIAC_API_KEY" in source.data
    return name in CONFIG_NAMES and b"pi" in source.data


def _clean_value(raw: bytes) -> str:
    value = raw.decode("utf-8", "replace")
    if value[:1] in ("'", '"'):
        quote = value[0]
        end = value.find(quote, 1)
        return value[1:end] if end > 0 else value[1:]
    return value.split(" #", 1)[0].split("\t#", 1)[0].strip()


def is_real_value(value: str) -> bool:
    """A value that is a credential, not a template, reference or placeholder."""
    if _compiled(_TEMPLATE, re.IGNORECASE).search(value):
        return False
    if value.startswith("mk-"):
        return placeholder_reason(value[3:]) is None
    return len(value) >= 8


def _in_maniac_folder(path: str) -> bool:
    return "/.maniac/" in "/" + path


def detect(source: SourceFile) -> Iterator[Finding]:
    from maniac_guard.detectors.snippet import finding_at

    if is_env_file(source.name):
        for match in _compiled(ENV_VAR, re.M).finditer(source.data):
            value = _clean_value(match.group(2))
            if is_real_value(value):
                variable = match.group(1).decode()
                # Only a git source knows the file is committed; on disk it may be untracked or ignored.
                what = "committed env file" if source.commit else "env file"
                yield finding_at(
                    source,
                    "MG302",
                    f"{what} sets {variable} to a real key ({mask(value)}); keep .env files out of git and out of what you publish",
                    match.start(1),
                    match.end(2),
                    subject=f"env:{variable}",
                )
        return
    for match in _compiled(YAML_KEY, re.M).finditer(source.data):
        value = _clean_value(match.group(2))
        # Outside ~/.maniac/ a config.yaml is someone else's unless it holds an mk- key.
        if is_real_value(value) and (_in_maniac_folder(source.path) or value.startswith("mk-")):
            yield finding_at(
                source,
                "MG301",
                f"committed Maniac config file holds an api_key ({mask(value)}); it belongs in ~/.maniac/, not in git",
                match.start(1),
                match.end(2),
                subject="config:api_key",
            )
