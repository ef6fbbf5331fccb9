"""Is a candidate `mk-` string a real key, or a placeholder / identifier?

Judged by shape, not by a list of known decoys. Real keys are random over
some key alphabet (hex in either case, base62, base64url, a UUID), so the
body's alphabet is detected first and every test asks: how likely is this
shape in a random string of *that* alphabet and length? A body is rejected
only when that probability is below `REJECT_BELOW`, so each test's
false-rejection rate is bounded and measured (tests/test_keyshape_calibration.py).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from functools import lru_cache
from itertools import pairwise

MIN_BODY_LENGTH = 16
# Characters a key body may hold; anything else (`<`, `.`, `{`) is a template.
KEY_BODY_RE = re.compile(r"[A-Za-z0-9_-]{16,}")
# A structural test rejects a body when a random body of the same alphabet and
# length would show the feature with probability below this. Six tests, each
# bounded by it (the bounds below are union bounds, so conservative).
REJECT_BELOW = 2e-5

HEX_LOWER = frozenset("0123456789abcdef")
HEX_UPPER = frozenset("0123456789ABCDEF")
_UUID_RE = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}"
)
_SEPARATORS = re.compile(r"[-_]")
# Every shape test below is a linear scan or a literal search: a body is text
# an attacker chooses, and a backtracking regex with nested quantifiers on it
# (the old `(?:[A-Z]?[a-z]+)+` CamelCase test) takes exponential time.
_ASCII_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")
_ASCII_UPPER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ASCII_DIGITS = frozenset("0123456789")
_VOWELS = frozenset("aeiouyAEIOUY")


def _digits_from(text: str) -> int:
    """Where the trailing run of digits of `text` starts."""
    end = len(text)
    while end > 0 and text[end - 1] in _ASCII_DIGITS:
        end -= 1
    return end


def _is_word_segment(segment: str) -> bool:
    """A segment that reads as a word or a number: `button`, `Primary`, `API`,
    `v2`, `2024` (letters `[A-Z]?[a-z]+` or `[A-Z]+`, then digits; or digits).
    Three or more of them joined by dashes are an identifier."""
    letters = segment[: _digits_from(segment)]
    if not letters:
        return bool(segment)
    if all(c in _ASCII_UPPER for c in letters):
        return True
    tail = letters[1:] if letters[0] in _ASCII_UPPER else letters
    return bool(tail) and all(c in _ASCII_LOWER for c in tail)


def _is_camel_words(body: str) -> bool:
    """CamelCase words (`ThisIsMyTestKey`), then at most four digits: letters
    where no capital is followed by a capital or ends the letters. A random
    base62 body of n letters has this case pattern with probability about
    1.7 * 0.68**n (Fibonacci many patterns, each (26/62)**n): weak evidence
    alone, decisive with a marker word or from about 34 characters."""
    cut = _digits_from(body)
    letters = body[:cut]
    if not letters or len(body) - cut > 4 or not all(c in _ASCII_LOWER or c in _ASCII_UPPER for c in letters):
        return False
    if letters[-1] in _ASCII_UPPER:
        return False
    return all(not (a in _ASCII_UPPER and b in _ASCII_UPPER) for a, b in pairwise(letters))


# Dashed CamelCase words (`iconBox-gradient`, `textBlock-heading`: CSS class
# names): two or more segments, each made of words that hold a vowel; a
# segment opens with a lower-case word of three letters or more, or a
# capital, and every capital is followed by two lower-case letters or more.
_OPENING_LOWERS = 3
_LOWERS_AFTER_CAPITAL = 2


def _is_dashed_camel_words(body: str) -> bool:
    segments = _SEPARATORS.split(body)
    if len(segments) < 2:
        return False
    for segment in segments:
        index = 0
        while index < len(segment):
            start = index
            need = _OPENING_LOWERS
            if segment[index] in _ASCII_UPPER:
                index += 1
                need = _LOWERS_AFTER_CAPITAL
            elif index > 0:
                return False
            lowers = index
            while index < len(segment) and segment[index] in _ASCII_LOWER:
                index += 1
            if index - lowers < need or _VOWELS.isdisjoint(segment[start:index]):
                return False
        if not segment:
            return False
    return True


def _adder(table: dict[tuple[bool, int, bool, bool], float]) -> Callable[[tuple[bool, int, bool, bool], float], None]:
    def add(state: tuple[bool, int, bool, bool], p: float) -> None:
        table[state] += p

    return add


@lru_cache(maxsize=256)
def _dashed_camel_p(length: int) -> float:
    """Probability that a random base64url body of `length` is dashed
    CamelCase words (exact, by counting over the states of the scan above)."""
    lower, vowels, upper, separators, size = 26, 6, 26, 2, 64
    # state: (at a segment start, lower-case letters still needed, vowel seen
    # in this word, a separator seen) -> probability
    dist: dict[tuple[bool, int, bool, bool], float] = {(True, 0, False, False): 1.0}
    for _ in range(min(length, 64)):  # beyond 64 the bound only shrinks
        new: dict[tuple[bool, int, bool, bool], float] = defaultdict(float)
        add = _adder(new)
        for (start, need, vowel, separated), p in dist.items():
            if start:
                for capital, needed in ((False, _OPENING_LOWERS - 1), (True, _LOWERS_AFTER_CAPITAL)):
                    count = upper if capital else lower
                    add((False, needed, True, separated), p * count * vowels / lower / size)
                    add((False, needed, False, separated), p * count * (lower - vowels) / lower / size)
                continue
            add((False, max(0, need - 1), True, separated), p * vowels / size)
            add((False, max(0, need - 1), vowel, separated), p * (lower - vowels) / size)
            if need == 0 and vowel:
                add((False, _LOWERS_AFTER_CAPITAL, True, separated), p * vowels / size)
                add((False, _LOWERS_AFTER_CAPITAL, False, separated), p * (upper - vowels) / size)
                add((True, 0, False, True), p * separators / size)
        dist = new
    return sum(
        p for (start, need, vowel, separated), p in dist.items() if not start and not need and vowel and separated
    )


# Words only a person writes into a placeholder. Each occurrence counts as
# evidence in proportion to how unlikely it is in a random body (see _marker_p).
_MARKER_WORDS = (
    "your",
    "example",
    "placeholder",
    "redacted",
    "dummy",
    "sample",
    "changeme",
    "replace",
    "insert",
    "secret",
    "token",
    "apikey",
    "xxxx",
    "here",
    "fake",
    "test",
    "demo",
    "goes",
)


@lru_cache(maxsize=1)
def _markers() -> re.Pattern[str]:
    """The marker words' regex (searched in the lower-cased body), compiled
    when a first key candidate is judged: a clean commit never needs it."""
    return re.compile("|".join(_MARKER_WORDS))


def alphabet_of(body: str) -> tuple[str, int]:
    """(name, size) of the smallest common key alphabet holding `body`."""
    chars = set(body)
    if chars <= HEX_LOWER:
        return "hex", 16
    if chars <= HEX_UPPER:
        return "HEX", 16
    if "-" in chars or "_" in chars:
        return "base64url", 64
    return "base62", 62


# The distinct-character test looks at most this many characters, so a long
# blob (`mk-` before a minified bundle's data) costs no more than a key.
_DISTINCT_WINDOW = 128


@lru_cache(maxsize=1024)
def _fewest_distinct(size: int, length: int) -> int:
    """Largest distinct-character count that a random body reaches with
    probability below REJECT_BELOW (exact occupancy distribution). The distinct
    count measures the same thing as entropy normalised to the alphabet."""
    states = min(length, size) + 1
    dist = [1.0] + [0.0] * (states - 1)  # dist[d]: P(d distinct after the draws so far)
    for _ in range(length):
        new = [0.0] * states
        for d, p in enumerate(dist):
            if p:
                new[d] += p * d / size
                if d + 1 < states:
                    new[d + 1] += p * (size - d) / size
        dist = new
    cumulative, fewest = 0.0, 0
    for d, p in enumerate(dist):
        cumulative += p
        if cumulative >= REJECT_BELOW:
            break
        fewest = d
    return fewest


@lru_cache(maxsize=1024)
def _shortest_rejected(size: int, length: int) -> tuple[int, int, int]:
    """Shortest run, sequence and repeated substring that a random body of this
    alphabet and length shows with probability below REJECT_BELOW."""
    run = next(r for r in range(2, length + 2) if (length - r + 1) * size ** -(r - 1) < REJECT_BELOW)
    # Sequences are searched case-folded (`AbCdEf`), which doubles each step's
    # chance in a cased alphabet.
    step = size // 2 if size > 16 else size
    sequence = next(s for s in range(2, length + 2) if 2 * (length - s + 1) * step ** -(s - 1) < REJECT_BELOW)
    repeat = next(
        rep for rep in range(1, length + 1) if (length - rep + 1) * (length - rep) / 2 * size**-rep < REJECT_BELOW
    )
    return run, sequence, repeat


def _longest_run(body: str) -> int:
    """The longest run of one repeated character."""
    longest = current = 0
    previous = ""
    for char in body:
        current = current + 1 if char == previous else 1
        previous = char
        longest = max(longest, current)
    return longest


_UP = bytes((b + 1) & 0xFF for b in range(256))
_DOWN = bytes((b - 1) & 0xFF for b in range(256))


def _has_sequence(body: str, length: int) -> bool:
    """An ascending or descending run like 12345 or edcba of `length` chars."""
    # Whole-string arithmetic instead of a loop per character: XOR the body
    # shifted by one with its successor characters; a sequence is a run of
    # zero bytes.
    codes = body.encode("ascii", "replace")
    count = len(codes) - 1
    following = int.from_bytes(codes[1:])
    zeros = b"\0" * (length - 1)
    for table in (_UP, _DOWN):
        stepped = int.from_bytes(codes[:-1].translate(table))
        if zeros in (stepped ^ following).to_bytes(count):
            return True
    return False


def _has_repeat(body: str, length: int) -> bool:
    """A substring of `length` characters that occurs twice (abcdabcd…)."""
    count = len(body) - length + 1
    return count > 1 and len({body[i : i + length] for i in range(count)}) < count


def _marker_p(body: str, size: int) -> float:
    """Probability bound that a random body holds the marker words found."""
    cased = 2 if size > 16 else 1  # markers match either case
    p = 1.0
    for match in _markers().finditer(body.lower()):
        width = len(match.group())
        p *= min(1.0, len(_MARKER_WORDS) * (len(body) - width + 1) * (cased / size) ** width)
    return p


def _single_class(body: str) -> bool:
    chars = set(body)
    return (
        sum(
            (
                not chars.isdisjoint(_ASCII_LOWER),
                not chars.isdisjoint(_ASCII_UPPER),
                not chars.isdisjoint(_ASCII_DIGITS),
            )
        )
        < 2
    )


def _dashed_reason(body: str) -> str | None:
    """Tests for bodies with `-`/`_`: random base64url versus joined words."""
    segments = _SEPARATORS.split(body)
    # Three segments at least: a random 16-character base64url body splits in
    # two about once in three draws, and its halves read as words too often.
    if len(segments) > 2 and all(_is_word_segment(segment) for segment in segments):
        return "words joined by dashes"
    letters = [c for c in body if c.isalpha()]
    # Kubernetes pod and release names, CSS classes: one case and dashes. A
    # random base64url body of 16 has both cases but for about 3 in 10,000.
    if all(c.islower() for c in letters) or all(c.isupper() for c in letters):
        return "an identifier in one letter case"
    # CSS classes of the Jupiter theme and their kind (`iconBox-gradient`):
    # a random body of 16 has that shape about 6 times in a million.
    if _is_dashed_camel_words(body) and _dashed_camel_p(len(body)) < REJECT_BELOW:
        return "CamelCase words joined by dashes"
    return None


def _camel_p(body: str, size: int) -> float:
    """Evidence of CamelCase words; with a marker word, both must be strong
    together (100x below the bar): a random body holding `your` has the
    CamelCase shape in its other letters too often to count on either alone."""
    camel = min(1.0, 1.7 * 0.68 ** len(body))
    markers = _marker_p(body, size)
    return camel if markers == 1.0 else camel * markers * 100


def _shape_reason(body: str, size: int) -> str | None:
    length = len(body)
    run, sequence, repeat = _shortest_rejected(size, length)
    if _longest_run(body) >= run:
        return "a run of one character"
    if _has_sequence(body.lower(), sequence):
        return "a sequence like 12345 or abcde"
    if _has_repeat(body, repeat):
        return "a repeated pattern"
    window = body[:_DISTINCT_WINDOW]
    if len(set(window)) <= _fewest_distinct(size, len(window)):
        return "low entropy for its alphabet"
    if _marker_p(body, size) < REJECT_BELOW:
        return "placeholder word"
    return None


def placeholder_reason(body: str) -> str | None:
    """Why this key body is not a real key, or None if it looks real."""
    if len(body) < MIN_BODY_LENGTH:
        return "too short"
    if not KEY_BODY_RE.fullmatch(body):
        return "not a key alphabet"
    if len(body) == 36 and _UUID_RE.fullmatch(body):
        return _shape_reason(body.replace("-", ""), 16)
    name, size = alphabet_of(body)
    if name == "base64url":
        reason = _dashed_reason(body)
        if reason is not None:
            return reason
    elif name == "base62":
        if _single_class(body):
            return "a single character class"
        if _is_camel_words(body) and _camel_p(body, size) < REJECT_BELOW:
            return "words in CamelCase"
    return _shape_reason(body, size)


def looks_like_key(value: str) -> bool:
    """True for `mk-` + a random-looking body."""
    return value.startswith("mk-") and placeholder_reason(value[3:]) is None
