"""Least-privilege policies: the built-in one (`rules/policy.yaml`), a user's
file read over it, and `evaluate`, which turns key declarations into
violations. Findings, waivers and positions are made in `check`."""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from maniac_guard.errors import ConfigError
from maniac_guard.findings import Severity
from maniac_guard.permissions.declarations import DeclarationFile, KeyDecl, Waiver, read_waivers
from maniac_guard.permissions.scopes import Catalog
from maniac_guard.records import dataclass, field
from maniac_guard.writer import read_user_text

if TYPE_CHECKING:
    from maniac_guard.config import Settings


class PolicyError(ConfigError):
    """A policy file that cannot be used: exit code 2 with a one-line reason."""


@dataclass(frozen=True)
class Violation:
    rule_id: str
    yaml_path: str
    message: str
    subject: str  # stable, for the fingerprint
    key: str | None = None
    scope: str | None = None
    severity: Severity | None = None  # custom rules carry their own


@dataclass
class Policy:
    settings: dict[str, Any]
    severity: dict[str, Severity] = field(default_factory=dict)
    disabled: frozenset[str] = frozenset()
    rules: list[dict[str, Any]] = field(default_factory=list)
    waivers: list[Waiver] = field(default_factory=list)
    source: str = "built-in"

    def setting(self, name: str) -> Any:
        return self.settings[name]


def _validate(data: Any, where: str) -> None:
    import jsonschema

    from maniac_guard.catalog import load_data

    schema = load_data("policy.schema.json")
    validator = jsonschema.Draft202012Validator(schema)
    for error in validator.iter_errors(data):
        path = ".".join(str(p) for p in error.absolute_path) or "document"
        raise PolicyError(f"{where}: {path}: {error.message}")


def _merge(base: Policy, data: dict[str, Any], where: str) -> Policy:
    settings = {**base.settings, **dict(data.get("settings") or {})}
    severity = dict(base.severity)
    for rule_id, label in dict(data.get("severity") or {}).items():
        severity[str(rule_id)] = Severity.parse(str(label))
    disabled = base.disabled | {str(r).upper() for r in data.get("disable") or ()}
    rules = base.rules + [dict(r) for r in data.get("rules") or ()]
    waivers = base.waivers + read_waivers(data.get("waivers"), "waivers")
    return Policy(settings, severity, disabled, rules, waivers, where)


def _read(path: str) -> dict[str, Any]:
    from maniac_guard.permissions.yamlsafe import YamlProblem, load

    try:
        text = read_user_text(path)
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read policy: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise PolicyError(f"{path}: policy is not UTF-8") from None
    try:
        data = load(text).value
    except YamlProblem as exc:
        raise PolicyError(f"{path}:{exc.line}: {exc.message}") from None
    data = data if data is not None else {}
    _validate(data, path)
    return dict(data)


@functools.cache
def builtin_policy() -> Policy:
    from maniac_guard.catalog import load_data

    data = load_data("policy.yaml")
    _validate(data, "rules/policy.yaml")
    return _merge(Policy({}), data, "built-in")


def load_policy(path: str | None) -> Policy:
    """The built-in policy, with `path` (a user's policy file) read over it."""
    base = builtin_policy()
    if not path:
        return base
    return _merge(base, _read(path), path)


_active: Policy | None = None


def activate(path: str | None) -> Policy:
    """Use `path` for this process (scan workers inherit it through fork)."""
    global _active
    _active = load_policy(path)
    return _active


def active_policy() -> Policy:
    return _active if _active is not None else builtin_policy()


