"""`dataclass`, `field`, `replace` and `NamedTuple` for this package, without
importing `dataclasses` or `typing` (issue 26: a pre-commit hook's start-up).

The standard module imports `inspect` (and with it ast, dis, tokenize): ~10 ms
of every start, and it compiles six functions per frozen class (~1 ms each).
Here a class costs one `exec` of its `__init__` (the only generated method a
scan calls millions of times), on its first instantiation; equality, hashing, ordering and repr are shared
functions over the class's field names. mypy sees the standard module (the
`TYPE_CHECKING` branch below), so every class is type-checked as a dataclass;
tests/test_records.py holds this module to the standard one's behaviour for
every feature the package uses: defaults, `default_factory`, `init`, `repr`,
`compare`, `hash`, `eq`, `frozen`, `order`, `__post_init__`, inheritance,
`replace`, pickling. Nothing else (no `slots`, `kw_only`, `InitVar`, `fields`,
`asdict`): a class that needs more uses the standard module.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~3 ms); mypy reads the name
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["NamedTuple", "dataclass", "field", "replace"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


class _Factory:
    def __repr__(self) -> str:
        return "<factory>"


MISSING: Any = _Missing()
_HAS_FACTORY: Any = _Factory()


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a frozen record (dataclasses.FrozenInstanceError's role)."""


class Field:
    __slots__ = ("compare", "default", "default_factory", "hash", "init", "name", "repr")

    def __init__(
        self,
        default: Any,
        default_factory: Any,
        init: bool,
        repr: bool,
        compare: bool,
        hash: bool | None,
    ) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.compare = compare
        self.hash = hash

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, default={self.default!r}, default_factory={self.default_factory!r})"


def _field(
    *,
    default: Any = MISSING,
    default_factory: Any = MISSING,
    init: bool = True,
    repr: bool = True,
    hash: bool | None = None,
    compare: bool = True,
) -> Any:
    return Field(default, default_factory, init, repr, compare, hash)


def _is_classvar(annotation: Any) -> bool:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return text.startswith(("ClassVar", "typing.ClassVar"))


def _own_fields(cls: type) -> list[Field]:
    out = []
    # Not inspect.get_annotations: importing inspect is what this module avoids.
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063
        if _is_classvar(annotation):
            continue
        default = cls.__dict__.get(name, MISSING)
        made = default if isinstance(default, Field) else Field(default, MISSING, True, True, True, None)
        made.name = name
        if made.default is not MISSING and type(made.default).__hash__ is None:
            raise ValueError(
                f"mutable default {type(made.default)} for field {name} is not allowed: use default_factory"
            )
        if isinstance(default, Field):  # what the standard module leaves on the class
            if made.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, made.default)
        out.append(made)
    return out


def _init_source(fields: list[Field], frozen: bool, post_init: bool) -> tuple[str, dict[str, Any]]:
    """`__init__`'s source, as dataclasses writes it, and the names it uses."""
    names: dict[str, Any] = {"__record_factory__": _HAS_FACTORY, "__record_set__": object.__setattr__}
    params, body = [], []
    seen_default = False
    for f in fields:
        value = f.name
        if f.init:
            if f.default is not MISSING:
                names[f"__record_dflt_{f.name}__"] = f.default
                params.append(f"{f.name}=__record_dflt_{f.name}__")
                seen_default = True
            elif f.default_factory is not MISSING:
                names[f"__record_fact_{f.name}__"] = f.default_factory
                params.append(f"{f.name}=__record_factory__")
                value = f"__record_fact_{f.name}__() if {f.name} is __record_factory__ else {f.name}"
                seen_default = True
            elif seen_default:
                raise TypeError(f"non-default argument {f.name!r} follows default argument")
            else:
                params.append(f.name)
        elif f.default is not MISSING:
            names[f"__record_dflt_{f.name}__"] = f.default
            value = f"__record_dflt_{f.name}__"
        elif f.default_factory is not MISSING:
            names[f"__record_fact_{f.name}__"] = f.default_factory
            value = f"__record_fact_{f.name}__()"
        else:
            continue
        if frozen:
            body.append(f"__record_set__(__record_self__, {f.name!r}, {value})")
        else:
            body.append(f"__record_self__.{f.name} = {value}")
    if post_init:
        body.append("__record_self__.__post_init__()")
    signature = ", ".join(["__record_self__", *params])
    lines = "\n".join(f"  {line}" for line in body or ["pass"])
    return f"def __init__({signature}):\n{lines}\n", names


