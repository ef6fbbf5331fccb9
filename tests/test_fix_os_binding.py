"""The fixed program runs: wherever `import os` is (after the fixed line,
under an `if` or `try`, deleted, shadowed, local to a function), the fix makes
`os.getenv` reachable at the fix site, and the SDK gets the environment's key.
Each case goes through `maniac-guard fix` run in this process (run_in_process:
the fix decides the same; a process would add ~0.35 CPU-s of start-up and
libcst's import per case), then the fixed program runs in its own process.
The last two tests run the installed console script."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import fake_key, run_cli, run_in_process
from tests.stub_sdk import install_stub, run_with_stub

OLD = fake_key("os-binding-old")
NEW = fake_key("os-binding-new")
CALL = f'client = Maniac(api_key="{OLD}")'

CASES = {
    "import_after_the_fixed_line": f"from maniac import Maniac\n{CALL}\nimport os\n",
    "import_under_a_false_if": f"import sys\nfrom maniac import Maniac\n\nif sys.version_info < (3,):\n    import os\n\n{CALL}\n",
    "import_under_a_try_that_fails_first": (
        f"from maniac import Maniac\n\ntry:\n    import no_such_module_here\n    import os\nexcept ImportError:\n    pass\n\n{CALL}\n"
    ),
    "import_then_del": f"import os\nfrom maniac import Maniac\n\ndel os\n{CALL}\n",
    "del_after_the_fix_site_in_a_function": (
        f'import os\nfrom maniac import Maniac\n\n\ndef make():\n    return Maniac(api_key="{OLD}")\n\n\ndel os\nmake()\n'
    ),
    "os_assigned_a_string": f'from maniac import Maniac\n\nos = "x"\n{CALL}\n',
    "os_imported_from_elsewhere": f"from string import ascii_letters as os\nfrom maniac import Maniac\n\n{CALL}\n",
    "os_a_parameter": f'from maniac import Maniac\n\n\ndef make(os):\n    return Maniac(api_key="{OLD}")\n\n\nmake("x")\n',
    "import_local_to_another_function": (
        f"from maniac import Maniac\n\n\ndef helper():\n    import os\n    return os.sep\n\n\n{CALL}\n"
    ),
    "import_after_the_site_in_the_same_function": (
        f'from maniac import Maniac\n\n\ndef make():\n    client = Maniac(api_key="{OLD}")\n    import os\n    return client\n\n\nmake()\n'
    ),
    "function_called_before_the_import": (
        f'from maniac import Maniac\n\n\ndef make():\n    return Maniac(api_key="{OLD}")\n\n\nmake()\nimport os\n'
    ),
    "import_before_the_fixed_line": f"import os\nfrom maniac import Maniac\n\n{CALL}\n",
    # Issue 22: bindings libcst's scope analysis does not see.
    "match_capture_binds_os": f'from maniac import Maniac\n\nmatch "x":\n    case os:\n        pass\n{CALL}\n',
    "match_star_binds_os": f"from maniac import Maniac\n\nmatch [1, 2]:\n    case [1, *os]:\n        pass\n{CALL}\n",
    "match_as_binds_os": f"from maniac import Maniac\n\nmatch 3:\n    case int() as os:\n        pass\n{CALL}\n",
    "match_mapping_rest_binds_os": f"from maniac import Maniac\n\nmatch {{}}:\n    case {{**os}}:\n        pass\n{CALL}\n",
    "walrus_in_a_module_comprehension": f"from maniac import Maniac\n\n[os := n for n in range(2)]\n{CALL}\n",
    "walrus_in_a_function_comprehension": (
        f'from maniac import Maniac\n\n\ndef make():\n    [os := n for n in range(2)]\n    return Maniac(api_key="{OLD}")\n\n\nmake()\n'
    ),
    "docstring_and_future_first": f'"""Doc."""\nfrom __future__ import annotations\nfrom maniac import Maniac\n{CALL}\nimport os\n',
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_fixed_program_runs_and_the_sdk_gets_the_environment_key(name: str, tmp_path: Path) -> None:
    program = tmp_path / "proj" / "app.py"
    program.parent.mkdir()
    program.write_text(CASES[name])
    proc = run_in_process("fix", "app.py", cwd=program.parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    fixed = program.read_text()
    assert OLD not in fixed
    compile(fixed, "app.py", "exec")
    ran, received = run_with_stub(program, install_stub(tmp_path), NEW, tmp_path / "record")
    assert ran.returncode == 0, f"{ran.stderr}\n--- fixed program:\n{fixed}"
    assert received == [NEW]


def test_an_import_os_already_at_the_top_is_used_as_it_is(tmp_path: Path) -> None:
    program = tmp_path / "app.py"
    program.write_text(CASES["import_before_the_fixed_line"])
    assert run_cli("fix", "app.py", cwd=tmp_path).returncode == 0
    assert (
        program.read_text()
        == 'import os\nfrom maniac import Maniac\n\nclient = Maniac(api_key=os.getenv("MANIAC_API_KEY"))\n'
    )


def test_an_import_after_the_site_brings_a_top_level_import(tmp_path: Path) -> None:
    program = tmp_path / "app.py"
    program.write_text(CASES["docstring_and_future_first"])
    assert run_cli("fix", "app.py", cwd=tmp_path).returncode == 0
    assert program.read_text() == (
        '"""Doc."""\nfrom __future__ import annotations\nfrom maniac import Maniac\nimport os\n\n'
        'client = Maniac(api_key=os.getenv("MANIAC_API_KEY"))\nimport os\n'
    )
