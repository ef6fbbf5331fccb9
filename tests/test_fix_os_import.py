"""`fix` adds `import os` itself rather than through libcst's
AddImportsVisitor (importing `libcst.codemod` cost most of a small `fix`
run): the result must be what that visitor gives, byte for byte, on every
shape of module head it distinguishes."""

from __future__ import annotations

import subprocess
import sys

import libcst as cst
import pytest

from maniac_guard.fix.osname import add_os_import
from tests.helpers import fake_key

HEADS = {
    "empty": "",
    "code_only": "x = 1\n",
    "docstring": '"""Doc."""\nx = 1\n',
    "docstring_only": '"""Doc."""\n',
    "docstring_then_imports": '"""Doc."""\nimport sys\nfrom a import b\n\nx = 1\n',
    "future_then_imports": "from __future__ import annotations\nimport sys\nx = 1\n",
    "strict_flag": "__strict__ = True\nimport sys\nx = 1\n",
    "two_targets_are_not_the_flag": "__strict__ = y = True\nimport sys\nx = 1\n",
    "f_string_is_not_a_docstring": 'f"""{1}"""\nimport sys\nx = 1\n',
    "concatenated_is_not_a_docstring": '"a" "b"\nimport sys\nx = 1\n',
    "imports_only": "import sys\nimport json\n",
    "comment_before_code": "import sys\n# why\nx = 1\n",
    "blank_then_comment_before_code": "import sys\n\n# why\nx = 1\n",
    "semicolon_line_ends_the_block": "import sys; import json\nimport re\nx = 1\n",
    "compound_statement_first": "if True:\n    import os\nx = 1\n",
    "os_already_imported": "import sys\nimport os\nx = 1\n",
    "os_path_is_not_os": "import os.path\nx = 1\n",
    "os_aliased": "import os as _os\nx = 1\n",
    "os_aliased_twice_last_wins": "import os as _os\nimport os as other\nx = 1\n",
    "os_after_the_block": "import sys\nx = 1\nimport os\n",
    "os_in_a_from_import": "from os import path\nx = 1\n",
    "crlf": "import sys\r\nx = 1\r\n",
    "tabs_and_decorator": "import sys\n@d\ndef f():\n\treturn 1\n",
}


def _with_libcst_visitor(module: cst.Module, os_name: str) -> cst.Module:
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import AddImportsVisitor

    context = CodemodContext()
    AddImportsVisitor.add_needed_import(context, "os", asname=None if os_name == "os" else os_name)
    return AddImportsVisitor(context).transform_module(module)


@pytest.mark.parametrize("os_name", ["os", "_os"])
@pytest.mark.parametrize("head", sorted(HEADS))
def test_the_import_lands_where_libcsts_visitor_puts_it(head: str, os_name: str) -> None:
    module = cst.parse_module(HEADS[head])
    assert add_os_import(module, os_name).code == _with_libcst_visitor(module, os_name).code


def test_fixing_a_file_does_not_import_libcst_codemod() -> None:
    source = f'from maniac import Maniac\nclient = Maniac(api_key="{fake_key("os-import")}")\n'
    program = (
        "import sys\n"
        "from maniac_guard.fix import FixOptions, fix_python\n"
        f"fixed = fix_python('app.py', {source.encode()!r}, FixOptions())\n"
        "assert fixed.new is not None and b'import os' in fixed.new, fixed\n"
        "print(sorted(m for m in sys.modules if m.startswith('libcst.codemod')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
