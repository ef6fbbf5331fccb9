"""The verification step of a scan: distinct keys → verdicts → findings.

Only strings that pass the key detector's shape check (`mk-` + a random
body) are sent, each once per run, at most CONCURRENCY at a time, within
a total time budget.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from maniac_guard.config import ConfigError
from maniac_guard.findings import Finding, Severity
from maniac_guard.keyshape import looks_like_key
from maniac_guard.records import dataclass, field
from maniac_guard.verification import Verification
from maniac_guard.verify.classify import LIVE, NOT_LIVE_AT_MANIAC, REVOKED, UNKNOWN, kept_by_only_live
from maniac_guard.verify.options import VerifyOptions

HANDFUL = 5  # more keys than this get a progress bar on a terminal
LIVE_REMEDIATION = (
    "This key still works. Revoke it in the Maniac dashboard now. Then rotate: create a new key, "
    "update the environment (MANIAC_API_KEY) everywhere it is used, test, and delete the old key. "
    "Finally purge it from git history (git filter-repo or BFG) and from any copies."
)
REVOKED_REMEDIATION = (
    "The Maniac API rejects this key: it was revoked, or it is not a Maniac key (another vendor's "
    "keys share the mk- prefix; if so, rotate it there). Still remove it from the code "
    "and load keys from the environment (MANIAC_API_KEY)."
)


@dataclass
class VerifyReport:
    verdicts: dict[str, Verification] = field(default_factory=dict)  # key → verdict (never reported)
    requests: int = 0
    cached: int = 0
    withheld: int = 0  # keys of other vendors, never sent
    elapsed: float = 0.0

    def summary(self, base_url: str) -> dict[str, object]:
        counts = Counter(v.state for v in self.verdicts.values())
        return {
            "api": base_url,
            "keys": len(self.verdicts),
            **{state: counts[state] for state in (LIVE, REVOKED, UNKNOWN)},
            "requests": self.requests,
            "cached": self.cached,
            "not_sent": self.withheld,
            "elapsed_seconds": round(self.elapsed, 3),
        }


def key_of(finding: Finding) -> str | None:
    """The key to verify, if this finding holds one the key detector accepts."""
    if finding.secret is None:
        return None
    value = finding.secret.reveal()
    return value if looks_like_key(value) else None


def vendor_of(finding: Finding) -> str | None:
    """The other vendor whose key this probably is (the key detector read its
    name on the key's line), if any."""
    vendor = finding.extra.get("vendor")
    return str(vendor) if vendor else None


def other_vendors_keys(findings: Iterable[Finding]) -> dict[str, str]:
    """key -> vendor, for keys that any finding attributes to another vendor:
    sending a third party's key to Maniac would itself leak it."""
    out: dict[str, str] = {}
    for finding in findings:
        vendor = vendor_of(finding)
        key = key_of(finding)
        if vendor is not None and key is not None:
            out.setdefault(key, vendor)
    return out


def distinct_keys(findings: Iterable[Finding], withheld: Collection[str] = ()) -> list[str]:
    seen: dict[str, None] = {}
    for finding in findings:
        key = key_of(finding)
        if key is not None and key not in withheld:
            seen.setdefault(key, None)
    return list(seen)


def _progress_wanted(options: VerifyOptions, count: int) -> bool:
    from maniac_guard.progress import progress_setting, progress_wanted

    if progress_setting():  # asked for (MANIAC_GUARD_PROGRESS=1): shown even for a few keys
        return True
    return options.progress and count > HANDFUL and progress_wanted()


VERIFY_EXTRA_HINT = "--verify needs httpx: pip install 'maniac-guard[verify]'"


def require_http_client() -> None:
    """httpx is the `verify` extra: without it, say how to install it (exit 2)."""
    import importlib.util

    if importlib.util.find_spec("httpx") is None:
        raise ConfigError(VERIFY_EXTRA_HINT)


def verify_keys(keys: list[str], options: VerifyOptions) -> VerifyReport:
    from maniac_guard.verify.cache import VerifyCache
    from maniac_guard.verify.client import Checker

    started = time.monotonic()
    report = VerifyReport()
    cache = VerifyCache(options.base_url, options.cache_dir) if options.use_cache else None
    todo: list[str] = []
    for key in keys:
        hit = cache.get(key) if cache is not None else None
        if hit is not None:
            report.verdicts[key] = hit
            report.cached += 1
        else:
            todo.append(key)
    if todo:
        deadline = started + options.budget
        tick: Callable[[], None] = lambda: None  # noqa: E731
        bar = None
        if _progress_wanted(options, len(todo)):
            from maniac_guard.verify.progress import ProgressBar

            bar = ProgressBar(len(todo))
            tick = bar.advance
        # Not `with ThreadPoolExecutor`: its exit waits for every thread, so
        # Ctrl-C would wait for requests stuck until their timeout.
        pool = ThreadPoolExecutor(options.concurrency)
        interrupted = False
        try:
            with Checker(options, deadline) as checker:
                futures: dict[Future[tuple[Verification, bool]], str] = {
                    pool.submit(checker.check, key): key for key in todo
                }
                pending = set(futures)
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        key = futures[future]
                        try:
                            verdict, cacheable = future.result()
                        except Exception as exc:  # noqa: BLE001 - a bug must not end the scan or print a key
                            verdict, cacheable = (
                                Verification(UNKNOWN, None, f"check failed ({type(exc).__name__})"),
                                False,
                            )
                        report.verdicts[key] = verdict
                        if cache is not None and cacheable:
                            cache.put(key, verdict)
                        tick()
                report.requests = checker.requests
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            pool.shutdown(wait=not interrupted, cancel_futures=True)
            if bar is not None:
                bar.close()
    report.elapsed = time.monotonic() - started
    return report


def apply(finding: Finding, verdict: Verification) -> Finding:
    """The finding with its verdict: live → critical, revoked → low."""
    if verdict.state == LIVE:
        return finding.replace(
            verification=verdict,
            severity=Severity.CRITICAL,
            message=f"{finding.message}: LIVE, the key still works; revoke it now",
            extra={**finding.extra, "remediation": LIVE_REMEDIATION},
        )
    if verdict.state == REVOKED:
        return finding.replace(
            verification=verdict,
            severity=Severity.LOW,
            message=f"{finding.message} ({NOT_LIVE_AT_MANIAC}; remove it anyway)",
            extra={**finding.extra, "remediation": REVOKED_REMEDIATION},
        )
    return finding.replace(verification=verdict)


def verify_findings(
    findings: list[Finding], options: VerifyOptions, *, only_live: bool = False, send: Iterable[Finding] | None = None
) -> tuple[list[Finding], VerifyReport]:
    """Verdicts on every finding that holds a key. `send` limits which
    findings' keys go to the API (default: all); with `only_live`, only
    live keys and keys without an answer (unknown: fail closed) are kept."""
    require_http_client()
    withheld = other_vendors_keys(findings)
    report = verify_keys(distinct_keys(findings if send is None else send, withheld), options)
    for vendor_key, vendor in withheld.items():
        reason = f"not sent to the Maniac API: probably a {vendor} key; check or rotate it with {vendor}"
        report.verdicts[vendor_key] = Verification(UNKNOWN, None, reason)
    report.withheld = len(withheld)
    out: list[Finding] = []
    for finding in findings:
        key = key_of(finding)
        verdict = report.verdicts.get(key) if key is not None else None
        if verdict is not None:
            finding = apply(finding, verdict)
        if only_live and not kept_by_only_live(verdict, key is not None):
            continue
        out.append(finding)
    return out, report
