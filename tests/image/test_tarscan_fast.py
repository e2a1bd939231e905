"""The compiled tar header loop (``decruft.image._tarscan``) against the pure-Python reference.

Every test here reads the same bytes twice through :class:`tarstream.SeekInput` -- once with
``DECRUFT_PURE_PYTHON_TAR=1`` (Python parses every header), once with the compiled loop -- and
requires identical headers, entries, warnings, file contents, progress and errors.  Inputs: the
archives the test builders write, the layer vectors of the shared test data, hypothesis-made tars
(ustar/GNU/PAX, long and non-UTF-8 names, prefixes, links, devices, base-256 numbers, sparse
members, PAX headers mid-stream, odd but legal octal spellings) and corrupt inputs.

Without the compiled module (no compiler at install time) the differential tests skip and the rest
of the suite runs on the Python loop; ``test_compiled_module_is_built`` fails instead when a
compiler was there, so CI notices a broken build.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sysconfig
import tarfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decruft.image import sources, tarstream
from decruft.image.model import Entry, EntryType

from tests.image.builders import ArchiveLayer, d, f, hl, ln, opq, tar_member, wh, write_docker_archive

BLOCK = 512
needs_compiled = pytest.mark.skipif(tarstream._tarscan is None, reason="decruft.image._tarscan is not built")
VECTORS = Path("/work/shared/testdata/layer_vectors.json")


# ------------------------------------------------------------------------------------ helpers


@contextmanager
def pure_python(enabled: bool):
    saved = os.environ.get(tarstream.PURE_PYTHON_ENV)
    if enabled:
        os.environ[tarstream.PURE_PYTHON_ENV] = "1"
    else:
        os.environ.pop(tarstream.PURE_PYTHON_ENV, None)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(tarstream.PURE_PYTHON_ENV, None)
        else:
            os.environ[tarstream.PURE_PYTHON_ENV] = saved


class CountingScan:
    """Wraps ``_tarscan.scan`` to count the headers the compiled loop took."""

    def __init__(self, module: Any) -> None:
        self._scan = module.scan
        self.taken = 0

    def scan(self, *args: Any) -> Any:
        batch, pos, reason = self._scan(*args)
        self.taken += len(batch)
        return batch, pos, reason


@pytest.fixture
def counting(monkeypatch):
    counter = CountingScan(tarstream._tarscan)
    monkeypatch.setattr(tarstream, "_tarscan", counter)
    return counter


def _error(exc: BaseException) -> tuple[str, str]:
    return type(exc).__name__, str(exc)


def read_window(fd: int, start: int, length: int, read_files: frozenset[str] | None = None) -> dict:
    """Everything observable of one pass over a window: headers, entries, warnings, errors."""
    out: dict[str, Any] = {}
    headers: list[Any] = []
    try:
        for h in tarstream.iter_headers(tarstream.SeekInput(fd, start, length)):
            headers.append(h)
    except tarstream.ImageError as exc:
        headers.append(_error(exc))
    out["headers"] = headers
    warn = tarstream.Warnings()
    contents: dict[str, bytes] = {}
    reported: list[int] = []
    inp = tarstream.SeekInput(fd, start, length, reported.append)
    try:
        out["entries"] = tarstream.read_entries(inp, warn=warn, read_files=read_files, contents=contents)
    except tarstream.ImageError as exc:
        out["entries"] = _error(exc)
    out["warnings"] = warn.finish()
    out["contents"] = contents
    out["end"] = inp.pos
    # The compiled loop reports once per batch instead of once per header: same last value, never backwards.
    assert reported == sorted(reported)
    out["last_progress"] = reported[-1] if reported else None
    return out


def both_ways(data: bytes, tmp_path: Path, *, lead: bytes = b"", trail: bytes = b"",
              read_files: frozenset[str] | None = None) -> dict:
    """Read ``data`` (placed between ``lead`` and ``trail`` in a file) with both loops; assert equal."""
    path = tmp_path / "window.bin"
    path.write_bytes(lead + data + trail)
    fd = os.open(path, os.O_RDONLY)
    try:
        with pure_python(True):
            reference = read_window(fd, len(lead), len(data), read_files)
        with pure_python(False):
            compiled = read_window(fd, len(lead), len(data), read_files)
    finally:
        os.close(fd)
    assert compiled == reference
    return reference


def tar_bytes(members: list[tarfile.TarInfo], bodies: dict[str, bytes] | None = None,
              fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt, encoding="utf-8", errors="surrogateescape") as tar:
        for info in members:
            body = (bodies or {}).get(info.name)
            tar.addfile(info, io.BytesIO(body) if body is not None else None)
    return buf.getvalue()


def info(name: str, kind: bytes = tarfile.REGTYPE, size: int = 0, **attrs: Any) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.size = size
    ti.mtime = 1_700_000_000
    for key, value in attrs.items():
        setattr(ti, key, value)
    return ti


def entries_tar(entries: list[Entry], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """A layer tar of builder entries (file bodies are zeros)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for entry in entries:
            ti = tar_member(entry)
            tar.addfile(ti, io.BytesIO(bytes(ti.size)) if ti.size else None)
    return buf.getvalue()


