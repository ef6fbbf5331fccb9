"""Runs many generated programs in one interpreter (standard library only;
started by tests.flowgen.execute, not imported by it).

argv: a JSON manifest [{"ident", "folder", "record", "env"}], a results
path, seconds per program. Each
program runs as `python main.py` would, in its own folder: that folder first
on sys.path, sys.argv = [main.py], its own record file for the stub SDK, and
afterwards the modules it imported and the environment it changed are put
back. An alarm ends a program that runs too long."""

import contextlib
import io
import json
import os
import runpy
import signal
import sys


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def run_one(entry, base_env, base_path, base_modules, seconds):
    folder = entry["folder"]
    os.environ.clear()
    os.environ.update(base_env)
    os.environ["STUB_SDK_RECORD"] = entry["record"]
    os.environ["MANIAC_API_KEY"] = entry["env"]
    sys.path[:] = [folder, *base_path]
    sys.argv[:] = [os.path.join(folder, "main.py")]
    os.chdir(folder)
    error = None
    signal.alarm(seconds)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            runpy.run_path(os.path.join(folder, "main.py"), run_name="__main__")
    except _Timeout:
        error = "timeout"
    except SystemExit as exit_:
        if exit_.code not in (None, 0):
            error = f"SystemExit({exit_.code!r})"
    except BaseException as exc:  # noqa: BLE001 - a generator bug: reported, never hidden
        error = f"{type(exc).__name__}: {exc}"
    finally:
        signal.alarm(0)
        # Forget the program's own modules (the next program may reuse a
        # name); the standard library stays loaded.
        for name in set(sys.modules) - base_modules:
            if (getattr(sys.modules[name], "__file__", None) or "").startswith(folder):
                del sys.modules[name]
    return error


def main():
    manifest_path, results_path, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(manifest_path) as handle:
        manifest = json.load(handle)
    import maniac  # noqa: F401 - the stub, loaded once and kept

    signal.signal(signal.SIGALRM, _alarm)
    base_env = dict(os.environ)
    base_path = list(sys.path[1:])
    base_modules = set(sys.modules)
    cwd = os.getcwd()
    results = {}
    for entry in manifest:
        results[entry["ident"]] = run_one(entry, base_env, base_path, base_modules, seconds)
    os.chdir(cwd)
    with open(results_path, "w") as handle:
        json.dump(results, handle)


if __name__ == "__main__":
    main()
