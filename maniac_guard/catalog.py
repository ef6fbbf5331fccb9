"""Loads the rules in `rules/` (data, shipped inside the wheel)."""

from __future__ import annotations

import functools
import json
import os
import re

from maniac_guard.cachefiles import blake2b, cache_dir, read_cached, store_cached
from maniac_guard.errors import CatalogError
from maniac_guard.findings import Severity
from maniac_guard.records import NamedTuple, dataclass, field

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (records.py)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

DOC_SECTIONS = (
    ("what", "What it does"),
    ("why", "Why is this bad?"),
    ("example", "Example"),
    ("instead", "Use instead"),
    ("fix_safety", "Fix safety"),
)
FIX_LEVELS = ("none", "safe", "unsafe")


class Example(NamedTuple):  # not a frozen dataclass: a quarter of the start-up cost
    path: str
    text: str
    lines: tuple[int, ...] = ()


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    severity: Severity
    summary: str
    tags: tuple[str, ...]
    fix: str
    doc: dict[str, str]
    invalid: tuple[Example, ...] = ()
    valid: tuple[Example, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)

    def render_doc(self) -> str:
        """ruff's section order; what `explain` prints and SARIF `help` holds."""
        parts = [f"# {self.id} {self.name}", "", self.summary, ""]
        parts.append(f"Severity: {self.severity.label}. Fix: {self.fix}.")
        for key, title in DOC_SECTIONS:
            text = self.doc.get(key, "").strip()
            if text:
                parts += ["", f"## {title}", "", text]
        return "\n".join(parts) + "\n"


def rules_dir() -> Path:
    from pathlib import Path

    return Path(_rules_folder())


def _rules_folder() -> str:
    """rules_dir() as a string: a scan's catalog load needs no pathlib (~3 ms of a hook's start)."""
    override = os.environ.get("MANIAC_GUARD_RULES_DIR")
    if override:
        return override
    package = os.path.dirname(os.path.realpath(__file__))
    installed = os.path.join(package, "_rules")
    if os.path.isdir(installed):
        return installed
    return os.path.join(os.path.dirname(package), "rules")  # a source checkout or an editable install


def _examples(raw: Any, where: str) -> tuple[Example, ...]:
    out = []
    for item in raw or ():
        if not isinstance(item, dict) or "text" not in item:
            raise CatalogError(f"{where}: each example needs 'text' (and optional 'path', 'lines')")
        lines = item.get("lines") or ()
        out.append(Example(str(item.get("path", "example.txt")), str(item["text"]), tuple(lines)))
    return tuple(out)


def _parse_rule(data: Any, where: str) -> Rule:
    if not isinstance(data, dict):
        raise CatalogError(f"{where}: a rule file holds a mapping")
    missing = [k for k in ("id", "name", "severity", "summary", "doc") if k not in data]
    if missing:
        raise CatalogError(f"{where}: missing {', '.join(missing)}")
    fix = str(data.get("fix", "none"))
    if fix not in FIX_LEVELS:
        raise CatalogError(f"{where}: fix must be one of {FIX_LEVELS}")
    examples = data.get("examples") or {}
    return Rule(
        id=str(data["id"]),
        name=str(data["name"]),
        severity=Severity.parse(str(data["severity"])),
        summary=str(data["summary"]).strip(),
        tags=tuple(data.get("tags") or ("security",)),
        fix=fix,
        doc={str(k): str(v) for k, v in dict(data["doc"]).items()},
        invalid=_examples(examples.get("invalid"), f"{where}: examples.invalid"),
        valid=_examples(examples.get("valid"), f"{where}: examples.valid"),
        data=dict(data.get("data") or {}),
    )


