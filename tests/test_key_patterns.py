"""The key detector's cheap prefilters never drop a real key."""

from __future__ import annotations

import base64
import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maniac_guard.detectors import keys, load_detectors
from maniac_guard.prefilter import Prefilter
from maniac_guard.sources import SourceFile
from tests.helpers import fake_key

FIRST_CHARACTERS = string.ascii_letters + string.digits


# One prefix per byte alignment (0, 1, 2), and a real-world one.
@pytest.mark.parametrize("prefix", [b"", b"\n", b"k=", b"MANIAC_API_KEY="])
def test_base64_markers_hit_every_alignment_and_first_character(prefix: bytes) -> None:
    body = fake_key("b64")[4:]
    for first in FIRST_CHARACTERS:
        key = "mk-" + first + body
        encoded = base64.b64encode(prefix + key.encode() + b"\n")
        source = SourceFile("secret.yaml", b"data:\n  value: " + encoded + b"\n")
        assert keys.wants(source)
        assert [f.secret.reveal() for f in keys.detect(source) if f.secret] == [key]


def test_common_words_do_not_wake_the_detector() -> None:
    assert not keys.wants(SourceFile("a.sh", b"mkdir -p out && stay calm; mktemp\n"))


def _reference_keys(data: bytes, pos: int = 0, endpos: int | None = None) -> list[tuple[int, int, str]]:
    """KEY_PATTERN's matches judged by `key_body`; an inner `-mk-` starts a new match."""
    found: list[tuple[int, int, str]] = []
    for m in re.compile(keys.KEY_PATTERN).finditer(data, pos, len(data) if endpos is None else endpos):
        body, inner, _ = m.group(1).decode().partition("-mk-")
        judged = keys.key_body(body) if len(body) >= 16 else None
        if judged is not None:
            found.append((m.start(), m.start(1) + len(judged), "mk-" + judged))
        if inner:
            found.extend(_reference_keys(data, m.start(1) + len(body) + 1, m.end()))
    return found


@given(
    st.lists(
        st.sampled_from(
            ["mk-", "mk%2D", "%3D", "h", "_", "-", " ", "=", "%", fake_key("ref")[3:], "aB3", "button", "\n"]
        ),
        max_size=12,
    ).map("".join)
)
def test_hand_checked_search_matches_the_reference_pattern(text: str) -> None:
    """`_real_keys` drops the lookbehind for speed; it must find what KEY_PATTERN finds."""
    data = text.encode()
    assert list(keys._real_keys(data)) == _reference_keys(data)


_SPREAD = st.sampled_from(["", "", " ", "\t", "\n", "\r\n  ", "\n\t", "Q", "-"])


@given(
    st.sampled_from(["bWst", "1rLT", "1rLW", "1rLX", "1rLY", "tay0", "tay1", "tay2", "baWst"]),
    st.lists(_SPREAD, min_size=5, max_size=5),
)
def test_the_base64_marker_check_is_a_search_once_blanks_are_deleted(marker: str, gaps: list[str]) -> None:
    """`_has_base64_marker` (both `wants` and `detect` ask it) is the search for
    a marker in the text with every blank deleted, however it searches."""
    data = "".join(gap + char for gap, char in zip(gaps, marker + "\n", strict=False)).encode()
    joined = data.translate(None, b"\r\n \t")
    expected = any(re.search(m, joined) for m in keys._B64_MARKER_PATTERNS)
    assert keys._has_base64_marker(data) is expected, data


def test_a_key_inside_a_rejected_dashed_body_is_found() -> None:
    key = fake_key("nested")
    data = f"run mk-build-deps-{key} now\n".encode()
    assert [found for _, _, found in keys._real_keys(data)] == [key]


def test_a_key_followed_by_a_dashed_suffix_is_found() -> None:
    key = fake_key("suffix")
    for line in (f"{key}-button-primary-large", f"{key}_your_token_here"):
        found = [k for _, _, k in keys._real_keys(line.encode())]
        assert len(found) == 1 and found[0].startswith(key), line


WOKEN_FOR_MG102 = Prefilter.build(load_detectors({"MG102"}))  # None without hyperscan


# Wrapped base64 (issue 13, part 3): the `base64` tool wraps at 76 columns,
# `openssl base64` and PEM at 64; a Kubernetes `|` block indents every line.
# The key starts at six byte offsets around the first line break, so the
# break falls before, inside (at each of the marker's three alignments) and
# after the encoded `mk-`.
@pytest.mark.parametrize("indent", ["", "    "])
@pytest.mark.parametrize("width", [76, 64])
@pytest.mark.parametrize("alignment", range(6))
def test_a_key_straddling_a_base64_line_break_is_found(width: int, indent: str, alignment: int) -> None:
    key = fake_key(f"wrapped-{alignment}")
    bytes_per_line = width * 3 // 4
    env = (
        "#" * (bytes_per_line - 4 + alignment - len("MANIAC_API_KEY="))
        + "\nMANIAC_API_KEY="
        + key
        + "\n"
        + "x=1\n" * 30
    )
    encoded = base64.b64encode(env.encode()).decode()
    lines = [indent + encoded[i : i + width] for i in range(0, len(encoded), width)]
    text = "data:\n  env: |\n" + "\n".join(lines) + "\n" if indent else "\n".join(lines) + "\n"
    source = SourceFile("secret.yaml", text.encode())
    assert keys.wants(source)
    assert WOKEN_FOR_MG102 is None or WOKEN_FOR_MG102.woken(source.data) == {0}  # tree scans' native prefilter
    found = [f for f in keys.detect(source) if f.secret]
    assert [f.secret.reveal() for f in found if f.secret] == [key]
    assert found[0].rule_id == "MG102"


def test_a_wrapped_block_with_windows_line_ends_is_joined() -> None:
    key = fake_key("crlf")
    encoded = base64.b64encode(("#" * 50 + "\nMANIAC_API_KEY=" + key + "\n").encode()).decode()
    text = "\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76)) + "\r\n"
    found = [f.secret.reveal() for f in keys.detect(SourceFile("k.b64", text.encode())) if f.secret]
    assert found == [key]


def test_lines_that_only_look_wrapped_do_not_hide_a_key() -> None:
    """A key's own line still decodes when joining with its neighbours fails."""
    key = fake_key("neighbours")
    token = base64.b64encode(key.encode()).decode()
    text = "x" * 40 + "\n" + token + "\n" + "y" * 40 + "\n"
    assert [f.secret.reveal() for f in keys.detect(SourceFile("a.txt", text.encode())) if f.secret] == [key]
