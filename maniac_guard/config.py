"""`[tool.maniac-guard]` in pyproject.toml or `.maniac-guard.toml`, merged with
CLI flags (flags win).

One config governs a run (as one `.gitleaks.toml` governs a gitleaks run):
the one nearest to the current folder (or to the folder holding every path
named outside it), or `--config`. A subfolder's config is not read, so
`scan .`, `scan --staged` and a pre-commit hook's `scan -- sub/leak.env`
give one verdict; the engine names a nearer config it did not read."""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Sequence

from maniac_guard.errors import ConfigError
from maniac_guard.findings import Severity
from maniac_guard.records import dataclass, field, replace
from maniac_guard.writer import read_user_file

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (records.py)
if TYPE_CHECKING:
    from pathlib import Path  # imported when a config file is found: a run without one needs none
    from typing import Any

__all__ = ["ConfigError", "Settings", "load_settings"]

DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024
CONFIG_FILE = ".maniac-guard.toml"


@dataclass(frozen=True)
class Settings:
    """A run's settings, built once: the file config, then the command line
    over it (`apply_overrides`). Frozen: a stage that needs other settings
    makes a copy (`records.replace`) and says why."""

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
    config_explicit: bool = False  # --config: that file governs every path
    overrides: dict[str, Any] = field(default_factory=dict)  # CLI flags, re-applied over other configs


# Config keys (kebab-case, as in the file) and how to read each. Each one is
# checked as strictly as its command-line flag: a value that would switch
# rules or files off without saying so is an error, not a default.
def _str_list(key: str, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"'{key}' must be a list of strings")
    if not all(v.strip() for v in value):
        raise ConfigError(f"'{key}' holds an empty string")
    return list(value)


def _selectors(key: str, value: Any) -> list[str]:
    selectors = _str_list(key, value)
    if key == "select" and not selectors:
        raise ConfigError(f"'{key}' is empty, which would select no rule; list rule ids (MG1, MG201) or remove the key")
    # Checked here, so that the error names the file (the caller adds it).
    from maniac_guard.catalog import load_rules

    ids = load_rules()
    for selector in selectors:
        if not any(rule_id.startswith(selector.strip().upper()) for rule_id in ids):
            raise ConfigError(f"'{key}': unknown rule selector '{selector}' (see `maniac-guard rules`)")
    return selectors


def _patterns(key: str, value: Any) -> list[str]:
    patterns = _str_list(key, value)
    problem = pattern_problem(patterns)
    if problem:
        raise ConfigError(f"'{key}': {problem}")
    return patterns


def pattern_problem(patterns: list[str]) -> str | None:
    """Why pathspec refuses one of these gitignore patterns, or None."""
    import re

    import pathspec

    for pattern in patterns:
        try:
            pathspec.PathSpec.from_lines("gitwildmatch", [pattern])
        except ValueError:  # pathspec's GitIgnorePatternError
            hint = " (a trailing backslash escapes nothing)" if pattern.endswith("\\") else ""
            return f"invalid gitignore pattern {pattern!r}{hint}"
        except re.error as exc:  # a range such as [z-a]: pathspec's regex does not compile
            return f"invalid gitignore pattern {pattern!r} ({exc.msg})"
    return None


def _bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"'{key}' must be true or false")
    return value


def _int(key: str, value: Any, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"'{key}' must be an integer of at least {minimum}")
    return value


def _size(key: str, value: Any) -> int:
    return _int(key, value, minimum=1)


def _seconds(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ConfigError(f"'{key}' must be a positive, finite number of seconds")
    return float(value)


def _str(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"'{key}' must be a non-empty string")
    return value


def _identifier(key: str, value: Any) -> str:
    if not _str(key, value).isidentifier():
        raise ConfigError(f"'{key}': {value!r} is not a variable name")
    return str(value)


def _severity(key: str, value: Any) -> Severity:
    if not isinstance(value, str):
        raise ConfigError(f"'{key}' must be a string")
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise ConfigError(f"'{key}': {exc}") from None


CONFIG_KEYS: dict[str, tuple[str, Callable[[str, Any], Any]]] = {
    "exclude": ("exclude", _patterns),
    "select": ("select", _selectors),
    "ignore": ("ignore", _selectors),
    "fail-on": ("fail_on", _severity),
    "max-file-size": ("max_file_size", _size),
    "gitignore": ("gitignore", _bool),
    "jobs": ("jobs", _int),
    "env-var": ("env_var", _identifier),
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
        raw = read_user_file(str(path))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); TOML files are UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None


def _our_table(path: Path, data: dict[str, Any]) -> dict[str, Any] | None:
    """`[tool.maniac-guard]`; in `.maniac-guard.toml` the whole file may be it."""
    own_file = path.name == CONFIG_FILE
    tool = data.get("tool")
    if tool is not None and not isinstance(tool, dict):
        raise ConfigError(f"{path}: 'tool' must be a table ([tool.maniac-guard]), not {type(tool).__name__}")
    table = tool.get("maniac-guard") if tool is not None else None
    if table is None:
        _refuse_misspelt_table(path, tool)
        return data if own_file else None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.maniac-guard] must be a table, not {type(table).__name__}")
    return table


