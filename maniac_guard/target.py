"""What one run is asked to scan: the paths named, the run's settings and the
command line's `--exclude` patterns. Sources and stages take this, never the
command's request (formats, colours and outputs stay with the command)."""

from __future__ import annotations

from maniac_guard.config import Settings
from maniac_guard.records import dataclass, field


@dataclass
class ScanTarget:
    paths: list[str]
    settings: Settings
    cli_exclude: list[str] = field(default_factory=list)
    quiet: bool = False  # only findings and errors: no notes, no progress
