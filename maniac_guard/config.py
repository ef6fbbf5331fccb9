"""`[tool.maniac-guard]` in pyproject.toml or `.maniac-guard.toml`, merged with
CLI flags (flags win). The nearest file to the scanned path is used."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maniac_guard.errors import ConfigError
from maniac_guard.findings import Severity

__all__ = ["ConfigError", "Settings", "load_settings"]

DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024
CONFIG_FILE = ".maniac-guard.toml"


@dataclass
class Settings:
    exclude: list[str] = field(default_factory=list)
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    fail_on: Severity = Severity.LOW
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    gitignore: bool = True
    jobs: int = 0  # 0: one worker per core
    env_var: str = "MANIAC_API_KEY"
    unsafe_fixes: bool = False  # --fix also applies fixes that may change behaviour
    verify: bool = False
    # Verification (issue 6). api_url is CLI/env only: never from a config file.
    api_url: str | None = None
    verify_timeout: float | None = None  # None: MANIAC_TIMEOUT, else 10 s
    verify_retries: int | None = None  # None: MANIAC_MAX_RETRIES, else 2
    verify_budget: float | None = None  # None: 60 s for the whole step
    verify_cache: bool = True
    only_live: bool = False
    baseline: str | None = None
    policy: str | None = None
    ignore_file: str | None = None  # .maniac-guard-ignore elsewhere
    config_path: str | None = None  # where the settings came from
    config_dir: str = "."  # config `exclude` patterns are relative to it


# Config keys (kebab-case, as in the file) and how to read each.
def _str_list(key: str, value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(f"'{key}' must be a list of strings")


def _bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"'{key}' must be true or false")
    return value


def _int(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"'{key}' must be a non-negative integer")
    return value


def _seconds(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"'{key}' must be a positive number of seconds")
    return float(value)


def _str(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"'{key}' must be a string")
    return value


def _severity(key: str, value: Any) -> Severity:
    try:
        return Severity.parse(_str(key, value))
    except ValueError as exc:
        raise ConfigError(f"'{key}': {exc}") from None


CONFIG_KEYS: dict[str, tuple[str, Any]] = {
    "exclude": ("exclude", _str_list),
    "select": ("select", _str_list),
    "ignore": ("ignore", _str_list),
    "fail-on": ("fail_on", _severity),
    "max-file-size": ("max_file_size", _int),
    "gitignore": ("gitignore", _bool),
    "jobs": ("jobs", _int),
    "env-var": ("env_var", _str),
    "unsafe-fixes": ("unsafe_fixes", _bool),
    "verify": ("verify", _bool),
    "verify-timeout": ("verify_timeout", _seconds),
    "verify-retries": ("verify_retries", _int),
    "verify-budget": ("verify_budget", _seconds),
    "verify-cache": ("verify_cache", _bool),
    "only-live": ("only_live", _bool),
    "baseline": ("baseline", _str),
    "policy": ("policy", _str),
    "ignore-file": ("ignore_file", _str),
}


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:  # TOML is UTF-8 by definition
        raise ConfigError(f"{path}: invalid TOML: not UTF-8 (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def find_config(start: str) -> tuple[Path, dict[str, Any]] | None:
    """The nearest `.maniac-guard.toml`, or pyproject.toml with our table."""
    here = Path(os.path.abspath(start))
    if not here.is_dir():
        here = here.parent
    for folder in (here, *here.parents):
        own = folder / CONFIG_FILE
        if own.is_file():
            data = _read_toml(own)
            return own, data.get("tool", {}).get("maniac-guard", data)
        project = folder / "pyproject.toml"
        if project.is_file():
            data = _read_toml(project)
            table = data.get("tool", {}).get("maniac-guard")
            if table is not None:
                return project, table
    return None


def load_settings(start: str, explicit: str | None = None) -> Settings:
    settings = Settings()
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"{explicit}: config file not found")
        data = _read_toml(path)
        found: tuple[Path, dict[str, Any]] | None = (path, data.get("tool", {}).get("maniac-guard", data))
    else:
        found = find_config(start)
    if found is None:
        return settings
    path, table = found
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.maniac-guard] must be a table")
    for key, value in table.items():
        if key not in CONFIG_KEYS:
            known = ", ".join(sorted(CONFIG_KEYS))
            raise ConfigError(f"{path}: unknown config key '{key}' (known: {known})")
        attribute, reader = CONFIG_KEYS[key]
        try:
            setattr(settings, attribute, reader(key, value))
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    settings.config_path = str(path)
    settings.config_dir = str(path.parent)
    return settings
