"""The abstract values of the Python value flow (flow.py): what an expression
can hold, as a tuple of these (a set, kept in first-seen order and capped).

A `Text` is a string known exactly, with the node it comes from (the literal,
or the expression that builds it) and the steps it took; `Opaque` is
anything else, with the parameters it depends on (so a sink in a function
can be asked again at each call); the other values are the containers,
functions, classes, instances and modules that strings travel in.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from itertools import chain
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from maniac_guard.records import dataclass, field

if TYPE_CHECKING:
    from maniac_guard.python.modules import ModuleInfo

# (path, line, column, label): where a value went, 1-based, for reports.
Step = tuple[str, int, int, str]

MAX_VALUES = 24  # a wider set is cut, with an Opaque standing for the rest
MAX_STEPS = 10
MAX_TEXT = 4096  # longer strings are not built (a * 10**9 must not run)


def _compared(*names: str) -> tuple[Callable[[Any], int], Callable[[Any, object], Any]]:
    """`__hash__` and `__eq__` of a frozen value over its compared fields
    `names` (in field order: the hash is the one records.py would give, so
    sets and dicts of values keep their order). Values are hashed millions
    of times (memo keys, `union`), each hash going down nested containers:
    it is computed once and kept on the instance; equality tries identity first."""
    get = attrgetter(*names) if len(names) > 1 else (lambda value: (getattr(value, names[0]),))

    def __hash__(self: Any) -> int:
        kept = self.__dict__
        found: int | None = kept.get("_hash")
        if found is None:
            found = kept["_hash"] = hash(get(self))
        return found

    def __eq__(self: Any, other: object) -> Any:
        if self is other:
            return True
        if other.__class__ is self.__class__:
            return bool(get(self) == get(other))
        return NotImplemented

    return __hash__, __eq__


@dataclass(frozen=True)
class Text:
    value: str
    site: ast.expr  # ast nodes compare by identity
    path: str  # the module the site is in
    compound: bool = False  # built from pieces
    through: bool = False  # reached through a name, attribute, element or call
    steps: tuple[Step, ...] = field(default=(), compare=False)
    via: str | None = field(default=None, compare=False)  # first function it was passed to
    raw: str | None = field(default=None, compare=False)  # the literal, when decoded from it
    parts: tuple[Text, ...] = field(default=(), compare=False)  # what it was built from

    __hash__, __eq__ = _compared("value", "site", "path", "compound", "through")


@dataclass(frozen=True)
class Opaque:
    """Not known; `deps`: the parameters (unbound) it was computed from."""

    deps: frozenset[ast.arg] = frozenset()

    __hash__, __eq__ = _compared("deps")


@dataclass(frozen=True)
class Env:
    """A read of the environment."""

    name: str | None

    __hash__, __eq__ = _compared("name")


@dataclass(frozen=True)
class DictV:
    items: tuple[tuple[str, Values], ...]
    open: bool = False  # may hold keys not listed

    __hash__, __eq__ = _compared("items", "open")


@dataclass(frozen=True)
class SeqV:
    """A list, tuple or set: `elts` by position when known, `more` anywhere."""

    elts: tuple[Values, ...] | None
    more: Values = ()

    __hash__, __eq__ = _compared("elts", "more")


@dataclass(frozen=True)
class Args:
    pos: tuple[Values, ...] = ()
    kw: tuple[tuple[str, Values], ...] = ()
    rest: bool = False  # a `*x`/`**x` whose content is not known

    __hash__, __eq__ = _compared("pos", "kw", "rest")


@dataclass(frozen=True, eq=False)
class Frame:
    """A call of `func`: its parameters bound (by name), the frame it was defined in."""

    func: ast.AST
    bound: tuple[tuple[str, Values], ...]
    parent: Frame | None
    depth: int = 0
    # Frames key the memo, so each is hashed many times: its hash (which
    # hashes every value bound, nested containers included) is computed once.
    _hash: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((id(self.func), self.bound, self.parent)))

    def __eq__(self, other: object) -> bool:
        return self is other or (
            isinstance(other, Frame)
            and self._hash == other._hash
            and self.func is other.func
            and self.bound == other.bound
            and self.parent == other.parent
        )

    def __hash__(self) -> int:
        return self._hash

    def lookup(self, name: str) -> Values | None:
        for bound_name, values in self.bound:
            if bound_name == name:
                return values
        return None


@dataclass(frozen=True)
class FuncV:
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
    mod: ModuleInfo
    frame: Frame | None
    self_: Values | None = None  # a bound method's first argument

    __hash__, __eq__ = _compared("node", "mod", "frame", "self_")


@dataclass(frozen=True)
class PartialV:
    func: Values
    args: Args

    __hash__, __eq__ = _compared("func", "args")


@dataclass(frozen=True)
class ClassV:
    node: ast.ClassDef
    mod: ModuleInfo

    __hash__, __eq__ = _compared("node", "mod")


@dataclass(frozen=True)
class InstV:
    cls: ClassV
    args: Args | None  # the constructor's arguments (None: not known)

    __hash__, __eq__ = _compared("cls", "args")


@dataclass(frozen=True)
class EnumV:
    cls: ClassV
    member: str

    __hash__, __eq__ = _compared("cls", "member")


@dataclass(frozen=True)
class ModV:
    mod: ModuleInfo

    __hash__, __eq__ = _compared("mod")


@dataclass(frozen=True)
class ExtV:
    """Something outside the project, by qualified name (`maniac.Maniac`, `os.environ`)."""

    qname: str

    __hash__, __eq__ = _compared("qname")


@dataclass(frozen=True)
class ParserV:
    """An argparse parser (by the call that made it) or what parse_args() gave."""

    mod: ModuleInfo
    namespace: bool

    __hash__, __eq__ = _compared("mod", "namespace")


@dataclass(frozen=True)
class TemplateV:
    """`string.Template(template)`."""

    template: Values

    __hash__, __eq__ = _compared("template")


AVal = (
    Text | Opaque | Env | DictV | SeqV | FuncV | PartialV | ClassV | InstV | EnumV | ModV | ExtV | ParserV | TemplateV
)
Values = tuple[AVal, ...]
UNKNOWN: Values = (Opaque(),)


def union(*groups: Values) -> Values:
    """The values of every group, each once, at most MAX_VALUES."""
    if len(groups) == 1 and len(groups[0]) <= 1 and type(groups[0]) is tuple:
        return groups[0]  # nothing to merge (half of the calls)
    whole = dict.fromkeys(chain.from_iterable(groups))
    if len(whole) <= MAX_VALUES:
        return tuple(whole)
    seen: dict[AVal, None] = {}
    for group in groups:
        for value in group:
            if value not in seen:
                if len(seen) >= MAX_VALUES:
                    seen.setdefault(Opaque(), None)
                    return tuple(seen)
                seen[value] = None
    return tuple(seen)


def deps_of(values: Values) -> frozenset[ast.arg]:
    out: frozenset[ast.arg] = frozenset()
    for value in values:
        if isinstance(value, Opaque):
            out = _joined(out, value.deps)
    return out


def _joined(deps: frozenset[ast.arg], more: frozenset[ast.arg]) -> frozenset[ast.arg]:
    """`deps | more`, without copying either when one holds the other (the usual case)."""
    if more <= deps:
        return deps
    return more if not deps or deps <= more else deps | more


def opaque(*groups: Values) -> Values:
    """Unknown, depending on what the inputs depend on."""
    deps: frozenset[ast.arg] = frozenset()
    for group in groups:
        deps = _joined(deps, deps_of(group))
    return (Opaque(deps),)


def texts(values: Values) -> list[Text]:
    return [v for v in values if isinstance(v, Text)]


def stepped(values: Values, step: Step | None, *, via: str | None = None, depth: int = 2) -> Values:
    """The values reached through a binding: marked `through`, with `step`
    added (and containers' contents too, a level or two down). A value that
    would not change is passed on as it is (this runs for every value an
    attribute, subscript or binding passes on)."""
    out: list[AVal] = []
    changed = False
    for value in values:
        new = value
        if isinstance(value, Text):
            steps = value.steps
            if step is not None and len(steps) < MAX_STEPS and (not steps or steps[-1][:2] != step[:2]):
                steps = (*steps, step)
            if steps is not value.steps or not value.through or (via is not None and value.via is None):
                # The constructor, not dataclasses.replace.
                new = Text(
                    value.value,
                    value.site,
                    value.path,
                    value.compound,
                    True,
                    steps,
                    value.via or via,
                    value.raw,
                    value.parts,
                )
        elif depth and isinstance(value, DictV):
            items = tuple((k, stepped(v, step, via=via, depth=depth - 1)) for k, v in value.items)
            if any(new_v is not old_v for (_, new_v), (_, old_v) in zip(items, value.items)):
                new = DictV(items, value.open)
        elif depth and isinstance(value, SeqV):
            elts = None if value.elts is None else tuple(stepped(e, step, via=via, depth=depth - 1) for e in value.elts)
            more = stepped(value.more, step, via=via, depth=depth - 1)
            if more is not value.more or (elts is not None and any(a is not b for a, b in zip(elts, value.elts or ()))):
                new = SeqV(elts, more)
        changed = changed or new is not value
        out.append(new)
    return tuple(out) if changed else values