def set_checksum(block: bytearray, signed: bool = False) -> None:
    block[148:156] = b" " * 8
    total = sum((b - 256 if signed and b >= 128 else b) for b in block)
    block[148:156] = b"%06o\0 " % (total & 0o777777)


def header_offsets(data: bytes) -> list[int]:
    """Offsets of the header blocks of ``data`` (as Python's tarfile walks it)."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        return [m.offset for m in tar.getmembers()]


# ------------------------------------------------------------------------------- the build


def _compiler_present() -> bool:
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    include = sysconfig.get_paths()["include"]
    return shutil.which(cc) is not None and Path(include, "Python.h").exists()


def test_compiled_module_is_built():
    """A compiler and Python's headers are here, so ``pip install -e .`` must have built it."""
    if not _compiler_present():
        pytest.skip("no C compiler or Python headers: the pure-Python loop is the expected path")
    assert tarstream._tarscan is not None, (
        "decruft.image._tarscan did not build although a C compiler is present: run scripts/setup and read its output")
    module = Path(tarstream._tarscan.__file__)
    source = Path(tarstream.__file__).with_name("_tarscan.c")
    if module.parent == source.parent and source.exists():  # editable install: built beside the source
        assert module.stat().st_mtime >= source.stat().st_mtime, "the compiled module is older than _tarscan.c: run scripts/setup"


def test_environment_switches_to_pure_python(monkeypatch):
    monkeypatch.setenv(tarstream.PURE_PYTHON_ENV, "1")
    assert not tarstream.compiled_scan_available()
    monkeypatch.setenv(tarstream.PURE_PYTHON_ENV, "0")
    assert tarstream.compiled_scan_available() is (tarstream._tarscan is not None)


def test_pure_python_fallback_without_the_module(monkeypatch, tmp_path):
    """What an install without a compiler does: everything through the Python loop."""
    monkeypatch.setattr(tarstream, "_tarscan", None)
    data = entries_tar([d("etc"), f("etc/a", 700), ln("etc/b", "a"), wh("etc/c")])
    path = tmp_path / "l.tar"
    path.write_bytes(data)
    with open(path, "rb") as fh:
        scan = tarstream.scan_file_window(fh.fileno(), 0, len(data))
    assert [(e.path, e.type) for e in scan.entries] == [
        ("etc", EntryType.DIR), ("etc/a", EntryType.FILE), ("etc/b", EntryType.SYMLINK), ("etc/c", EntryType.WHITEOUT)]


# --------------------------------------------------------------------------- the C function


@needs_compiled
def test_scan_stops_and_reports_why(tmp_path):
    data = tar_bytes([info("a", size=3), info("dir/", tarfile.DIRTYPE), info("b" * 120, size=1)],
                     {"a": b"abc", "b" * 120: b"x"})
    path = tmp_path / "t.tar"
    path.write_bytes(data)
    scan = tarstream._tarscan.scan
    fd = os.open(path, os.O_RDONLY)
    try:
        headers, pos, reason = scan(fd, 0, len(data), 0, 100)
        assert [h[0] for h in headers] == ["a", "dir/"]
        assert headers[0] == ("a", "", "0", 3, 0o644, 0, 0, 1_700_000_000, 512, 3)
        assert headers[1][3] == 0 and headers[1][8] == 3 * BLOCK
        assert (pos, reason) == (3 * BLOCK, "handoff")  # the PAX header of the long name
        assert scan(fd, 0, len(data), 0, 1)[1:] == (2 * BLOCK, "limit")
        assert scan(fd, 0, 2 * BLOCK + 100, 0, 100)[1:] == (2 * BLOCK, "window")
        assert scan(fd, 0, len(data), len(data) - BLOCK, 100)[1:] == (len(data) - BLOCK, "end")
        # the file is shorter than the window claims
        assert scan(fd, 0, len(data) + 4 * BLOCK, len(data), 100)[1:] == (len(data), "read")
        with pytest.raises(ValueError):
            scan(fd, 0, 10, 11, 100)
        with pytest.raises(ValueError):
            scan(fd, 0, 10, 0, 0)
    finally:
        os.close(fd)