def _refuse_misspelt_table(path: Path, tool: dict[str, Any] | None) -> None:
    """`[tool.maniac_guard]` (or `maniac-gaurd`) would be ignored without a
    word, and the scan would run with defaults: name the table meant."""
    if not tool:
        return
    import difflib

    for name in tool:
        squashed = str(name).lower().replace("_", "-").replace(".", "-").replace(" ", "-")
        if squashed == "maniac-guard" or difflib.get_close_matches(squashed, ["maniac-guard"], n=1, cutoff=0.8):
            raise ConfigError(f"{path}: [tool.{name}] is not read; did you mean [tool.maniac-guard]?")


def find_config(start: str) -> tuple[Path, dict[str, Any]] | None:
    """The nearest `.maniac-guard.toml`, or pyproject.toml with our table."""
    here = os.path.abspath(start)
    return _nearest_config(here if os.path.isdir(here) else os.path.dirname(here))


@functools.lru_cache(maxsize=4096)
def _nearest_config(folder: str) -> tuple[Path, dict[str, Any]] | None:
    """Cached per folder: a hook passes hundreds of files from a few folders."""
    from_own = os.path.join(folder, CONFIG_FILE)
    if _is_file(from_own):
        from pathlib import Path

        own = Path(from_own)
        table = _our_table(own, _read_toml(own))
        assert table is not None  # a .maniac-guard.toml is always ours
        return own, table
    from_project = os.path.join(folder, "pyproject.toml")
    if _is_file(from_project):
        from pathlib import Path

        project = Path(from_project)
        table = _our_table(project, _read_toml(project))
        if table is not None:
            return project, table
    parent = os.path.dirname(folder)
    return None if parent == folder else _nearest_config(parent)


def _is_file(path: str) -> bool:
    """False too for a folder on the way we may not enter: a config nobody
    can read is no config (os.path.isfile says False for any OSError)."""
    return os.path.isfile(path)


def common_folder(paths: Sequence[str]) -> str:
    """Where the run's one config is looked for: the current folder when
    every path is inside it (`scan .`, `--staged` and a pre-commit hook's
    `scan -- sub/leak.env` then share one config and one verdict), else the
    folder holding every path."""
    cwd = os.getcwd()
    if not paths:
        return cwd
    absolute = [os.path.abspath(p) for p in paths]
    if all(p == cwd or p.startswith(cwd.rstrip(os.sep) + os.sep) for p in absolute):
        return cwd
    try:
        return os.path.commonpath(absolute)
    except ValueError:  # different drives
        return cwd


def _settings_from(found: tuple[Path, dict[str, Any]] | None) -> Settings:
    if found is None:
        return Settings()
    path, table = found
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in CONFIG_KEYS:
            known = ", ".join(sorted(CONFIG_KEYS))
            raise ConfigError(f"{path}: unknown config key '{key}' (known: {known})")
        attribute, reader = CONFIG_KEYS[key]
        try:
            values[attribute] = reader(key, value)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    return Settings(**values, config_path=str(path), config_dir=str(path.parent))


def load_settings(start: str, explicit: str | None = None) -> Settings:
    if explicit:
        from pathlib import Path

        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"{explicit}: config file not found")
        table = _our_table(path, _read_toml(path))
        if table is None:  # a pyproject.toml without our table: nothing configured
            table = {}
        return replace(_settings_from((path, table)), config_explicit=True)
    return _settings_from(find_config(start))


def apply_overrides(settings: Settings, overrides: dict[str, Any]) -> Settings:
    """CLI flags over config values (a flag left unset keeps the file's value)."""
    return replace(settings, **overrides, overrides=dict(overrides))
