"""`ci` judges a change by the rules of its base, never by its own.

A pull request that adds a key together with `exclude = ["**"]`, an
`ignore`, a `.maniac-guard-ignore` entry or a baseline entry for it must not
pass. So the configuration (`.maniac-guard.toml`, or `[tool.maniac-guard]`
in pyproject.toml, at the repository root), the ignore file, the baseline
and the policy file are read from the BASE commit (the trusted side), as
pre-receive reads none of the pushed ones. They are copied out of git into a
temporary folder and the settings point there; `exclude` patterns stay
relative to the repository root.
"""

from __future__ import annotations

import os
from typing import Any

from maniac_guard import records
from maniac_guard.config import CONFIG_FILE, ConfigError, Settings, apply_overrides, load_settings
from maniac_guard.ignorefile import IGNORE_FILE
from maniac_guard.sources.gitblobs import BlobReader

MAX_TRUSTED_FILE = 16 << 20  # bytes of one configuration, ignore or baseline file read from git


class _BaseFiles:
    """Files of the base commit, copied into `folder` on demand."""

    def __init__(self, reader: BlobReader, base: str, folder: str) -> None:
        self.reader = reader
        self.base = base
        self.folder = folder

    def copy(self, rel: str) -> str | None:
        """The base's version of `rel` (relative to the root) as a file in the folder; None if absent."""
        rel = os.path.normpath(rel).replace(os.sep, "/")
        if rel.startswith("../") or rel == ".." or os.path.isabs(rel):
            return None
        data = self.reader.read(f"{self.base}:{rel}", MAX_TRUSTED_FILE)[1]
        if data is None:
            return None
        target = os.path.join(self.folder, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as handle:
            handle.write(data)
        return target


def trusted_settings(
    root: str, base: str, folder: str, config: str | None, overrides: dict[str, Any]
) -> tuple[Settings, list[str]]:
    """The settings of commit `base` (or of `--config FILE`), with the
    command line's `overrides` over them, and the lines that say so. The
    base's files are copied into `folder`, which must outlive the scan."""
    lines = []
    with BlobReader(root) as reader:
        files = _BaseFiles(reader, base, folder)
        if config:
            settings = load_settings(root, config)
            lines.append(f"configuration from --config {config}")
        else:
            copied = [found for found in (files.copy(CONFIG_FILE), files.copy("pyproject.toml")) if found]
            try:
                # Named, not searched for: a search would climb out of the folder to /tmp's own files.
                settings = load_settings(folder, copied[0]) if copied else Settings()
            except ConfigError as exc:
                raise ConfigError(
                    str(exc).replace(folder + os.sep, "").replace(": ", f" at {base[:12]}: ", 1)
                ) from None
            settings = records.replace(settings, config_explicit=False)
            if settings.config_path:
                shown = os.path.relpath(settings.config_path, folder).replace(os.sep, "/")
                settings = records.replace(settings, config_path=f"{shown} at {base[:12]}")
                lines.append(f"configuration from {shown} at {base[:12]}")
            else:
                lines.append(f"no configuration at {base[:12]}: the defaults")
        # Values in the base's config are relative to the root, where that file sits.
        value_dir = settings.config_dir if config else os.path.abspath(root)
        changed: dict[str, Any] = {"config_dir": value_dir}
        wanted = settings.ignore_file or IGNORE_FILE
        rel = _relative(root, value_dir, wanted)
        if rel is None:  # outside the repository (a CI-provided file): not the change's
            changed["ignore_file"] = os.path.join(value_dir, wanted)
        else:
            copy = files.copy(rel)
            if copy is None:  # none at the base: the change's own must not be found instead
                copy = os.path.join(folder, "no-ignore-file")
                open(copy, "wb").close()
            else:
                lines.append(f"ignore file {rel} at {base[:12]}")
            changed["ignore_file"] = copy
        for name in ("baseline", "policy"):
            value = overrides.get(name) or getattr(settings, name)
            if not value:
                continue
            rel = _relative(root, value_dir, value)
            if rel is None:
                changed[name] = os.path.join(value_dir, value)
                continue
            copy = files.copy(rel)
            changed[name] = copy
            lines.append(f"{name} {rel} " + (f"at {base[:12]}" if copy else f"is not in {base[:12]}: none applies"))
    overrides = {k: v for k, v in overrides.items() if k not in ("baseline", "policy")}
    settings = records.replace(settings, **changed)
    return apply_overrides(settings, overrides) if overrides else settings, lines


def _relative(root: str, config_dir: str, value: str) -> str | None:
    """`value` (relative to the config's folder, or absolute) relative to the
    repository root; None when it lies outside the repository."""
    full = os.path.normpath(os.path.join(os.path.abspath(config_dir), value))
    rel = os.path.relpath(full, os.path.abspath(root))
    return None if rel == ".." or rel.startswith(".." + os.sep) else rel.replace(os.sep, "/")
