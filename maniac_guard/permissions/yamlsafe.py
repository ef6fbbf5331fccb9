"""YAML to plain Python values, safely, with the position of every node.

PyYAML's composer builds a node graph without expanding aliases, so an alias
bomb composes in microseconds; the expansion happens here, under a node
budget and a depth limit. Only the standard YAML tags are accepted: a custom
tag (`!!python/object`, `!Ref`) is an error, not a constructor call.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from maniac_guard.records import dataclass, field

MAX_NODES = 50_000
MAX_DEPTH = 64
_STD = "tag:yaml.org,2002:"
ALLOWED_TAGS = frozenset(_STD + t for t in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp", "merge"))
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


class YamlProblem(Exception):
    """One-line reason and the 1-based line it points at."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Span:
    line: int  # 1-based
    column: int  # 1-based
    end_line: int
    end_column: int


@dataclass
class Located:
    """A document's value and the span of each YAML path (`keys[2].permissions[1]`)."""

    value: Any
    spans: dict[str, Span] = field(default_factory=dict)

    def span(self, path: str) -> Span:
        """The span of `path`, or of its nearest ancestor that exists."""
        while True:
            found = self.spans.get(path)
            if found is not None:
                return found
            if not path:
                return Span(1, 1, 1, 1)
            path = parent_path(path)


def join_key(path: str, key: str) -> str:
    part = key if _PLAIN_KEY.match(key) else '["' + key.replace('"', '\\"') + '"]'
    if part.startswith("["):
        return path + part
    return f"{path}.{part}" if path else part


def join_index(path: str, index: int) -> str:
    return f"{path}[{index}]"


def parent_path(path: str) -> str:
    if path.endswith("]"):
        return path[: path.rfind("[")]
    dot = path.rfind(".")
    return path[:dot] if dot >= 0 else ""


def _span(node: Any) -> Span:
    start, end = node.start_mark, node.end_mark
    return Span(start.line + 1, start.column + 1, end.line + 1, end.column + 1)


class _Builder:
    def __init__(self) -> None:
        import yaml

        self.yaml = yaml
        self.budget = MAX_NODES
        self.spans: dict[str, Span] = {}
        self._scalars = yaml.SafeLoader("")  # only its scalar constructors are used

    def build(self, node: Any, path: str, depth: int) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise YamlProblem(
                f"YAML expands to more than {MAX_NODES} nodes (an alias bomb?); not loaded", *self._pos(node)
            )
        if depth > MAX_DEPTH:
            raise YamlProblem(f"YAML nested deeper than {MAX_DEPTH} levels (a recursive alias?)", *self._pos(node))
        tag = str(node.tag)
        if tag not in ALLOWED_TAGS:
            shown = "!!" + tag[len(_STD) :] if tag.startswith(_STD) else tag
            raise YamlProblem(f"YAML tag {shown} is not allowed in a key declaration", *self._pos(node))
        self.spans.setdefault(path, _span(node))
        yaml = self.yaml
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, join_index(path, i), depth + 1) for i, item in enumerate(node.value)]
        if tag == _STD + "timestamp":
            return str(node.value)  # dates stay ISO strings: JSON Schema and comparisons want text
        try:
            return self._scalars.construct_object(node)
        except yaml.YAMLError as exc:
            raise YamlProblem(f"bad YAML value: {getattr(exc, 'problem', exc)}", *self._pos(node)) from None

    def _mapping(self, node: Any, path: str, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merged: list[Any] = []
        for key_node, value_node in node.value:
            if str(key_node.tag) == _STD + "merge":
                merged.extend(value_node.value if isinstance(value_node, self.yaml.SequenceNode) else [value_node])
                continue
            key = self.build(key_node, path + "<key>", depth + 1)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise YamlProblem("mapping keys must be plain scalars", *self._pos(key_node))
            name = str(key)
            if name in out:
                raise YamlProblem(f"duplicate key '{name}'", *self._pos(key_node))
            child = join_key(path, name)
            out[name] = self.build(value_node, child, depth + 1)
            if not isinstance(value_node, self.yaml.ScalarNode):
                # A block list or mapping is best pointed at by its key's line.
                end = _span(value_node)
                self.spans[child] = Span(
                    key_node.start_mark.line + 1, key_node.start_mark.column + 1, end.end_line, end.end_column
                )
        for source in merged:  # `<<: *base`: keys written here win
            if not isinstance(source, self.yaml.MappingNode):
                raise YamlProblem("a merge key (<<) needs a mapping", *self._pos(source))
            for name, value in self._mapping(source, path, depth + 1).items():
                out.setdefault(name, value)
        return out

    @staticmethod
    def _pos(node: Any) -> tuple[int, int]:
        return node.start_mark.line + 1, node.start_mark.column + 1


def _expanded_size(root: Any) -> int:
    """Nodes after alias expansion, counted over the unique nodes only (no expansion)."""
    import yaml

    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: Any) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise YamlProblem("recursive YAML alias (a node contains itself)", *_Builder._pos(node))
        active.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(item) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        active.discard(key)
        sizes[key] = total = min(total, MAX_NODES + 1)
        return total

    try:
        return size(root)
    except RecursionError:
        raise YamlProblem(f"YAML nested too deeply (over {MAX_DEPTH} levels)", *_Builder._pos(root)) from None


# PyYAML's reader compiles, when it is imported, the code points YAML may not
# hold written as those it may: `re`'s compiler sets a bit for each of ~63,000
# of them one at a time, 4 of the import's 12 ms in each scanning process
# that parses a YAML file (for a reader the C loader used here never calls).
# The same set, written as what it forbids, compiles in microseconds: it is
# put in `re`'s cache under the reader's pattern first. A `re` without that
# cache compiles the reader's own as before (tests/test_permissions.py
# checks that both match the same code points, and that the cache is used).
YAML_NON_PRINTABLE = "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
YAML_FORBIDDEN = "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]"


def _import_yaml() -> None:
    if "yaml" not in sys.modules:
        cache = getattr(re, "_cache", None)
        if isinstance(cache, dict):
            cache.setdefault((str, YAML_NON_PRINTABLE, 0), re.compile(YAML_FORBIDDEN))
    import yaml  # noqa: F401


def load(text: str) -> Located:
    """One YAML document as plain values; raises YamlProblem (never a traceback)."""
    _import_yaml()
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        node = yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        context = str(exc.context or "")
        if (
            exc.context_mark is not None
            and exc.problem_mark is not None
            and exc.context_mark.line != exc.problem_mark.line
        ):
            context += f" (started at line {exc.context_mark.line + 1})"
        reason = " ".join(part for part in (context, str(exc.problem or "")) if part) or "malformed YAML"
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise YamlProblem(f"malformed YAML: {reason}", line, column) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(f"malformed YAML: {str(exc).splitlines()[0] if str(exc) else 'unreadable'}") from None
    if node is None:
        return Located(None)
    if _expanded_size(node) > MAX_NODES:
        raise YamlProblem(
            f"YAML expands to more than {MAX_NODES} nodes (an alias bomb?); not loaded", *_Builder._pos(node)
        )
    builder = _Builder()
    value = builder.build(node, "", 0)
    builder.spans.pop("<key>", None)
    return Located(value, {k: v for k, v in builder.spans.items() if "<key>" not in k})
