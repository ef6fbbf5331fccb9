"""A progress bar on stderr while keys are checked (terminal only).

It shows counts, never a key.
"""

from __future__ import annotations

import threading


class ProgressBar:
    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._lock = threading.Lock()
        self._progress = Progress(
            TextColumn("Verifying keys"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._task = self._progress.add_task("verify", total=total)
        self._progress.start()

    def advance(self) -> None:
        with self._lock:
            self._progress.advance(self._task)

    def close(self) -> None:
        self._progress.stop()
