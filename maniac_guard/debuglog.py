"""Debug lines (shown with `-v`) without importing `logging` on every run:
its import costs ~5 ms of a pre-commit hook, and these lines are rare."""

from __future__ import annotations


def debug(logger: str, message: str, *args: object) -> None:
    import logging

    logging.getLogger(logger).debug(message, *args)
