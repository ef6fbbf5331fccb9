#!/usr/bin/env python3
"""maniac-guard against ripgrep and detect-secrets, on the same files.

Builds a reproducible corpus (a copy of the running Python's standard library
and site-packages, or a size you choose) with keys planted in known places,
then times, in one run:

- the whole tree: `maniac-guard scan`, `rg` with the key regex, and
  `detect-secrets scan --all-files` (on a subset, scaled: it is ~1000x slower);
- the pre-commit case: 10 small staged files, whole process incl. start-up;
- the history case: a generated repository with a few thousand commits,
  `maniac-guard scan --history` against `git log -p --all > /dev/null`;
- peak memory of the whole-tree scan.

Prints a table and writes benchmarks/out/results.json. Keys are generated at
run time from a fixed seed; no output or result file holds a full key (only
masked forms and SHA-256 digests). Run it with the interpreter maniac-guard is
installed in: `.venv/bin/python benchmarks/run.py` (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import platform
import random
import re
import shlex
import shutil
import statistics
import string
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
SEED = 20240601
ALPHABET = string.ascii_letters + string.digits
# The regex people grep for (the DESIGN.md reference); rg does not decode base64.
RG_PATTERN = "mk-[A-Za-z0-9_-]{16,}"
KINDS = ("py-comment", "py-leak", "env", "yaml", "json", "md", "min-js", "k8s-secret")
CORPUS_STAMP = ".bench-corpus.json"


# --------------------------------------------------------------------------- keys


def _looks_real(key: str) -> bool:
    try:
        from maniac_guard.keyshape import looks_like_key
    except ImportError:  # benchmarking another install: trust the generator
        return True
    return looks_like_key(key)


def make_key(rng: random.Random) -> str:
    """A random key that maniac-guard's shape check accepts (a rare random
    draw looks like a placeholder; planting one would be measuring luck)."""
    while True:
        key = "mk" + "-" + "".join(rng.choice(ALPHABET) for _ in range(32))
        if _looks_real(key):
            return key


def mask(key: str) -> str:
    body = key[3:]
    return f"mk-{body[:4]}…{body[-2:]}"


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass
class Planted:
    kind: str
    path: str  # relative to the corpus, POSIX
    line: int
    key: str  # never written out: see public()
    commit_index: int | None = None  # history case

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("key")
        data["masked"] = mask(self.key)
        data["sha256"] = digest(self.key)
        return data


# --------------------------------------------------------------------------- corpus


def source_roots(which: str) -> list[Path]:
    """The running Python's stdlib and site-packages (a venv's when run in one)."""
    paths = sysconfig.get_paths()
    stdlib = Path(paths["stdlib"])
    if which == "system":
        base = Path(sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_prefix})["purelib"])
        site = [base]
    else:
        site = sorted({Path(paths["purelib"]), Path(paths["platlib"])})
    return [stdlib, *[s for s in site if s.is_dir()]]


def iter_source_files(roots: Sequence[Path]) -> Iterator[tuple[Path, str]]:
    """(absolute path, relative destination) of every regular file, sorted."""
    for index, root in enumerate(roots):
        label = "stdlib" if index == 0 else f"site-packages-{index}"
        for folder, dirs, files in os.walk(root):
            here = Path(folder)
            # The stdlib holds the system site-packages; copy it only when asked.
            dirs[:] = sorted(d for d in dirs if not (index == 0 and d in ("site-packages", "dist-packages")))
            for name in sorted(files):
                path = here / name
                if path.is_symlink() or not path.is_file():
                    continue
                yield path, f"{label}/{path.relative_to(root).as_posix()}"


def build_corpus(dest: Path, which: str, size_mb: float | None, keys: int, seed: int) -> dict[str, Any]:
    stamp = {"source": which, "size_mb": size_mb, "keys": keys, "seed": seed, "python": sys.version, "version": 3}
    stamp_path = dest / CORPUS_STAMP
    if stamp_path.exists():
        try:
            saved = json.loads(stamp_path.read_text())
        except ValueError:
            saved = {}
        if saved.get("stamp") == stamp:
            print(f"corpus: reusing {dest}", file=sys.stderr)
            return dict(saved)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    roots = source_roots(which)
    print(f"corpus: copying {', '.join(map(str, roots))} to {dest}", file=sys.stderr)
    files = list(iter_source_files(roots))
    limit = int(size_mb * 1048576) if size_mb else None
    copied = 0
    total = 0
    rounds = 0
    while True:
        for src, rel in files:
            if limit is not None and total >= limit:
                break
            target = dest / (f"copy{rounds}/" if rounds else "") / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copyfile(src, target)
            except OSError:
                continue
            copied += 1
            total += target.stat().st_size
        rounds += 1
        if limit is None or total >= limit or not files:
            break
    planted = plant_keys(dest, keys, random.Random(seed))
    info = {
        "stamp": stamp,
        "roots": [str(r) for r in roots],
        "files": copied + sum(1 for p in planted if p.kind != "py-comment"),
        "bytes": sum(f.stat().st_size for f in dest.rglob("*") if f.is_file() and f.name != CORPUS_STAMP),
        "planted": [p.public() for p in planted],
    }
    stamp_path.write_text(json.dumps(info, indent=1))
    return info


def _minified_js(rng: random.Random, key: str) -> str:
    parts = []
    for i in range(6000):
        name = "".join(rng.choice(string.ascii_lowercase) for _ in range(3))
        parts.append(f'function {name}{i}(a,b){{return a*{i}+b.length}}var {name}_{i}="{name * 4}"')
    parts.insert(len(parts) // 2, f'var cfg={{apiKey:"{key}",baseURL:"https://platform.maniac.ai"}}')
    return ";".join(parts) + "\n"


def _leaky_python(variant: int, key: str) -> tuple[str, int]:
    """(file text, line of the key)."""
    if variant % 4 == 0:
        return f'from maniac import Maniac\n\nclient = Maniac(api_key="{key}")\n', 3
    if variant % 4 == 1:
        return f'import os\n\nos.environ["MANIAC_API_KEY"] = "{key}"\n', 3
    if variant % 4 == 2:
        return f'from maniac import Maniac\n\nclient = Maniac({{"apiKey": "{key}"}})\n', 3
    return f'from maniac import AsyncManiac\n\nKEY = "{key}"\nclient = AsyncManiac(api_key=KEY)\n', 3


def plant_keys(dest: Path, count: int, rng: random.Random) -> list[Planted]:
    """`count` keys, cycling through KINDS, in new files or inside existing .py files."""
    folders = sorted({p.parent for p in dest.rglob("*.py")})
    py_files = sorted(p for p in dest.rglob("*.py") if p.stat().st_size > 200)
    planted: list[Planted] = []
    used: set[Path] = set()
    for index in range(count):
        kind = KINDS[index % len(KINDS)]
        key = make_key(rng)
        folder = rng.choice(folders)
        if kind == "py-comment":
            target = rng.choice([p for p in py_files if p not in used][:5000] or py_files)
            used.add(target)
            lines = target.read_bytes().split(b"\n")
            at = rng.randrange(0, len(lines))
            lines.insert(at, f"# deploy note: maniac key {key}".encode())
            target.write_bytes(b"\n".join(lines))
            planted.append(Planted(kind, target.relative_to(dest).as_posix(), at + 1, key))
            continue
        if kind == "py-leak":
            text, line = _leaky_python(index, key)
            target = folder / f"maniac_client_{index}.py"
        elif kind == "env":
            text, line = f"# local settings\nDEBUG=1\nMANIAC_API_KEY={key}\n", 3
            target = folder / ".env"
        elif kind == "yaml":
            text, line = f"service:\n  name: worker\nmaniac:\n  region: eu\n  api_key: {key}\n", 5
            target = folder / f"deploy-{index}.yaml"
        elif kind == "json":
            text = json.dumps({"name": "worker", "maniac": {"region": "eu", "apiKey": key}}, indent=2) + "\n"
            line = 5
            target = folder / f"settings-{index}.json"
        elif kind == "md":
            text, line = f"# Notes\n\nRun it with:\n\n```sh\nexport MANIAC_API_KEY={key}\n```\n", 6
            target = folder / f"NOTES-{index}.md"
        elif kind == "min-js":
            text, line = _minified_js(rng, key), 1
            target = folder / f"bundle-{index}.min.js"
        else:  # k8s-secret
            encoded = base64.b64encode(key.encode()).decode()
            text = (
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: maniac-credentials\ntype: Opaque\n"
                f"data:\n  MANIAC_API_KEY: {encoded}\n"
            )
            line = 7
            target = folder / f"secret-{index}.yaml"
        while target.exists():
            target = target.with_name("x" + target.name)
        target.write_text(text)
        planted.append(Planted(kind, target.relative_to(dest).as_posix(), line, key))
    return planted


# --------------------------------------------------------------------------- running and timing


def tool(name: str) -> str | None:
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)


def version_of(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except OSError:
        return "missing"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr).strip() else "?"


@dataclass
class Timing:
    times: list[float]
    returncode: int

    @property
    def min(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def public(self) -> dict[str, Any]:
        return {
            "runs": len(self.times),
            "min_s": round(self.min, 4),
            "median_s": round(self.median, 4),
            "times_s": [round(t, 4) for t in self.times],
            "exit_code": self.returncode,
        }


@dataclass
class Command:
    argv: Sequence[str]
    stdout: Path | None = None  # None: /dev/null
    env: dict[str, str] | None = None
    cold_cache: Path | None = None  # a new, empty maniac-guard cache folder every run
    cwd: Path | None = None  # run from here instead of the case's folder (a tree named from outside)

    def run(self, cwd: Path) -> tuple[float, int]:
        """Wall time of the whole process, and its exit code."""
        cwd = self.cwd or cwd
        full_env = {**os.environ, "NO_COLOR": "1", **(self.env or {})}
        if self.cold_cache is not None:
            shutil.rmtree(self.cold_cache, ignore_errors=True)
            full_env["MANIAC_GUARD_CACHE_DIR"] = str(self.cold_cache)
        with open(self.stdout or os.devnull, "wb") as out:
            started = time.perf_counter()
            proc = subprocess.run(list(self.argv), cwd=cwd, stdout=out, stderr=subprocess.DEVNULL, env=full_env)
            return time.perf_counter() - started, proc.returncode


def time_interleaved(commands: dict[str, Command], cwd: Path, repeat: int, warmup: int = 1) -> dict[str, Timing]:
    """Each command `repeat` times (after `warmup` untimed runs), taking turns,
    so a noisy neighbour on a shared machine slows every tool alike and the
    ratios stay fair."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    codes: dict[str, int] = {}
    for run in range(warmup + repeat):
        for name, command in commands.items():
            elapsed, codes[name] = command.run(cwd)
            if run >= warmup:
                times[name].append(elapsed)
    return {name: Timing(times[name], codes[name]) for name in commands}


