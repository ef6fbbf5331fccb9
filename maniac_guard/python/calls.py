"""Calls in the value flow: a function's summary at one call (its returns,
evaluated in a frame that binds its parameters: positional, keyword,
`*args`, `**kwargs`, defaults), classes made into instances, bound methods,
`functools.partial`, and what the library calls the rules meet do
(`str()`, `dict()`, `getattr(…, default)`, the environment, base64,
argparse, `importlib.import_module`)."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from maniac_guard.python import objects, strops
from maniac_guard.python.domain import (
    UNKNOWN,
    Args,
    ClassV,
    DictV,
    Env,
    ExtV,
    Frame,
    FuncV,
    InstV,
    ModV,
    Opaque,
    ParserV,
    PartialV,
    SeqV,
    TemplateV,
    Text,
    Values,
    opaque,
    stepped,
    texts,
    union,
)
from maniac_guard.python.frames import int_literal, run
from maniac_guard.records import replace

if TYPE_CHECKING:
    from maniac_guard.python.evaluator import Evaluator as Flow
    from maniac_guard.python.modules import ModuleInfo

GETENV = frozenset({"os.getenv", "os.environ.get"})
DECODERS = {
    "base64.b64decode": "b64",
    "base64.standard_b64decode": "b64",
    "base64.urlsafe_b64decode": "urlsafe",
    "base64.b32decode": "b32",
    "base64.b16decode": "b16",
    "builtins.bytes.fromhex": "hex",
    "binascii.unhexlify": "hex",
    "binascii.a2b_hex": "hex",
}
# Calls that give back their first argument (or `default=`) as the value.
FIELD_CALLS = frozenset({"field", "Field", "ib", "attrib", "Option", "Argument"})
IDENTITY = frozenset({"builtins.str", "typing.cast", "builtins.bytes", "builtins.bytearray"})
SEQUENCES = frozenset({"builtins.list", "builtins.tuple", "builtins.set", "builtins.frozenset", "builtins.sorted"})


def arguments(flow: Flow, call: ast.Call, mod: ModuleInfo, frame: Frame | None) -> Args:
    """A call's arguments as values; `*x`/`**x` spread when they are known."""
    pos: list[Values] = []
    kw: list[tuple[str, Values]] = []
    rest = False
    for arg in call.args:
        if isinstance(arg, ast.Starred):
            spread = flow.eval(arg.value, mod, frame)
            seqs = [v for v in spread if isinstance(v, SeqV)]
            if len(spread) == 1 and seqs and seqs[0].elts is not None and not seqs[0].more:
                pos += seqs[0].elts
            else:
                rest = True
        else:
            pos.append(flow.eval(arg, mod, frame))
    for keyword in call.keywords:
        if keyword.arg is None:
            spread = flow.eval(keyword.value, mod, frame)
            dicts = [v for v in spread if isinstance(v, DictV)]
            for found in dicts:
                kw += found.items
            rest = rest or len(dicts) != len(spread) or any(d.open for d in dicts)
        else:
            kw.append((keyword.arg, flow.eval(keyword.value, mod, frame)))
    return Args(tuple(pos), tuple(kw), rest)


def keyword(args: Args, name: str) -> Values | None:
    found = [values for key, values in args.kw if key == name]
    return union(*found) if found else None


def call(flow: Flow, node: ast.Call, mod: ModuleInfo, frame: Frame | None) -> Values:
    func = node.func
    if isinstance(func, ast.Attribute):
        receiver = flow.eval(func.value, mod, frame)
        if any(isinstance(v, (Text, DictV, SeqV, Env, TemplateV)) for v in receiver):
            return _method(flow, receiver, func.attr, node, mod, frame)
    callee = flow.eval(func, mod, frame)
    args = arguments(flow, node, mod, frame)
    return apply(flow, callee, args, node, mod)


def apply(flow: Flow, callee: Values, args: Args, site: ast.Call, mod: ModuleInfo) -> Values:
    out: list[Values] = []
    for value in callee:
        if isinstance(value, FuncV):
            returned = run(flow, value, args, site, mod)
            name = getattr(value.node, "name", "lambda")
            out.append(stepped(returned, flow.step(site, mod, f"{name}()")))
        elif isinstance(value, PartialV):
            merged = Args((*value.args.pos, *args.pos), (*value.args.kw, *args.kw), value.args.rest or args.rest)
            out.append(apply(flow, value.func, merged, site, mod))
        elif isinstance(value, ClassV):
            out.append(UNKNOWN if objects.is_enum(flow, value) else (InstV(value, args),))
        elif isinstance(value, ExtV):
            out.append(_external(flow, value.qname, args, site, mod))
        elif isinstance(value, ParserV) and value.namespace:
            out.append((value,))  # parser.parse_args(): the namespace
        else:
            out.append(opaque((value,), *args.pos))
    return union(*out)


