"""Issue 23, item 3: keys in encoded text (MG103) and hidden keys (MG104),
through the console script in SARIF. Each is reported at its encoded span,
and no output holds the key, its body, or the encoded span itself."""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path
from typing import Any

import pytest

from maniac_guard.detectors import encoded
from maniac_guard.sources import SourceFile
from tests.helpers import fake_key, run_cli, run_in_process

KEY = fake_key("encoded-text")
BODY = KEY[3:]


def _percent(text: str) -> str:
    return "".join(f"%{ord(c):02X}" for c in text)


def _json_escaped(text: str) -> str:
    return "".join(f"\\u{ord(c):04x}" for c in text)


def _html(text: str) -> str:
    return "".join(f"&#{ord(c)};" for c in text)


def _pdf(text: str) -> bytes:
    """A one-page PDF whose content stream (Flate) shows `text`, split in a
    TJ array for kerning as PDF writers do."""
    half = len(text) // 2
    content = f"BT /F1 12 Tf 72 720 Td [({text[:half]}) -20 ({text[half:]})] TJ ET".encode()
    stream = zlib.compress(content)
    return (
        b"%%PDF-1.4\n1 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream)
        + stream
        + b"\nendstream\nendobj\n%%EOF\n"
    )


# file name -> (text, the line MG103/MG104 must point at, the rule)
CASES: dict[str, tuple[str, int, str]] = {
    "dash.json": (f'{{"apiKey": "mk\\u002d{BODY}"}}\n', 1, "MG103"),
    "all.json": (f'{{"apiKey": "{_json_escaped(KEY)}"}}\n', 1, "MG103"),
    "body.js": (f'const k = "mk-{BODY[:5]}\\x{ord(BODY[5]):02x}{BODY[6:]}";\n', 1, "MG103"),
    "numeric.html": (f"<p>\n<code>mk&#45;{BODY}</code>\n", 2, "MG103"),
    "hex.html": (f"<code>mk&#x2d;{BODY}</code>\n", 1, "MG103"),
    "named.html": (f"<code>mk&hyphen;{BODY}</code>\n", 1, "MG103"),
    "every.html": (f"<code>{_html(KEY)}</code>\n", 1, "MG103"),
    "url.txt": (f"see https://x.test/?k={_percent(KEY)}\n", 1, "MG103"),
    "inner.txt": (f"?k=mk-{BODY[:4]}{_percent(BODY[4:6])}{BODY[6:]}&x=1\n", 1, "MG103"),
    "mail.eml": (f"Subject: key\n\nYour key: mk=2D{BODY[:20]}=\n{BODY[20:]} thanks\n", 3, "MG103"),
    "deploy.sh": (f"export MANIAC_API_KEY=mk-{BODY[:10]}\\\n{BODY[10:]}\n", 1, "MG103"),
    "folded.yaml": (f"maniac:\n  apiKey: >-\n    mk-{BODY[:12]}\n    {BODY[12:]}\n", 3, "MG103"),
    "literal.yaml": (f"maniac:\n  apiKey: |\n    mk-{BODY[:12]}\n    {BODY[12:]}\n", 3, "MG103"),
    "plain.yaml": (f"maniac:\n  apiKey: mk-{BODY[:12]}\n    {BODY[12:]}\n", 2, "MG103"),
    "long-first.yaml": (f"maniac:\n  apiKey: >-\n    mk-{BODY[:24]}\n    {BODY[24:]}\n", 3, "MG103"),
    "quoted.yaml": (f'maniac:\n  apiKey: "mk-{BODY[:12]}\\\n    {BODY[12:]}"\n', 2, "MG103"),
    "zero-width.py": (f'KEY = "mk-{BODY[:8]}\u200b{BODY[8:]}"\n', 1, "MG104"),
    "soft-hyphen.py": (f'KEY = "mk\u00ad-{BODY}"\n', 1, "MG104"),
    "en-dash.md": (f"key: mk\u2013{BODY}\n", 1, "MG104"),
    "cyrillic.txt": (f"key: \u043ck-{BODY}\n", 1, "MG104"),
    "fullwidth.txt": (f"key: mk\uff0d{BODY}\n", 1, "MG104"),
}