def _parse_catalog(directory: str | Path, sources: list[tuple[str, bytes]]) -> dict[str, Rule]:
    """The rules from their YAML text (`sources`: file name and bytes, sorted)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    rules: dict[str, Rule] = {}
    for name, raw in sources:
        path = os.path.join(directory, name)
        try:
            data = yaml.load(raw.decode("utf-8"), Loader=loader)
        except UnicodeDecodeError as exc:
            raise CatalogError(f"{path}: cannot load rule: not UTF-8 (byte {exc.start})") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where_line = f"{path}:{mark.line + 1}" if mark is not None else str(path)
            problem = getattr(exc, "problem", None) or str(exc)
            raise CatalogError(f"{where_line}: cannot load rule: {problem}") from None
        rule = _parse_rule(data, str(path))
        if rule.id in rules:
            raise CatalogError(f"{path}: duplicate rule id {rule.id}")
        rules[rule.id] = rule
    if not rules:
        raise CatalogError(f"no rules found in {directory}")
    return rules


# The catalog cache: rules/*.yaml stay the only source of truth; parsing 26
# YAML files costs ~100 ms of a pre-commit hook's budget, reading one JSON
# file ~2 ms. The cache is named after a hash of the YAML bytes, so any edit
# to a rule (or another rules folder) misses it; it is safe to delete.
CATALOG_CACHE_FORMAT = b"maniac-guard catalog cache v2\0"


def _hex(text: str) -> str:
    return text.encode("utf-8", "surrogatepass").hex()


def _rule_to_json(rule: Rule) -> dict[str, Any]:
    # Example texts (and MG105's paths) hold fake keys on purpose; hex keeps
    # the cache file from looking like a leak to any scanner (this one included).
    def examples(items: tuple[Example, ...]) -> list[list[Any]]:
        return [[_hex(e.path), _hex(e.text), list(e.lines)] for e in items]

    return {
        "id": rule.id,
        "name": rule.name,
        "severity": rule.severity.label,
        "summary": rule.summary,
        "tags": list(rule.tags),
        "fix": rule.fix,
        "doc": rule.doc,
        "invalid": examples(rule.invalid),
        "valid": examples(rule.valid),
        "data": rule.data,
    }


class _Shape(Exception):
    """A cache file that is not what this version writes: a miss."""


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _Shape
    return value


def _texts(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise _Shape
    return [_text(item) for item in value]


def _rule_from_json(raw: Any) -> Rule:
    """A rule from its cached form, every field's type checked."""

    def examples(items: Any) -> tuple[Example, ...]:
        if not isinstance(items, list):
            raise _Shape
        out = []
        for item in items:  # 185 of them: written for a hook's start (issue 26)
            if not isinstance(item, list) or len(item) != 3:
                raise _Shape
            hex_path, hex_text, lines = item
            if not isinstance(hex_path, str) or not isinstance(hex_text, str) or not isinstance(lines, list):
                raise _Shape
            for number in lines:
                if type(number) is not int:  # not a bool either
                    raise _Shape
            try:
                path = bytes.fromhex(hex_path).decode("utf-8", "surrogatepass")
                text = bytes.fromhex(hex_text).decode("utf-8", "surrogatepass")
            except ValueError:
                raise _Shape from None
            out.append(Example(path, text, tuple(lines)))
        return tuple(out)

    if not isinstance(raw, dict) or not isinstance(raw.get("doc"), dict) or not isinstance(raw.get("data"), dict):
        raise _Shape
    if raw.get("fix") not in FIX_LEVELS:
        raise _Shape
    try:
        severity = Severity.parse(_text(raw.get("severity")))
    except ValueError:
        raise _Shape from None
    return Rule(
        id=_text(raw.get("id")),
        name=_text(raw.get("name")),
        severity=severity,
        summary=_text(raw.get("summary")),
        tags=tuple(_texts(raw.get("tags"))),
        fix=raw["fix"],
        doc={_text(k): _text(v) for k, v in raw["doc"].items()},
        invalid=examples(raw.get("invalid")),
        valid=examples(raw.get("valid")),
        data=dict(raw["data"]),
    )


# What decides a verdict (which rules exist, their severity and fix level)
# is checked against the YAML bytes themselves, so the cache can only save
# the parse, never change the answer. These keys sit at the top level of
# every rule file, one `key: value` line each; a file written any other way
# makes the check fail, and the YAML is parsed (slower, same answer).
_VERDICT_LINE = re.compile(rb"^(id|severity|fix):[ \t]*([A-Za-z0-9_-]+)[ \t]*$", re.MULTILINE)


def _verdict_fields(sources: list[tuple[str, bytes]]) -> list[tuple[str, str, str]] | None:
    """(id, severity, fix) per rule file as the YAML writes them, or None."""
    out = []
    for _name, raw in sources:
        found: dict[bytes, bytes] = {}
        for match in _VERDICT_LINE.finditer(raw):
            if match.group(1) in found:
                return None
            found[match.group(1)] = match.group(2)
        if b"id" not in found or b"severity" not in found:
            return None
        try:
            severity = Severity.parse(found[b"severity"].decode()).label
        except ValueError:
            return None
        out.append((found[b"id"].decode(), severity, found.get(b"fix", b"none").decode()))
    return out


def _read_cache(path: Path, sources: list[tuple[str, bytes]]) -> dict[str, Rule] | None:
    """The cached catalog, or None (a miss) when it is missing, not sealed by
    this machine, of the wrong shape, or disagrees with the YAML on a verdict."""
    stored = read_cached(path)
    if not stored:
        return None
    try:
        raw = json.loads(stored)
        if not isinstance(raw, dict) or not isinstance(raw.get("rules"), list):
            return None
        rules = [_rule_from_json(item) for item in raw["rules"]]
    except (ValueError, RecursionError, _Shape):
        return None
    if [(r.id, r.severity.label, r.fix) for r in rules] != _verdict_fields(sources):
        return None
    return {rule.id: rule for rule in rules}


def _write_cache(path: Path, rules: dict[str, Rule]) -> None:
    try:
        document = {"rules": [_rule_to_json(rule) for rule in rules.values()]}
        text = json.dumps(document, ensure_ascii=False)
        if _read_back(text) != rules:  # data JSON cannot round-trip (dates, int keys)
            return
    except (TypeError, ValueError, _Shape):
        return
    store_cached(path, text.encode("utf-8"), "catalog-")


