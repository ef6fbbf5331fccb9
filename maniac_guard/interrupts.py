"""SIGTERM as an exception, so that it unwinds like Ctrl-C: helpers are
killed, temp files removed, and the command says why it stopped (exit 143,
128 + SIGTERM, as shells report a process killed by it)."""

from __future__ import annotations

from types import FrameType

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (records.py)
if TYPE_CHECKING:
    import signal
else:
    try:
        # The C module behind `signal`: the same calls, without building the
        # enums of every signal (~1 ms of a hook's start, issue 26).
        import _signal as signal
    except ImportError:  # not CPython
        import signal

EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(BaseException):
    """SIGTERM arrived (a BaseException, like KeyboardInterrupt, so that
    `except Exception` handlers do not swallow it)."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def raise_on_sigterm() -> None:
    """From now on SIGTERM raises Terminated, unless it is ignored (nohup)."""
    if signal.getsignal(signal.SIGTERM) != signal.SIG_IGN:
        signal.signal(signal.SIGTERM, _raise_terminated)
