"""maniac_guard.records stands in for `dataclasses` at run time (mypy checks
against the real module): every feature the package uses behaves as the
standard module's does, class for class, on the same definitions."""

from __future__ import annotations

import ast
import copy
import dataclasses
import pickle
from pathlib import Path
from typing import Any, ClassVar

import pytest

from maniac_guard import records

RECORDS: Any = records  # the runtime implementation, not the standard module mypy sees
BOTH = [pytest.param(dataclasses, id="dataclasses"), pytest.param(RECORDS, id="records")]


def _classes(mod: Any) -> dict[str, Any]:
    """The same definitions, made with `mod.dataclass` and `mod.field`."""
    dataclass, field = mod.dataclass, mod.field

    @dataclass(frozen=True)
    class Point:
        x: int
        y: int = 0
        label: str = field(default="", compare=False)
        tags: list[str] = field(default_factory=list, compare=False, hash=False)
        limit: ClassVar[int] = 3

    @dataclass
    class Bag:
        name: str
        items: list[int] = field(default_factory=list)
        hidden: str = field(default="h", repr=False)

    @dataclass
    class Bigger(Bag):
        size: int = 1
        name: str = "default name"  # redefined: keeps its place, gains a default

    @dataclass(frozen=True)
    class Masked:
        text: str
        shown: str = field(default="", init=False, repr=False)

        def __post_init__(self) -> None:
            object.__setattr__(self, "text", self.text.upper())
            object.__setattr__(self, "shown", self.text[:2])

    @dataclass(frozen=True, order=True)
    class Entry:
        path: str
        line: int

    @dataclass(eq=False)
    class Identity:
        value: int

    @dataclass
    class OwnEq:
        value: int

        def __eq__(self, other: object) -> bool:
            return isinstance(other, OwnEq) and abs(self.value - other.value) < 2

        def __hash__(self) -> int:
            return 0

    return locals()


@pytest.fixture(scope="module")
def real() -> dict[str, Any]:
    return _classes(dataclasses)


@pytest.fixture(scope="module")
def ours() -> dict[str, Any]:
    return _classes(RECORDS)


def _behaviour(c: dict[str, Any], replace: Any) -> dict[str, Any]:
    """What a user of these classes can observe, as plain values."""
    Point, Bag, Bigger, Masked, Entry = c["Point"], c["Bag"], c["Bigger"], c["Masked"], c["Entry"]
    out: dict[str, Any] = {}
    p = Point(1, 2, "a", ["t"])
    out["repr"] = [repr(p), repr(Bag("b")), repr(Bigger()), repr(Masked("abc")), repr(Entry("p", 1))]
    out["eq"] = [p == Point(1, 2, "other"), p == Point(1, 3), p == (1, 2), Bag("b") == Bag("b", [])]
    out["hash"] = [hash(p) == hash(Point(1, 2, "z", ["u"])), hash(p) == hash((1, 2))]
    out["unhashable"] = Bag.__hash__ is None and Bigger.__hash__ is None
    out["factories"] = Bag("x").items is not Bag("x").items
    out["bigger"] = [vars(Bigger()), vars(Bigger("n", [1], "s", 5))]
    out["masked"] = [vars(Masked("hello")), Masked("ab") == Masked("AB")]
    out["order"] = [
        Entry("a", 2) < Entry("b", 1),
        Entry("a", 2) >= Entry("a", 1),
        repr(sorted([Entry("b", 0), Entry("a", 9)])),
    ]
    out["class_attrs"] = [Point.y, Point.label, hasattr(Point, "tags"), hasattr(Point, "x"), Point.limit]
    out["identity"] = [c["Identity"](1) == c["Identity"](1), c["Identity"].__hash__ is object.__hash__]
    out["own_eq"] = [c["OwnEq"](1) == c["OwnEq"](2), hash(c["OwnEq"](5))]
    out["match_args"] = [Point.__match_args__, Bigger.__match_args__, Masked.__match_args__]
    out["replace"] = [
        repr(replace(p, y=5)),
        replace(Masked("hey"), text="you").shown,
        vars(replace(Bigger(), size=3)),
    ]
    with pytest.raises(AttributeError) as frozen:
        p.x = 5
    out["frozen"] = str(frozen.value)
    with pytest.raises(AttributeError):
        del p.y
    with pytest.raises(ValueError) as init_false:
        replace(Masked("a"), shown="b")
    out["init_false"] = str(init_false.value)
    with pytest.raises(TypeError):
        replace(p, nothing=1)
    out["copy"] = [copy.copy(p) == p, copy.deepcopy(Bag("d", [1])) == Bag("d", [1])]
    return out


@RECORDS.dataclass(frozen=True)
class Sealed:
    name: str
    extra: dict[str, int] = RECORDS.field(default_factory=dict, compare=False)


@RECORDS.dataclass
class Grown:
    items: list[str] = RECORDS.field(default_factory=list)


