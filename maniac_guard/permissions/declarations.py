"""Key declarations: recognising them, validating them (JSON Schema), and
reading them into `KeyDecl`s that remember their YAML paths.

Two forms are accepted (see rules/declarations.schema.json):

- the Maniac docs' bare form, a top-level `permissions:` list (one key per file);
- the full form, `version: 1` and a `keys:` list of entries with a name,
  owner, project, environment, purpose, permissions, expiry and code globs.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from maniac_guard.permissions.yamlsafe import Located, YamlProblem, join_index, join_key, load
from maniac_guard.records import dataclass, field

DECLARATION_NAMES = frozenset({"maniac-keys.yaml", "maniac-keys.yml"})
MAX_DECLARATION_BYTES = 1024 * 1024
KNOWN_FIELDS = (
    "name",
    "owner",
    "project",
    "environment",
    "purpose",
    "description",
    "permissions",
    "expires",
    "created",
    "rotated",
    "rotate_every_days",
    "code",
    "keys",
    "waivers",
    "version",
)
_SCOPE_SHAPE = re.compile(r"^(?:\*|[A-Za-z*][A-Za-z0-9_*-]*:[A-Za-z0-9_*-]+)$")
# A Maniac scope in raw bytes: decides whether a file that fails to parse was meant as a declaration.
_RAW_SCOPE = re.compile(
    rb"\b(?:containers|models|data|metrics|inference|evaluations|optimization|traces):(?:read|write|\*)"
)


@dataclass(frozen=True)
class Problem:
    """A reason the file is not a valid declaration (MG401)."""

    message: str
    yaml_path: str = ""
    line: int | None = None  # when the YAML path cannot say (syntax errors)
    column: int = 1


@dataclass
class KeyDecl:
    path: str  # YAML path of the entry: "keys[2]", or "" for the bare form
    fields: dict[str, Any]
    index: int | None  # position in keys:, None for the bare form

    @property
    def name(self) -> str | None:
        value = self.fields.get("name")
        return value if isinstance(value, str) else None

    @property
    def label(self) -> str:
        """Stable name for fingerprints and messages: survives reordering when named."""
        if self.name:
            return f"keys[{self.name}]" if self.index is not None else f"key[{self.name}]"
        return f"keys[{self.index}]" if self.index is not None else "permissions"

    @property
    def shown(self) -> str:
        return f"key '{self.name}'" if self.name else ("the key" if self.index is None else f"key #{self.index}")

    def get_str(self, name: str) -> str | None:
        value = self.fields.get(name)
        return value if isinstance(value, str) else None

    def field_path(self, name: str) -> str:
        return join_key(self.path, name)

    def scopes(self) -> list[tuple[str, str]]:
        """(YAML path, scope) of every string permission."""
        raw = self.fields.get("permissions")
        if not isinstance(raw, list):
            return []
        base = self.field_path("permissions")
        return [(join_index(base, i), s) for i, s in enumerate(raw) if isinstance(s, str)]


@dataclass
class Waiver:
    rule: str
    reason: str
    expires: str
    yaml_path: str
    key: str | None = None
    scope: str | None = None
    path: str | None = None  # glob over declaration files (policy-file waivers)


@dataclass
class DeclarationFile:
    path: str
    located: Located
    form: str  # "full" | "bare"
    keys: list[KeyDecl] = field(default_factory=list)
    waivers: list[Waiver] = field(default_factory=list)


def named_declaration(name: str) -> bool:
    """maniac-keys.yaml / .yml, or a prefixed one such as prod.maniac-keys.yaml."""
    return name in DECLARATION_NAMES or name.endswith((".maniac-keys.yaml", ".maniac-keys.yml"))


def _looks_like_scopes(value: Any) -> bool:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        return False
    if not all(_SCOPE_SHAPE.match(v.strip()) for v in value):
        return False
    # Here: the scope catalog (and difflib) only for a list of scope-shaped strings.
    from maniac_guard.permissions.scopes import load_catalog

    resources = load_catalog().resources
    return any(v.strip() in ("*", "*:*") or v.split(":", 1)[0] in resources for v in value)


def recognised(value: Any) -> bool:
    """Whether a YAML document (not named maniac-keys.yaml) declares Maniac keys."""
    if not isinstance(value, dict):
        return False
    keys = value.get("keys")
    if isinstance(keys, list) and keys and all(isinstance(k, dict) and "permissions" in k for k in keys):
        return True
    return _looks_like_scopes(value.get("permissions"))


@functools.cache
def _validator() -> Any:
    import jsonschema

    from maniac_guard.catalog import load_data

    schema = load_data("declarations.schema.json")
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _error_path(error: Any) -> str:
    path = ""
    for part in error.absolute_path:
        path = join_index(path, part) if isinstance(part, int) else join_key(path, str(part))
    return path


def _unexpected(error: Any) -> list[str]:
    if error.validator not in ("unevaluatedProperties", "additionalProperties"):
        return []
    return re.findall(r"'([^']+)'", error.message.split("(", 1)[-1]) if "unexpected" in error.message else []


def schema_problems(value: Any) -> list[Problem]:
    problems: list[Problem] = []
    for error in sorted(_validator().iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path]):
        path = _error_path(error)
        extra = _unexpected(error)
        if extra:  # point at the unexpected field itself
            import difflib

            for name in extra:
                close = difflib.get_close_matches(name, KNOWN_FIELDS, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                problems.append(Problem(f"unknown field '{name}' in a key declaration{hint}", join_key(path, name)))
            continue
        message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
        problems.append(Problem(message, path))
    return problems


def parse(path: str, text: str, size: int, named: bool) -> tuple[DeclarationFile | None, list[Problem]]:
    """Read one file. (None, []) when it is not a key declaration at all."""
    raw = text.encode("utf-8", "replace")
    if size > MAX_DECLARATION_BYTES:
        if named or _RAW_SCOPE.search(raw[:65536]):
            return None, [
                Problem(f"{size} bytes is too large for a key declaration (limit {MAX_DECLARATION_BYTES}); not checked")
            ]
        return None, []
    try:
        located = load(text)
    except YamlProblem as exc:
        if named or _RAW_SCOPE.search(raw):
            return None, [Problem(exc.message, line=exc.line, column=exc.column)]
        return None, []
    value = located.value
    if not named and not recognised(value):
        return None, []
    if not isinstance(value, dict):
        return None, [Problem("a key declaration is a mapping with `keys:` or `permissions:`")]
    problems = schema_problems(value)
    form = "full" if "keys" in value else "bare"
    decl = DeclarationFile(path, located, form)
    if form == "full":
        entries = value.get("keys")
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(entry, dict):
                decl.keys.append(KeyDecl(join_index("keys", i), entry, i))
    else:
        decl.keys.append(KeyDecl("", value, None))
    decl.waivers = read_waivers(value.get("waivers"), "waivers")
    return decl, problems


def read_waivers(raw: Any, base: str) -> list[Waiver]:
    """Well-formed waivers only; the schema reports the others."""
    out: list[Waiver] = []
    for i, item in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(item, dict):
            continue
        rule, reason, expires = item.get("rule"), item.get("reason"), item.get("expires")
        if not (isinstance(rule, str) and isinstance(reason, str) and isinstance(expires, str)):
            continue
        opt = {k: item.get(k) if isinstance(item.get(k), str) else None for k in ("key", "scope", "path")}
        out.append(Waiver(rule.upper(), reason, expires, join_index(base, i), **opt))
    return out