def _encoded_spans(text: str) -> list[str]:
    """Pieces of each case's encoded key that must never be printed."""
    pieces = [BODY[:12], BODY[-12:], _percent(KEY)[6:30], _json_escaped(KEY)[12:40], _html(KEY)[10:40]]
    return [piece for piece in pieces if piece]


def _results(tmp_path: Path) -> tuple[list[dict[str, Any]], str]:
    proc = run_in_process("scan", ".", "--format", "sarif", "--no-cache", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    output = proc.stdout + proc.stderr
    for piece in _encoded_spans(KEY):
        assert piece not in output, piece
    return json.loads(proc.stdout)["runs"][0]["results"], proc.stdout


def test_every_encoding_is_reported_at_its_encoded_span_in_sarif(tmp_path: Path) -> None:
    for name, (text, _, _) in CASES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "report.pdf").write_bytes(_pdf(KEY))
    results, _ = _results(tmp_path)
    found: dict[str, set[tuple[str, int]]] = {}
    for result in results:
        where = result["locations"][0]["physicalLocation"]
        found.setdefault(where["artifactLocation"]["uri"], set()).add((result["ruleId"], where["region"]["startLine"]))
        if result["ruleId"] in ("MG103", "MG104"):  # (MG101 also reports a wrapped key's first line)
            assert result["properties"]["maskedSecret"] == f"mk-{BODY[:4]}…{BODY[-2:]}"
    missed = {
        name: (rule, line) for name, (_, line, rule) in CASES.items() if (rule, line) not in found.get(name, set())
    }
    assert missed == {}, found
    assert ("MG103", 4) in found["report.pdf"]  # the `stream` keyword


