"""What string operations do to abstract values: every way of joining
(`+`, `%`, f-strings, `str.format`, `join`), the pure `str` methods, and
decoding (base64, hex). Known strings are computed for real, on values
the module spelled out; anything else stays unknown, with the parameters it
came from."""

from __future__ import annotations

import ast
import itertools
from collections.abc import Callable, Sequence

from maniac_guard.python.domain import (
    MAX_STEPS,
    MAX_TEXT,
    MAX_VALUES,
    UNKNOWN,
    Args,
    DictV,
    SeqV,
    Text,
    Values,
    opaque,
    texts,
    union,
)
from maniac_guard.python.strings import percent_format, str_format, template_substitute
from maniac_guard.records import replace

# Methods of str computed on known strings: none has a side effect, and
# none makes a string much longer than its inputs.
PURE_METHODS = frozenset(
    {
        "strip",
        "lstrip",
        "rstrip",
        "replace",
        "removeprefix",
        "removesuffix",
        "lower",
        "upper",
        "casefold",
        "title",
        "capitalize",
        "swapcase",
        "zfill",
        "ljust",
        "rjust",
        "center",
        "expandtabs",
        "format",
        "join",
        "encode",
        "decode",
        "split",
        "rsplit",
        "splitlines",
        "partition",
        "rpartition",
        "format_map",
    }
)
MAX_PRODUCT = 64
MAX_PIECES_VISITED = 256  # pieces of a built string searched for the literal


def _product(groups: Sequence[list[Text]]) -> list[tuple[Text, ...]]:
    combos = list(itertools.islice(itertools.product(*groups), MAX_PRODUCT))
    return combos


def _built(value: str, site: ast.expr, path: str, parts: Sequence[Text], compound: bool = True) -> Text | None:
    if len(value) > MAX_TEXT:
        return None
    steps = next((p.steps for p in parts if p.steps), ())
    via = next((p.via for p in parts if p.via), None)
    return Text(value, site, path, compound, any(p.through for p in parts), steps, via, parts=tuple(parts))


def root(text: Text) -> Text:
    """The literal a built string is nothing but (`"%s" % (KEY,)`: KEY's),
    so that what is done to it next is still reported at that literal."""
    for _ in range(MAX_VALUES):
        whole = next((p for p in text.parts if p.value == text.value and p.site is not text.site), None)
        if whole is None:
            break
        text = replace(whole, through=True, steps=text.steps or whole.steps, via=whole.via or text.via)
    return text


def _known(values: Values) -> list[Text] | None:
    """The strings among `values` (what else it may hold cannot make a key:
    `f"Bearer {KEY if ready else None}"`); None when there is none."""
    found = texts(values)
    return found or None


def binop(op: ast.operator, site: ast.expr, path: str, left: Values, right: Values) -> Values:
    if isinstance(op, ast.Add):
        lefts, rights = _known(left), _known(right)
        if lefts is None or rights is None:
            return opaque(left, right)
        out = [_built(a.value + b.value, site, path, (a, b)) for a, b in _product([lefts, rights])]
        return _texts_or_unknown(out, left, right)
    if isinstance(op, ast.Mod):
        return _percent(site, path, left, right)
    if isinstance(op, ast.Mult):
        lefts = _known(left)
        if lefts is not None and isinstance(site, ast.BinOp):
            count = site.right
            if isinstance(count, ast.Constant) and type(count.value) is int and 0 <= count.value <= 8:
                n = count.value
                return _texts_or_unknown([_built(t.value * n, site, path, (t,)) for t in lefts], left)
    return opaque(left, right)


def _texts_or_unknown(found: Sequence[Text | None], *inputs: Values) -> Values:
    good = [t for t in found if t is not None]
    if not good or len(good) != len(found):
        return opaque(*inputs) if not good else union(tuple(good), opaque(*inputs))
    return union(tuple(good))


