"""Progress on stderr while keys are checked: counts, never a key.

A plain line (maniac_guard.progress), not a drawing library: rich and its
dependencies were a third of the install for this one bar.
"""

from __future__ import annotations

import threading

from maniac_guard.progress import ProgressLine


class ProgressBar:
    def __init__(self, total: int) -> None:
        self._lock = threading.Lock()
        self._line = ProgressLine("Verifying keys", total)
        self._line.update(0)

    def advance(self) -> None:
        with self._lock:  # answers arrive on the checker threads
            self._line.advance()

    def close(self) -> None:
        with self._lock:
            self._line.close()