def _method(flow: Flow, receiver: Values, name: str, node: ast.Call, mod: ModuleInfo, frame: Frame | None) -> Values:
    args = arguments(flow, node, mod, frame)
    out: list[Values] = []
    strings = tuple(v for v in receiver if isinstance(v, Text))
    others = tuple(v for v in receiver if not isinstance(v, Text))
    if strings:
        if name in ("split", "rsplit", "splitlines", "partition", "rpartition"):
            out.append(strops.split(name, strings, list(args.pos)))
        elif name in strops.PURE_METHODS and not args.rest:
            out.append(strops.method(name, strings, list(args.pos), dict(args.kw), node, mod.path))
        else:
            out.append(opaque(strings))
    for value in others:
        if isinstance(value, DictV):
            out.append(_dict_method(value, name, args, node, mod.path))
        elif isinstance(value, SeqV):
            out.append(value.more if name == "pop" else UNKNOWN if name != "copy" else (value,))
        elif isinstance(value, Env):
            out.append(UNKNOWN)
        elif isinstance(value, TemplateV) and name in ("substitute", "safe_substitute"):
            out.append(strops.substitute(value.template, args, name == "safe_substitute", node, mod.path))
        else:
            bound = objects.attribute(flow, (value,), name, node.func, mod)
            out.append(apply(flow, bound, args, node, mod))
    return union(*out)


def _dict_method(value: DictV, name: str, args: Args, site: ast.expr, path: str) -> Values:
    if name in ("get", "pop", "setdefault") and args.pos:
        keys = [k.value for k in texts(args.pos[0])]
        hits = [v for key, v in value.items if key in keys]
        default = args.pos[1] if len(args.pos) > 1 else keyword(args, "default") or ()
        if not hits or value.open:
            hits.append(union(default, UNKNOWN) if default else UNKNOWN)
        elif name != "setdefault":
            hits.append(default)
        return union(*hits)
    if name == "values":
        return (SeqV(None, union(*(v for _, v in value.items))),)
    if name == "items":
        pairs = tuple(SeqV(((Text(k, site, path),), v)) for k, v in value.items)
        return (SeqV(None, union(pairs, UNKNOWN) if value.open else pairs),)
    if name == "keys":
        return (SeqV(None, tuple(Text(k, site, path) for k, _ in value.items)),)
    if name == "copy":
        return (value,)
    return UNKNOWN


