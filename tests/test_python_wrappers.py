"""Which functions of other modules the value flow binds at a call: a
function that makes a client only by calling what it is given (`def
run(work): return work()`) is followed only from a call that gives it
something that may make one (the SDK class, a wrapper, a partial), so
helpers called hundreds of times with ordinary callables do not spend the
work limit, and the calls that do hand over the SDK are still found."""

from __future__ import annotations

from pathlib import Path

from maniac_guard.python.analyzer import Analysis
from tests.helpers import analyze_tree as analyze

LITERAL = "Zx81kQ2mP0aLw7Rt"  # not an mk- key: no key pattern can see it

HELPERS = """
    from maniac import Maniac


    def make_client(key):
        return Maniac(api_key=key)


    def build(cls, key):
        return cls(api_key=key)


    def run_streamed(work, items, label="run"):
        results = []
        for item in items:
            text = str(item).strip().lower().replace("-", "_")
            results.append(work(text))
            results.append(work(text + label))
            results.append(work(label.upper()))
        return sorted(results, key=len)


    def relay(work, key):
        return run_streamed(work, [key])


    class Holder:
        def __init__(self, cls):
            self.cls = cls

        def make(self, key):
            return self.cls(api_key=key)
"""


def lines(analysis: Analysis) -> list[int]:
    return sorted(issue.node.lineno for issue in analysis.issues if issue.path is None)


def test_a_helper_that_calls_its_parameter_is_not_followed_from_calls_that_give_it_no_client_maker(
    tmp_path: Path,
) -> None:
    calls = "\n".join(f"    run_streamed(len, ['a{i}', 'b{i}'], label='x{i}')" for i in range(300))
    main = f"""
from maniac import Maniac
from helpers import make_client, run_streamed


def test_many():
{calls}


def test_client():
    return make_client("{LITERAL}")
"""
    analysis = analyze(tmp_path, {"helpers.py": HELPERS, "test_app.py": main}, "test_app.py")
    assert not analysis.exhausted
    assert lines(analysis) == [main.splitlines().index(f'    return make_client("{LITERAL}")') + 1]


def test_a_helper_that_calls_its_parameter_is_followed_when_a_call_gives_it_the_sdk(tmp_path: Path) -> None:
    main = f"""
    import functools
    from maniac import Maniac
    from helpers import Holder, build, make_client, relay, run_streamed

    a = build(Maniac, "{LITERAL}A")
    b = run_streamed(make_client, ["{LITERAL}B"])
    c = relay(make_client, "{LITERAL}C")
    d = Holder(Maniac).make("{LITERAL}D")
    e = build(dict, "{LITERAL}E")
    f = run_streamed(str.upper, ["{LITERAL}F"])
    """
    analysis = analyze(tmp_path, {"helpers.py": HELPERS, "app.py": main}, "app.py")
    assert not analysis.exhausted
    assert lines(analysis) == [6, 7, 8, 9]


def test_a_package_that_imports_its_own_compiled_submodule_is_read_without_looping(tmp_path: Path) -> None:
    # pkg/_speedups is a C extension (no .py): `from pkg import _speedups` in
    # pkg/__init__.py names the package itself, whose member is that import.
    main = f"""
    from maniac import Maniac
    from pkg import _speedups, make_client

    client = make_client("{LITERAL}")
    fast = Maniac(api_key=_speedups.key())
    """
    package = """
    from maniac import Maniac
    from pkg import _speedups


    def make_client(key):
        return Maniac(api_key=key)
    """
    analysis = analyze(tmp_path, {"pkg/__init__.py": package, "app.py": main}, "app.py")
    assert not analysis.exhausted
    assert lines(analysis) == [5]
