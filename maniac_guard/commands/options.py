"""What several commands do with their options: settings from the config
file with the command line over it, rule lists, colour, debug logging."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from maniac_guard.config import Settings, apply_overrides, common_folder, load_settings
from maniac_guard.errors import ConfigError
from maniac_guard.findings import Severity

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (records.py)
if TYPE_CHECKING:
    from typing import Any


def use_color(flag: bool | None) -> bool:
    if flag is not None:
        return flag
    if os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def split_ids(values: Sequence[str], flag: str = "--select") -> list[str]:
    ids = [part.strip() for value in values for part in value.split(",") if part.strip()]
    if values and not ids:  # `--select ""` must not quietly mean "every rule"
        raise ConfigError(f"{flag}: no rule ids given")
    return ids


def severity(label: str | None) -> Severity | None:
    return Severity.parse(label) if label else None


def settings_for(paths: Sequence[str], config: str | None, **flags: Any) -> Settings:
    """Config file values, then the command line over them (a flag left unset
    keeps the file's value). The config is the one nearest to the folder
    holding every path; each path's own nearest config is applied per file."""
    settings = load_settings(common_folder(tuple(paths)), config)
    return apply_overrides(settings, {k: v for k, v in flags.items() if v is not None and v != () and v != []})


def debug_logging() -> None:
    """Our own loggers only: a library's debug output is not ours to vouch for."""
    import logging

    from maniac_guard.findings import mask_real_keys

    class Masking(logging.Formatter):
        """A path that holds a key (`mk-<key>.py does not parse`) is masked as in every report."""

        def format(self, record: logging.LogRecord) -> str:
            return mask_real_keys(super().format(record))

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(Masking("maniac-guard: debug: %(message)s"))
    logger = logging.getLogger("maniac_guard")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
