"""maniac-guard's scope catalog (`rules/scopes.yaml`) and scope arithmetic."""

from __future__ import annotations

import difflib
import functools
from typing import Any

from maniac_guard.records import dataclass

WILDCARD = "*"


@dataclass(frozen=True)
class Catalog:
    resources: dict[str, dict[str, Any]]
    actions: tuple[str, ...]  # without "*"
    calls: dict[str, str]  # "containers.list" -> "containers:read"
    no_scope: frozenset[str]

    def all_scopes(self) -> list[str]:
        """Every valid spelling, for "did you mean"."""
        out = [WILDCARD, "*:*"]
        for resource in self.resources:
            out += [f"{resource}:{action}" for action in (*self.actions, WILDCARD)]
        return out

    def problem(self, scope: str) -> str | None:
        """Why `scope` is malformed or unknown, or None when it is valid."""
        if scope in (WILDCARD, "*:*"):
            return None
        if scope.count(":") != 1:
            return f"'{scope}' is not of the form resource:action"
        resource, action = scope.split(":")
        if resource not in self.resources:
            return f"unknown resource '{resource}' in '{scope}'"
        if action != WILDCARD and action not in self.actions:
            return f"unknown action '{action}' in '{scope}' (actions: {', '.join(self.actions)}, *)"
        return None

    def suggest(self, scope: str) -> str | None:
        cleaned = scope.strip().lower().replace(" ", "").replace(".", ":").replace("/", ":")
        if cleaned != scope and self.problem(cleaned) is None:
            return cleaned
        found = difflib.get_close_matches(cleaned, self.all_scopes(), n=1, cutoff=0.6)
        return found[0] if found else None

    def expand(self, scope: str) -> set[str]:
        """The concrete `resource:action` scopes a (valid) scope grants."""
        if scope in (WILDCARD, "*:*"):
            return {f"{r}:{a}" for r in self.resources for a in self.actions}
        resource, action = scope.split(":")
        if action == WILDCARD:
            return {f"{resource}:{a}" for a in self.actions}
        return {scope}

    def production_data(self, resource: str) -> bool:
        return bool(self.resources.get(resource, {}).get("production_data"))


def _parse(data: Any) -> Catalog:
    resources = {str(k): dict(v or {}) for k, v in dict(data["resources"]).items()}
    actions = tuple(str(a) for a in dict(data["actions"]))
    calls = {str(k): str(v) for k, v in dict(data.get("calls") or {}).items()}
    catalog = Catalog(resources, actions, calls, frozenset(str(x) for x in data.get("no_scope") or ()))
    for call, scope in calls.items():
        problem = catalog.problem(scope)
        if problem:
            raise ValueError(f"scopes.yaml: call {call}: {problem}")
    return catalog


@functools.cache
def load_catalog() -> Catalog:
    from maniac_guard.catalog import load_data

    return _parse(load_data("scopes.yaml"))