@needs_compiled
def test_scan_never_reads_past_the_window(tmp_path):
    """A valid header right after the window must not be taken; a body may not cross the end."""
    one = tar_bytes([info("a", size=600)], {"a": bytes(600)}, fmt=tarfile.USTAR_FORMAT)[: 3 * BLOCK]
    data = one + one
    path = tmp_path / "t.tar"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        headers, pos, reason = tarstream._tarscan.scan(fd, 0, 3 * BLOCK, 0, 100)
        assert len(headers) == 1 and (pos, reason) == (3 * BLOCK, "window")
        headers, pos, reason = tarstream._tarscan.scan(fd, 0, 3 * BLOCK - 1, 0, 100)
        assert headers == [] and (pos, reason) == (0, "handoff")  # Python raises "a body runs past the end"
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- differential


@needs_compiled
def test_builder_archives_read_the_same(tmp_path, counting):
    layers = [
        ArchiveLayer([d("etc"), f("etc/passwd", 1200), f("etc/group", 10), ln("etc/localtime", "/usr/share/zoneinfo/UTC"),
                      d("usr/lib/" + "x" * 150), f("usr/lib/" + "x" * 150 + "/libz.so", 70_000),
                      hl("usr/bin/vi", "etc/passwd"), f("opt/caf\u00e9", 5)]),
        ArchiveLayer([wh("etc/group"), opq("usr/lib"), f("etc/passwd", 1300, uid=1000, gid=1000, mode=0o600),
                      ln("bad", "../../../etc/shadow")]),
        ArchiveLayer([d(f"many/{i:03}") for i in range(300)]),
    ]
    path = tmp_path / "image.tar"
    write_docker_archive(path, layers, content=lambda i, e: bytes([i + 1]) * e.size if e.path == "etc/passwd" else None)
    results = []
    for pure in (True, False):
        with pure_python(pure):
            img = sources.open_image(str(path), read_files={"etc/passwd", "etc/group"})
        results.append(([layer.entries for layer in img.layers], img.warnings, img.file_contents,
                        [layer.diff_id for layer in img.layers]))
    assert results[0] == results[1]
    assert results[0][2] == {"etc/passwd": b"\x02" * 1300}
    assert counting.taken > 300


@needs_compiled
@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_layer_vectors_read_the_same(tmp_path, fmt):
    if not VECTORS.exists():
        pytest.skip("layer_vectors.json not found")
    from tests.image.builders import from_tar_names

    cases = json.loads(VECTORS.read_text())["whiteout_cases"]
    for case in cases:
        for names in (case["lower"], case["layer"]):
            both_ways(entries_tar(from_tar_names(names), fmt), tmp_path)
        # and as tar members named exactly as the vectors write them ("./a/", "a/.wh.b")
        raw = [info(n, tarfile.DIRTYPE if n.endswith("/") else tarfile.REGTYPE) for n in case["layer"]]
        both_ways(tar_bytes(raw, fmt=fmt), tmp_path)


@needs_compiled
def test_read_files_and_paths_the_python_loop_warns_about(tmp_path, counting):
    members = [info("./", tarfile.DIRTYPE), info("/abs/file", size=4), info("a/../../escape", size=2),
               info("keep/me", size=5), info("x/.wh..wh.aufs"), info("x/.wh."), info("link", tarfile.LNKTYPE, linkname="../out"),
               info("odd", b"Z"), info("contiguous", tarfile.CONTTYPE, size=3), info("dump", b"D", size=BLOCK)]
    bodies = {"/abs/file": b"abcd", "a/../../escape": b"no", "keep/me": b"hello", "contiguous": b"abc",
              "dump": bytes(BLOCK)}
    for fmt in (tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT):
        result = both_ways(tar_bytes(members, bodies, fmt), tmp_path, lead=bytes(3 * BLOCK), trail=b"\xff" * 2000,
                           read_files=frozenset({"keep/me", "abs/file", "contiguous"}))
        assert result["contents"] == {"keep/me": b"hello", "abs/file": b"abcd", "contiguous": b"abc"}
        assert len(result["warnings"]) == 6
    assert counting.taken > 0


