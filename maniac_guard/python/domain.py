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
from typing import TYPE_CHECKING

from maniac_guard.records import dataclass, field

if TYPE_CHECKING:
    from maniac_guard.python.modules import ModuleInfo

# (path, line, column, label): where a value went, 1-based, for reports.
Step = tuple[str, int, int, str]

MAX_VALUES = 24  # a wider set is cut, with an Opaque standing for the rest
MAX_STEPS = 10
MAX_TEXT = 4096  # longer strings are not built (a * 10**9 must not run)


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


@dataclass(frozen=True)
class Opaque:
    """Not known; `deps`: the parameters (unbound) it was computed from."""

    deps: frozenset[ast.arg] = frozenset()


@dataclass(frozen=True)
class Env:
    """A read of the environment."""

    name: str | None


@dataclass(frozen=True)
class DictV:
    items: tuple[tuple[str, Values], ...]
    open: bool = False  # may hold keys not listed


@dataclass(frozen=True)
class SeqV:
    """A list, tuple or set: `elts` by position when known, `more` anywhere."""

    elts: tuple[Values, ...] | None
    more: Values = ()


@dataclass(frozen=True)
class Args:
    pos: tuple[Values, ...] = ()
    kw: tuple[tuple[str, Values], ...] = ()
    rest: bool = False  # a `*x`/`**x` whose content is not known


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


@dataclass(frozen=True)
class PartialV:
    func: Values
    args: Args


@dataclass(frozen=True)
class ClassV:
    node: ast.ClassDef
    mod: ModuleInfo


@dataclass(frozen=True)
class InstV:
    cls: ClassV
    args: Args | None  # the constructor's arguments (None: not known)


@dataclass(frozen=True)
class EnumV:
    cls: ClassV
    member: str


@dataclass(frozen=True)
class ModV:
    mod: ModuleInfo


@dataclass(frozen=True)
class ExtV:
    """Something outside the project, by qualified name (`maniac.Maniac`, `os.environ`)."""

    qname: str


@dataclass(frozen=True)
class ParserV:
    """An argparse parser (by the call that made it) or what parse_args() gave."""

    mod: ModuleInfo
    namespace: bool


@dataclass(frozen=True)
class TemplateV:
    """`string.Template(template)`."""

    template: Values


AVal = (
    Text | Opaque | Env | DictV | SeqV | FuncV | PartialV | ClassV | InstV | EnumV | ModV | ExtV | ParserV | TemplateV
)
Values = tuple[AVal, ...]
UNKNOWN: Values = (Opaque(),)


def union(*groups: Values) -> Values:
    """The values of every group, each once, at most MAX_VALUES."""
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
            out |= value.deps
    return out


def opaque(*groups: Values) -> Values:
    """Unknown, depending on what the inputs depend on."""
    deps: frozenset[ast.arg] = frozenset()
    for group in groups:
        deps |= deps_of(group)
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