def parse_date(text: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError:
        return None


# ---- evaluation -------------------------------------------------------------


def _scope_checks(key: KeyDecl, policy: Policy, catalog: Catalog) -> Iterator[Violation]:
    purpose = key.get_str("purpose")
    environment = key.get_str("environment")
    read_only = set(policy.setting("read_only_purposes"))
    wildcard_ok = set(policy.setting("wildcard_purposes"))
    prod_envs = set(policy.setting("production_environments"))
    prod_actions = set(policy.setting("production_data_actions"))
    for path, raw in key.scopes():
        scope = raw.strip()
        subject = f"{key.label}.permissions:{scope}"
        kw: dict[str, Any] = {"key": key.name, "scope": scope}
        problem = catalog.problem(scope)
        if problem:
            hint = catalog.suggest(scope)
            tail = f"; did you mean '{hint}'?" if hint else ""
            yield Violation("MG402", path, f"{key.shown}: {problem}{tail}", subject, **kw)
            continue
        granted = catalog.expand(scope)
        if scope in ("*", "*:*"):
            yield Violation(
                "MG403", path, f"{key.shown} holds '{scope}': every action on every resource", subject, **kw
            )
        elif scope.endswith(":*") and purpose not in wildcard_ok:
            allowed = ", ".join(sorted(wildcard_ok)) or "none"
            yield Violation(
                "MG404",
                path,
                f"{key.shown} holds '{scope}' but its purpose is {purpose or 'not given'} "
                f"(resource wildcards are for: {allowed}); list the actions it needs",
                subject,
                **kw,
            )
        elif purpose in read_only and any(not g.endswith(":read") for g in granted):
            yield Violation(
                "MG405",
                path,
                f"{key.shown} has read-only purpose '{purpose}' but holds write scope '{scope}'",
                subject,
                **kw,
            )
        if environment and environment not in prod_envs:
            hits = sorted(
                g for g in granted if catalog.production_data(g.split(":")[0]) and g.split(":")[1] in prod_actions
            )
            if hits:
                yield Violation(
                    "MG408",
                    path,
                    f"{environment} {key.shown} holds '{scope}', which reads production data ({', '.join(hits)})",
                    subject,
                    **kw,
                )


def _lifetime_checks(key: KeyDecl, policy: Policy, today: dt.date) -> Iterator[Violation]:
    environment = key.get_str("environment")
    expires = parse_date(key.fields.get("expires"))
    every = key.fields.get("rotate_every_days")
    every = every if isinstance(every, int) and not isinstance(every, bool) else None
    limit = int(policy.setting("max_rotation_days"))
    if environment in set(policy.setting("production_environments")):
        if "expires" not in key.fields:
            yield Violation(
                "MG406",
                key.path,
                f"production {key.shown} has no expiry date (`expires:`)",
                f"{key.label}:no-expiry",
                key=key.name,
            )
        if every is not None and every > limit:
            yield Violation(
                "MG406",
                key.field_path("rotate_every_days"),
                f"production {key.shown} rotates every {every} days; the policy allows at most {limit}",
                f"{key.label}:rotation",
                key=key.name,
            )
    if expires is not None and expires < today:
        yield Violation(
            "MG407",
            key.field_path("expires"),
            f"{key.shown} expired on {expires.isoformat()}",
            f"{key.label}:expired",
            key=key.name,
        )
    rotated = parse_date(key.fields.get("rotated"))
    if rotated is not None and every is not None and rotated + dt.timedelta(days=every) < today:
        due = (rotated + dt.timedelta(days=every)).isoformat()
        yield Violation(
            "MG407",
            key.field_path("rotated"),
            f"{key.shown} is overdue for rotation since {due} (rotated {rotated.isoformat()}, every {every} days)",
            f"{key.label}:overdue",
            key=key.name,
        )


def _key_checks(key: KeyDecl, decl: DeclarationFile, policy: Policy, catalog: Catalog) -> Iterator[Violation]:
    if decl.form == "full":
        missing = [f for f in policy.setting("required_fields") if not key.get_str(f)]
        if missing:
            yield Violation(
                "MG409", key.path, f"{key.shown} has no {', '.join(missing)}", f"{key.label}:missing", key=key.name
            )
    held: set[str] = set()
    for _, raw in key.scopes():
        if catalog.problem(raw.strip()) is None:
            held |= catalog.expand(raw.strip())
    purpose = key.get_str("purpose")
    for combo in policy.setting("dangerous_combinations"):
        wanted = [str(s) for s in combo["scopes"]]
        if purpose in set(combo.get("unless_purpose") or ()):
            continue
        if all(catalog.problem(s) is None and catalog.expand(s) <= held for s in wanted):
            why = f": {combo['why']}" if combo.get("why") else ""
            yield Violation(
                "MG411",
                key.field_path("permissions"),
                f"{key.shown} holds {' + '.join(wanted)}{why}",
                f"{key.label}:combo:{'+'.join(wanted)}",
                key=key.name,
            )
    yield from _custom_checks(key, policy, catalog, held)


def _custom_checks(key: KeyDecl, policy: Policy, catalog: Catalog, held: set[str]) -> Iterator[Violation]:
    for rule in policy.rules:
        when = dict(rule.get("when") or {})
        if any(key.get_str(name) not in set(values) for name, values in when.items()):
            continue
        severity = Severity.parse(rule["severity"]) if rule.get("severity") else None
        forbid: set[str] = set()
        for scope in rule.get("forbid") or ():
            forbid |= catalog.expand(scope) if catalog.problem(scope) is None else set()
        allow: set[str] | None = None
        if rule.get("allow_only") is not None:
            allow = set()
            for scope in rule["allow_only"]:
                allow |= catalog.expand(scope) if catalog.problem(scope) is None else set()
        for path, raw in key.scopes():
            scope = raw.strip()
            if catalog.problem(scope) is not None:
                continue
            granted = catalog.expand(scope)
            if granted & forbid or (allow is not None and not granted <= allow):
                yield Violation(
                    "MG414",
                    path,
                    f"{key.shown} holds '{scope}': {rule['message']} (policy rule {rule['name']})",
                    f"{key.label}.permissions:{scope}:{rule['name']}",
                    key=key.name,
                    scope=scope,
                    severity=severity,
                )


def _duplicate_names(decl: DeclarationFile) -> Iterator[Violation]:
    seen: dict[str, KeyDecl] = {}
    for key in decl.keys:
        if not key.name:
            continue
        first = seen.get(key.name)
        if first is None:
            seen[key.name] = key
            continue
        env_a, env_b = first.get_str("environment") or "unset", key.get_str("environment") or "unset"
        where = f"environments {env_a} and {env_b}" if env_a != env_b else f"environment {env_a} twice"
        yield Violation(
            "MG410",
            key.field_path("name"),
            f"key name '{key.name}' is declared for {where} (first at {first.path}); give each key its own name",
            f"{key.label}:duplicate:{env_b}",
            key=key.name,
        )


def evaluate(decl: DeclarationFile, policy: Policy, catalog: Catalog, today: dt.date) -> list[Violation]:
    found: list[Violation] = []
    for key in decl.keys:
        found.extend(_scope_checks(key, policy, catalog))
        found.extend(_lifetime_checks(key, policy, today))
        found.extend(_key_checks(key, decl, policy, catalog))
    found.extend(_duplicate_names(decl))
    return [v for v in found if v.rule_id not in policy.disabled]


def policy_path(settings: Settings) -> str | None:
    """The policy file: absolute (from --policy) or relative to the config file's folder."""
    if not settings.policy:
        return None
    if os.path.isabs(settings.policy):
        return settings.policy
    return os.path.join(settings.config_dir, settings.policy)


def activate_configured_policy(settings: Settings) -> None:
    """Load the user's policy (if any) for this process; a bad one is a config error (PolicyError)."""
    activate(policy_path(settings))