# A name part: ASCII, non-ASCII, undecodable bytes (surrogateescape), dots that normalise away.
_name_part = st.one_of(
    st.text(alphabet="abcXYZ019_-.", min_size=1, max_size=12),
    st.text(alphabet="\u00e9\u4e2d\U0001f600a", min_size=1, max_size=4),
    st.sampled_from(["\udcff", "a\udc80b", "\udcc3", ".", "..", ".wh.x", ".wh..wh..opq"]),
)
_names = st.lists(_name_part, min_size=1, max_size=14).map("/".join)


@st.composite
def _member(draw) -> tuple[tarfile.TarInfo, bytes | None]:
    kind = draw(st.sampled_from([tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE,
                                 tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE,
                                 tarfile.CONTTYPE, b"D", b"Q"]))
    name = draw(_names)
    if kind == tarfile.DIRTYPE and draw(st.booleans()):
        name += "/"
    ti = info(name, kind)
    ti.mode = draw(st.integers(0, 0o7777))
    ti.uid = draw(st.one_of(st.integers(0, 70_000), st.just(0o7777777 + 5)))  # big: base-256 (GNU) or PAX
    ti.gid = draw(st.integers(0, 70_000))
    ti.mtime = draw(st.one_of(st.integers(0, 2**32), st.just(-5)))
    ti.uname = draw(st.sampled_from(["", "root", "\u00e9"]))
    if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
        ti.linkname = draw(_names)
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        ti.devmajor, ti.devminor = draw(st.integers(0, 300)), draw(st.integers(0, 300))
    body = None
    if kind in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE, b"D", b"Q"):
        body = draw(st.binary(max_size=1100))
        ti.size = len(body)
    if draw(st.integers(0, 9)) == 0:  # PAX records of our own, mid-stream (sparse 1.0 names, sizes)
        ti.pax_headers = draw(st.sampled_from([
            {"GNU.sparse.name": name + ".real", "GNU.sparse.realsize": "99999"},
            {"mtime": "1700000000.25"},
            {"comment": "x"},
        ]))
    return ti, body


def _write(members: list[tuple[tarfile.TarInfo, bytes | None]], fmt: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt, encoding="utf-8", errors="surrogateescape") as tar:
        for ti, body in members:
            if fmt != tarfile.PAX_FORMAT:
                ti.pax_headers = {}
            try:
                tar.addfile(ti, io.BytesIO(body) if body is not None else None)
            except ValueError:  # e.g. ustar cannot hold a long name or a big uid: leave it out
                continue
    return buf.getvalue()


# Spellings of a numeric field: the octal the writers use, legal oddities the Python parser
# accepts (leading spaces, NUL/space padding, no terminator, '+', '_'), base-256 and garbage.
_FIELD_SPELLINGS = [
    lambda w, v: b"%0*o\0" % (w - 1, v),
    lambda w, v: (b"%o" % v).rjust(w - 1, b" ") + b" ",
    lambda w, v: (b"%o" % v).ljust(w, b"\0"),
    lambda w, v: (b"%o " % v).ljust(w, b"\0"),
    lambda w, v: (b"%o\0" % v).ljust(w, b"x"),
    lambda w, v: (b"%0*o" % (w, v))[-w:],
    lambda w, v: (b"+%o" % v).ljust(w, b"\0"),
    lambda w, v: (b"0_%o" % v).ljust(w, b"\0"),
    lambda w, v: (b"\t%o" % v).ljust(w, b"\0"),
    lambda w, v: b"\x80" + v.to_bytes(w - 1, "big"),
    lambda w, v: b"\xff" * w,
    lambda w, v: b"\0" * w,
    lambda w, v: b" " * w,
    lambda w, v: b"12 34\0".ljust(w, b"\0"),
]
_FIELDS = {"mode": (100, 8), "uid": (108, 8), "gid": (116, 8), "size": (124, 12), "mtime": (136, 12),
           "typeflag": (156, 1), "prefix": (345, 155), "magic": (257, 8)}


