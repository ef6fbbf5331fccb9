"""Issue 23, items 1 and 2: keys inside archives (wheels, sdists, zips,
jars, Office files, tar, single compressed files) are found and named
`outer!/member`; hostile archives end within bounds, named, with exit 2."""

from __future__ import annotations

import bz2
import functools
import gzip
import io
import json
import lzma
import random
import struct
import subprocess
import sys
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from maniac_guard.sources.archives import ArchiveLimits, ArchiveReport, archive_kind, archive_sources
from tests.gitrepo import Repo, git_env, make_repo
from tests.helpers import fake_key, run_cli, run_in_process
from tests.test_report_sarif import validate

KEY = fake_key("archives")
ENV = f"MANIAC_API_KEY={KEY}\n".encode()
PYTHON = f'from maniac import Maniac\n\nclient = Maniac(api_key="{KEY}")\n'.encode()


# --- archive builders (in memory, in the test: no fixture files) -----------


def zip_bytes(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tar_bytes(members: dict[str, bytes], mode: str = "w") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:  # type: ignore[call-overload]
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def raw_zip(entries: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A zip written field by field: (name, stored bytes, method, CRC,
    declared size), so a test can store a crafted deflate stream or lie."""
    body = io.BytesIO()
    central = io.BytesIO()
    for name, stored, method, crc, size in entries:
        encoded = name.encode()
        offset = body.tell()
        body.write(
            struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, len(stored), size, len(encoded), 0)
        )
        body.write(encoded + stored)
        central.write(
            struct.pack(
                "<4s6H3I5H2I",
                b"PK\x01\x02",
                20,
                20,
                0,
                method,
                0,
                0x21,
                crc,
                len(stored),
                size,
                len(encoded),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + encoded
        )
    directory = central.getvalue()
    count, at = len(entries), body.tell()
    zip64 = b""
    if count > 0xFFFF:  # too many for the classic end record: a zip64 one, as zipfile writes
        record = struct.pack("<4sQ2H2I4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(directory), at)
        zip64 = record + struct.pack("<4sIQI", b"PK\x06\x07", 0, at + len(directory), 1)
    short = min(count, 0xFFFF)
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, short, short, len(directory), at, 0)
    return body.getvalue() + directory + zip64 + end


@functools.cache
def deflated_fill(fill: bytes = b"\0", gibibytes: int = 1) -> tuple[bytes, int]:
    """A raw deflate stream of that many GiB of one byte, in milliseconds:
    after a full flush the compressor forgets its history, so every MiB
    compresses to the same bytes, repeated. Also its CRC-32."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    mebibyte = fill * (1 << 20)
    block = compressor.compress(mebibyte) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(1024 * gibibytes):
        crc = zlib.crc32(mebibyte, crc)
    return block * (1024 * gibibytes) + compressor.flush(), crc


def single(compress: Callable[[bytes], bytes]) -> Callable[[], bytes]:
    return lambda: compress(ENV)


# name on disk, its bytes, the member path shown after `!/`
KINDS: dict[str, tuple[Callable[[], bytes], str]] = {
    "pkg-1.0-py3-none-any.whl": (lambda: zip_bytes({"pkg/.env": ENV}), "pkg/.env"),
    "export.zip": (lambda: zip_bytes({"conf/.env": ENV}), "conf/.env"),
    "stored.zip": (lambda: zip_bytes({"conf/.env": ENV}, zipfile.ZIP_STORED), "conf/.env"),
    "bzip2.zip": (lambda: zip_bytes({"conf/.env": ENV}, zipfile.ZIP_BZIP2), "conf/.env"),
    "lzma.zip": (lambda: zip_bytes({"conf/.env": ENV}, zipfile.ZIP_LZMA), "conf/.env"),
    "app.jar": (lambda: zip_bytes({"META-INF/MANIFEST.MF": b"x", "app.properties": ENV}), "app.properties"),
    "report.docx": (lambda: zip_bytes({"word/document.xml": b"<w:t>" + ENV + b"</w:t>"}), "word/document.xml"),
    "sheet.xlsx": (lambda: zip_bytes({"xl/sharedStrings.xml": b"<t>" + ENV + b"</t>"}), "xl/sharedStrings.xml"),
    "slides.pptx": (lambda: zip_bytes({"ppt/slides/slide1.xml": b"<a:t>" + ENV + b"</a:t>"}), "ppt/slides/slide1.xml"),
    "pkg-1.0-py3.11.egg": (lambda: zip_bytes({"pkg/settings.env": ENV}), "pkg/settings.env"),
    "app.apk": (lambda: zip_bytes({"assets/config.env": ENV}), "assets/config.env"),
    "backup.tar": (lambda: tar_bytes({"etc/app.env": ENV}), "etc/app.env"),
    "pkg-1.0.tar.gz": (lambda: tar_bytes({"pkg-1.0/.env": ENV}, "w:gz"), "pkg-1.0/.env"),
    "pkg-1.0.tgz": (lambda: tar_bytes({"pkg-1.0/.env": ENV}, "w:gz"), "pkg-1.0/.env"),
    "pkg-1.0.tar.bz2": (lambda: tar_bytes({"pkg-1.0/.env": ENV}, "w:bz2"), "pkg-1.0/.env"),
    "pkg-1.0.tar.xz": (lambda: tar_bytes({"pkg-1.0/.env": ENV}, "w:xz"), "pkg-1.0/.env"),
    "settings.env.gz": (single(gzip.compress), "settings.env"),
    "settings.env.bz2": (single(bz2.compress), "settings.env"),
    "settings.env.xz": (single(lzma.compress), "settings.env"),
}


def sarif_scan(cwd: Path, *args: str, process: bool = False) -> tuple[int, dict[str, Any], str]:
    """`scan ARGS --format sarif`, validated: in-process (run_in_process decides
    as the console script does, without ~0.3 CPU-s of start-up), or as the
    installed console script (`process`) where a bomb that got through would
    take the test process down with it."""
    done = (run_cli if process else run_in_process)("scan", *args, "--format", "sarif", cwd=cwd)
    assert done.returncode in (0, 1, 2), done.stderr
    sarif: dict[str, Any] = json.loads(done.stdout)
    validate(sarif)
    return done.returncode, sarif, done.stderr


def uris(sarif: dict[str, Any]) -> set[str]:
    return {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]}


def test_the_schema_check_includes_uri_syntax() -> None:
    # rfc3986-validator (a test dependency) makes jsonschema check `uri-reference`.
    checker = jsonschema.FormatChecker()
    assert checker.conforms("dist/pkg-1.0.whl!/pkg/.env", "uri-reference")
    assert not checker.conforms("dist/a b", "uri-reference")


@pytest.mark.parametrize("name", sorted(KINDS))
def test_a_key_inside_each_kind_of_archive_is_found_named_on_the_command_line(tmp_path: Path, name: str) -> None:
    build, member = KINDS[name]
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / name).write_bytes(build())
    code, sarif, err = sarif_scan(tmp_path, f"dist/{name}")
    assert code == 1, err
    assert uris(sarif) >= {f"dist/{name}!/{member}"}
    assert KEY not in json.dumps(sarif)


