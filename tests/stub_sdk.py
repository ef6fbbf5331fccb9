"""A stub `maniac` SDK for running fixed programs: `Maniac` and `AsyncManiac`
take the key the way the real SDK does (argument, legacy dict, an
`Authorization` header, else `MANIAC_API_KEY`) and append the key each client
ends up with to the file named by `STUB_SDK_RECORD`, one per line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

STUB = """
import os


class Maniac:
    def __init__(self, api_key=None, *, base_url=None, timeout=60.0, max_retries=2,
                 http_client=None, default_headers=None):
        if isinstance(api_key, dict):  # older releases: Maniac({"apiKey": ...})
            api_key = api_key.get("apiKey")
        auth = (default_headers or {}).get("Authorization")
        if auth:
            api_key = auth.removeprefix("Bearer ")
        if api_key is None:
            api_key = os.environ.get("MANIAC_API_KEY")
        with open(os.environ["STUB_SDK_RECORD"], "a") as record:
            record.write(f"{api_key}\\n")


class AsyncManiac(Maniac):
    pass
"""


def install_stub(folder: Path) -> Path:
    """Write the stub package under `folder`; returns the folder for PYTHONPATH."""
    package = folder / "stub-sdk" / "maniac"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(STUB)
    return package.parent


def run_with_stub(
    program: Path, stub: Path, env_key: str, record: Path
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run `program` with the stub SDK first on the path and MANIAC_API_KEY set;
    returns the process and the keys the SDK received, in order."""
    record.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(PYTHONPATH=str(stub), MANIAC_API_KEY=env_key, STUB_SDK_RECORD=str(record))
    proc = subprocess.run(
        [sys.executable, str(program)], check=False, env=env, capture_output=True, text=True, timeout=60
    )
    return proc, record.read_text().splitlines()
