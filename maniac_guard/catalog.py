"""Loads the rules in `rules/` (data, shipped inside the wheel)."""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maniac_guard.findings import Severity

DOC_SECTIONS = (
    ("what", "What it does"),
    ("why", "Why is this bad?"),
    ("example", "Example"),
    ("instead", "Use instead"),
    ("fix_safety", "Fix safety"),
)
FIX_LEVELS = ("none", "safe", "unsafe")


class CatalogError(Exception):
    pass


@dataclass(frozen=True)
class Example:
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
    override = os.environ.get("MANIAC_GUARD_RULES_DIR")
    if override:
        return Path(override)
    package = Path(__file__).resolve().parent
    installed = package / "_rules"
    if installed.is_dir():
        return installed
    return package.parent / "rules"  # a source checkout or an editable install


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


@functools.cache
def load_rules() -> dict[str, Rule]:
    """Every rule by id. YAML is imported here, not at start-up."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    directory = rules_dir()
    rules: dict[str, Rule] = {}
    for path in sorted(directory.glob("MG*.yaml")):
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
        except (OSError, yaml.YAMLError) as exc:
            raise CatalogError(f"{path}: cannot load rule: {exc}") from None
        rule = _parse_rule(data, str(path))
        if rule.id in rules:
            raise CatalogError(f"{path}: duplicate rule id {rule.id}")
        rules[rule.id] = rule
    if not rules:
        raise CatalogError(f"no rules found in {directory}")
    return rules


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
