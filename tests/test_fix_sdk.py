"""The fixed program, run with the real `maniac` SDK against a fake Maniac API
on 127.0.0.1, sends the environment's key and never the old one."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fake_maniac import FakeManiac, Request
from tests.helpers import fake_key, run_cli

OLD = fake_key("sdk-old")
NEW = fake_key("sdk-new")

PROGRAMS = {
    "keyword": f'''from maniac import Maniac as M

client = M(api_key="{OLD}", max_retries=0)
print(len(client.models.list()["data"]))
''',
    "through_name": f'''import maniac

KEY = "{OLD}"


def main():
    with maniac.Maniac(KEY, max_retries=0) as client:
        print(len(client.models.list()["data"]))


main()
''',
    "getenv_default": f'''import os
from maniac import Maniac

client = Maniac(api_key=os.getenv("MANIAC_API_KEY", "{OLD}"), max_retries=0)
print(len(client.models.list()["data"]))
''',
    "header": f"""from maniac import Maniac

client = Maniac(default_headers={{"Authorization": "Bearer {OLD}"}}, max_retries=0)
print(len(client.models.list()["data"]))
""",
}


class SdkFakeManiac(FakeManiac):
    """The SDK sends `?limit=…&offset=…`; route on the path alone."""

    def answer(self, request: Request, attempt: int) -> tuple[int, dict[str, str], bytes]:
        return super().answer(dataclasses.replace(request, path=request.path.split("?", 1)[0]), attempt)


def _run(program: Path, api: FakeManiac, key: str | None = NEW) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MANIAC_API_KEY"}
    env["MANIAC_BASE_URL"] = api.url
    if key is not None:
        env["MANIAC_API_KEY"] = key
    return subprocess.run([sys.executable, str(program)], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("shape", sorted(PROGRAMS))
def test_fixed_program_authenticates_with_the_environment_key(shape: str, tmp_path: Path) -> None:
    program = tmp_path / "app.py"
    program.write_text(PROGRAMS[shape])
    with SdkFakeManiac() as api:
        api.add(OLD, "live")
        api.add(NEW, "live")
        # Before the fix the program sends the hardcoded key (a header even
        # wins over the environment; the SDK insists on some key for it).
        before = _run(program, api, key=NEW if shape == "header" else None)
        assert before.returncode == 0, before.stderr
        assert [r.key for r in api.requests] == [OLD]

        fixed = run_cli("fix", "--unsafe-fixes", str(program), cwd=tmp_path)
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr
        assert OLD not in program.read_text()

        api.requests.clear()
        after = _run(program, api)
        assert after.returncode == 0, after.stderr
        assert after.stdout.strip() == "1"
        assert [r.headers.get("authorization") for r in api.requests] == [f"Bearer {NEW}"]
        assert all(OLD not in r.headers.get("authorization", "") for r in api.requests)

        # Without the variable the fixed program has no key at all: it must
        # not fall back to the old one.
        api.requests.clear()
        unset = _run(program, api, key=None)
        assert unset.returncode != 0
        assert api.requests == []