def _percent(site: ast.expr, path: str, left: Values, right: Values) -> Values:
    templates = _known(left)
    if templates is None:
        return opaque(left, right)
    out: list[Text | None] = []
    for right_value in right:
        if isinstance(right_value, SeqV) and right_value.elts is not None and not right_value.more:
            groups = [_known(e) for e in right_value.elts]
            if any(g is None for g in groups):
                return opaque(left, right)
            for template in templates:
                for combo in _product([g for g in groups if g is not None]):
                    value = percent_format(template.value, [c.value for c in combo])
                    out.append(None if value is None else _built(value, site, path, (template, *combo)))
        elif isinstance(right_value, DictV) and not right_value.open:
            mapping: dict[str, Text] = {}
            for key, values in right_value.items:
                known = _known(values)
                if known is not None and len(known) == 1:
                    mapping[key] = known[0]
            for template in templates:
                value = percent_format(template.value, {k: v.value for k, v in mapping.items()})
                out.append(None if value is None else _built(value, site, path, (template, *mapping.values())))
        elif isinstance(right_value, Text):
            for template in templates:
                value = percent_format(template.value, [right_value.value])
                out.append(None if value is None else _built(value, site, path, (template, right_value)))
        else:
            out.append(None)
    return _texts_or_unknown(out, left, right)


def fstring(site: ast.expr, path: str, parts: Sequence[Values | str]) -> Values:
    groups: list[list[Text]] = []
    for part in parts:
        if isinstance(part, str):
            groups.append([Text(part, site, path)])
            continue
        known = _known(part)
        if known is None:
            return opaque(*(p for p in parts if not isinstance(p, str)))
        groups.append(known)
    literal_only = all(isinstance(p, str) for p in parts)
    out = []
    for combo in _product(groups):
        real = [c for c in combo if c.site is not site]
        out.append(_built("".join(c.value for c in combo), site, path, real, compound=True))
    if literal_only and not out:
        out = [Text("", site, path, True)]
    return _texts_or_unknown(out)


def method(
    name: str, receiver: Values, args: list[Values], kwargs: dict[str, Values], site: ast.expr, path: str
) -> Values:
    """`receiver.name(*args, **kwargs)` for a string receiver."""
    lefts = _known(receiver)
    if lefts is None:
        return opaque(receiver, *args)
    if name == "join":
        return _join(lefts, args, site, path)
    constants: list[list[Text]] = []
    for arg in args:
        known = _known(arg)
        if known is None:
            return opaque(receiver, *args)
        constants.append(known)
    keywords: dict[str, list[Text]] = {}
    for key, values in kwargs.items():
        known = _known(values)
        if known is None:
            return opaque(receiver, *args)
        keywords[key] = known
    out: list[Text | None] = []
    names = list(keywords)
    for left in lefts:
        for combo in _product([*constants, *(keywords[k] for k in names)]):
            positional = [c.value for c in combo[: len(constants)]]
            named = {k: c.value for k, c in zip(names, combo[len(constants) :])}
            out.append(_apply(name, left, positional, named, combo, site, path))
    return _texts_or_unknown(out, receiver)


def _apply(
    name: str,
    left: Text,
    positional: list[str],
    named: dict[str, str],
    parts: Sequence[Text],
    site: ast.expr,
    path: str,
) -> Text | None:
    if name == "format":
        value = str_format(left.value, positional, named)
        return None if value is None else _built(value, site, path, (left, *parts))
    if name in ("encode", "decode"):
        return left  # bytes and text are one value here
    func: Callable[..., object] | None = getattr(str, name, None)
    if func is None or name not in PURE_METHODS or name in ("format_map", "split", "rsplit", "splitlines"):
        return None
    try:
        result = func(left.value, *positional, **named)
    except (TypeError, ValueError):
        return None
    if not isinstance(result, str) or len(result) > MAX_TEXT:
        return None
    # The key is still written in that one literal (with padding, a prefix,
    # spaces): reported there, its written form masked too.
    left = root(left)
    return replace(left, value=result, raw=left.raw or (left.value if result != left.value else None))


def _join(separators: list[Text], args: list[Values], site: ast.expr, path: str) -> Values:
    if len(args) != 1:
        return UNKNOWN
    out: list[Text | None] = []
    for sequence in args[0]:
        if not isinstance(sequence, SeqV) or sequence.elts is None or sequence.more:
            return opaque(args[0])
        groups = [_known(e) for e in sequence.elts]
        if any(g is None for g in groups):
            return opaque(args[0])
        for separator in separators:
            for combo in _product([g for g in groups if g is not None]):
                out.append(_built(separator.value.join(c.value for c in combo), site, path, combo))
    return _texts_or_unknown(out, args[0])


def split(name: str, receiver: Values, args: list[Values]) -> Values:
    """`s.split(sep)` and friends: a sequence of known strings."""
    lefts = _known(receiver)
    seps = [_known(a) for a in args]
    if lefts is None or len(lefts) != 1 or any(s is None or len(s) != 1 for s in seps):
        return opaque(receiver)
    left = lefts[0]
    constants = [s[0].value for s in seps if s is not None]
    try:
        pieces = getattr(left.value, name)(*constants)
    except (TypeError, ValueError):
        return opaque(receiver)
    if not isinstance(pieces, (list, tuple)) or len(pieces) > MAX_VALUES:
        return opaque(receiver)
    return (SeqV(tuple((replace(left, value=str(p), compound=True),) for p in pieces)),)