def time_command(
    cmd: Sequence[str],
    cwd: Path,
    repeat: int,
    stdout: Path | None = None,
    warmup: int = 1,
    env: dict[str, str] | None = None,
    cold_cache: Path | None = None,
) -> Timing:
    """One command timed on its own (see `Command`)."""
    return time_interleaved({"only": Command(cmd, stdout, env, cold_cache)}, cwd, repeat, warmup)["only"]


def precompile_maniac_guard() -> None:
    """Byte-compile the installed package first: an editable install run with
    PYTHONDONTWRITEBYTECODE set would otherwise compile every module on every
    timed run (a regular install is compiled by pip)."""
    import importlib.util

    spec = importlib.util.find_spec("maniac_guard")
    if spec is not None and spec.origin:
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(Path(spec.origin).parent)],
            stdout=subprocess.DEVNULL,
            check=False,
        )


def _tree_rss_kb(pid: int) -> int:
    """Sum of VmRSS over a process and its descendants (fork shares pages, so
    this over-counts: an upper bound)."""
    total = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            match = re.search(r"VmRSS:\s+(\d+)", status)
            total += int(match.group(1)) if match else 0
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                stack.extend(int(c) for c in children)
        except (OSError, ValueError):
            continue
    return total


def measure_memory(cmd: Sequence[str], cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    """Peak RSS as /usr/bin/time -v reports it (the largest single process of
    the tree) and the peak of the sampled sum over all processes."""
    time_bin = "/usr/bin/time"
    full = [time_bin, "-v", *cmd] if os.path.exists(time_bin) else list(cmd)
    proc = subprocess.Popen(
        full, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "NO_COLOR": "1", **env}
    )
    peak_sum = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_sum
        while not done.is_set():
            peak_sum = max(peak_sum, _tree_rss_kb(proc.pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    done.set()
    sampler.join()
    match = re.search(rb"Maximum resident set size \(kbytes\): (\d+)", err)
    return {
        "max_rss_mb": round(int(match.group(1)) / 1024, 1) if match else None,
        "sampled_tree_sum_rss_mb": round(peak_sum / 1024, 1),
    }


# --------------------------------------------------------------------------- recall


def _recall(planted: Sequence[dict[str, Any]], hits: set[tuple[str, int]]) -> dict[str, Any]:
    found = [p for p in planted if (p["path"], p["line"]) in hits]
    missed = sorted({p["kind"] for p in planted if p not in found})
    return {
        "found": len(found),
        "planted": len(planted),
        "recall": round(len(found) / max(1, len(planted)), 3),
        "missed_kinds": missed,
    }


def maniac_guard_hits(report: Path, planted: Sequence[dict[str, Any]], prefix: str = "") -> tuple[dict[str, Any], int]:
    """Recall (a finding at the planted path and line with the planted key's
    masked form) and the number of findings elsewhere. `prefix`: how the
    paths begin when the tree was named from outside (`../corpus/`)."""
    try:
        findings = json.loads(report.read_text())["findings"]
    except (OSError, ValueError, KeyError):
        return {"found": 0, "planted": len(planted), "recall": 0.0, "missed_kinds": ["(no JSON report)"]}, 0
    for f in findings:
        f["path"] = f["path"].removeprefix(prefix)
    expected = {(p["path"], p["line"]): p["masked"] for p in planted}
    hits = {(f["path"], f["line"]) for f in findings if expected.get((f["path"], f["line"])) == f.get("masked_secret")}
    other = sum(1 for f in findings if (f["path"], f["line"]) not in expected)
    return _recall(planted, hits), other


def ripgrep_hits(output: Path, planted: Sequence[dict[str, Any]], prefix: str = "") -> tuple[dict[str, Any], int]:
    """`rg --null -o -n` lines: path NUL line:match."""
    by_place = {(p["path"], p["line"]): p["sha256"] for p in planted}
    hits: set[tuple[str, int]] = set()
    other = 0
    for raw in output.read_bytes().splitlines():
        path, _, rest = raw.partition(b"\0")
        line, _, match = rest.partition(b":")
        place = (path.decode(errors="replace").removeprefix("./").removeprefix(prefix), int(line or 0))
        want = by_place.get(place)
        if want is not None and digest(match.decode(errors="replace")) == want:
            hits.add(place)
        else:
            other += 1
    return _recall(planted, hits), other


def detect_secrets_hits(output: Path, planted: Sequence[dict[str, Any]]) -> tuple[dict[str, Any], int]:
    """detect-secrets stores only a hash of what it matched, and its matches
    often include quotes or a variable name, so a secret at the planted path
    and line counts as found."""
    try:
        results = json.loads(output.read_text())["results"]
    except (OSError, ValueError, KeyError):
        return {"found": 0, "planted": len(planted), "recall": 0.0, "missed_kinds": ["(no output)"]}, 0
    places = {(path.removeprefix("./"), item["line_number"]) for path, items in results.items() for item in items}
    expected = {(p["path"], p["line"]) for p in planted}
    return _recall(planted, places & expected), len(places - expected)


# --------------------------------------------------------------------------- cases


def bench_tree(corpus: Path, info: dict[str, Any], args: argparse.Namespace, work: Path) -> dict[str, Any]:
    planted = info["planted"]
    result: dict[str, Any] = {"corpus_files": info["files"], "corpus_mb": round(info["bytes"] / 1048576, 1)}
    mg = tool("maniac-guard")
    assert mg, "maniac-guard is not installed next to this interpreter or on PATH"
    report = work / "maniac-guard.json"
    report_outside = work / "maniac-guard-outside.json"
    cmd = [mg, "scan", ".", "--format", "json"]
    # From outside: the tree named by a relative path from a sibling folder
    # (display paths then start with ../corpus/).
    outside = work
    named = os.path.relpath(corpus, outside)
    prefix = named + "/"
    rg = shutil.which("rg")
    output, output_a, output_outside = work / "rg.txt", work / "rg-a.txt", work / "rg-outside.txt"
    rg_base = [rg or "rg", "--hidden", "--no-ignore", "--null", "-o", "-n", "--no-heading"]
    rg_cmd = [*rg_base, RG_PATTERN, "."]
    rg_a_cmd = [*rg_base, "-a", RG_PATTERN, "."]  # -a: binary files searched as text too
    rg_outside_cmd = [*rg_base, RG_PATTERN, named]
    # Cold (an empty cache folder each run: catalog parsed, hints compiled,
    # every Python file the screen lets through analyzed), from inside and
    # from outside the tree, taking turns with ripgrep with and without -a.
    commands = {
        "cold": Command(cmd, report, cold_cache=work / "cache-cold"),
        "cold-outside": Command(
            [mg, "scan", named, "--format", "json"], report_outside, cold_cache=work / "cache-cold-out", cwd=outside
        ),
    }
    if rg:
        commands["rg"] = Command(rg_cmd, output)
        commands["rg-a"] = Command(rg_a_cmd, output_a)
        commands["rg-outside"] = Command(rg_outside_cmd, output_outside, cwd=outside)
    timings = time_interleaved(commands, corpus, args.repeat)
    for name, out_report, key, where, pre in (
        ("cold", report, "maniac_guard_cold", "", ""),
        ("cold-outside", report_outside, "maniac_guard_cold_outside", f"  (from outside: {named})", prefix),
    ):
        timing = timings[name]
        recall, other = maniac_guard_hits(out_report, planted, pre)
        result[key] = {
            "command": " ".join(["maniac-guard", *commands[name].argv[1:]]) + "  (empty cache)" + where,
            **timing.public(),
            **recall,
            "other_findings": other,
        }
        print(
            f"  maniac-guard   {name} min {timing.min:.3f}s  recall {recall['found']}/{recall['planted']}",
            file=sys.stderr,
        )
    if rg:
        for name, out, argv, key, pre in (
            ("rg", output, rg_cmd, "ripgrep", ""),
            ("rg-a", output_a, rg_a_cmd, "ripgrep_a", ""),
            ("rg-outside", output_outside, rg_outside_cmd, "ripgrep_outside", prefix),
        ):
            timing = timings[name]
            recall, other = ripgrep_hits(out, planted, pre)
            result[key] = {"command": " ".join(["rg", *argv[1:]]), **timing.public(), **recall, "other_matches": other}
            print(f"  {name:<14} min {timing.min:.3f}s  recall {recall['found']}/{recall['planted']}", file=sys.stderr)
    else:
        result["ripgrep"] = {"skipped": "rg not found (apt-get install ripgrep)"}
    # Warm (the cache the run before left), and ripgrep, taking turns.
    warm_env = {"MANIAC_GUARD_CACHE_DIR": str(work / "cache-warm")}
    commands = {"maniac-guard": Command(cmd, report, warm_env)}
    # The same without the Python value-flow rules (MG2xx): what the rest of
    # the scan costs, when one file's analysis dominates the run.
    no_flow_report = work / "maniac-guard-no-mg2.json"
    commands["no-mg2"] = Command(
        [*cmd, "--ignore", "MG2"], no_flow_report, {"MANIAC_GUARD_CACHE_DIR": str(work / "cache-warm-no-mg2")}
    )
    if rg:
        commands["rg"] = Command(rg_cmd, output)
    if args.jobs_sweep:
        commands.update({f"jobs-{jobs}": Command([*cmd, "--jobs", str(jobs)], env=warm_env) for jobs in (1, 2)})
    timings = time_interleaved(commands, corpus, args.repeat)
    timing = timings["maniac-guard"]
    recall, other = maniac_guard_hits(report, planted)
    result["maniac_guard"] = {
        "command": " ".join(["maniac-guard", *cmd[1:]]) + "  (warm cache)",
        **timing.public(),
        **recall,
        "other_findings": other,
    }
    print(f"  maniac-guard   warm min {timing.min:.3f}s  recall {recall['found']}/{recall['planted']}", file=sys.stderr)
    timing = timings["no-mg2"]
    recall, other = maniac_guard_hits(no_flow_report, planted)
    result["maniac_guard_warm_no_mg2"] = {
        "command": " ".join(["maniac-guard", *cmd[1:]]) + " --ignore MG2  (warm cache)",
        **timing.public(),
        **recall,
        "other_findings": other,
    }
    if args.jobs_sweep:
        result["maniac_guard_jobs"] = {str(jobs): timings[f"jobs-{jobs}"].public() for jobs in (1, 2)}
    if rg:
        result["ripgrep_warm_turns"] = timings["rg"].public()

    shutil.rmtree(work / "cache-memory", ignore_errors=True)  # cold: the most work
    result["memory"] = measure_memory(cmd, corpus, {"MANIAC_GUARD_CACHE_DIR": str(work / "cache-memory")})
    print(f"  memory         {result['memory']}", file=sys.stderr)

    ds = tool("detect-secrets")
    if ds and not args.skip_detect_secrets:
        subset, subset_bytes, subset_files = build_subset(corpus, info, work, args.ds_mb)
        output = work / "detect-secrets.json"
        ds_cmd = [ds, "scan", "--all-files", "."]
        timing = time_command(ds_cmd, subset, args.ds_repeat, stdout=output, warmup=0)
        recall, other = detect_secrets_hits(output, planted)
        scale = info["bytes"] / subset_bytes
        result["detect_secrets"] = {
            "command": "detect-secrets scan --all-files .",
            "subset_files": subset_files,
            "subset_mb": round(subset_bytes / 1048576, 2),
            "scale": round(scale, 1),
            "note": "run on a subset (every planted file plus a seeded sample of the rest) and scaled by bytes",
            **timing.public(),
            "scaled_min_s": round(timing.min * scale, 1),
            "scaled_median_s": round(timing.median * scale, 1),
            **recall,
            "other_secrets": other,
        }
        print(
            f"  detect-secrets min {timing.min:.3f}s on {subset_bytes / 1048576:.1f} MB (x{scale:.0f} scaled)"
            f"  recall {recall['found']}/{recall['planted']}",
            file=sys.stderr,
        )
    else:
        result["detect_secrets"] = {
            "skipped": "not installed (pip install 'maniac-guard[bench]')" if not ds else "--skip-detect-secrets"
        }

    mgt = result["maniac_guard"]
    cold = result["maniac_guard_cold"]
    if "min_s" in result.get("ripgrep", {}):
        # Each ratio from runs that took turns (time_interleaved), medians over medians.
        rgw = result["ripgrep_warm_turns"]
        result["ratio_maniac_guard_over_ripgrep"] = round(mgt["min_s"] / rgw["min_s"], 2)
        result["ratio_maniac_guard_over_ripgrep_median"] = round(mgt["median_s"] / rgw["median_s"], 2)
        no_flow = result["maniac_guard_warm_no_mg2"]
        result["ratio_warm_no_mg2_over_ripgrep_median"] = round(no_flow["median_s"] / rgw["median_s"], 2)
        result["ratio_maniac_guard_cold_over_ripgrep"] = round(cold["min_s"] / result["ripgrep"]["min_s"], 2)
        result["ratio_cold_over_ripgrep_median"] = round(cold["median_s"] / result["ripgrep"]["median_s"], 2)
        result["ratio_cold_over_ripgrep_a_median"] = round(cold["median_s"] / result["ripgrep_a"]["median_s"], 2)
        outside = result["maniac_guard_cold_outside"]
        result["ratio_cold_outside_over_ripgrep_outside_median"] = round(
            outside["median_s"] / result["ripgrep_outside"]["median_s"], 2
        )
        result["ratio_cold_outside_over_ripgrep_median"] = round(outside["median_s"] / result["ripgrep"]["median_s"], 2)
    if "scaled_min_s" in result.get("detect_secrets", {}):
        result["ratio_detect_secrets_over_maniac_guard"] = round(
            result["detect_secrets"]["scaled_min_s"] / mgt["min_s"], 1
        )
        result["ratio_detect_secrets_over_maniac_guard_cold"] = round(
            result["detect_secrets"]["scaled_min_s"] / cold["min_s"], 1
        )
    return result


def build_subset(corpus: Path, info: dict[str, Any], work: Path, size_mb: float) -> tuple[Path, int, int]:
    """Every planted file plus a seeded sample of the other files, up to size_mb."""
    subset = work / "detect-secrets-subset"
    if subset.exists():
        shutil.rmtree(subset)
    planted_paths = {p["path"] for p in info["planted"]}
    all_files = sorted(
        p.relative_to(corpus).as_posix() for p in corpus.rglob("*") if p.is_file() and p.name != CORPUS_STAMP
    )
    rng = random.Random(SEED)
    rng.shuffle(all_files)
    chosen = list(planted_paths)
    total = sum((corpus / p).stat().st_size for p in chosen)
    for rel in all_files:
        if total >= size_mb * 1048576:
            break
        if rel in planted_paths:
            continue
        chosen.append(rel)
        total += (corpus / rel).stat().st_size
    for rel in chosen:
        target = subset / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(corpus / rel, target)
    return subset, total, len(chosen)


def bench_precommit(corpus: Path, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """10 small staged files (one leaks), scanned as the hook runs: file names
    on the command line, a fresh interpreter each time."""
    repo = work / "precommit-repo"
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    rng = random.Random(SEED + 1)
    sources = sorted(p for p in corpus.glob("stdlib/*.py") if 500 < p.stat().st_size < 4000)
    names = []
    for i, src in enumerate(rng.sample(sources, 8)):
        name = f"src/module_{i}.py"
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, repo / name)
        names.append(name)
    (repo / "README.md").write_text("# project\n\nSet MANIAC_API_KEY in your environment.\n")
    (repo / "deploy.env").write_text(f"MANIAC_API_KEY={make_key(rng)}\n")
    names += ["README.md", "deploy.env"]
    # The same commit, but one Python file calls the Maniac SDK: the Python
    # rules analyze that file (on the standard library's ast).
    (repo / "sdk.py").write_text(_leaky_python(0, make_key(rng))[0])
    sdk_names = [*names[:-1], "sdk.py"]
    subprocess.run(["git", "add", *names], cwd=repo, check=True)
    mg = tool("maniac-guard")
    assert mg
    result: dict[str, Any] = {"files": len(names), "bytes": sum((repo / n).stat().st_size for n in names)}
    # A cache folder of the benchmark's own, never the user's.
    env = {"MANIAC_GUARD_CACHE_DIR": str(work / "cache-precommit")}
    timing = time_command([mg, "scan", *names], repo, args.precommit_repeat, warmup=2, env=env)
    result["maniac_guard_files"] = {"command": "maniac-guard scan <10 files>", **timing.public()}
    # The SDK file first with an empty cache (a new commit), then unchanged
    # since the last run (a commit retried after another hook failed).
    timing = time_command(
        [mg, "scan", *sdk_names],
        repo,
        max(3, args.precommit_repeat // 4),
        warmup=1,
        cold_cache=work / "cache-precommit-cold",
    )
    result["maniac_guard_sdk_file"] = {
        "command": "maniac-guard scan <10 files, one calls the SDK>  (empty cache)",
        **timing.public(),
    }
    timing = time_command([mg, "scan", *sdk_names], repo, args.precommit_repeat, warmup=1, env=env)
    result["maniac_guard_sdk_file_warm"] = {
        "command": "maniac-guard scan <10 files, one calls the SDK>  (warm cache)",
        **timing.public(),
    }
    # Issue 16's case: 10 small Python files that read the key from the
    # environment, cold cache (a CI runner or a fresh clone): the screen
    # proves no Python rule can fire, so the analyzer does not run. Then the
    # same with one file handing a literal to Maniac() (it runs on that one).
    env_names = []
    for i in range(10):
        name = f"jobs/job_{i}.py"
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(
            f'"""Job {i}."""\nimport os\n\nKEY = os.getenv("MANIAC_API_KEY")\n\n\ndef run():\n    return {i}, bool(KEY)\n'
        )
        env_names.append(name)
    timing = time_command(
        [mg, "scan", *env_names], repo, args.precommit_repeat, warmup=1, cold_cache=work / "cache-precommit-env-cold"
    )
    result["maniac_guard_env_files_cold"] = {
        "command": "maniac-guard scan <10 .py files reading MANIAC_API_KEY>  (empty cache)",
        **timing.public(),
    }
    (repo / "jobs/job_9.py").write_text(
        'import os\nfrom maniac import Maniac\n\nclient = Maniac(api_key="Zx81kQ2mP0aLw7Rt")\n'
    )
    timing = time_command(
        [mg, "scan", *env_names],
        repo,
        max(3, args.precommit_repeat // 4),
        warmup=1,
        cold_cache=work / "cache-precommit-env-cold",
    )
    result["maniac_guard_env_files_literal_cold"] = {
        "command": "maniac-guard scan <the same, one hands a literal to Maniac()>  (empty cache)",
        **timing.public(),
    }
    timing = time_command([mg, "scan", "--staged"], repo, args.precommit_repeat, warmup=2, env=env)
    result["maniac_guard_staged"] = {"command": "maniac-guard scan --staged", **timing.public()}
    # The hook as pre-commit runs it (entry + args + file names), empty cache,
    # taking turns with the start-up floor: `python -c pass`.
    timings = time_interleaved(
        {
            "hook": Command([mg, "scan", "--pre-commit", "--", *names], cold_cache=work / "cache-precommit-hook"),
            "python": Command([sys.executable, "-c", "pass"]),
        },
        repo,
        args.precommit_repeat,
        warmup=2,
    )
    result["maniac_guard_hook_cold"] = {
        "command": "maniac-guard scan --pre-commit -- <10 files>  (empty cache)",
        **timings["hook"].public(),
    }
    result["python_startup"] = {"command": "python -c pass", **timings["python"].public()}
    result["ratio_hook_cold_over_python_median"] = round(timings["hook"].median / timings["python"].median, 2)
    result["ratio_hook_cold_over_python_min"] = round(timings["hook"].min / timings["python"].min, 2)
    result["imports"] = import_profile(mg, names, repo)
    print(
        f"  pre-commit     min {result['maniac_guard_files']['min_s'] * 1000:.0f} ms"
        f" (python -c pass {result['python_startup']['min_s'] * 1000:.0f} ms)",
        file=sys.stderr,
    )
    return result


HEAVY_MODULES = ("click", "libcst", "httpx", "rich", "yaml", "pathspec", "multiprocessing", "concurrent", "logging")


def import_profile(mg: str, names: Sequence[str], repo: Path) -> dict[str, Any]:
    """`python -X importtime` on the pre-commit scan: the slowest top-level
    imports and which heavy modules were imported at all."""
    code = "import sys; from maniac_guard.entry import main; sys.argv[0] = 'maniac-guard'; main()"
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, "scan", "--pre-commit", "--", *names],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    rows = []
    for line in proc.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            rows.append((int(match.group(2)), len(match.group(3)), match.group(4)))
    top = sorted((r for r in rows if r[1] <= 1), reverse=True)[:10]
    seen = {name for _, _, name in rows}
    return {
        "total_import_ms": round(sum(r[0] for r in rows if r[1] <= 1) / 1000, 1),
        "slowest_top_level_ms": {name: round(us / 1000, 1) for us, _, name in top},
        "heavy_modules_imported": sorted(
            {m for m in HEAVY_MODULES if m in seen or any(s.startswith(m + ".") for s in seen)}
        ),
    }


def build_history_repo(corpus: Path, repo: Path, commits: int, keys: int) -> list[Planted]:
    """A repository of `commits` commits built with git fast-import: each
    commit rewrites one or two of 300 files with text from the corpus; some
    commits add a key that a later commit removes again."""
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    rng = random.Random(SEED + 2)
    pool = [p.read_bytes() for p in sorted(corpus.glob("stdlib/**/*.py"))[:3000] if p.stat().st_size > 2000]
    pool = [t for t in pool if b"\0" not in t]

    def chunk() -> bytes:
        text = rng.choice(pool)
        start = rng.randrange(0, max(1, len(text) - 6000))
        part = text[start : start + rng.randrange(3000, 7000)]
        return part[part.find(b"\n") + 1 :]

    paths = [f"pkg{i % 12}/mod_{i}.py" for i in range(300)]
    key_commits = set(rng.sample(range(1, commits), keys))
    planted: list[Planted] = []
    stream: list[bytes] = []

    def blob(path: str, data: bytes) -> None:
        stream.append(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")

    for index in range(commits):
        message = f"change {index}\n".encode()
        stamp = 1_700_000_000 + index * 600
        stream.append(
            f"commit refs/heads/main\nmark :{index + 1}\ncommitter Bench <bench@example.invalid> {stamp} +0000\n".encode()
        )
        stream.append(f"data {len(message)}\n".encode() + message)
        if index:
            stream.append(f"from :{index}\n".encode())
        if index == 0:
            for path in paths:
                blob(path, chunk())
            continue
        for n, path in enumerate(rng.sample(paths, rng.choice((1, 2)))):
            data = chunk()
            if index in key_commits and n == 0:
                key = make_key(rng)
                lines = data.split(b"\n")
                at = rng.randrange(0, len(lines))
                lines.insert(at, f'MANIAC_API_KEY = "{key}"'.encode())
                data = b"\n".join(lines)
                planted.append(Planted("history", path, at + 1, key, commit_index=index))
            blob(path, data)
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=b"".join(stream), check=True)
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=repo, check=True)
    return planted


def bench_history(corpus: Path, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    repo = work / "history-repo"
    planted = build_history_repo(corpus, repo, args.commits, args.history_keys)
    patch_bytes = 0
    with subprocess.Popen(["git", "log", "-p", "--all"], cwd=repo, stdout=subprocess.PIPE) as proc:
        assert proc.stdout
        for block in iter(lambda: proc.stdout.read(1 << 20), b""):  # type: ignore[union-attr]
            patch_bytes += len(block)
    result: dict[str, Any] = {
        "commits": args.commits,
        "patch_mb": round(patch_bytes / 1048576, 1),
        "planted": len(planted),
    }
    mg = tool("maniac-guard")
    assert mg
    report = work / "history.json"
    rg = shutil.which("rg") or "rg"
    piped = f"git log -p --all | {shlex.quote(rg)} --no-heading -o -n {shlex.quote(RG_PATTERN)}"
    timings = time_interleaved(
        {
            "git": Command(["git", "log", "-p", "--all"]),
            "git-rg": Command(["sh", "-c", piped]),
            "mg": Command(
                [mg, "scan", "--history", "--format", "json", "."], report, cold_cache=work / "cache-history"
            ),
        },
        repo,
        args.repeat,
    )
    git, timing = timings["git"], timings["mg"]
    result["git_log"] = {"command": "git log -p --all > /dev/null", **git.public()}
    result["git_log_rg"] = {"command": "git log -p --all | rg <key regex>", **timings["git-rg"].public()}
    result["ratio_maniac_guard_over_git_log_rg_median"] = round(timing.median / timings["git-rg"].median, 2)
    result["ratio_maniac_guard_over_git_log_rg"] = round(timing.min / timings["git-rg"].min, 2)
    try:
        findings = json.loads(report.read_text())["findings"]
    except (OSError, ValueError, KeyError):
        findings = []
    seen = {(f["path"], f.get("masked_secret")) for f in findings}
    found = sum(1 for p in planted if (p.path, mask(p.key)) in seen)
    result["maniac_guard"] = {
        "command": "maniac-guard scan --history --format json .",
        **timing.public(),
        "found": found,
        "recall": round(found / max(1, len(planted)), 3),
    }
    result["ratio_maniac_guard_over_git_log"] = round(timing.min / git.min, 2)
    print(
        f"  history        min {timing.min:.3f}s vs git log {git.min:.3f}s, recall {found}/{len(planted)}",
        file=sys.stderr,
    )
    return result


def bench_real_history(repo: Path, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """A real repository's whole history (a clone the user names): maniac-guard
    cold and warm against `git log -p --all | rg`, taking turns. Nothing is
    planted: the findings are counted, not scored."""
    mg = tool("maniac-guard")
    assert mg
    rg = shutil.which("rg") or "rg"
    piped = f"git log -p --all | {shlex.quote(rg)} --no-heading -o -n {shlex.quote(RG_PATTERN)}"
    report = work / f"real-{repo.name}.json"
    scan = [mg, "scan", "--history", "--format", "json", "."]
    warm_cache = work / f"cache-real-{repo.name}"
    shutil.rmtree(warm_cache, ignore_errors=True)
    timings = time_interleaved(
        {
            "git": Command(["git", "log", "-p", "--all"]),
            "git-rg": Command(["sh", "-c", piped]),
            "mg": Command(scan, report, cold_cache=work / f"cache-cold-{repo.name}"),
            "mg-warm": Command(scan, env={"MANIAC_GUARD_CACHE_DIR": str(warm_cache)}),
        },
        repo,
        args.repeat,
    )
    commits = subprocess.run(["git", "rev-list", "--all", "--count"], cwd=repo, capture_output=True, text=True)
    try:
        findings = len(json.loads(report.read_text())["findings"])
    except (OSError, ValueError, KeyError):
        findings = -1
    cold, warm, piped_rg = timings["mg"], timings["mg-warm"], timings["git-rg"]
    print(
        f"  real history   {repo.name}: median {cold.median:.3f}s vs git log | rg {piped_rg.median:.3f}s",
        file=sys.stderr,
    )
    return {
        "name": repo.name,
        "commits": int(commits.stdout.strip() or 0),
        "findings": findings,
        "maniac_guard": {"command": " ".join(scan[1:]) + " (cold cache)", **cold.public()},
        "maniac_guard_warm": warm.public(),
        "git_log": timings["git"].public(),
        "git_log_rg": piped_rg.public(),
        "ratio_cold_over_git_log_rg_median": round(cold.median / piped_rg.median, 2),
        "ratio_cold_over_git_log_median": round(cold.median / timings["git"].median, 2),
    }


# --------------------------------------------------------------------------- report


def machine() -> dict[str, Any]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))  # type: ignore[union-attr]
        mem = f"{kb / 1048576:.0f} GiB"
    except (OSError, AttributeError):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mg = tool("maniac-guard")
    return {
        "cpu": cpu,
        "cores": cores,
        "memory": mem,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "maniac_guard": version_of([mg, "--version"]) if mg else "missing",
        "ripgrep": version_of(["rg", "--version"]),
        "detect_secrets": version_of([tool("detect-secrets") or "detect-secrets", "--version"]),
        "git": version_of(["git", "--version"]),
        "date": time.strftime("%Y-%m-%d"),
    }


def table(results: dict[str, Any]) -> str:
    rows = [("case", "tool", "min", "median", "ratio", "recall")]
    tree = results.get("tree")

    def secs(v: float) -> str:
        return f"{v * 1000:.0f} ms" if v < 1 else f"{v:.2f} s"

    if tree:
        case = f"tree {tree['corpus_mb']} MB / {tree['corpus_files']:,} files"
        rg = tree.get("ripgrep", {})
        for key, label, ratio in (
            ("maniac_guard_cold", "maniac-guard scan . (cold cache)", "ratio_cold_over_ripgrep_median"),
            (
                "maniac_guard_cold_outside",
                "maniac-guard scan ../corpus from outside (cold)",
                "ratio_cold_outside_over_ripgrep_outside_median",
            ),
        ):
            mg = tree[key]
            rows.append(
                (
                    case,
                    label,
                    secs(mg["min_s"]),
                    secs(mg["median_s"]),
                    f"{tree.get(ratio, '-')}x rg" + (" (from outside too)" if "outside" in key else ""),
                    f"{mg['found']}/{mg['planted']}",
                )
            )
            case = ""
        if "ratio_cold_over_ripgrep_a_median" in tree:
            rows.append(
                ("", "(cold, inside) against rg -a", "", "", f"{tree['ratio_cold_over_ripgrep_a_median']}x rg -a", "")
            )
        mg = tree["maniac_guard"]
        rows.append(
            (
                case,
                "maniac-guard scan . (warm cache)",
                secs(mg["min_s"]),
                secs(mg["median_s"]),
                f"{tree.get('ratio_maniac_guard_over_ripgrep_median', '-')}x rg",
                f"{mg['found']}/{mg['planted']}",
            )
        )
        mg = tree.get("maniac_guard_warm_no_mg2")
        if mg:
            rows.append(
                (
                    "",
                    "... warm, --ignore MG2 (no value-flow rules)",
                    secs(mg["min_s"]),
                    secs(mg["median_s"]),
                    f"{tree.get('ratio_warm_no_mg2_over_ripgrep_median', '-')}x rg",
                    f"{mg['found']}/{mg['planted']}",
                )
            )
        for key, label in (
            ("ripgrep", "rg (key regex; skips binary files)"),
            ("ripgrep_a", "rg -a (binary files as text)"),
            ("ripgrep_outside", "rg ../corpus from outside"),
        ):
            r = tree.get(key, {})
            if "min_s" in r:
                rows.append(
                    (
                        "",
                        label,
                        secs(r["min_s"]),
                        secs(r["median_s"]),
                        "1x" if key != "ripgrep_a" else f"{r['median_s'] / rg['median_s']:.2f}x rg",
                        f"{r['found']}/{r['planted']}",
                    )
                )
        ds = tree.get("detect_secrets", {})
        if "min_s" in ds:
            rows.append(
                (
                    "",
                    f"detect-secrets (scaled x{ds['scale']:.0f})",
                    secs(ds["scaled_min_s"]),
                    secs(ds["scaled_median_s"]),
                    f"{tree.get('ratio_detect_secrets_over_maniac_guard', '-')}x mg",
                    f"{ds['found']}/{ds['planted']}",
                )
            )
        mem = tree.get("memory", {})
        rows.append(
            (
                "",
                "maniac-guard peak RSS",
                f"{mem.get('max_rss_mb')} MB",
                f"sum {mem.get('sampled_tree_sum_rss_mb')} MB",
                "",
                "",
            )
        )
    pre = results.get("precommit")
    if pre:
        m = pre["maniac_guard_hook_cold"]
        rows.append(
            (
                f"pre-commit {pre['files']} files",
                "hook: scan --pre-commit -- FILES (empty cache)",
                secs(m["min_s"]),
                secs(m["median_s"]),
                f"{pre['ratio_hook_cold_over_python_median']}x python -c pass",
                "",
            )
        )
        p = pre["python_startup"]
        rows.append(("", "python -c pass (start-up floor)", secs(p["min_s"]), secs(p["median_s"]), "1x", ""))
        m = pre["maniac_guard_files"]
        rows.append(("", "maniac-guard scan FILES (warm cache)", secs(m["min_s"]), secs(m["median_s"]), "", ""))
        s = pre["maniac_guard_staged"]
        rows.append(("", "maniac-guard scan --staged", secs(s["min_s"]), secs(s["median_s"]), "", ""))
        s = pre["maniac_guard_sdk_file"]
        rows.append(("", "... one file calls the SDK (empty cache)", secs(s["min_s"]), secs(s["median_s"]), "", ""))
        s = pre["maniac_guard_sdk_file_warm"]
        rows.append(("", "... the same, file unchanged since last run", secs(s["min_s"]), secs(s["median_s"]), "", ""))
        if "maniac_guard_env_files_cold" in pre:
            s = pre["maniac_guard_env_files_cold"]
            rows.append(
                ("", "10 .py files reading MANIAC_API_KEY (empty cache)", secs(s["min_s"]), secs(s["median_s"]), "", "")
            )
            s = pre["maniac_guard_env_files_literal_cold"]
            rows.append(
                ("", "... one hands a literal to Maniac() (empty cache)", secs(s["min_s"]), secs(s["median_s"]), "", "")
            )
    hist = results.get("history")
    if hist:
        case = f"history {hist['commits']} commits / {hist['patch_mb']} MB"
        g = hist["git_log"]
        mg = hist.get("maniac_guard", {})
        if "min_s" in mg:
            rows.append(
                (
                    case,
                    "maniac-guard scan --history",
                    secs(mg["min_s"]),
                    secs(mg["median_s"]),
                    f"{hist['ratio_maniac_guard_over_git_log_rg_median']}x git log + rg",
                    f"{mg['found']}/{hist['planted']}",
                )
            )
            case = ""
        else:
            rows.append((case, "maniac-guard scan --history", "n/a", "", "", mg.get("skipped", "")))
            case = ""
        gr = hist["git_log_rg"]
        rows.append((case, "git log -p --all, piped to rg", secs(gr["min_s"]), secs(gr["median_s"]), "1x", ""))
        rows.append(("", "git log -p --all > /dev/null", secs(g["min_s"]), secs(g["median_s"]), "", ""))
    for real in results.get("real_history", []):
        mg, warm, gr, g = real["maniac_guard"], real["maniac_guard_warm"], real["git_log_rg"], real["git_log"]
        case = f"history of {real['name']} ({real['commits']:,} commits)"
        ratio = f"{real['ratio_cold_over_git_log_rg_median']}x git log + rg"
        rows.append(
            (case, "maniac-guard scan --history (cold cache)", secs(mg["min_s"]), secs(mg["median_s"]), ratio, "")
        )
        rows.append(("", "... warm cache", secs(warm["min_s"]), secs(warm["median_s"]), "", ""))
        rows.append(("", "git log -p --all, piped to rg", secs(gr["min_s"]), secs(gr["median_s"]), "1x", ""))
        rows.append(("", "git log -p --all > /dev/null", secs(g["min_s"]), secs(g["median_s"]), "", ""))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--corpus",
        type=Path,
        default=Path(tempfile.gettempdir()) / "maniac-guard-bench" / "corpus",
        help="where to build the corpus (outside any git repo with a maniac-guard config) [default: %(default)s]",
    )
    parser.add_argument(
        "--source",
        choices=("running", "system"),
        default="running",
        help="site-packages of the running interpreter (a venv's) or of the base Python",
    )
    parser.add_argument(
        "--size-mb", type=float, help="copy files until the corpus has this many MB (repeats the tree if needed)"
    )
    parser.add_argument("--keys", type=int, default=40, help="keys to plant [default: %(default)s]")
    parser.add_argument("--repeat", type=int, default=10, help="timed runs per tool [default: %(default)s]")
    parser.add_argument("--precommit-repeat", type=int, default=20)
    parser.add_argument("--ds-mb", type=float, default=4.0, help="detect-secrets subset size [default: %(default)s]")
    parser.add_argument("--ds-repeat", type=int, default=2)
    parser.add_argument("--skip-detect-secrets", action="store_true")
    parser.add_argument("--jobs-sweep", action="store_true", help="also time --jobs 1 and --jobs 2")
    parser.add_argument("--commits", type=int, default=2000, help="commits in the history repository")
    parser.add_argument("--history-keys", type=int, default=10)
    parser.add_argument(
        "--cases", default="tree,precommit,history", help="comma-separated subset of tree,precommit,history"
    )
    parser.add_argument(
        "--real-repo",
        type=Path,
        action="append",
        default=[],
        help="also time the whole history of this clone (repeatable; e.g. a clone of pallets/click)",
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild the corpus even if it is up to date")
    parser.add_argument("--output", type=Path, default=OUT / "results.json")
    parser.add_argument(
        "--work",
        type=Path,
        help="folder for caches, reports and the history repository (two runs at once on one corpus each need "
        "their own) [default: beside the corpus]",
    )
    args = parser.parse_args(argv)

    precompile_maniac_guard()
    corpus = args.corpus.resolve()
    if args.rebuild and corpus.exists():
        shutil.rmtree(corpus)
    work = args.work.resolve() if args.work else corpus.parent / "work"
    work.mkdir(parents=True, exist_ok=True)
    info = build_corpus(corpus, args.source, args.size_mb, args.keys, SEED)
    cases = {c.strip() for c in args.cases.split(",")}
    results: dict[str, Any] = {
        "machine": machine(),
        "corpus": {k: v for k, v in info.items() if k != "stamp"} | {"path": str(corpus)},
    }
    print(
        f"corpus: {info['files']:,} files, {info['bytes'] / 1048576:.0f} MB, {len(info['planted'])} planted keys",
        file=sys.stderr,
    )
    if "tree" in cases:
        results["tree"] = bench_tree(corpus, info, args, work)
    if "precommit" in cases:
        results["precommit"] = bench_precommit(corpus, args, work)
    if "history" in cases:
        results["history"] = bench_history(corpus, args, work)
    if args.real_repo:
        results["real_history"] = [bench_real_history(repo.resolve(), args, work) for repo in args.real_repo]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    m = results["machine"]
    print(f"\n{m['cpu']}, {m['cores']} cores, {m['memory']}, {m['os']}, Python {m['python']}, {m['date']}")
    print(table(results))
    print(f"\nresults: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
