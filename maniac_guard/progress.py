"""Progress of long runs on stderr: counts only, never a key.

Shown on a terminal only, so CI logs stay clean, unless asked:
MANIAC_GUARD_PROGRESS=1 shows it anywhere (one plain line every few
seconds where stderr is not a terminal), MANIAC_GUARD_PROGRESS=0 never.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

PROGRESS_ENV = "MANIAC_GUARD_PROGRESS"
_ON = {"1", "true", "yes", "on", "always"}
_OFF = {"0", "false", "no", "off", "never"}
TERMINAL_INTERVAL = 0.1  # seconds between redraws on a terminal
LOG_INTERVAL = 5.0  # seconds between lines in a log (forced progress)


def progress_setting() -> bool | None:
    """True/False when MANIAC_GUARD_PROGRESS asks for it, None when unset."""
    raw = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if raw in _ON:
        return True
    if raw in _OFF:
        return False
    return None


def progress_wanted(*, quiet: bool = False, stream: TextIO | None = None) -> bool:
    """Whether to draw progress: asked for, or on a terminal and not --quiet."""
    asked = progress_setting()
    if asked is not None:
        return asked
    if quiet or os.environ.get("TERM") == "dumb":
        return False
    target = stream if stream is not None else sys.stderr
    try:
        return target.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


class ProgressLine:
    """`maniac-guard: <label> N/M (12s)`: redrawn in place on a terminal; where
    forced into a log, a line at the start, every LOG_INTERVAL seconds and at the end."""

    def __init__(self, label: str, total: int | None = None, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        try:
            self.terminal = self.stream.isatty()
        except (AttributeError, ValueError):
            self.terminal = False
        self.started = time.monotonic()
        self._last: float | None = None
        self._written = -1  # the count on the last line written

    def text(self) -> str:
        of = f"/{self.total}" if self.total else ""
        return f"maniac-guard: {self.label} {self.done}{of} ({time.monotonic() - self.started:.0f}s)"

    def update(self, done: int) -> None:
        self.done = done
        now = time.monotonic()
        if self._last is not None and now - self._last < (TERMINAL_INTERVAL if self.terminal else LOG_INTERVAL):
            return
        self._last = now
        self._write(self.text())

    def advance(self, step: int = 1) -> None:
        self.update(self.done + step)

    def _write(self, line: str) -> None:
        try:
            if self.terminal:
                self.stream.write(f"\r\033[K{line}")
            else:
                self.stream.write(line + "\n")
            self.stream.flush()
            self._written = self.done
        except (OSError, ValueError):  # progress must never end a run
            pass

    def close(self) -> None:
        """Clear a terminal's line; end a log with the final count."""
        if self._written < 0:
            return
        if not self.terminal:
            if self._written != self.done:
                self._write(self.text())
            return
        try:
            self.stream.write("\r\033[K")
            self.stream.flush()
        except (OSError, ValueError):
            pass
