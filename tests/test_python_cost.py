"""What the value flow spends, as a user sees it: a module read for one name
is not resolved whole, a data table does not use up the work limit, an
import that never runs is not read, and a result that reached the work
limit is cached with its note (a warm run prints the note without redoing
the analysis)."""

from __future__ import annotations

from pathlib import Path

import pytest

from maniac_guard.python.analyzer import Analysis
from tests.helpers import analyze_tree as analyze

LITERAL = "Zx81kQ2mP0aLw7Rt"  # not an mk- key: no key pattern can see it


def test_a_key_behind_a_long_data_table_is_found_without_reaching_the_work_limit(tmp_path: Path) -> None:
    rows = ",\n".join(f"    ({i}, 'row{i}')" for i in range(6000))
    analysis = analyze(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/table.py": f"ROWS = [\n{rows}\n]\nKEY = '{LITERAL}'\n",
            "app/client.py": """
                from maniac import Maniac
                from .table import ROWS, KEY

                def make(n):
                    return Maniac(api_key=ROWS[n] or KEY)
            """,
        },
        "app/client.py",
    )
    assert not analysis.exhausted
    assert [issue.rule_id for issue in analysis.issues] == ["MG202"]


def test_an_import_under_type_checking_is_not_read(tmp_path: Path) -> None:
    analysis = analyze(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/heavy.py": "def Thing(x):\n    return x\n",
            "app/client.py": f"""
                from typing import TYPE_CHECKING
                from maniac import Maniac
                if TYPE_CHECKING:
                    from .heavy import Thing

                def make():
                    return Maniac(api_key=Thing('{LITERAL}'))
            """,
        },
        "app/client.py",
    )
    assert "app/heavy.py" not in analysis.reads
    assert analysis.issues == []  # at run time `Thing` is not defined: no flow


def test_a_module_read_for_one_name_resolves_only_the_function_it_reaches(tmp_path: Path) -> None:
    from maniac_guard.python import modules

    others = "\n".join(f"def other{i}(x):\n    y = x + 'a'\n    return y\n" for i in range(50))
    analysis = analyze(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/lib.py": f"{others}\ndef key():\n    value = '{LITERAL}'\n    return value\n",
            "app/client.py": """
                from maniac import Maniac
                from .lib import key

                client = Maniac(api_key=key())
            """,
        },
        "app/client.py",
    )
    assert [issue.rule_id for issue in analysis.issues] == ["MG202"]
    lib = next(info for (path, _), info in modules._PARSED.items() if path == "app/lib.py" and info is not None)
    left = lib.resolver._deferred.pop_all()
    assert {function.name for function in left} == {f"other{i}" for i in range(50)}


def test_a_module_that_binds_a_global_from_a_function_is_resolved_whole(tmp_path: Path) -> None:
    analysis = analyze(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/settings.py": f"KEY = None\n\ndef load():\n    global KEY\n    KEY = '{LITERAL}'\n",
            "app/client.py": """
                from maniac import Maniac
                from .settings import KEY

                client = Maniac(api_key=KEY)
            """,
        },
        "app/client.py",
    )
    assert [issue.rule_id for issue in analysis.issues] == ["MG202"]


def test_a_call_s_function_is_asked_within_its_own_budget() -> None:
    from maniac_guard.python.domain import UNKNOWN
    from maniac_guard.python.flow import Exhausted, Flow

    flow = Flow.__new__(Flow)
    flow.budget = 1000

    def spend(count: int) -> tuple[()]:
        for _ in range(count):
            flow.budget -= 1
            if flow.budget < 0:
                raise Exhausted
        return ()

    assert flow.within(50, lambda: spend(80)) is None  # over its own budget: not known
    assert flow.budget == 950  # what it spent is charged to the file
    assert flow.within(50, lambda: spend(10)) == ()
    assert flow.budget == 940
    flow.budget = 30
    with pytest.raises(Exhausted):  # the file's own end is still the file's
        flow.within(50, lambda: spend(40))
    assert UNKNOWN


def test_a_result_over_the_work_limit_is_cached_with_its_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from maniac_guard.detectorcache import DetectorCache, Learnt
    from maniac_guard.detectors import load_detectors
    from maniac_guard.engine import scan_source
    from maniac_guard.python import analyzer, flow
    from maniac_guard.sources import SourceFile

    monkeypatch.setattr(flow, "FILE_BUDGET", 20)
    chain = "\n".join(f"def f{i}(x):\n    return f{i + 1}(x + 'a')\n" for i in range(40))
    code = f"from maniac import Maniac\n{chain}\ndef f40(x):\n    return x\nc = Maniac(api_key=f0('{LITERAL}'))\n"
    note = "app/deep.py: the Python analysis reached its work limit"

    cold = SourceFile("app/deep.py", code.encode())
    learnt = Learnt()
    cold_findings = scan_source(cold, load_detectors(), DetectorCache(str(tmp_path)), learnt)
    assert any(n.startswith(note) for n in cold.notes)
    DetectorCache(str(tmp_path)).save(learnt.clean, learnt.found)

    def not_again(*args: object, **kwargs: object) -> Analysis:
        raise AssertionError("analyzed again")

    monkeypatch.setattr(analyzer, "analyze_project", not_again)
    warm = SourceFile("app/deep.py", code.encode())
    warm_findings = scan_source(warm, load_detectors(), DetectorCache(str(tmp_path)), Learnt())
    assert [n for n in warm.notes if n.startswith(note)] == [n for n in cold.notes if n.startswith(note)]
    assert [f.rule_id for f in warm_findings] == [f.rule_id for f in cold_findings]