def test_the_snippet_shows_the_encoded_span_masked(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(f'{{"apiKey": "{_json_escaped(KEY)}", "other": 1}}\n')
    results, _ = _results(tmp_path)
    (result,) = results
    snippet = result["locations"][0]["physicalLocation"]["region"]["snippet"]["text"]
    assert f"mk-{BODY[:4]}…{BODY[-2:]}" in snippet and '"other": 1' in snippet
    assert "\\u00" not in snippet  # no piece of the encoded key


def test_a_key_named_for_another_vendor_keeps_its_vendor_when_encoded(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(f'{{"METASO_API_KEY": "mk\\u002d{BODY}"}}\n')
    results, _ = _results(tmp_path)
    assert "probably a Metaso key" in results[0]["message"]["text"]


@pytest.mark.parametrize(
    "text",
    [
        "<code>mk&#45;xxxxxxxxxxxxxxxxxxxx</code> mk-build-deps&amp;co\n",
        "Use the mk-\nprefix for every key.\n",
        "?q=mk-button-primary-large%20docs\n",
        "мk-проект, mk\u2013iconBox\u2013gradient\n",
        f"MANIAC_API_KEY={KEY}\nexport FOO=bar\n",  # plain: MG101's alone
        f'"{KEY}\\n"\n',
        f"{KEY}\n{fake_key('second-in-list')}\n",  # a list of keys, one per line
        f"MANIAC_API_KEY={KEY}\nBAREWORD\n",  # a whole key, then a word of its own
    ],
)
def test_no_encoded_finding_without_an_encoded_key(tmp_path: Path, text: str) -> None:
    (tmp_path / "notes.txt").write_text(text, encoding="utf-8")
    proc = run_cli("scan", ".", "--format", "sarif", "--no-cache", cwd=tmp_path)
    rules = [r["ruleId"] for r in json.loads(proc.stdout)["runs"][0]["results"]]
    assert "MG103" not in rules and "MG104" not in rules


def test_every_trigger_match_holds_a_prefilter_hint() -> None:
    """The prefilter may skip the detector only where no trigger matches."""
    hints = [re.compile(hint) for hint in encoded.HINTS]
    for name, (text, _, _) in CASES.items():
        data = text.encode()
        for trigger in (branch for branches in encoded._trigger_res() for branch in branches):
            for match in trigger.finditer(data):
                assert any(hint.search(match.group()) for hint in hints), (name, match.group())


def test_a_python_rule_that_wins_the_merge_shows_the_masked_span(tmp_path: Path) -> None:
    """MG201 decodes the literal and wins over MG103 on the same line; its
    snippet would print the escaped key: the merged finding shows MG103's."""
    (tmp_path / "app.py").write_text(f'from maniac import Maniac\nclient = Maniac(api_key="mk\\u002d{BODY}")\n')
    results, stdout = _results(tmp_path)
    assert [r["ruleId"] for r in results] == ["MG201"]
    assert BODY[4:16] not in stdout


def _any_branch(data: bytes) -> bool:
    """The definition `wants` must answer: some trigger's branch matches (or a PDF's stream)."""
    pdf = data.startswith(b"%PDF-") and b"FlateDecode" in data
    return pdf or any(branch.search(data) is not None for trigger in encoded._trigger_res() for branch in trigger)


def test_every_branch_opens_with_a_plain_m_or_an_encoded_one_wants_looks_for() -> None:
    """`wants` tries the plain-`m` branches only where `_M_START` matches, and
    the others only in files holding one of `_M_ENCODED`: each branch must open
    with one of those, or `wants` would miss it."""
    from maniac_guard.detectors.encoded import _M_ENCODED, _TRIGGERS

    openings = [m for _, encoding in _M_ENCODED for m in encoding.split(b"|")]
    spelled = b"\\u006d \\x6D &#109; &#x06d; %6d =6D \xd0\xbc \xef\xbd\x8d"
    for byte, encoding in _M_ENCODED:
        found = re.findall(encoding, spelled)
        assert found and all(match.startswith(byte) for match in found), (byte, encoding)
    for branch in (branch for trigger in _TRIGGERS for branch in trigger):
        assert branch.startswith(b"m") or sum(branch.startswith(m) for m in openings) == 1, branch


_PIECES = (
    "m", "k", "mk", "mk-", "-", "%2D", "%6B", "%6d", "\\u002d", "\\x6b", "\\u006D", "\\U0001F600", "\\x2D",
    "&#45;", "&#x6B;", "&#109;", "&#x06d;", "&hyphen;", "&amp;", "=2D", "=6B", "=6d", "=\n", "\\\n", "\n  ",
    "\n", "\r\n\t", '"', "'", " ", "\u200b", "\u00ad", "\u2013", "\u043c", "\u043a", "\uff4d", "\uff4b", "\uff0d",
    "\ufeff", "\u2060", "abcdEFGH12", "Zz_9", "x" * 20, "é",
)  # fmt: skip


def test_wants_answers_exactly_whether_a_trigger_matches() -> None:
    """`wants` finds the same files as searching every branch: on the cases,
    on texts without a key, and on 30,000 texts made of the pieces each
    encoding, invisible and look-alike is written with."""
    import random

    texts = [text.encode() for text, _, _ in CASES.values()] + [_pdf(KEY), b"", b"m", b"mk", b"mk-"]
    rng = random.Random(23)
    for _ in range(30_000):
        texts.append("".join(rng.choice(_PIECES) for _ in range(rng.randrange(1, 12))).encode())
    wanted = 0
    for data in texts:
        expected = _any_branch(data)
        assert encoded.wants(SourceFile("a.txt", data)) is expected, data
        wanted += expected
    assert 1_000 < wanted < len(texts) - 1_000  # both answers well covered


@pytest.mark.parametrize("where", [0, 300, 999])
def test_wants_past_many_places_a_key_could_start(where: int) -> None:
    """Past `_M_STARTS_MAX` places where a plain-`m` branch could start, the
    branches are searched whole: a trigger anywhere is still found."""
    filler = ["mk-a\n"] * 1_000
    assert not encoded.wants(SourceFile("a.txt", "".join(filler).encode()))
    filler[where] = f"mk\\u002d{BODY}\n"
    assert encoded.wants(SourceFile("a.txt", "".join(filler).encode()))