def _compiled_on_first_call(cls: type, source: str, names: dict[str, Any]) -> Callable[..., None]:
    """`__init__` compiled when the class is first instantiated: a third of
    the records a hook defines are never made in its run (archives, windows,
    the ignore file), and compiling is most of what a record costs."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        exec(source, names)
        init = names["__init__"]
        init.__qualname__ = f"{cls.__qualname__}.__init__"
        cls.__init__ = init  # type: ignore[misc]
        init(self, *args, **kwargs)

    return __init__


def _values(fields: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    def values(self: Any) -> tuple[Any, ...]:
        return tuple([getattr(self, name) for name in fields])

    return values


def _comparisons(compared: Callable[[Any], tuple[Any, ...]], order: bool) -> dict[str, Callable[[Any, Any], Any]]:
    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return compared(self) == compared(other)
        return NotImplemented

    out: dict[str, Callable[[Any, Any], Any]] = {"__eq__": __eq__}
    if not order:
        return out

    def make(op: Callable[[Any, Any], bool], name: str) -> Callable[[Any, Any], Any]:
        def compare(self: Any, other: Any) -> Any:
            if other.__class__ is self.__class__:
                return op(compared(self), compared(other))
            return NotImplemented

        compare.__name__ = name
        return compare

    out["__lt__"] = make(lambda a, b: a < b, "__lt__")
    out["__le__"] = make(lambda a, b: a <= b, "__le__")
    out["__gt__"] = make(lambda a, b: a > b, "__gt__")
    out["__ge__"] = make(lambda a, b: a >= b, "__ge__")
    return out


def _repr_of(shown: tuple[str, ...]) -> Callable[[Any], str]:
    def __repr__(self: Any) -> str:
        parts = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{self.__class__.__qualname__}({parts})"

    return __repr__


def _frozen_setattr(cls: type, names: frozenset[str]) -> tuple[Callable[..., None], Callable[..., None]]:
    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)  # type: ignore[arg-type]

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)  # type: ignore[arg-type]

    return __setattr__, __delattr__


def _process(cls: type, eq: bool, frozen: bool, order: bool) -> type:
    fields: dict[str, Field] = {}
    any_frozen_base = any_plain_base = False
    for base in cls.__mro__[-1:0:-1]:
        inherited = base.__dict__.get("__record_fields__")
        if inherited is not None:
            fields.update((f.name, f) for f in inherited)
            if base.__dict__["__record_frozen__"]:
                any_frozen_base = True
            else:
                any_plain_base = True
    if any_frozen_base and not frozen:
        raise TypeError("cannot inherit non-frozen dataclass from a frozen one")
    if any_plain_base and frozen:
        raise TypeError("cannot inherit frozen dataclass from a non-frozen one")
    for f in _own_fields(cls):
        fields[f.name] = f
    ordered = list(fields.values())
    cls.__record_fields__ = tuple(ordered)  # type: ignore[attr-defined]
    cls.__record_frozen__ = frozen  # type: ignore[attr-defined]
    cls.__match_args__ = tuple(f.name for f in ordered if f.init)  # type: ignore[attr-defined, misc]
    own = cls.__dict__
    if "__init__" not in own:
        source, names = _init_source(ordered, frozen, hasattr(cls, "__post_init__"))
        cls.__init__ = _compiled_on_first_call(cls, source, names)  # type: ignore[misc]
    if "__repr__" not in own:
        cls.__repr__ = _repr_of(tuple(f.name for f in ordered if f.repr))  # type: ignore[assignment]
    compared = _values(tuple(f.name for f in ordered if f.compare))
    if eq:
        for name, method in _comparisons(compared, order).items():
            if name not in own:
                setattr(cls, name, method)
    elif order:
        raise ValueError("eq must be true if order is true")
    if frozen:
        cls.__setattr__, cls.__delattr__ = _frozen_setattr(cls, frozenset(fields))  # type: ignore[method-assign]
    explicit_hash = "__hash__" in own and not (own["__hash__"] is None and "__eq__" in own)
    if eq and frozen and not explicit_hash:
        hashed = _values(tuple(f.name for f in ordered if (f.compare if f.hash is None else f.hash)))

        def __hash__(self: Any) -> int:
            return hash(hashed(self))

        cls.__hash__ = __hash__  # type: ignore[method-assign, assignment]
    elif eq and not explicit_hash:
        cls.__hash__ = None  # type: ignore[assignment]
    return cls


def _dataclass(cls: type | None = None, /, *, eq: bool = True, frozen: bool = False, order: bool = False) -> Any:
    if cls is None:
        return lambda wrapped: _process(wrapped, eq, frozen, order)
    return _process(cls, eq, frozen, order)


def _replace(obj: Any, /, **changes: Any) -> Any:
    fields = getattr(type(obj), "__record_fields__", None)
    if fields is None:
        raise TypeError("replace() should be called on dataclass instances")
    for f in fields:
        if not f.init:
            if f.name in changes:
                raise ValueError(f"field {f.name} is declared with init=False, it cannot be specified with replace()")
            continue
        if f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    return obj.__class__(**changes)


# typing.NamedTuple's class form, without importing typing (~3 ms of a
# hook's start): the same collections.namedtuple, with the class body's
# methods, properties and docstring copied onto it.
_NOT_OURS = frozenset({"__module__", "__name__", "__annotations__"})
_PROHIBITED = frozenset(
    {"__new__", "__init__", "__slots__", "__getnewargs__", "_fields", "_field_defaults", "_make", "_replace", "_asdict"}
)


class _NamedTupleMeta(type):
    def __new__(cls, typename: str, bases: tuple[type, ...], ns: dict[str, Any]) -> Any:
        if not bases:  # the NamedTuple base itself
            return super().__new__(cls, typename, bases, ns)
        if bases != (_NamedTuple,):
            raise TypeError("can only inherit from a NamedTuple type")
        from collections import namedtuple

        types = ns.get("__annotations__", {})
        defaults = [name for name in types if name in ns]
        if defaults != list(types)[len(types) - len(defaults) :]:
            raise TypeError(f"Non-default namedtuple field follows default field in {typename}")
        fields, values = list(types), [ns[n] for n in defaults]
        made: Any = namedtuple(typename, fields, defaults=values, module=ns["__module__"])  # type: ignore[misc]
        made.__annotations__ = made.__new__.__annotations__ = dict(types)
        for key, value in ns.items():
            if key in _PROHIBITED:
                raise AttributeError("Cannot overwrite NamedTuple attribute " + key)
            if key not in _NOT_OURS and key not in made._fields:
                setattr(made, key, value)
        return made


class _NamedTuple(metaclass=_NamedTupleMeta):
    pass


if TYPE_CHECKING:  # mypy checks every class as the standard module's dataclass or NamedTuple
    from dataclasses import dataclass as dataclass
    from dataclasses import field as field
    from dataclasses import replace as replace
    from typing import NamedTuple as NamedTuple
else:
    dataclass, field, replace, NamedTuple = _dataclass, _field, _replace, _NamedTuple