def _external(flow: Flow, qname: str, args: Args, site: ast.Call, mod: ModuleInfo) -> Values:
    first = args.pos[0] if args.pos else None
    if qname in GETENV:
        name = [t.value for t in texts(first or ())]
        default = args.pos[1] if len(args.pos) > 1 else keyword(args, "default")
        return union((Env(name[0] if len(name) == 1 else None),), default or ())
    if qname in IDENTITY or qname.endswith(".cast"):
        if qname == "typing.cast" and len(args.pos) > 1:
            return args.pos[1]
        return first if first is not None else UNKNOWN
    if qname in DECODERS and first is not None:
        return strops.decode(DECODERS[qname], first)
    if qname == "builtins.next" and first is not None:
        return union(flow.iterate(first), args.pos[1] if len(args.pos) > 1 else ())
    if qname in ("builtins.iter", "builtins.reversed") and first is not None:
        return first if qname == "builtins.iter" else (SeqV(None, flow.iterate(first)),)
    if qname.startswith("builtins.str.") and first is not None:
        method = qname.removeprefix("builtins.str.")
        if method in ("split", "rsplit", "splitlines", "partition", "rpartition"):
            return strops.split(method, first, list(args.pos[1:]))
        if method in strops.PURE_METHODS:
            return strops.method(method, first, list(args.pos[1:]), dict(args.kw), site, mod.path)
    if qname in ("builtins.map", "builtins.filter") and len(args.pos) == 2 and first is not None:
        if qname == "builtins.filter":
            return (SeqV(None, flow.iterate(args.pos[1])),)
        mapped = [apply(flow, first, Args(((item,),)), site, mod) for item in flow.iterate(args.pos[1])[:8]]
        return (SeqV(None, union(*mapped)),)
    if qname == "builtins.enumerate" and first is not None:
        return (SeqV(None, tuple(SeqV((UNKNOWN, (item,))) for item in flow.iterate(first))),)
    if qname == "builtins.zip" and len(args.pos) >= 2:
        return _zip(flow, args.pos)
    if qname in SEQUENCES and first is not None:
        return (SeqV(None, flow.iterate(first)),)
    if qname == "builtins.dict":
        items: list[tuple[str, Values]] = list(args.kw)
        is_open = args.rest
        for given in args.pos:
            for value in given:
                if isinstance(value, DictV):
                    items = list(value.items) + items
                    is_open = is_open or value.open
                else:
                    is_open = True
        return (DictV(tuple(items), is_open),)
    if qname == "builtins.getattr" and len(args.pos) >= 2:
        names = texts(args.pos[1])
        found = [objects.attribute(flow, args.pos[0], n.value, None, mod) for n in names]
        default = args.pos[2] if len(args.pos) > 2 else ()
        return union(*found, default)
    if qname == "functools.partial" and first is not None:
        return (PartialV(first, Args(args.pos[1:], args.kw, args.rest)),)
    if qname.endswith(("functools.wraps", "functools.lru_cache", "functools.cache")) or qname in (
        "builtins.staticmethod",
        "builtins.classmethod",
        "builtins.property",
    ):
        return (ExtV("decorator.passthrough"),) if qname.endswith(("wraps", "lru_cache")) else first or UNKNOWN
    if qname == "importlib.import_module" and first is not None:
        names = texts(first)
        modules = [flow.project.find(n.value, mod.package) for n in names]
        loaded = tuple(ModV(m) for m in modules if m is not None)
        if loaded:
            return loaded
        return (ExtV(names[0].value),) if len(names) == 1 else UNKNOWN
    if qname == "string.Template" and first is not None:
        return (TemplateV(first),)
    if qname.endswith("ArgumentParser") and qname.startswith("argparse"):
        return (ParserV(mod, False),)
    if qname == "contextlib.nullcontext" and first is not None:
        return first
    if qname.rpartition(".")[2] in FIELD_CALLS:
        default = keyword(args, "default")
        if default is not None:
            return default
        if qname.rpartition(".")[2] in ("Field", "Option", "Argument") and first is not None:
            return first
        return UNKNOWN
    return opaque(*args.pos, *(v for _, v in args.kw))


def _zip(flow: Flow, given: tuple[Values, ...]) -> Values:
    """`zip(a, b)` keeps pairs together when every sequence is known by position."""
    columns = []
    for values in given:
        seqs = [v for v in values if isinstance(v, SeqV)]
        if len(seqs) != 1 or len(values) != 1 or seqs[0].elts is None or seqs[0].more:
            return (SeqV(None, (SeqV(None, union(*(flow.iterate(v) for v in given))),)),)
        columns.append(seqs[0].elts)
    return (SeqV(tuple((SeqV(tuple(row)),) for row in zip(*columns))),)


def entered(flow: Flow, values: Values) -> Values:
    """What `with x as name` binds: nullcontext's value; else unknown."""
    return tuple(texts(values)) or UNKNOWN


def slice_text(
    flow: Flow, base: Values, index: ast.Slice, site: ast.expr, mod: ModuleInfo, frame: Frame | None
) -> Values:
    bounds: list[int | None] = []
    for part in (index.lower, index.upper, index.step):
        if part is None:
            bounds.append(None)
            continue
        number = int_literal(part)
        if number is None:
            return opaque(base)
        bounds.append(number)
    out: list[Values] = []
    for value in base:
        if isinstance(value, Text):
            sliced = value.value[slice(*bounds)]
            value = strops.root(value)
            out.append((replace(value, value=sliced, raw=value.raw or value.value),))
        elif isinstance(value, SeqV) and value.elts is not None and not value.more:
            out.append((SeqV(value.elts[slice(*bounds)]),))
        else:
            out.append(opaque((value,)))
    return union(*out)


__all__ = ["Opaque", "apply", "arguments", "call", "run"]