@st.composite
def _mutation(draw) -> tuple[str, int, bytes, str]:
    field = draw(st.sampled_from(sorted(_FIELDS)))
    width = _FIELDS[field][1]
    if field == "typeflag":
        raw = draw(st.sampled_from([b"0", b"\0", b"1", b"2", b"5", b"7", b"D", b"L", b"x", b"g", b"S", b"?"]))
    elif field == "prefix":
        raw = draw(st.sampled_from([b"", b"pre", b"p\xff/q", b"\xc3", b"x" * 155])).ljust(width, b"\0")
    elif field == "magic":
        raw = draw(st.sampled_from([b"ustar\x0000", b"ustar  \0", bytes(8), b"ustar\0xx"]))
    else:
        value = draw(st.integers(0, 8**(width - 1) - 1)) if field != "size" else draw(st.integers(0, 1500))
        raw = draw(st.sampled_from(_FIELD_SPELLINGS))(width, value)[:width].ljust(width, b"\0")
    checksum = draw(st.sampled_from(["unsigned", "signed", "wrong", "spaced"]))
    return field, draw(st.integers(0, 10**6)), raw, checksum


def _mutate(data: bytes, mutations: list[tuple[str, int, bytes, str]]) -> bytes:
    offsets = header_offsets(data)
    out = bytearray(data)
    for field, which, raw, checksum in mutations:
        if not offsets:
            break
        at = offsets[which % len(offsets)]
        start, width = _FIELDS[field]
        block = out[at : at + BLOCK]
        block[start : start + width] = raw
        set_checksum(block, signed=checksum == "signed")
        if checksum == "wrong":
            block[148] = ord("7") if block[148] != ord("7") else ord("6")
        elif checksum == "spaced":  # leading spaces, NUL and space after: legal
            block[148:156] = b" " + bytes(block[149:154]) + b"\0 "
        out[at : at + BLOCK] = block
    return bytes(out)


_SETTINGS = settings(max_examples=int(os.environ.get("TARSCAN_EXAMPLES", "150")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                             HealthCheck.too_slow])


@needs_compiled
@_SETTINGS
@given(members=st.lists(_member(), max_size=12),
       fmt=st.sampled_from([tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]),
       global_pax=st.booleans())
def test_generated_tars_read_the_same(tmp_path, members, fmt, global_pax):
    data = _write(members, fmt)
    if global_pax and fmt == tarfile.PAX_FORMAT:  # a global header in the middle
        cut = len(data) // 2 // BLOCK * BLOCK
        header = tarfile.TarInfo.create_pax_global_header({"comment": "made by git"})
        offsets = header_offsets(data)
        cut = max((o for o in offsets if o <= cut), default=0)
        data = data[:cut] + header + data[cut:]
    both_ways(data, tmp_path, lead=b"\x01" * BLOCK, trail=b"junk" * 300)


@needs_compiled
@_SETTINGS
@given(members=st.lists(_member(), min_size=1, max_size=6),
       fmt=st.sampled_from([tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]),
       mutations=st.lists(_mutation(), min_size=1, max_size=3))
def test_mutated_headers_read_the_same(tmp_path, members, fmt, mutations):
    data = _write(members, fmt)
    both_ways(_mutate(data, mutations), tmp_path)


@needs_compiled
def test_old_gnu_sparse_and_base256_members(tmp_path):
    """Old GNU sparse ('S', with an extension block) and base-256 sizes and ids between plain members."""
    plain = [info("a", size=3), info("b", size=0)]
    data = bytearray(tar_bytes(plain, {"a": b"abc"}, tarfile.GNU_FORMAT))
    sparse = bytearray(tarfile.TarInfo("sparse").tobuf(tarfile.GNU_FORMAT))
    sparse[156:157] = b"S"
    sparse[124:136] = b"%011o\0" % BLOCK
    sparse[483:495] = b"%011o\0" % 100_000
    sparse[482] = 1  # one extension block follows
    set_checksum(sparse)
    big = bytearray(info("huge-uid", tarfile.SYMTYPE, linkname="a").tobuf(tarfile.GNU_FORMAT))
    big[108:116] = b"\x80" + (2**40).to_bytes(7, "big")
    big[124:136] = b"\x80" + (5).to_bytes(11, "big")  # a header-only type: size ignored
    set_checksum(big)
    tail = tar_bytes([info("after", size=2)], {"after": b"zz"}, tarfile.GNU_FORMAT)
    data = bytes(data[: 3 * BLOCK]) + bytes(sparse) + bytes(BLOCK) + bytes(BLOCK) + bytes(big) + tail
    result = both_ways(data, tmp_path)
    assert [e.path for e in result["entries"]] == ["a", "b", "sparse", "huge-uid", "after"]