def decode(kind: str, values: Values) -> Values:
    """base64 / hex decoding of known strings (the key hides in the literal)."""
    import base64
    import binascii

    out: list[Text | None] = []
    for value in map(root, texts(values)):
        try:
            if kind == "hex":
                raw = bytes.fromhex(value.value)
            elif kind == "b32":
                raw = base64.b32decode(value.value)
            elif kind == "b16":
                raw = base64.b16decode(value.value)
            elif kind == "urlsafe":
                raw = base64.urlsafe_b64decode(value.value + "=" * (-len(value.value) % 4))
            else:
                raw = base64.b64decode(value.value + "=" * (-len(value.value) % 4))
            decoded = raw.decode("utf-8")
        except (ValueError, binascii.Error, UnicodeDecodeError):
            out.append(None)
            continue
        out.append(replace(value, value=decoded, raw=value.raw or value.value))
    return _texts_or_unknown(out, values)


def substitute(template: Values, args: Args, safe: bool, site: ast.expr, path: str) -> Values:
    """`string.Template(t).substitute(mapping, **names)` on known strings."""
    templates = _known(template)
    if templates is None or args.rest:
        return opaque(template)
    pairs: list[tuple[str, Values]] = []
    for given in args.pos:
        for value in given:
            if not isinstance(value, DictV) or value.open:
                return opaque(template)
            pairs += value.items
    pairs += list(args.kw)
    names = [name for name, _ in pairs]
    groups = [_known(values) for _, values in pairs]
    if any(g is None for g in groups):
        return opaque(template)
    out: list[Text | None] = []
    for first in templates:
        for combo in _product([g for g in groups if g is not None]):
            built = template_substitute(first.value, dict(zip(names, (c.value for c in combo))), safe=safe)
            out.append(None if built is None else _built(built, site, path, (first, *combo)))
    return _texts_or_unknown(out, template)


def _build_label(site: ast.expr) -> str:
    """How a built string was built, for its step in a finding's flow."""
    if isinstance(site, ast.JoinedStr):
        return "f-string"
    if isinstance(site, ast.BinOp):
        return {ast.Add: "+", ast.Mod: "%", ast.Mult: "*"}.get(type(site.op), "built")
    if isinstance(site, ast.Call) and isinstance(site.func, ast.Attribute):
        return f".{site.func.attr}()"
    return "built"


def holder(text: Text, secret: str) -> Text | None:
    """The innermost piece of the built string `text` that is the whole
    `secret` (`"".join([f"{"%s" % (KEY,)}"])`: KEY's literal), with the
    steps from that literal through every string built around it up to
    `text`'s own; None when no piece is."""
    best: list[Text] | None = None
    stack: list[list[Text]] = [[text]]
    for _ in range(MAX_PIECES_VISITED):
        if not stack:
            break
        chain = stack.pop()
        current = chain[-1]
        if len(chain) > 1 and current.value.strip() == secret and (best is None or len(chain) > len(best)):
            best = chain
        # Pieces at the same site too: `x += "%s" % (KEY,)` builds twice on one expression.
        stack += [[*chain, part] for part in current.parts]
    if best is None:
        return None
    steps = list(best[-1].steps)
    for outer in reversed(best[:-1]):
        built = (outer.path, getattr(outer.site, "lineno", 0), outer.site.col_offset + 1, _build_label(outer.site))
        if not steps or steps[-1][:2] != built[:2]:
            steps.append(built)
        # What `outer` took from its pieces when built (_built: the first
        # piece's steps), then the bindings it went through itself.
        inherited = next((p.steps for p in outer.parts if p.steps), ())
        if outer.steps[: len(inherited)] == inherited:
            later = outer.steps[len(inherited) :]
        else:
            later = tuple(s for s in outer.steps if s not in steps)
        for step in later:
            if steps[-1][:2] != step[:2]:
                steps.append(step)
    if len(steps) > MAX_STEPS:
        steps = [*steps[: MAX_STEPS - 1], steps[-1]]
    leaf = best[-1]
    return replace(leaf, through=True, steps=tuple(steps), via=leaf.via or text.via)
