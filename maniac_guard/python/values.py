"""What a string value is, judged for the Python rules: a credential, the name
of an environment variable, or a placeholder.

Reuses the key-shape heuristic (keyshape) and the template check of the
config-file detector, so every detector agrees on what a placeholder is.
"""

from __future__ import annotations

import re

from maniac_guard.detectors.config_files import is_real_value
from maniac_guard.keyshape import looks_like_key, placeholder_reason

REAL = "real"
ENV_NAME = "env-name"
PLACEHOLDER = "placeholder"
EMPTY = "empty"

# `MANIAC_API_KEY`, `OPENAI_KEY`: what a person copies from the docs when they
# meant os.getenv(...). Upper case with at least one underscore.
ENV_NAME_RE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
_TEST_DIRS = frozenset({"test", "tests", "testing"})
_HEADER_NAMES = frozenset({"authorization", "api-key", "x-api-key", "apikey", "api_key", "x-maniac-api-key"})
_SCHEMES = ("bearer ", "token ", "basic ")


def is_test_path(path: str) -> bool:
    """tests/…, test_x.py, x_test.py, conftest.py: where fake keys belong."""
    parts = path.split("/")
    name = parts[-1]
    stem = name.rsplit(".", 1)[0]
    return (
        any(part in _TEST_DIRS for part in parts[:-1])
        or stem.startswith("test_")
        or stem.endswith("_test")
        or stem == "conftest"
    )


def _random_looking(value: str) -> bool:
    """Letters and digits of the value, judged as a key body would be."""
    return placeholder_reason("".join(c for c in value if c.isalnum())) is None


def classify(value: str, in_test: bool = False) -> str:
    """REAL, ENV_NAME, PLACEHOLDER or EMPTY for a string that reaches a key slot."""
    stripped = value.strip()
    if not stripped:
        return EMPTY
    if stripped.startswith("mk-"):
        return REAL if looks_like_key(stripped) else PLACEHOLDER
    if ENV_NAME_RE.fullmatch(stripped):
        return ENV_NAME
    if any(c.isspace() for c in stripped):
        return PLACEHOLDER
    if in_test:
        # Test code is full of "test-key", "fake123": only random-looking
        # strings count there.
        return REAL if _random_looking(stripped) else PLACEHOLDER
    if not is_real_value(stripped):
        return PLACEHOLDER
    has_letter = any(c.isalpha() for c in stripped)
    has_digit = any(c.isdigit() for c in stripped)
    return REAL if (has_letter and has_digit) or _random_looking(stripped) else PLACEHOLDER


def is_key_header(name: str) -> bool:
    return name.strip().lower() in _HEADER_NAMES


def header_credential(value: str) -> str:
    """The credential in a header value: `Bearer mk-…` → `mk-…`."""
    stripped = value.strip()
    lowered = stripped.lower()
    for scheme in _SCHEMES:
        if lowered.startswith(scheme):
            return stripped[len(scheme) :].strip()
    return stripped


def is_maniac_env_name(name: str) -> bool:
    """An environment variable that holds a Maniac credential."""
    upper = name.upper()
    return upper.startswith("MANIAC_") and any(word in upper for word in ("KEY", "TOKEN", "SECRET"))


def is_maniac_url(value: str) -> bool:
    lowered = value.lower()
    return "maniac.ai" in lowered or "://platform.maniac" in lowered or "://api.maniac" in lowered