def test_imports_of_libraries_outside_the_tree_do_not_use_up_the_module_budget(tmp_path: Path) -> None:
    libraries = [f"outside{i}" for i in range(12)]  # each tried in every folder above the file: ~20 misses
    imports = "\n".join(f"import {name}" for name in libraries)
    fallbacks = " or ".join(f"{name}.key()" for name in libraries)
    analysis = analyze(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/settings.py": f"KEY = '{LITERAL}'\n",
            "app/deep/er/still/client.py": f"from maniac import Maniac\nfrom app.settings import KEY\n{imports}\n"
            f"client = Maniac(api_key={fallbacks} or KEY)\n",
        },
        "app/deep/er/still/client.py",
    )
    assert len(analysis.reads) > 64
    assert not analysis.exhausted
    assert [issue.rule_id for issue in analysis.issues] == ["MG202"]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_change_through_a_name_is_found_in_the_statement_that_makes_it(tmp_path: Path, newline: str) -> None:
    settings = newline.join(
        [
            "CONFIG = {}",
            *[f"def noise{i}(x):\n    return x" for i in range(20)],
            "@decorate(CONFIG.update(other='unused'))",
            "def load():",
            f"    CONFIG['key'] = '{LITERAL}'",
            "",
        ]
    )
    (tmp_path / "app").mkdir()
    (tmp_path / "app/settings.py").write_bytes(settings.replace("\n", newline).encode())
    analysis = analyze(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/client.py": """
                from maniac import Maniac
                from .settings import CONFIG

                client = Maniac(api_key=CONFIG['key'])
            """,
        },
        "app/client.py",
    )
    assert [issue.rule_id for issue in analysis.issues] == ["MG202"]


def test_calls_of_helpers_that_make_no_client_do_not_use_up_the_work_limit(tmp_path: Path) -> None:
    # A test file's shape: hundreds of calls of a helper of another module
    # (which makes no client), and one wrapper that does.
    calls = "\n".join(f"run('step{i}', '--flag', str({i}))" for i in range(300))
    analysis = analyze(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/helpers.py": """
                import subprocess
                from maniac import Maniac

                def run(*args):
                    done = subprocess.run(["tool", *args], capture_output=True, text=True)
                    return done.stdout.strip()

                def make_client(key):
                    return Maniac(api_key=key)
            """,
            "app/test_tool.py": f"from maniac import Maniac\nfrom .helpers import run, make_client\n\n{calls}\n"
            f"client = make_client('{LITERAL}')\n",
        },
        "app/test_tool.py",
    )
    assert not analysis.exhausted  # no work-limit note
    assert [(issue.rule_id, issue.node.lineno) for issue in analysis.issues] == [("MG202", 304)]


def test_a_wrapper_reached_through_mutual_recursion_is_still_followed(tmp_path: Path) -> None:
    analysis = analyze(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/helpers.py": """
                from maniac import Maniac

                def walk(key, depth):
                    return connect(key, depth) if depth else None

                def connect(key, depth):
                    if depth > 3:
                        return walk(key, depth - 1)
                    return Maniac(api_key=key)
            """,
            "app/main.py": f"from maniac import Maniac\nfrom .helpers import connect, walk\n\nwalk('{LITERAL}', 5)\n",
        },
        "app/main.py",
    )
    assert [(issue.rule_id, issue.node.lineno) for issue in analysis.issues] == [("MG202", 4)]


def test_an_installed_library_beside_the_file_is_not_read_but_the_file_s_own_package_is(tmp_path: Path) -> None:
    # A site-packages folder (the SDK's own source copied with its
    # dependencies): `import httpx` from maniac_x/client.py names another
    # installed distribution, read no more than the standard library is.
    library = "\n".join(f"def helper{i}(x):\n    return x + '{i}'\n" for i in range(20))
    analysis = analyze(
        tmp_path,
        {
            "lib/httpx-0.28.1.dist-info/METADATA": "Name: httpx\n",
            "lib/wrapper_x-1.0.dist-info/METADATA": "Name: wrapper-x\n",
            "lib/httpx/__init__.py": f"from ._client import Client\n{library}",
            "lib/httpx/_client.py": "class Client:\n    def __init__(self, **kw):\n        self.kw = kw\n",
            "lib/wrapper_x/__init__.py": "",
            "lib/wrapper_x/settings.py": f"KEY = '{LITERAL}'\n",
            "lib/wrapper_x/client.py": """
                import httpx
                from maniac import Maniac
                from wrapper_x.settings import KEY

                http = httpx.Client(timeout=3)
                sdk = Maniac(api_key=httpx.helper1(KEY))
                own = Maniac(api_key=KEY)
            """,
        },
        "lib/wrapper_x/client.py",
    )
    assert not any(path.startswith("lib/httpx/") for path, found in analysis.reads.items() if found)
    assert [(issue.rule_id, issue.path) for issue in analysis.issues] == [("MG202", "lib/wrapper_x/settings.py")]


def test_a_project_folder_without_installed_distributions_is_read_across_packages(tmp_path: Path) -> None:
    analysis = analyze(
        tmp_path,
        {
            "helpers/__init__.py": "def strip(x):\n    return x.strip()\n",
            "app/__init__.py": "",
            "app/client.py": f"""
                import helpers
                from maniac import Maniac

                sdk = Maniac(api_key=helpers.strip(" {LITERAL} "))
            """,
        },
        "app/client.py",
    )
    assert [issue.rule_id for issue in analysis.issues] == ["MG202"]