def test_a_zipapp_with_its_shebang_line_is_opened(tmp_path: Path) -> None:
    import zipapp

    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__main__.py").write_text("print('hi')\n")
    (tmp_path / "app" / "settings.env").write_bytes(ENV)
    zipapp.create_archive(tmp_path / "app", tmp_path / "tool.pyz", interpreter="/usr/bin/env python3")
    done = run_in_process("scan", "tool.pyz", "--format", "json", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert {f["path"] for f in json.loads(done.stdout)["findings"]} == {"tool.pyz!/settings.env"}


def test_archives_in_a_tree_are_found_by_their_bytes_not_only_their_names(tmp_path: Path) -> None:
    (tmp_path / "blob.bin").write_bytes(zip_bytes({"a/.env": ENV}))  # a zip by any name
    (tmp_path / "notes.zip").write_text(f"not a zip: {KEY}\n")  # a text file by any name
    code, sarif, err = sarif_scan(tmp_path, ".")
    assert code == 1, err
    assert uris(sarif) == {"blob.bin!/a/.env", "notes.zip"}


def test_python_inside_a_wheel_gets_the_python_rules(tmp_path: Path) -> None:
    (tmp_path / "pkg.whl").write_bytes(zip_bytes({"pkg/client.py": PYTHON}))
    code, sarif, _ = sarif_scan(tmp_path, ".")
    assert code == 1
    rules = {r["ruleId"] for r in sarif["runs"][0]["results"]}
    assert "MG201" in rules  # the key reaches Maniac(api_key=...): the value-flow rule


def test_every_format_names_the_member(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "pkg-1.0.whl").write_bytes(zip_bytes({"pkg/.env": ENV}))
    shown = "dist/pkg-1.0.whl!/pkg/.env"
    text = run_in_process("scan", "dist", cwd=tmp_path)
    assert text.returncode == 1 and f"{shown}:1:" in text.stdout
    report = json.loads(run_in_process("scan", "dist", "--format", "json", cwd=tmp_path).stdout)
    assert {f["path"] for f in report["findings"]} == {shown}
    gitlab = json.loads(run_in_process("scan", "dist", "--format", "gitlab", cwd=tmp_path).stdout)
    assert {v["location"]["file"] for v in gitlab["vulnerabilities"]} == {shown}
    junit = run_in_process("scan", "dist", "--format", "junit", cwd=tmp_path).stdout
    assert f"at {shown}:1:" in junit
    for out in (text.stdout, json.dumps(report), json.dumps(gitlab), junit):
        assert KEY not in out


def test_suppressions_baseline_and_ignore_file_work_on_members(tmp_path: Path) -> None:
    suppressed = f'KEY = "{KEY}"  # maniac-guard: ignore\n'.encode()
    (tmp_path / "a.zip").write_bytes(zip_bytes({"quiet.py": suppressed}))
    assert run_in_process("scan", ".", cwd=tmp_path).returncode == 0
    (tmp_path / "b.zip").write_bytes(zip_bytes({"conf/.env": ENV}))
    assert run_in_process("scan", ".", cwd=tmp_path).returncode == 1
    created = run_in_process("baseline", "create", "-o", "base.json", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    entries = json.loads((tmp_path / "base.json").read_text())["findings"]
    assert {e["path"] for e in entries} == {"b.zip!/conf/.env"}
    assert run_in_process("scan", ".", "--baseline", "base.json", cwd=tmp_path).returncode == 0
    # The entry is stale once the archive named on the command line no longer holds the key.
    (tmp_path / "b.zip").write_bytes(zip_bytes({"conf/.env": b"MANIAC_API_KEY=\n"}))
    stale = json.loads(
        run_in_process("scan", "b.zip", "--baseline", "base.json", "--format", "json", cwd=tmp_path).stdout
    )
    assert stale["summary"]["baseline_stale"] == len(entries)
    (tmp_path / "b.zip").write_bytes(zip_bytes({"conf/.env": ENV}))
    fingerprints = {
        f["fingerprint"]
        for f in json.loads(run_in_process("scan", ".", "--format", "json", cwd=tmp_path).stdout)["findings"]
    }
    (tmp_path / ".maniac-guard-ignore").write_text("".join(f"{fp}  # a test archive\n" for fp in fingerprints))
    assert run_in_process("scan", ".", cwd=tmp_path).returncode == 0


def test_an_archive_over_the_file_size_limit_is_still_opened(tmp_path: Path) -> None:
    import os

    noise = os.urandom(12 << 20)  # incompressible: the wheel is 12 MiB on disk
    (tmp_path / "big.whl").write_bytes(zip_bytes({"pkg/native.so": b"\0" + noise, "pkg/.env": ENV}))
    code, sarif, err = sarif_scan(tmp_path, ".")
    assert code == 1, err
    assert uris(sarif) == {"big.whl!/pkg/.env"}


def test_nested_archives_are_opened_and_named_by_their_path(tmp_path: Path) -> None:
    sdist = tar_bytes({"pkg-1.0/conf/.env": ENV}, "w:gz")
    (tmp_path / "release.zip").write_bytes(zip_bytes({"dist/pkg-1.0.tar.gz": sdist}))
    code, sarif, _ = sarif_scan(tmp_path, ".")
    assert code == 1
    assert uris(sarif) == {"release.zip!/dist/pkg-1.0.tar.gz!/pkg-1.0/conf/.env"}


def test_member_names_cannot_leave_their_archive(tmp_path: Path) -> None:
    (tmp_path / "evil.zip").write_bytes(zip_bytes({"../../outside/.env": ENV, "/abs/.env": ENV}))
    code, sarif, _ = sarif_scan(tmp_path, ".")
    assert code == 1
    assert uris(sarif) == {"evil.zip!/outside/.env", "evil.zip!/abs/.env"}
    assert not (tmp_path.parent / "outside").exists()


# --- hostile archives: each ends within its bound, named, exit 2 -------------


def test_a_zip_bomb_is_named_and_exits_2(tmp_path: Path) -> None:
    stream, crc = deflated_fill()
    (tmp_path / "bomb.zip").write_bytes(
        raw_zip([("zeros.txt", stream, 8, crc, 1 << 30), ("ok/.env", ENV, 0, zlib.crc32(ENV), len(ENV))])
    )
    code, sarif, err = sarif_scan(tmp_path, "bomb.zip", process=True)
    assert code == 2
    assert "bomb.zip!/zeros.txt: expands 1,0" in err and "zip bomb" in err
    assert uris(sarif) == {"bomb.zip!/ok/.env"}  # the rest of the archive is still scanned


def test_a_zip_bomb_that_lies_about_its_size_is_stopped_while_inflating(tmp_path: Path) -> None:
    # Text, so that it is read on (zeros are left as binary after 8 KiB).
    stream, crc = deflated_fill(b"a")
    (tmp_path / "liar.zip").write_bytes(raw_zip([("zeros.txt", stream, 8, crc, 100)]))
    done = run_cli("scan", "liar.zip", cwd=tmp_path)
    assert done.returncode == 2
    assert "liar.zip!/zeros.txt: expands over 100 times (a zip bomb?); not scanned" in done.stderr


def test_a_gzip_bomb_is_named_and_exits_2(tmp_path: Path) -> None:
    # A gigabyte of text (a binary one is left after its first 8 KiB: it costs nothing).
    stream, crc = deflated_fill(b"a")
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    (tmp_path / "big.log.gz").write_bytes(header + stream + struct.pack("<2I", crc, 1 << 30))
    code, _, err = sarif_scan(tmp_path, ".", process=True)
    assert code == 2
    assert "big.log.gz: expands over 100 times (a zip bomb?); not scanned further" in err


def test_a_binary_bomb_costs_nothing_it_is_left_after_its_first_bytes(tmp_path: Path) -> None:
    stream, crc = deflated_fill()
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    (tmp_path / "zeros.img.gz").write_bytes(header + stream + struct.pack("<2I", crc, 1 << 30))
    done = run_cli("scan", ".", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"]["files_skipped"] == {"binary": 1}


def test_deep_nesting_is_named_and_exits_2(tmp_path: Path) -> None:
    data = zip_bytes({"deepest/.env": ENV})
    for level in range(5, 1, -1):  # five archives, one inside the next
        data = zip_bytes({f"level{level}.zip": data, f"level{level}/.env": ENV})
    (tmp_path / "level1.zip").write_bytes(data)
    code, sarif, err = sarif_scan(tmp_path, "level1.zip")
    assert code == 2
    assert "level1.zip!/level2.zip!/level3.zip!/level4.zip: archive nested more than 3 deep, not opened" in err
    # The three levels within the bound are scanned.
    assert uris(sarif) == {
        "level1.zip!/level2/.env",
        "level1.zip!/level2.zip!/level3/.env",
        "level1.zip!/level2.zip!/level3.zip!/level4/.env",
    }


def test_a_hundred_thousand_member_archive_is_named_and_exits_2(tmp_path: Path) -> None:
    entries = [(f"m/{i}.txt", b"", 0, 0, 0) for i in range(100_000)]
    (tmp_path / "many.zip").write_bytes(raw_zip(entries))
    code, _, err = sarif_scan(tmp_path, "many.zip")
    assert code == 2
    assert "many.zip: 100,000 members, over the limit of 50,000; not scanned further" in err


def test_an_encrypted_member_is_named_and_exits_2_the_others_are_scanned(tmp_path: Path) -> None:
    data = bytearray(zip_bytes({"secret.txt": b"x", "conf/.env": ENV}, zipfile.ZIP_STORED))
    # Set the "encrypted" flag of the first member, in its local and central headers.
    data[6] |= 1
    data[data.find(b"PK\x01\x02") + 8] |= 1
    (tmp_path / "locked.zip").write_bytes(bytes(data))
    code, sarif, err = sarif_scan(tmp_path, ".")
    assert code == 2
    assert "locked.zip!/secret.txt: encrypted zip member, not opened" in err
    assert uris(sarif) == {"locked.zip!/conf/.env"}
    # The SARIF file says what was not scanned, for a reader without stderr.
    [note] = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert note["level"] == "error" and note["descriptor"]["id"] == "not-scanned"
    assert note["message"]["text"] == "locked.zip!/secret.txt: encrypted zip member, not opened"


def test_a_broken_archive_is_named_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "cut.tar.gz").write_bytes(tar_bytes({"a/.env": ENV * 100}, "w:gz")[:60])
    (tmp_path / "bad.whl").write_bytes(b"PK\x03\x04" + bytes(100))
    done = run_in_process("scan", ".", cwd=tmp_path)
    assert done.returncode == 2
    assert "bad.whl: cannot read the zip archive" in done.stderr
    assert "cut.tar.gz: cannot read the gzip archive" in done.stderr


@pytest.mark.parametrize("damage", ["bad header", "cut header"])
@pytest.mark.parametrize("mode", ["w", "w:gz"])
def test_a_tar_that_breaks_after_its_first_member_is_named_and_exits_2(tmp_path: Path, damage: str, mode: str) -> None:
    # tarfile ends its listing without a word at a broken header after the
    # first: the members behind it (here the keys) were never read.
    data = bytearray(tar_bytes({"README.txt": b"notes\n", "b/.env": ENV, "c/.env": ENV}))
    second = 1024  # the first member: its header and one block of data
    if damage == "bad header":
        data[second] ^= 0x20  # its name changes, its checksum no longer holds
    else:
        del data[second + 100 :]  # the archive ends inside the header
    raw = bytes(data)
    if mode == "w:gz":
        raw = gzip.compress(raw)
    name = "release.tar.gz" if mode == "w:gz" else "release.tar"
    (tmp_path / name).write_bytes(raw)
    done = run_in_process("scan", ".", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    problem = "bad checksum" if damage == "bad header" else "truncated header"
    assert (
        f"{name}: cannot read the tar archive after its member README.txt ({problem}); the rest is not scanned"
        in done.stderr
    )
    assert KEY not in done.stdout + done.stderr


def test_a_tar_member_of_a_type_tar_does_not_know_is_read_as_a_file(tmp_path: Path) -> None:
    # tarfile reads a member of an unknown type as a regular file (POSIX:
    # "treated as a regular file"); left out, its key went unscanned.
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("conf/.env")
        info.size, info.type = len(ENV), b"Z"
        archive.addfile(info, io.BytesIO(ENV))
    (tmp_path / "odd.tar").write_bytes(buffer.getvalue())
    done = run_in_process("scan", ".", "--format", "json", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert [f["path"] for f in json.loads(done.stdout)["findings"]] == ["odd.tar!/conf/.env"] * 2


def test_7z_and_rar_are_not_opened_exit_2_when_named_noted_in_a_tree(tmp_path: Path) -> None:
    (tmp_path / "backup.7z").write_bytes(b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(32))
    (tmp_path / "backup.rar").write_bytes(b"Rar!\x1a\x07\x01\x00" + bytes(32))
    for name in ("backup.7z", "backup.rar"):
        done = run_in_process("scan", name, cwd=tmp_path)
        assert done.returncode == 2 and f"{name}: " in done.stderr and "not opened" in done.stderr
    walked = run_in_process("scan", ".", cwd=tmp_path)
    assert walked.returncode == 0 and "backup.7z: 7z archive, not opened" in walked.stderr


def test_the_budget_and_member_count_bound_tar_streams() -> None:
    text = b"x" * 1000 + b"\n"
    data = tar_bytes({f"f{i}.txt": text for i in range(50)}, "w:gz")
    report = ArchiveReport()
    found = list(archive_sources("a.tgz", data, "gzip", ArchiveLimits(max_member_size=1 << 20, max_members=10), report))
    assert len(found) == 10 and report.problems == ["a.tgz: more than 10 members; not scanned further"]
    report = ArchiveReport()
    limits = ArchiveLimits(max_member_size=1 << 20, max_total_bytes=20_000)
    found = list(archive_sources("a.tgz", data, "gzip", limits, report))
    assert len(found) < 50 and report.problems == [
        "a.tgz: more than 20,000 bytes decompressed (the budget per archive); not scanned further"
    ]


def mutated(
    rng: random.Random, seeds: list[bytes], count: int, *, edits: int, flips: float, cut: int
) -> Iterator[bytes]:
    """`count` copies of seeds, each with 1 to `edits` random bytes changed
    (a share `flips` of them) or runs of up to `cut` bytes deleted."""
    for _ in range(count):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, edits)):
            at = rng.randrange(len(data))
            if rng.random() < flips:
                data[at] = rng.randrange(256)
            else:
                del data[at : at + rng.randint(1, cut)]
        yield bytes(data)


def test_corrupt_archives_are_named_never_an_internal_error() -> None:
    # Seeded mutations of every kind (20,000 found zipfile's ValueError,
    # IndexError, UnicodeDecodeError and NotImplementedError on bad fields).
    rng = random.Random(23)
    seeds = [build() for build, _ in KINDS.values()]
    seeds.append(zip_bytes({"in.zip": zip_bytes({"b/.env": ENV}), "t.tgz": tar_bytes({"x": ENV}, "w:gz")}))
    opened = 0
    for data in mutated(rng, seeds, 2000, edits=6, flips=0.7, cut=50):
        kind = archive_kind(data)
        if kind is None:
            continue
        report = ArchiveReport()
        list(archive_sources("f", data, kind, ArchiveLimits(max_member_size=1 << 20), report))
        assert KEY not in " ".join(report.problems + report.messages)
        opened += 1
    assert opened > 1000


def test_isal_and_zlib_inflate_the_same_members(monkeypatch: pytest.MonkeyPatch) -> None:
    # Deflate goes through ISA-L where `isal` is installed (it is, in the
    # tests' environment), through zlib elsewhere: the same members, and the
    # same members named unreadable, on intact and on mutated archives (the
    # two word their errors differently, and may disagree on why a cut
    # stream fails: only the member named is compared).
    from maniac_guard.sources import inflate

    assert inflate.deflate_library().__name__ == "isal.isal_zlib"

    def read(data: bytes) -> tuple[object, list[str]]:
        report = ArchiveReport()
        kind = archive_kind(data)
        assert kind is not None
        members = [
            (s.path, s.data) for s in archive_sources("f", data, kind, ArchiveLimits(max_member_size=1 << 20), report)
        ]
        return members, [problem.split(" (", 1)[0] for problem in report.problems + report.messages]

    rng = random.Random(5)
    seeds = [build() for build, _ in KINDS.values()]
    seeds.append(zip_bytes({"in.zip": zip_bytes({"b/.env": ENV}), "big.bin": bytes(range(256)) * 2000}))
    compared = unreadable = 0
    for data in [*seeds, *mutated(rng, seeds, 1500, edits=3, flips=0.9, cut=20)]:
        if archive_kind(data) is None:
            continue
        by_isal = read(data)
        try:
            with monkeypatch.context() as patched:
                patched.setitem(sys.modules, "isal", None)  # as where isal has no wheel
                inflate.deflate_library.cache_clear()
                assert inflate.deflate_library() is zlib
                assert read(data) == by_isal
        finally:
            inflate.deflate_library.cache_clear()
        compared += 1
        unreadable += any("cannot read this member" in problem for problem in by_isal[1])
    assert compared > 1000 and unreadable > 50


def tar_of_every_kind(tar_format: int) -> bytes:
    """Members of every type and name shape, in one of tarfile's formats."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tar_format) as archive:

        def add(name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, link: str = "") -> None:
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.size = kind, link, len(data)
            archive.addfile(info, io.BytesIO(data) if data else None)

        add("pkg/", kind=tarfile.DIRTYPE)
        for size in (0, 1, 511, 512, 513, 70_000):
            add(f"pkg/file{size}.txt", (ENV * (size // len(ENV) + 1))[:size])
        add("pkg/conf/.env", ENV)
        add("pkg/lib.so", b"\x7fELF" + bytes(600))
        add("pkg/link", kind=tarfile.SYMTYPE, link="conf/.env")
        add("pkg/hard", kind=tarfile.LNKTYPE, link="pkg/conf/.env")
        add("pkg/fifo", kind=tarfile.FIFOTYPE)
        add("pkg/odd", ENV, kind=b"Z")
        add("pkg/contiguous", ENV, kind=tarfile.CONTTYPE)
        add("pkg/" + "deep/" * 30 + ".env", ENV)  # a ustar prefix, or a long-name header
        if tar_format != tarfile.USTAR_FORMAT:
            add("pkg/" + "x" * 120 + ".env", ENV)  # too long for a prefix: a long-name header
        add("pkg/café/.env", ENV)
    return buffer.getvalue()


def test_plain_tar_headers_read_without_tarfile_give_what_tarfile_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    # sources/tarstream.py reads plain headers itself and hands the rest to
    # tarfile at the first other one: the members, their bytes and every
    # problem are what tarfile alone gives (with the check for a listing
    # that breaks: archives._tarfile), on tars of every format and mutations.
    from maniac_guard.sources import archives

    def read(data: bytes) -> tuple[list[tuple[str, bytes]], list[str], list[str], object]:
        report = ArchiveReport()
        members = [
            (s.path, s.data) for s in archive_sources("f", data, "tar", ArchiveLimits(max_member_size=1 << 20), report)
        ]
        return members, report.problems, report.messages, report.skipped

    def by_tarfile(run: Any, stream: Any, shown: str, depth: int) -> Iterator[Any]:
        return run._tarfile(stream, shown, depth)  # type: ignore[no-any-return]

    seeds = [tar_of_every_kind(f) for f in (tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT)]
    seeds.append(tar_bytes({"a/.env": ENV, "b.txt": b"x" * 3000}))
    for size in (b"0000_000001\0", b"\x80" + bytes(10) + b"\x01"):  # valid for tarfile: its to read
        crafted = bytearray(tar_bytes({"a.txt": b"x", "b/.env": ENV}))
        crafted[512 * 2 + 124 : 512 * 2 + 136] = size  # the second header's size
        crafted[512 * 2 + 148 : 512 * 2 + 156] = b" " * 8
        crafted[512 * 2 + 148 : 512 * 2 + 155] = b"%06o\0" % sum(crafted[1024:1536])
        seeds.append(bytes(crafted))
    rng = random.Random(11)
    compared = broken = 0
    for data in [*seeds, b"", bytes(1024), bytes(100), *mutated(rng, seeds, 2000, edits=2, flips=0.8, cut=40)]:
        fast = read(data)
        with monkeypatch.context() as patched:
            patched.setattr(archives._Run, "_tar", by_tarfile)
            assert read(data) == fast
        compared += 1
        broken += any("after its member" in problem for problem in fast[1])
    members = read(seeds[2])[0]
    assert ("f!/pkg/café/.env", ENV) in members and len(members) >= 12
    assert compared > 2000 and broken > 50


def test_text_that_merely_starts_like_an_archive_is_text() -> None:
    assert archive_kind(b"BZh hello\n") is None
    assert archive_kind(b"x" * 257 + b"ustar is a tar format\n") is None
    assert archive_kind(b"BZh91AY&SY") == "bzip2"


# --- item 2: what `python -m build` produced ---------------------------------


def test_scan_dist_covers_what_python_m_build_produced(tmp_path: Path) -> None:
    project = tmp_path / "tiny"
    (project / "tiny").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["flit_core>=3.9"]\nbuild-backend = "flit_core.buildapi"\n\n'
        '[project]\nname = "tiny"\nversion = "1.0"\ndescription = "A tiny package"\n'
    )
    (project / "tiny" / "__init__.py").write_text('"""A tiny package."""\n')
    (project / "tiny" / ".env").write_bytes(ENV)  # swept into both by the build
    # No isolation: the backend is a test dependency; nothing is downloaded.
    built = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", "dist", "."],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    code, sarif, err = sarif_scan(project, "dist/")
    assert code == 1, err
    assert uris(sarif) >= {"dist/tiny-1.0-py2.py3-none-any.whl!/tiny/.env", "dist/tiny-1.0.tar.gz!/tiny-1.0/tiny/.env"}


# --- git gates -----------------------------------------------------------------


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    home = tmp_path / "home"
    home.mkdir()
    return make_repo(tmp_path / "repo", git_env(home))


def test_a_staged_wheel_is_opened_by_the_pre_commit_scan(repo: Repo) -> None:
    repo.write("README.md", "tiny\n")
    repo.commit("init")
    repo.write("vendor/pkg-1.0.whl", zip_bytes({"pkg/.env": ENV}))
    repo.write("vendor/locked.zip", b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(32))
    repo.git("add", ".")
    done = run_in_process("scan", "--staged", "--format", "json", cwd=repo.path, env=repo.env)
    assert done.returncode == 2, done.stderr  # the 7z cannot be opened: never clean
    assert {f["path"] for f in json.loads(done.stdout)["findings"]} == {"vendor/pkg-1.0.whl!/pkg/.env"}
    assert "vendor/locked.zip: 7z archive, not opened" in done.stderr


def test_history_and_the_git_gates_open_an_archive_a_commit_added(repo: Repo) -> None:
    repo.write("README.md", "tiny\n")
    repo.commit("init")
    repo.write("dist/pkg-1.0.whl", zip_bytes({"pkg/.env": ENV, "pkg/readme.txt": b"hello\n"}))
    first = repo.commit("add a wheel")
    other = f"MANIAC_API_KEY={fake_key('archive-two')}\n".encode()
    repo.write("dist/pkg-1.0.whl", zip_bytes({"pkg/.env": ENV, "pkg/readme.txt": b"hello\n", "pkg/more.env": other}))
    second = repo.commit("the wheel again, one member added")
    done = run_in_process("scan", "--history", "--format", "json", cwd=repo.path, env=repo.env)
    assert done.returncode == 1, done.stderr
    found = {(f["path"], f["commit"][:12]) for f in json.loads(done.stdout)["findings"] if f["rule_id"] == "MG101"}
    # What each commit added: the unchanged member is not reported again.
    assert found == {("dist/pkg-1.0.whl!/pkg/.env", first[:12]), ("dist/pkg-1.0.whl!/pkg/more.env", second[:12])}
    assert "not opened" not in done.stderr
    ci = run_in_process("scan", "--range", f"{first}..{second}", "--format", "json", cwd=repo.path, env=repo.env)
    assert {f["path"] for f in json.loads(ci.stdout)["findings"]} >= {"dist/pkg-1.0.whl!/pkg/more.env"}


def test_an_archive_history_cannot_open_is_exit_2_not_clean(repo: Repo) -> None:
    repo.write("README.md", "tiny\n")
    repo.commit("init")
    repo.write("vendor/locked.zip", b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(32))
    repo.write("vendor/bomb.zip", zip_bytes({"big.txt": b"a" * (4 << 20)}))
    sha = repo.commit("add archives")
    done = run_in_process("scan", "--history", cwd=repo.path, env=repo.env)
    assert done.returncode == 2, done.stderr
    assert "vendor/locked.zip: 7z archive, not opened (maniac-guard reads zip and tar) (at " + sha[:12] in done.stderr
    assert "vendor/bomb.zip!/big.txt: expands" in done.stderr


def test_fix_leaves_archives_alone(tmp_path: Path) -> None:
    wheel = zip_bytes({"pkg/client.py": PYTHON})
    (tmp_path / "pkg.whl").write_bytes(wheel)
    diff = run_in_process("scan", "--diff", ".", cwd=tmp_path)
    assert "cannot read" not in diff.stderr and "pkg.whl" not in diff.stdout
    fixed = run_in_process("scan", "--fix", ".", cwd=tmp_path)
    assert fixed.returncode == 1 and (tmp_path / "pkg.whl").read_bytes() == wheel


def test_baseline_update_does_not_prune_what_it_could_not_open(tmp_path: Path) -> None:
    (tmp_path / "b.zip").write_bytes(zip_bytes({"conf/.env": ENV}))
    assert run_in_process("baseline", "create", "-o", "base.json", cwd=tmp_path).returncode == 0
    before = (tmp_path / "base.json").read_text()
    (tmp_path / "b.zip").write_bytes(b"PK\x03\x04" + bytes(100))  # now unreadable
    updated = run_in_process("baseline", "update", "-o", "base.json", cwd=tmp_path)
    assert updated.returncode == 2 and "b.zip: cannot read the zip archive" in updated.stderr
    assert (tmp_path / "base.json").read_text() == before


def test_a_tree_scanned_by_several_processes_still_exits_2(tmp_path: Path) -> None:
    for i in range(150):  # enough files for the parallel scan
        (tmp_path / f"f{i:03}.txt").write_text("nothing here\n")
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04" + bytes(100))
    done = run_cli("scan", ".", "-j", "2", "--format", "json", cwd=tmp_path)
    assert done.returncode == 2
    report = json.loads(done.stdout)
    assert report["summary"]["incomplete"] == [
        "bad.zip: cannot read the zip archive (File is not a zip file); not scanned"
    ]


def test_a_member_is_read_after_its_own_local_header_not_the_central_one(tmp_path: Path) -> None:
    """Members are read where their local header says their bytes start: its
    extra field may be longer than the central directory's (zip tools add
    timestamps there), so the central lengths would point into the header."""
    data = zlib.compress(ENV)[2:-4]  # raw deflate, as zip stores it
    name, extra = b"conf/.env", struct.pack("<HH4s", 0xCAFE, 4, b"pad!")
    local = struct.pack(
        "<4s5H3I2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, zlib.crc32(ENV), len(data), len(ENV), len(name), len(extra)
    )
    central = struct.pack(
        "<4s6H3I5H2I",
        b"PK\x01\x02",
        20,
        20,
        0,
        8,
        0,
        0x21,
        zlib.crc32(ENV),
        len(data),
        len(ENV),
        len(name),
        0,
        0,
        0,
        0,
        0,
        0,
    )
    body = local + name + extra + data
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, 1, 1, len(central) + len(name), len(body), 0)
    (tmp_path / "odd.zip").write_bytes(body + central + name + end)
    code, sarif, err = sarif_scan(tmp_path, ".")
    assert code == 1, err
    assert uris(sarif) == {"odd.zip!/conf/.env"}


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_compiled_and_image_members_are_counted_binary_by_name_as_on_disk(tmp_path: Path, kind: str) -> None:
    """Members named like the files a walk never opens (`.pyc`, `.exe`,
    `.class`, `.png`...) are counted binary without being inflated (a jar
    is mostly `.class` files); the others are judged by their bytes."""
    members = {
        "app/Main.class": b"\xca\xfe\xba\xbe\0\0\0\x34" + KEY.encode(),
        "tool/launcher.EXE": b"MZ\x90\0" + KEY.encode(),
        "docs/logo.png": f"not really a png {KEY}\n".encode(),
        "blob.dat": b"\0" + KEY.encode(),
        "conf/.env": ENV,
    }
    archive = zip_bytes(members) if kind == "zip" else tar_bytes(members, "w:gz")
    (tmp_path / f"bundle.{kind}").write_bytes(archive)
    proc = run_in_process("scan", ".", "--format", "json", cwd=tmp_path)
    document = json.loads(proc.stdout)
    assert document["summary"]["files_skipped"] == {"binary": 4}, proc.stderr
    assert {f["path"] for f in document["findings"]} == {f"bundle.{kind}!/conf/.env"}


def test_keys_in_every_member_of_a_big_archive_named_alone_are_found(tmp_path: Path) -> None:
    """A wheel named alone is one file on disk but may hold thousands of
    members: the native prefilter is built once 100 have been read, and the
    members before, at and after that point are all still scanned."""
    members = {f"pkg/mod_{n:03}.py": f"VALUE = {n}\n".encode() for n in range(250)}
    planted = (0, 98, 99, 100, 249)
    for n in planted:
        members[f"pkg/mod_{n:03}.py"] = f'API = "{fake_key(f"member-{n}")}"\n'.encode()
    (tmp_path / "pkg-1.0-py3-none-any.whl").write_bytes(zip_bytes(members))
    proc = run_in_process("scan", "pkg-1.0-py3-none-any.whl", "--format", "json", cwd=tmp_path)
    paths = {f["path"] for f in json.loads(proc.stdout)["findings"]}
    assert paths == {f"pkg-1.0-py3-none-any.whl!/pkg/mod_{n:03}.py" for n in planted}, proc.stderr


# --- the central directory, read without zipfile (sources/zipdir.py) --------


def _zip_variants() -> list[bytes]:
    members = {"a/.env": ENV, "b/big.txt": PYTHON * 3000, "c/": b"", "d/naïve.txt": b"x\n", "e\0hidden": b"y"}
    variants = []
    for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        variants.append(zip_bytes(members, method))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", method) as archive:
            for name, data in members.items():
                with archive.open(name, "w", force_zip64=True) as member:
                    member.write(data)
            archive.comment = b"a comment PK"
        variants.append(buffer.getvalue())
        variants.append(b"#!/usr/bin/env python3\n" + zip_bytes(members, method))  # a zipapp
    variants.append(raw_zip([("x\\y.txt", b"z", 0, 0, 0), ("caf\xe9.txt", b"z", 0, 0, 0)]))
    return variants


def test_the_central_directory_reads_as_zipfile_reads_it() -> None:
    from maniac_guard.sources import zipdir

    def by_zipfile(data: bytes) -> object:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return [
                    (i.filename, i.flag_bits, i.compress_type, i.compress_size, i.file_size, i.header_offset)
                    for i in archive.infolist()
                ]
        except (zipfile.BadZipFile, NotImplementedError, UnicodeDecodeError) as exc:
            return str(exc)

    def by_zipdir(data: bytes) -> object:
        try:
            fileobj = io.BytesIO(data)
            return zipdir.read_entries(fileobj, zipdir.read_end(fileobj))
        except (ValueError, NotImplementedError) as exc:
            return str(exc)

    rng = random.Random(29)
    seeds = _zip_variants()
    # and seeded mutations, read or refused alike
    for data in [*seeds, *mutated(rng, seeds, 3000, edits=4, flips=0.8, cut=30)]:
        assert by_zipdir(data) == by_zipfile(data)
