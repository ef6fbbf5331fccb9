"""The key detector's cheap prefilters never drop a real key."""

from __future__ import annotations

import base64
import re
import string

import pytest
from hypothesis import given, strategies as st

from maniac_guard.detectors import keys
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


@given(st.lists(st.sampled_from(["mk-", "mk%2D", "%3D", "h", "_", "-", " ", "=", "%", fake_key("ref")[3:], "aB3", "\n"]),
                max_size=12).map("".join))
def test_hand_checked_search_matches_the_reference_pattern(text: str) -> None:
    """`_real_keys` drops the lookbehind for speed; it must find what KEY_PATTERN finds."""
    from maniac_guard.keyshape import placeholder_reason

    data = text.encode()
    reference = [
        (m.start(), m.end(), "mk-" + m.group(1).decode())
        for m in re.finditer(keys.KEY_PATTERN, data)
        if placeholder_reason(m.group(1).decode()) is None
    ]
    assert list(keys._real_keys(data)) == reference