def _read_back(text: str) -> dict[str, Rule]:
    return {rule.id: rule for rule in map(_rule_from_json, json.loads(text)["rules"])}


def _rule_sources(directory: str | Path) -> list[tuple[str, bytes]]:
    try:
        names = sorted(e.name for e in os.scandir(directory) if e.name.startswith("MG") and e.name.endswith(".yaml"))
    except OSError as exc:
        raise CatalogError(f"{directory}: cannot list rules: {exc.strerror}") from None
    sources = []
    for name in names:
        try:
            with open(os.path.join(directory, name), "rb") as handle:
                sources.append((name, handle.read()))
        except OSError as exc:
            raise CatalogError(f"{os.path.join(directory, name)}: cannot load rule: {exc}") from None
    return sources


def rules_fingerprint() -> bytes:
    """A hash of every file in the rules folder (rules, scopes, policies): what
    a cached result must be keyed on, without parsing any YAML."""
    directory = _rules_folder()
    digest = blake2b(digest_size=32)
    try:
        names = sorted(e.name for e in os.scandir(directory) if e.is_file())
        for name in names:
            with open(os.path.join(directory, name), "rb") as handle:
                raw = handle.read()
            digest.update(name.encode("utf-8", "surrogateescape") + b"\0" + str(len(raw)).encode() + b"\0" + raw)
    except OSError as exc:
        raise CatalogError(f"{directory}: cannot read the rules: {exc.strerror}") from None
    return digest.digest()


def _digest(sources: list[tuple[str, bytes]]) -> str:
    """A hash of the rule files' names and bytes: what a parsed catalog is valid for."""
    # BLAKE2b, not SHA-256: importing hashlib for it would load OpenSSL (cachefiles.blake2b).
    digest = blake2b(CATALOG_CACHE_FORMAT, digest_size=32)
    for name, raw in sources:
        digest.update(name.encode("utf-8", "surrogateescape") + b"\0" + str(len(raw)).encode() + b"\0" + raw)
    return digest.hexdigest()


# The parsed catalog shipped beside the YAML (`maniac-guard rules --catalog-json`
# writes it; a test keeps it current). A cold start (a CI runner, a first hook
# run) then skips PyYAML's import and the parse, ~20 ms. It is used only for
# the exact YAML bytes it was made from: an edited rule is parsed from YAML.
SEED_NAME = "catalog.json"


def seed_text(directory: Path) -> str:
    """What `SEED_NAME` holds for the rules in `directory`."""
    sources = _rule_sources(directory)
    rules = _parse_catalog(directory, sources)
    document = {"digest": _digest(sources), "rules": [_rule_to_json(rule) for rule in rules.values()]}
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def _read_seed(directory: str | Path, digest: str) -> dict[str, Rule] | None:
    try:
        with open(os.path.join(directory, SEED_NAME), "rb") as handle:
            raw = json.loads(handle.read())
        if not isinstance(raw, dict) or raw.get("digest") != digest or not isinstance(raw.get("rules"), list):
            return None
        rules = [_rule_from_json(item) for item in raw["rules"]]
    except (OSError, ValueError, RecursionError, _Shape):
        return None
    return {rule.id: rule for rule in rules} or None


@functools.cache
def load_rules() -> dict[str, Rule]:
    """Every rule by id: from the shipped parse or the catalog cache when
    they match the YAML bytes, else parsed (YAML is imported only then)."""
    directory = _rules_folder()
    sources = _rule_sources(directory)
    digest = _digest(sources)
    seeded = _read_seed(directory, digest) if sources else None
    if seeded:
        return seeded
    folder = cache_dir()
    cache_path = None
    if folder is not None and sources:
        cache_path = folder / f"catalog-{digest[:32]}.json"
        cached = _read_cache(cache_path, sources)
        if cached:
            return cached
    rules = _parse_catalog(directory, sources)
    if cache_path is not None:
        _write_cache(cache_path, rules)
    return rules


TABLE_START = "<!-- rules table: generated by `maniac-guard rules --markdown`; a test keeps it current -->"
TABLE_END = "<!-- end of rules table -->"


def rules_table(rules: dict[str, Rule]) -> str:
    """The rule table of docs/rules.md, from the rules themselves."""
    rows = [TABLE_START, "", "| id | name | severity | fix | what |", "|---|---|---|---|---|"]
    for rule in rules.values():
        fix = "–" if rule.fix == "none" else rule.fix
        rows.append(f"| {rule.id} | {rule.name} | {rule.severity.label} | {fix} | {rule.summary} |")
    return "\n".join([*rows, "", TABLE_END])


def get_rule(rule_id: str) -> Rule:
    return load_rules()[rule_id]


def load_data(name: str) -> Any:
    """A non-rule data file from rules/ (scope catalog, policies)."""
    import yaml

    path = rules_dir() / name
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
