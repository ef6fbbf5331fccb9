"""The one error boundary every command runs in (errors.py), without click:
the hook's fast path (entry.py) and the click group (cli.py) share it."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from maniac_guard.errors import EXIT_BROKEN_PIPE, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE, UsageError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (records.py)
if TYPE_CHECKING:
    from typing import NoReturn, TypeVar

    T = TypeVar("T")


def fail(message: str) -> NoReturn:
    from maniac_guard.findings import mask_real_keys  # a path named after a key (MG105) stays masked

    one_line = mask_real_keys("; ".join(part.strip() for part in message.splitlines() if part.strip()))
    print(f"maniac-guard: error: {one_line}", file=sys.stderr, flush=True)
    sys.exit(EXIT_USAGE)


def internal_error(exc: BaseException) -> NoReturn:
    """One line and exit 3; the traceback only with -v (it may quote our code, never a key)."""
    import logging

    from maniac_guard.findings import mask_keys_in_text

    if logging.getLogger("maniac_guard").isEnabledFor(logging.DEBUG):
        import traceback

        sys.stderr.write(mask_keys_in_text("".join(traceback.format_exception(exc))))
    reason = mask_keys_in_text(f"{type(exc).__name__}: {exc}".splitlines()[0])
    print(f"maniac-guard: internal error: {reason} (rerun with -v for the traceback)", file=sys.stderr, flush=True)
    sys.exit(EXIT_INTERNAL)


def _leave(message: str | None, code: int) -> NoReturn:
    if message:
        print(message, file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def exit_now(code: int) -> NoReturn:
    """Exit with `code` once the output is flushed, without Python's own
    teardown: freeing every module and object costs a hook ~5 ms (issue 26)
    and does nothing a finished run needs. A normal exit instead while
    another thread runs (a verification still under way is waited for, as
    before), or when flushing fails (the normal exit then reports it as before)."""
    threading = sys.modules.get("threading")
    if threading is None or threading.active_count() == 1:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            sys.exit(code)
        os._exit(code)
    sys.exit(code)


def guarded(call: Callable[[], T], passthrough: tuple[type[BaseException], ...] = ()) -> T:
    """Run `call`; every error ends here as its exit code (`passthrough`: click's own)."""
    from maniac_guard.interrupts import EXIT_TERMINATED, Terminated, raise_on_sigterm

    raise_on_sigterm()
    try:
        return call()
    except UsageError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        # click turns Ctrl-C into "Aborted!" and exit 1, which a CI gate
        # would read as "findings"; an interrupted scan found nothing for
        # certain. os._exit: a normal exit would first wait for
        # verification threads stuck in HTTP requests (up to the timeout).
        # Writes in progress have already cleaned up as the interrupt
        # passed through them.
        _leave("\nmaniac-guard: interrupted", EXIT_INTERRUPTED)
    except Terminated:
        _leave("maniac-guard: terminated", EXIT_TERMINATED)
    except BrokenPipeError:
        # The reader left (`maniac-guard rules | head`): nothing to say, and
        # nobody to say it to. 128 + SIGPIPE, as a shell reports it.
        os._exit(EXIT_BROKEN_PIPE)
    except passthrough:
        raise
    except Exception as exc:  # noqa: BLE001 - the boundary: a bug is exit 3, never 0 or 1
        internal_error(exc)