@needs_compiled
def test_every_truncation_reads_the_same(tmp_path):
    data = tar_bytes([info("dir/", tarfile.DIRTYPE), info("f", size=700), info("l" * 130, size=3),
                      info("s", tarfile.SYMTYPE, linkname="f"), info("g", size=5)],
                     {"f": bytes(700), "l" * 130: b"xyz", "g": b"hello"}, tarfile.PAX_FORMAT)
    path = tmp_path / "t.tar"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        for length in range(0, len(data) + 1, 1):
            with pure_python(True):
                reference = read_window(fd, 0, length)
            with pure_python(False):
                compiled = read_window(fd, 0, length)
            assert compiled == reference, length
    finally:
        os.close(fd)


@needs_compiled
def test_a_file_shorter_than_its_window_reads_the_same(tmp_path):
    data = tar_bytes([info("f", size=700), info("g", size=5)], {"f": bytes(700), "g": b"hello"}, tarfile.USTAR_FORMAT)
    for cut in (BLOCK, BLOCK + 100, 3 * BLOCK, 3 * BLOCK + 7, 4 * BLOCK):
        path = tmp_path / "short.tar"
        path.write_bytes(data[:cut])
        fd = os.open(path, os.O_RDONLY)
        try:
            with pure_python(True):
                reference = read_window(fd, 0, len(data))
            with pure_python(False):
                compiled = read_window(fd, 0, len(data))
        finally:
            os.close(fd)
        assert compiled == reference, cut


@needs_compiled
def test_every_flipped_header_byte_reads_the_same(tmp_path):
    """Each byte of the second header (checksum included) flipped: a bad checksum, or a different header."""
    data = tar_bytes([info("a", size=3), info("bb", size=1), info("c", tarfile.DIRTYPE)],
                     {"a": b"abc", "bb": b"x"}, tarfile.USTAR_FORMAT)
    second = header_offsets(data)[1]
    for i in range(BLOCK):
        for flip in (0x01, 0x80):
            corrupt = bytearray(data)
            corrupt[second + i] ^= flip
            both_ways(bytes(corrupt), tmp_path)


@needs_compiled
def test_bodies_past_the_end_and_batches_and_budget(tmp_path, monkeypatch, counting):
    """A body running past the window; more headers than one compiled batch; the entry budget."""
    monkeypatch.setattr(tarstream, "COMPILED_BATCH", 7)
    members = [info(f"f{i:03}", size=i % 3) for i in range(50)]
    data = tar_bytes(members, {f"f{i:03}": b"x" * (i % 3) for i in range(50)}, tarfile.USTAR_FORMAT)
    result = both_ways(data, tmp_path)
    assert len(result["entries"]) == 50
    assert counting.taken >= 50
    offsets = header_offsets(data)
    both_ways(data[: offsets[20] + BLOCK + 1], tmp_path)  # f020 has a 2-byte body: its padding is cut
    path = tmp_path / "t.tar"
    path.write_bytes(data)
    errors = []
    for pure in (True, False):
        with pure_python(pure), open(path, "rb") as fh:
            with pytest.raises(tarstream.TooManyEntriesError) as exc:
                tarstream.read_entries(tarstream.SeekInput(fh.fileno(), 0, len(data)), budget=tarstream.EntryBudget(20))
            errors.append(str(exc.value))
    assert errors[0] == errors[1]


@needs_compiled
def test_pax_on_every_member_backs_off(tmp_path, counting):
    """When every member has a PAX header the compiled loop is tried rarely, not once per member."""
    members = []
    for i in range(400):
        ti = info(f"f{i}", size=0)
        ti.pax_headers = {"mtime": "1700000000.5"}
        members.append(ti)
    data = tar_bytes(members, fmt=tarfile.PAX_FORMAT)
    calls = []
    real = counting.scan

    def spy(*args):
        calls.append(args)
        return real(*args)

    counting.scan = spy  # type: ignore[method-assign]
    both_ways(data, tmp_path)
    assert counting.taken == 0
    assert len(calls) < 2 * (400 // tarstream.COMPILED_MAX_BACKOFF + 8)