def test_records_cross_processes_as_dataclasses_do() -> None:
    # forkshare.py sends a chunk's findings back from a helper with pickle.
    sealed = Sealed("a", {"k": 1})
    back = pickle.loads(pickle.dumps(sealed))
    assert back == sealed and back.extra == {"k": 1} and hash(back) == hash(sealed)
    grown = pickle.loads(pickle.dumps(Grown(["x"])))
    assert grown == Grown(["x"]) and grown.items == ["x"]


def test_records_behave_as_dataclasses(real: dict[str, Any], ours: dict[str, Any]) -> None:
    mine = _behaviour(ours, RECORDS.replace)
    theirs = _behaviour(real, dataclasses.replace)
    assert mine == theirs


@pytest.mark.parametrize("mod", BOTH)
def test_definitions_dataclasses_refuse_are_refused(mod: Any) -> None:
    with pytest.raises(ValueError, match="mutable default"):

        @mod.dataclass
        class Shared:
            items: list[int] = []  # noqa: RUF012 - the mistake under test

    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):

        @mod.dataclass
        class Order:
            a: int = 0
            b: int

    @mod.dataclass(frozen=True)
    class Frozen:
        a: int

    with pytest.raises(TypeError, match="cannot inherit non-frozen dataclass from a frozen one"):

        @mod.dataclass
        class Thawed(Frozen):
            b: int = 0

    with pytest.raises(TypeError, match="replace\\(\\) should be called on dataclass instances"):
        mod.replace(object())


def test_the_package_declares_its_records_with_maniac_guard_records() -> None:
    # A class made by the standard module among ours would bring `inspect`
    # back onto every start, and `dataclasses.replace` on one of ours fails.
    package = Path(records.__file__).parent
    offenders = []
    for path in sorted(package.rglob("*.py")):
        if path.name == "records.py" and path.parent == package:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            if "dataclasses" in names:
                offenders.append(f"{path.relative_to(package.parent)}:{node.lineno}")
    assert offenders == []


def _tuples(make_base: Any) -> Any:
    class Context(make_base):  # type: ignore[misc, valid-type]
        """How to report."""

        color: bool
        verbose: bool = False
        fail_on: str = "low"

        @property
        def loud(self) -> bool:
            return bool(self.color and self.verbose)

        def label(self) -> str:
            return f"{self.fail_on}!"

    return Context


def _tuple_behaviour(cls: Any) -> list[Any]:
    c = cls(True, verbose=True)
    return [
        repr(c),
        tuple(c),
        c == (True, True, "low"),
        hash(c) == hash((True, True, "low")),
        c.loud,
        c.label(),
        c._replace(fail_on="high"),
        c._asdict(),
        cls._fields,
        cls._field_defaults,
        cls.__doc__,
        cls.__qualname__.rsplit(".", 1)[-1],
        list(cls.__annotations__),  # the names; typing wraps string annotations in ForwardRef, records keeps them
        [base.__name__ for base in cls.__mro__],
        isinstance(c, tuple),
    ]


def test_named_tuples_behave_as_typing_named_tuples() -> None:
    import typing

    assert _tuple_behaviour(_tuples(RECORDS.NamedTuple)) == _tuple_behaviour(_tuples(typing.NamedTuple))


class Shipped(RECORDS.NamedTuple):  # type: ignore[misc]
    path: str
    lines: tuple[int, ...] = ()


def test_named_tuples_pickle_and_refuse_what_typing_refuses() -> None:
    assert pickle.loads(pickle.dumps(Shipped("a", (1,)))) == Shipped("a", (1,))
    with pytest.raises(TypeError, match="Non-default namedtuple field"):

        class Bad(RECORDS.NamedTuple):  # type: ignore[misc]
            a: int = 0
            b: int

    with pytest.raises(AttributeError, match="Cannot overwrite NamedTuple attribute _replace"):

        class Clash(RECORDS.NamedTuple):  # type: ignore[misc]
            a: int

            def _replace(self) -> None: ...


def test_init_compiled_on_first_use_serves_base_and_subclass_alike() -> None:
    # records.py compiles a class's __init__ when it is first made: a
    # subclass made first must not leave its base with the subclass's.
    @RECORDS.dataclass
    class Base:
        a: int
        items: list[int] = RECORDS.field(default_factory=list)

    @RECORDS.dataclass
    class Child(Base):
        b: str = "b"

    class Plain(Base):  # not a record: inherits Base's __init__
        pass

    assert vars(Child(1, [2], "c")) == {"a": 1, "items": [2], "b": "c"}
    assert vars(Plain(3)) == {"a": 3, "items": []}
    assert vars(Base(4)) == {"a": 4, "items": []}
    assert vars(Child(5)) == {"a": 5, "items": [], "b": "b"}
    with pytest.raises(TypeError):
        Base(1, [], "extra")
