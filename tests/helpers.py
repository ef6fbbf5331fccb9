"""Shared test helpers. Keys are generated at run time, so this repository's
own test code holds no key literal for `maniac-guard scan .` to find."""

from __future__ import annotations

import os
import random
import shutil
import string
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
_ALPHABET = string.ascii_letters + string.digits


def fake_key(seed: int | str) -> str:
    """A random-looking, reproducible key that passes the shape checks."""
    from maniac_guard.keyshape import looks_like_key

    rng = random.Random(f"maniac-guard-test-{seed}")
    while True:
        key = "mk" + "-" + "".join(rng.choice(_ALPHABET) for _ in range(32))
        if looks_like_key(key):
            return key


def console_script() -> str:
    """The installed `maniac-guard` next to this interpreter (or on PATH)."""
    candidate = Path(sys.executable).parent / "maniac-guard"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("maniac-guard")
    assert found, "the maniac-guard console script is not installed"
    return found


def run_cli(
    *args: str,
    cwd: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [console_script(), *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        input=input,
        timeout=timeout,
    )
