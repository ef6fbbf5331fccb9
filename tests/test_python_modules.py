"""The value flow across the modules of a project, end to end through the
console script: a literal in one file that reaches the SDK in another is
reported where it is written, names the sink, and carries its path (text
`via`, JSON `flow`, SARIF `codeFlows`); the detector cache notices when an
imported module changes; what only looks like a flow stays silent."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.helpers import run_cli

LITERAL = "Zx81kQ2mP0aLw7Rt"  # not an mk- key: no key pattern can see it


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def scan_json(root: Path, *extra: str, env: dict[str, str] | None = None) -> list[dict[str, object]]:
    done = run_cli("scan", ".", "--format", "json", *extra, cwd=root, env=env)
    assert done.returncode in (0, 1), done.stderr
    findings: list[dict[str, object]] = json.loads(done.stdout)["findings"]
    return findings


CLIENT = """
    from maniac import Maniac

    from .settings import API_TOKEN


    def make():
        return Maniac(api_key=API_TOKEN)
    """

# (files, path and line of the literal) for each way a module hands a value on.
IMPORT_FORMS = {
    "relative": (
        {"app/__init__.py": "", "app/settings.py": f'API_TOKEN = "{LITERAL}"\n', "app/client.py": CLIENT},
        "app/settings.py",
        1,
    ),
    "absolute": (
        {
            "app/__init__.py": "",
            "app/settings.py": f'import os\n\nAPI_TOKEN = "{LITERAL}"\n',
            "app/client.py": "from maniac import Maniac\nfrom app.settings import API_TOKEN\nc = Maniac(api_key=API_TOKEN)\n",
        },
        "app/settings.py",
        3,
    ),
    "module attribute and alias": (
        {
            "settings.py": f'KEY = "{LITERAL}"\n',
            "main.py": "import settings as cfg\nfrom maniac import Maniac\nc = Maniac(api_key=cfg.KEY)\n",
        },
        "settings.py",
        1,
    ),
    "star import with __all__": (
        {
            "consts.py": f'__all__ = ["KEY"]\nKEY = "{LITERAL}"\n',
            "main.py": "from consts import *\nfrom maniac import Maniac\nc = Maniac(api_key=KEY)\n",
        },
        "consts.py",
        2,
    ),
    "re-export through __init__": (
        {
            "pkg/__init__.py": "from .secrets import KEY\n",
            "pkg/secrets.py": f'KEY = "{LITERAL}"\n',
            "main.py": "from pkg import KEY\nfrom maniac import Maniac\nc = Maniac(api_key=KEY)\n",
        },
        "pkg/secrets.py",
        1,
    ),
    "importlib": (
        {
            "conf.py": f'KEY = "{LITERAL}"\n',
            "main.py": 'import importlib\nfrom maniac import Maniac\nc = Maniac(api_key=importlib.import_module("conf").KEY)\n',
        },
        "conf.py",
        1,
    ),
    "src layout, function in another module": (
        {
            "src/svc/__init__.py": "",
            "src/svc/keys.py": f'def key():\n    return "{LITERAL}".strip()\n',
            "src/svc/main.py": "from maniac import Maniac\nfrom svc.keys import key\nc = Maniac(api_key=key())\n",
        },
        "src/svc/keys.py",
        2,
    ),
}


@pytest.mark.parametrize("form", list(IMPORT_FORMS))
def test_a_literal_imported_from_another_module_is_reported_where_it_is_written(tmp_path: Path, form: str) -> None:
    files, path, line = IMPORT_FORMS[form]
    write(tmp_path, files)
    found = [(f["rule_id"], f["path"], f["line"]) for f in scan_json(tmp_path, "--no-cache")]
    assert found == [("MG202", path, line)]


def test_the_finding_names_the_sink_and_shows_the_path_in_every_format(tmp_path: Path) -> None:
    write(tmp_path, IMPORT_FORMS["relative"][0])
    (finding,) = scan_json(tmp_path, "--no-cache")
    assert "used at app/client.py:8" in str(finding["message"])
    assert finding["flow"] == [
        {"path": "app/settings.py", "line": 1, "column": 13, "label": "literal"},
        {"path": "app/client.py", "line": 8, "column": 12, "label": "sink"},
    ]
    text = run_cli("scan", ".", "--no-cache", cwd=tmp_path)
    assert "via app/settings.py:1 → app/client.py:8" in text.stdout
    assert LITERAL not in text.stdout
    sarif = json.loads(run_cli("scan", ".", "--no-cache", "--format", "sarif", cwd=tmp_path).stdout)
    (result,) = sarif["runs"][0]["results"]
    steps = result["codeFlows"][0]["threadFlows"][0]["locations"]
    uris = [s["location"]["physicalLocation"]["artifactLocation"]["uri"] for s in steps]
    assert uris == ["app/settings.py", "app/client.py"]


def test_a_cached_result_is_not_reused_when_an_imported_module_changes(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write(
        project,
        {"app/__init__.py": "", "app/settings.py": "import os\nAPI_TOKEN = os.environ['T']\n", "app/client.py": CLIENT},
    )
    cache = {"MANIAC_GUARD_CACHE_DIR": str(tmp_path / "cache")}
    assert scan_json(project, env=cache) == []
    assert scan_json(project, env=cache) == []  # from the cache
    (project / "app/settings.py").write_text(f'API_TOKEN = "{LITERAL}"\n')
    found = [(f["rule_id"], f["path"]) for f in scan_json(project, env=cache)]
    assert found == [("MG202", "app/settings.py")]


NEGATIVES = {
    "a trace id": """
        import os
        from maniac import Maniac
        from .ids import TRACE
        c = Maniac(api_key=os.environ["MANIAC_API_KEY"], default_headers={"X-Trace-Id": TRACE})
        """,
    "a print": """
        import os
        from maniac import Maniac
        from .ids import TRACE
        print(TRACE)
        c = Maniac(api_key=os.environ["MANIAC_API_KEY"])
        """,
    "a header to another service": """
        import os
        import requests
        from .ids import TRACE
        requests.get("https://api.example.com/v1", headers={"Authorization": f"Bearer {TRACE}"})
        os.environ.setdefault("MANIAC_REGION", "eu")
        """,
}


@pytest.mark.parametrize("case", list(NEGATIVES))
def test_a_literal_that_only_travels_elsewhere_is_not_reported(tmp_path: Path, case: str) -> None:
    write(tmp_path, {"app/__init__.py": "", "app/ids.py": f'TRACE = "{LITERAL}"\n', "app/main.py": NEGATIVES[case]})
    assert scan_json(tmp_path, "--no-cache") == []


def test_recursion_and_self_reference_end(tmp_path: Path) -> None:
    code = """
        from maniac import Maniac
        from .b import g

        def f(x):
            return g(f(x) + "a")

        KEY = KEY + "b" if False else "c"
        c = Maniac(api_key=f(KEY))
        """
    write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/a.py": code,
            "app/b.py": "from .a import f\n\ndef g(y):\n    return f(y)\n",
        },
    )
    assert scan_json(tmp_path, "--no-cache") == []


def test_a_module_that_imports_the_sdk_and_takes_its_literal_from_elsewhere_passes_the_screen() -> None:
    from maniac_guard.python.screen import screen_text

    assert screen_text("from maniac import Maniac\nfrom .settings import KEY, make\nc = Maniac(api_key=make(KEY))\n")
    assert screen_text("import os\nfrom .settings import KEY\nos.environ['MANIAC_API_KEY'] = KEY\n")
    assert screen_text("from maniac import Maniac\nclass C(Maniac):\n    pass\nc = C(api_key=K)\n")


def test_an_analysis_over_its_work_limit_ends_with_a_note_naming_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    from maniac_guard.detectors import load_detectors
    from maniac_guard.engine import scan_source
    from maniac_guard.python import flow
    from maniac_guard.sources import SourceFile

    monkeypatch.setattr(flow, "FILE_BUDGET", 20)
    chain = "\n".join(f"def f{i}(x):\n    return f{i + 1}(x + 'a')\n" for i in range(40))
    code = f"from maniac import Maniac\n{chain}\ndef f40(x):\n    return x\nc = Maniac(api_key=f0('{LITERAL}'))\n"
    source = SourceFile("app/deep.py", code.encode())
    scan_source(source, load_detectors())
    assert any(note.startswith("app/deep.py: the Python analysis reached its work limit") for note in source.notes)
