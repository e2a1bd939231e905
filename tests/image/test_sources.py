"""Image sources: docker save archives (three layouts), OCI layout directories, the daemon's save
stream, registries (token auth against an in-test server), the tar header reader, bad input.

Archives are built here with :mod:`tarfile` in ``tmp_path``; tests marked ``docker`` build a
small image with the real engine and read it through the daemon, a ``docker save`` archive and
the local registry on 127.0.0.1:5000, which must agree.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.server
import io
import json
import os
import socket
import subprocess
import tarfile
import threading
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import zstandard

from decruft.errors import DecruftError
from decruft.image import registry as registry_mod
from decruft.image import tarstream
from decruft.image.model import EntryType
from decruft.image.sources import (
    CorruptImageError,
    DigestMismatchError,
    ImageNotFoundError,
    ImageUnauthorizedError,
    PlatformNotFoundError,
    SourceUnreachableError,
    TooManyEntriesError,
    UnsupportedMediaTypeError,
    map_history,
    open_image,
    read_save_stream,
)

VECTORS = Path("/work/shared/testdata/layer_vectors.json")
if not VECTORS.exists():
    VECTORS = Path(__file__).resolve().parent.parent / "data" / "layer_vectors.json"

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_MT = {
    "none": "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}


# ================================================================================ builders


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def M(name: str, kind: str = "file", data: bytes = b"", link: str = "", mode: int | None = None) -> dict:
    return {"name": name, "kind": kind, "data": data, "link": link, "mode": mode}


def make_tar(members: list[dict], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for m in members:
            info = tarfile.TarInfo(m["name"])
            info.mtime = 1_700_000_000
            kind = m["kind"]
            if kind == "file":
                info.size = len(m["data"])
                info.mode = m["mode"] or 0o644
                tar.addfile(info, io.BytesIO(m["data"]))
                continue
            info.type = {
                "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
                "char": tarfile.CHRTYPE, "block": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE,
            }[kind]
            info.mode = m["mode"] or (0o755 if kind == "dir" else 0o777 if kind == "symlink" else 0o644)
            info.linkname = m["link"]
            if kind in ("char", "block"):
                info.devmajor, info.devminor = 1, 3
            tar.addfile(info)
    return buf.getvalue()


def compress(data: bytes, kind: str) -> bytes:
    if kind == "gzip":
        return gzip.compress(data, mtime=0)
    if kind == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    return data


@dataclass
class BLayer:
    tar: bytes
    blob: bytes
    compression: str

    @property
    def diff_id(self) -> str:
        return sha(self.tar)

    @property
    def digest(self) -> str:
        return sha(self.blob)

    @property
    def media_type(self) -> str:
        return LAYER_MT[self.compression]


def blayer(members: list[dict], compression: str = "none", fmt: int = tarfile.PAX_FORMAT) -> BLayer:
    tar = make_tar(members, fmt)
    return BLayer(tar, compress(tar, compression), compression)


def make_config(layers: list[BLayer], *, arch: str = "amd64", os_: str = "linux", variant: str | None = None,
                history: list[dict] | None = None) -> bytes:
    if history is None:
        history = []
        for i, _ in enumerate(layers):
            history.append({"created_by": f"RUN step {i} # buildkit"})
            history.append({"created_by": 'CMD ["sh"]', "empty_layer": True})
    cfg: dict[str, Any] = {
        "architecture": arch, "os": os_, "config": {"Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [l.diff_id for l in layers]},
        "history": history,
    }
    if variant:
        cfg["variant"] = variant
    return json.dumps(cfg).encode()


LAYER_A = [M("etc/", "dir"), M("etc/hostname", data=b"box\n"), M("bin/", "dir"),
           M("bin/sh", data=b"\x7fELF" + b"x" * 2000, mode=0o755)]
LAYER_B = [M("./etc/", "dir"), M("./etc/.wh.hostname", data=b""), M("./usr/", "dir"),
           M("./usr/share/", "dir"), M("./usr/share/.wh..wh..opq", data=b""),
           M("./usr/share/doc.txt", data=b"doc" * 100), M("./bin/ls", "hardlink", link="bin/sh"),
           M("./bin/sh2", "symlink", link="sh")]


def write_tar(path: Path, files: list[tuple[str, Any]]) -> Path:
    """Outer archive: (name, bytes) files, (name, ("symlink", target)), (name, None) dirs, in order."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, value in files:
            info = tarfile.TarInfo(name)
            if value is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            elif isinstance(value, tuple):
                info.type = tarfile.SYMTYPE if value[0] == "symlink" else tarfile.LNKTYPE
                info.linkname = value[1]
                tar.addfile(info)
            else:
                info.size = len(value)
                tar.addfile(info, io.BytesIO(value))
    return path


def legacy_files(layers: list[BLayer], config: bytes, *, tags: list[str] | None = None,
                 symlink_repeats: bool = True) -> list[tuple[str, Any]]:
    """Docker <= 24 ``docker save``: <v1id>/{VERSION,json,layer.tar}, <config-hex>.json, manifest.json."""
    files: list[tuple[str, Any]] = []
    names: list[str] = []
    first_for: dict[str, str] = {}
    for i, lay in enumerate(layers):
        v1 = hashlib.sha256(f"{i}{lay.diff_id}".encode()).hexdigest()
        files += [(f"{v1}/", None), (f"{v1}/VERSION", b"1.0"), (f"{v1}/json", b'{"id":"%s"}' % v1.encode())]
        if symlink_repeats and lay.diff_id in first_for:
            files.append((f"{v1}/layer.tar", ("symlink", f"../{first_for[lay.diff_id]}/layer.tar")))
        else:
            files.append((f"{v1}/layer.tar", lay.blob))
            first_for.setdefault(lay.diff_id, v1)
        names.append(f"{v1}/layer.tar")
    cfg_name = hashlib.sha256(config).hexdigest() + ".json"
    files.append((cfg_name, config))
    manifest = [{"Config": cfg_name, "RepoTags": tags or ["test:latest"], "Layers": names}]
    files.append(("manifest.json", json.dumps(manifest).encode()))
    files.append(("repositories", b'{"test":{"latest":"x"}}'))
    return files


@dataclass
class OciImage:
    blobs: dict[str, bytes]
    index: dict
    manifest_digests: dict[str, str]  # platform -> manifest digest


def oci_image(per_platform: dict[str, list[BLayer]], *, nested: bool = True, attestation: bool = True,
              name: str = "docker.io/library/test:latest") -> OciImage:
    """An OCI index (nested as the containerd store writes it) with one manifest per platform."""
    blobs: dict[str, bytes] = {}
    descs = []
    digests = {}
    for plat, layers in per_platform.items():
        os_, arch, *rest = plat.split("/")
        variant = rest[0] if rest else None
        config = make_config(layers, arch=arch, os_=os_, variant=variant)
        blobs[sha(config)] = config
        for lay in layers:
            blobs[lay.digest] = lay.blob
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": sha(config), "size": len(config)},
            "layers": [{"mediaType": l.media_type, "digest": l.digest, "size": len(l.blob)} for l in layers],
        }).encode()
        blobs[sha(manifest)] = manifest
        digests[plat] = sha(manifest)
        platform: dict[str, str] = {"os": os_, "architecture": arch}
        if variant:
            platform["variant"] = variant
        descs.append({"mediaType": OCI_MANIFEST, "digest": sha(manifest), "size": len(manifest), "platform": platform})
        if attestation:
            statement = b'{"_type":"https://in-toto.io/Statement/v0.1"}'
            blobs[sha(statement)] = statement
            empty = b"{}"
            blobs[sha(empty)] = empty
            att = json.dumps({
                "schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha(empty), "size": 2},
                "layers": [{"mediaType": "application/vnd.in-toto+json", "digest": sha(statement),
                            "size": len(statement)}],
            }).encode()
            blobs[sha(att)] = att
            descs.append({"mediaType": OCI_MANIFEST, "digest": sha(att), "size": len(att),
                          "platform": {"os": "unknown", "architecture": "unknown"},
                          "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                                          "vnd.docker.reference.digest": sha(manifest)}})
    inner = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descs}
    if nested:
        inner_bytes = json.dumps(inner).encode()
        blobs[sha(inner_bytes)] = inner_bytes
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [{
            "mediaType": OCI_INDEX, "digest": sha(inner_bytes), "size": len(inner_bytes),
            "annotations": {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": "latest"}}]}
    else:
        index = inner
    return OciImage(blobs, index, digests)


def oci_files(img: OciImage, omit: set[str] = frozenset(), manifest_json: list | None = None) -> list[tuple[str, Any]]:
    files: list[tuple[str, Any]] = [("blobs/", None), ("blobs/sha256/", None)]
    for digest, data in img.blobs.items():
        if digest not in omit:
            files.append((f"blobs/sha256/{digest[7:]}", data))
    files.append(("index.json", json.dumps(img.index).encode()))
    files.append(("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'))
    if manifest_json is not None:
        files.append(("manifest.json", json.dumps(manifest_json).encode()))
    return files


def write_dir(root: Path, files: list[tuple[str, Any]]) -> Path:
    for name, value in files:
        path = root / name
        if value is None:
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(value)
    return root


def docker25_files(layers: list[BLayer], config: bytes) -> list[tuple[str, Any]]:
    """Docker >= 25 classic store: OCI layout inside the tar, uncompressed layers, plus manifest.json."""
    assert all(l.compression == "none" for l in layers)
    img = oci_image({"linux/amd64": layers}, nested=False, attestation=False)
    # replace the generated config with the given one (same diff_ids)
    manifest = json.loads(img.blobs[img.manifest_digests["linux/amd64"]])
    del img.blobs[manifest["config"]["digest"]]
    img.blobs[sha(config)] = config
    manifest["config"] = {"mediaType": OCI_CONFIG, "digest": sha(config), "size": len(config)}
    mbytes = json.dumps(manifest).encode()
    del img.blobs[img.manifest_digests["linux/amd64"]]
    img.blobs[sha(mbytes)] = mbytes
    img.index = {"schemaVersion": 2, "manifests": [{
        "mediaType": OCI_MANIFEST, "digest": sha(mbytes), "size": len(mbytes),
        "annotations": {"io.containerd.image.name": "docker.io/library/test:latest",
                        "org.opencontainers.image.ref.name": "latest"}}]}
    legacy = [{"Config": f"blobs/sha256/{sha(config)[7:]}", "RepoTags": ["test:latest"],
               "Layers": [f"blobs/sha256/{l.digest[7:]}" for l in layers]}]
    return oci_files(img, manifest_json=legacy)


class NonSeekable(io.RawIOBase):
    """A forward-only reader that hands out at most ``chunk`` bytes per call (like a socket)."""

    def __init__(self, data: bytes, chunk: int = 7000):
        self._b = io.BytesIO(data)
        self._chunk = chunk

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        return self._b.read(min(self._chunk, n) if n and n > 0 else self._chunk)


def summary(img) -> list[tuple]:
    return [(l.diff_id, l.tar_size, [(e.path, e.type.value, e.size, e.linkname) for e in l.entries])
            for l in img.layers]


# ================================================================================ tar reader


def headers(data: bytes) -> list[tarstream.TarHeader]:
    return list(tarstream.iter_headers(tarstream.SeqInput(io.BytesIO(data))))


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT])
def test_long_names_in_every_format(fmt):
    long_dir = "d" * 90 + "/" + "e" * 60  # > 100: ustar prefix, GNU 'L', PAX path
    members = [M(long_dir + "/", "dir"), M(long_dir + "/file.txt", data=b"hello")]
    if fmt != tarfile.USTAR_FORMAT:
        members.append(M("x/" + "n" * 300, data=b"long"))
        members.append(M("y/link", "symlink", link="t" * 150))
        members.append(M("y/hard", "hardlink", link="x/" + "n" * 300))
    got = headers(make_tar(members, fmt))
    assert [h.name.rstrip("/") for h in got] == [m["name"].rstrip("/") for m in members]
    assert got[1].size == 5
    if fmt != tarfile.USTAR_FORMAT:
        assert got[3].linkname == "t" * 150
        assert got[4].linkname == "x/" + "n" * 300


def test_pax_unicode_sizes_and_ids():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("caf\u00e9/\u65e5\u672c.txt")
        info.size = 3
        info.uid = 10_000_000  # does not fit the octal field: PAX uid
        info.mtime = 1_700_000_000.5
        tar.addfile(info, io.BytesIO(b"abc"))
    (h,) = headers(buf.getvalue())
    assert h.name == "caf\u00e9/\u65e5\u672c.txt"
    assert h.uid == 10_000_000
    assert h.mtime == 1_700_000_000


def test_gnu_base256_numbers():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo("big-uid")
        info.uid = 0o77777777 + 5  # base-256 in GNU format
        tar.addfile(info, io.BytesIO(b""))
    (h,) = headers(buf.getvalue())
    assert h.uid == 0o77777777 + 5


def test_pax_global_header_applies_to_following_members():
    glob = b"".join(r for r in [_pax_record("uid", "4242")])
    data = _raw_member("pax_global_header", b"g", glob) + _raw_member("a", b"0", b"x") + bytes(1024)
    (h,) = headers(data)
    assert h.name == "a" and h.uid == 4242


def _pax_record(key: str, value: str) -> bytes:
    body = f" {key}={value}\n".encode()
    n = len(body) + 1
    while len(str(n)) + len(body) != n:
        n = len(str(n)) + len(body)
    return str(n).encode() + body


def _raw_member(name: str, typeflag: bytes, body: bytes) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = len(body)
    info.type = typeflag
    block = info.tobuf(format=tarfile.USTAR_FORMAT)
    return block + body + bytes(-len(body) % 512)


def test_bad_checksum_is_an_error():
    data = bytearray(make_tar([M("a", data=b"x")], tarfile.USTAR_FORMAT))
    data[0] = ord("b")  # name changed, checksum not
    with pytest.raises(CorruptImageError, match="checksum"):
        headers(bytes(data))


def test_truncated_tar_is_an_error():
    data = make_tar([M("a", data=b"x" * 5000), M("b", data=b"y")], tarfile.USTAR_FORMAT)
    with pytest.raises(CorruptImageError, match="truncated"):
        headers(data[:1500])  # inside a's body
    with pytest.raises(CorruptImageError, match="truncated"):
        headers(data[:300])  # inside the first header


def test_missing_end_marker_is_tolerated():
    data = make_tar([M("a", data=b"x")], tarfile.USTAR_FORMAT)
    assert [h.name for h in headers(data[:1024])] == ["a"]


def test_normalize_path():
    n = tarstream.normalize_path
    assert n("./a/b/") == "a/b"
    assert n("/etc//x") == "etc/x"
    assert n("a/./b/../c") == "a/c"
    assert n("./") == "" and n("/") == ""
    assert n("../etc/passwd") is None
    assert n("a/../../x") is None


def test_seek_input_lists_without_reading_bodies(tmp_path):
    """An uncompressed layer in a file is listed by reading headers only (os.pread calls counted)."""
    big = b"\0" * (4 << 20)
    data = make_tar([M("big1", data=big), M("big2", data=big), M("small", data=b"s")])
    path = tmp_path / "layer.tar"
    path.write_bytes(data)
    reads: list[int] = []
    real = os.pread

    def counting(fd, n, off):
        reads.append(n)
        return real(fd, n, off)

    with open(path, "rb") as fh:
        tarstream.os.pread, saved = counting, tarstream.os.pread
        try:
            scan = tarstream.scan_file_window(fh.fileno(), 0, len(data))
        finally:
            tarstream.os.pread = saved
    assert [e.path for e in scan.entries] == ["big1", "big2", "small"]
    assert sum(reads) < 512 * 1024  # 8 MiB of bodies never read
    assert scan.diff_id is None and scan.tar_size == len(data)


# ================================================================================ entries


def scan_members(members: list[dict], compression: str = "none", hash_contents: bool = False,
                 fmt: int = tarfile.PAX_FORMAT) -> tarstream.LayerScan:
    lay = blayer(members, compression, fmt)
    scan = tarstream.scan_stream(io.BytesIO(lay.blob), hash_contents=hash_contents)
    assert scan.diff_id == lay.diff_id and scan.digest == lay.digest
    return scan


def test_entry_types_and_normalisation():
    scan = scan_members([
        M("./", "dir"), M("./etc/", "dir"), M("/abs/file", data=b"12345"), M("etc/hard", "hardlink", link="/abs/file"),
        M("dev/null", "char"), M("dev/sda", "block"), M("run/fifo", "fifo"), M("etc/sym", "symlink", link="../abs/file"),
    ])
    got = [(e.path, e.type, e.size, e.linkname) for e in scan.entries]
    assert got == [
        ("etc", EntryType.DIR, 0, None),
        ("abs/file", EntryType.FILE, 5, None),
        ("etc/hard", EntryType.HARDLINK, 0, "abs/file"),
        ("dev/null", EntryType.CHAR, 0, None),
        ("dev/sda", EntryType.BLOCK, 0, None),
        ("run/fifo", EntryType.FIFO, 0, None),
        ("etc/sym", EntryType.SYMLINK, 0, "../abs/file"),
    ]
    assert any("absolute path '/abs/file'" in w for w in scan.warnings)


def test_whiteouts_and_opaque_markers():
    scan = scan_members(LAYER_B)
    by_path = {(e.path, e.type) for e in scan.entries}
    assert ("etc/hostname", EntryType.WHITEOUT) in by_path
    assert ("usr/share", EntryType.OPAQUE) in by_path
    assert ("bin/ls", EntryType.HARDLINK) in by_path
    assert not any(".wh." in e.path for e in scan.entries)
    root = scan_members([M(".wh..wh..opq"), M(".wh.top")])
    assert [(e.path, e.type) for e in root.entries] == [("", EntryType.OPAQUE), ("top", EntryType.WHITEOUT)]


def test_escapes_are_skipped_with_warnings():
    scan = scan_members([
        M("../evil", data=b"x"), M("a/../../evil2", data=b"x"), M("ok", data=b"1"),
        M("h1", "hardlink", link="../../etc/passwd"), M("s1", "symlink", link="../../../etc/passwd"),
        M("s2", "symlink", link="/etc/passwd"), M(".wh..", data=b""),
    ])
    assert [e.path for e in scan.entries] == ["ok", "s1", "s2"]
    text = "\n".join(scan.warnings)
    assert "'../evil'" in text and "'a/../../evil2'" in text
    assert "hard link 'h1'" in text
    assert "symlink 's1'" in text and "'s2'" not in text  # absolute symlinks stay in the root
    assert "names no file" in text


def test_warnings_are_capped():
    scan = scan_members([M(f"../x{i}", data=b"") for i in range(200)])
    assert len(scan.warnings) == tarstream.WARN_LIMIT + 1
    assert scan.warnings[-1].startswith("150 more path-escape warnings")


def _apply(lower: list, layer: list) -> list[str]:
    """Apply one layer's entries onto a set of lower paths, per the OCI spec."""
    tree = {e.path: e.type for e in lower}
    _add_parents(tree)
    for e in layer:  # opaque markers first (order inside the layer must not matter)
        if e.type is EntryType.OPAQUE:
            tree = {p: t for p, t in tree.items() if not p.startswith(e.path + "/")}
    for e in layer:
        if e.type is EntryType.WHITEOUT:
            tree = {p: t for p, t in tree.items() if p != e.path and not p.startswith(e.path + "/")}
        elif e.type is not EntryType.OPAQUE:
            tree[e.path] = e.type
    _add_parents(tree)
    return sorted(p + "/" if t is EntryType.DIR else p for p, t in tree.items())


def _add_parents(tree: dict) -> None:
    for path in list(tree):  # implied parent directories
        parts = path.split("/")
        for i in range(1, len(parts)):
            tree.setdefault("/".join(parts[:i]), EntryType.DIR)


def _members_from_names(names: list[str]) -> list[dict]:
    return [M(n, "dir") if n.endswith("/") else M(n, data=b"") for n in names]


@pytest.mark.skipif(not VECTORS.exists(), reason="layer_vectors.json not found")
@pytest.mark.parametrize("case", json.loads(VECTORS.read_text())["whiteout_cases"] if VECTORS.exists() else [],
                         ids=lambda c: c["name"])
@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"])
def test_layer_vectors_whiteouts(case, compression):
    lower = scan_members(_members_from_names(case["lower"]), compression).entries
    upper = scan_members(_members_from_names(case["layer"]), compression).entries
    assert _apply(lower, upper) == sorted(case["result"])


@pytest.mark.skipif(not VECTORS.exists(), reason="layer_vectors.json not found")
def test_layer_vectors_history_mapping(tmp_path):
    case = json.loads(VECTORS.read_text())["history_mapping"][0]
    from decruft.image.sources import _history_entries

    history = _history_entries({"history": case["history"]})
    per_layer, warning = map_history(history, len(case["diff_ids"]))
    assert warning is None
    for h_index, layer_index in case["expected_mapping"].items():
        if layer_index is not None:
            assert per_layer[layer_index] is history[int(h_index)]
    # and end to end: the archive's layers carry those history entries
    layers = [blayer([M("a", data=b"1")]), blayer([M("b", data=b"2")])]
    cfg = json.loads(make_config(layers))
    cfg["history"] = case["history"]
    img = open_image(str(write_tar(tmp_path / "a.tar", legacy_files(layers, json.dumps(cfg).encode()))))
    assert [l.created_by for l in img.layers] == [case["history"][0]["created_by"], case["history"][2]["created_by"]]
    assert len(img.history) == 3 and img.history[1].empty_layer


def test_history_count_mismatch_is_a_warning(tmp_path):
    layers = [blayer([M("a", data=b"1")]), blayer([M("b", data=b"2")])]
    cfg = make_config(layers, history=[{"created_by": "only one"}])
    img = open_image(str(write_tar(tmp_path / "a.tar", legacy_files(layers, cfg))))
    assert img.layers[0].created_by == "only one" and img.layers[1].history is None
    assert any("1 non-empty entries for 2 layers" in w for w in img.warnings)


def test_hash_contents():
    scan = scan_members([M("a", data=b"same"), M("b", data=b"same"), M("c", data=b"other"), M("d", "dir")],
                        compression="gzip", hash_contents=True)
    digests = {e.path: e.digest for e in scan.entries}
    assert digests["a"] == digests["b"] == sha(b"same")
    assert digests["c"] == sha(b"other") and digests["d"] is None


# ================================================================================ docker save archives


def three_layers(compression: str = "none") -> list[BLayer]:
    return [blayer(LAYER_A, compression), blayer(LAYER_B, compression), blayer(LAYER_A, compression)]


def test_legacy_archive(tmp_path):
    layers = three_layers()
    cfg = make_config(layers)
    path = write_tar(tmp_path / "legacy.tar", legacy_files(layers, cfg))
    img = open_image(str(path))
    assert img.source == "archive" and img.platform == "linux/amd64" and img.warnings == []
    assert [l.diff_id for l in img.layers] == [l.diff_id for l in layers]
    assert [l.tar_size for l in img.layers] == [len(l.tar) for l in layers]
    assert [l.created_by for l in img.layers] == ["RUN step 0 # buildkit", "RUN step 1 # buildkit", "RUN step 2 # buildkit"]
    assert [e.path for e in img.layers[0].entries] == ["etc", "etc/hostname", "bin", "bin/sh"]
    assert img.layers[0].content_size == 4 + 2004
    # the repeated layer is a symlink to the first layer.tar: same entries
    assert summary(img)[2][2] == summary(img)[0][2]
    assert img.config["rootfs"]["diff_ids"] == [l.diff_id for l in layers]


def test_legacy_archive_hash_contents_verifies_diff_ids(tmp_path):
    layers = three_layers()
    path = write_tar(tmp_path / "legacy.tar", legacy_files(layers, make_config(layers)))
    img = open_image(str(path), hash_contents=True)
    assert img.layers[0].entries[1].digest == sha(b"box\n")
    # a tampered config (wrong diff_id) is caught when the bytes are read
    bad = json.loads(make_config(layers))
    bad["rootfs"]["diff_ids"][1] = "sha256:" + "0" * 64
    path2 = write_tar(tmp_path / "bad.tar", legacy_files(layers, json.dumps(bad).encode()))
    open_image(str(path2))  # listed by seeking: not read, not verified
    with pytest.raises(DigestMismatchError, match="DiffID"):
        open_image(str(path2), hash_contents=True)
    img = open_image(str(path2), hash_contents=True, verify=False)  # no hashing, no check
    assert img.layers[1].diff_id == "sha256:" + "0" * 64 and img.warnings == []


def test_legacy_symlink_loop(tmp_path):
    layers = three_layers()[:1]
    files = legacy_files(layers, make_config(layers))
    name = next(n for n, v in files if n.endswith("layer.tar"))
    files = [(n, v) for n, v in files if n != name]
    files += [(name, ("symlink", "../loop/layer.tar")), ("loop/", None), ("loop/layer.tar", ("symlink", f"../{name}"))]
    with pytest.raises(CorruptImageError, match="symlink loop"):
        open_image(str(write_tar(tmp_path / "loop.tar", files)))
    files2 = [(n, ("symlink", "../../../etc/passwd") if n == name else v) for n, v in files if not n.startswith("loop")]
    with pytest.raises(CorruptImageError, match="outside the archive"):
        open_image(str(write_tar(tmp_path / "out.tar", files2)))


def test_legacy_archive_with_two_images_reads_the_first(tmp_path):
    l1, l2 = [blayer(LAYER_A)], [blayer(LAYER_B)]
    c1, c2 = make_config(l1), make_config(l2)
    f1 = legacy_files(l1, c1, tags=["one:latest"])
    f2 = legacy_files(l2, c2, tags=["two:latest"])
    manifest = json.loads(dict(f1)["manifest.json"]) + json.loads(dict(f2)["manifest.json"])
    files = [x for x in f1 + f2 if x[0] not in ("manifest.json", "repositories")]
    files.append(("manifest.json", json.dumps(manifest).encode()))
    img = open_image(str(write_tar(tmp_path / "two.tar", files)))
    assert img.layers[0].diff_id == l1[0].diff_id
    assert any("holds 2 images" in w and "two:latest" in w for w in img.warnings)


def test_docker25_archive(tmp_path):
    layers = three_layers()
    path = write_tar(tmp_path / "d25.tar", docker25_files(layers, make_config(layers)))
    img = open_image(str(path))
    assert img.source == "archive" and img.warnings == []
    assert [l.digest for l in img.layers] == [l.diff_id for l in layers]  # uncompressed, named by DiffID
    assert [l.media_type for l in img.layers] == [LAYER_MT["none"]] * 3
    assert img.manifest_digest is not None
    legacy = open_image(str(write_tar(tmp_path / "legacy.tar", legacy_files(layers, make_config(layers)))))
    assert summary(img) == summary(legacy)


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_containerd_archive_platforms(tmp_path, compression):
    amd = three_layers(compression)
    arm = [blayer([M("arm", data=b"64")], compression)]
    img = oci_image({"linux/amd64": amd, "linux/arm64/v8": arm})
    manifest_json = [{"Config": "blobs/sha256/x", "RepoTags": ["test:latest"], "Layers": []}]  # unused: index wins
    path = write_tar(tmp_path / "ctrd.tar", oci_files(img, manifest_json=manifest_json))
    got = open_image(str(path))
    assert got.platform == "linux/amd64" and got.manifest_digest == img.manifest_digests["linux/amd64"]
    assert [l.digest for l in got.layers] == [l.digest for l in amd]
    assert [l.media_type for l in got.layers] == [LAYER_MT[compression]] * 3
    assert [l.compressed_size for l in got.layers] == [len(l.blob) for l in amd]
    assert [l.tar_size for l in got.layers] == [len(l.tar) for l in amd]
    assert got.warnings == []
    arm_img = open_image(str(path), platform="linux/arm64")
    assert arm_img.platform == "linux/arm64/v8" and arm_img.layers[0].entries[0].path == "arm"
    assert open_image(str(path), platform="linux/arm64/v8").manifest_digest == img.manifest_digests["linux/arm64/v8"]
    with pytest.raises(PlatformNotFoundError, match="linux/s390x") as info:
        open_image(str(path), platform="linux/s390x")
    assert info.value.available == ["linux/amd64", "linux/arm64/v8"]


def test_containerd_archive_with_only_the_local_platform_content(tmp_path):
    amd = three_layers("gzip")
    arm = [blayer([M("arm", data=b"64")], "gzip")]
    img = oci_image({"linux/arm64": arm, "linux/amd64": amd})
    omit = {img.manifest_digests["linux/arm64"], arm[0].digest}
    path = write_tar(tmp_path / "partial.tar", oci_files(img, omit=omit))
    assert open_image(str(path)).platform == "linux/amd64"
    with pytest.raises(PlatformNotFoundError, match="content is not in the archive"):
        open_image(str(path), platform="linux/arm64")


def test_single_foreign_platform_is_read_with_a_warning(tmp_path):
    img = oci_image({"linux/arm64": [blayer(LAYER_A, "gzip")]}, attestation=True)
    got = open_image(str(write_tar(tmp_path / "arm.tar", oci_files(img))))
    assert got.platform == "linux/arm64"


def test_two_platforms_none_matching_the_host_needs_platform(tmp_path, monkeypatch):
    img = oci_image({"linux/arm64": [blayer(LAYER_A)], "linux/s390x": [blayer(LAYER_B)]})
    path = write_tar(tmp_path / "x.tar", oci_files(img))
    with pytest.raises(PlatformNotFoundError, match="--platform"):
        open_image(str(path))
    assert open_image(str(path), platform="linux/s390x").platform == "linux/s390x"


# ================================================================================ OCI layout dirs


@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"])
def test_oci_layout_dir(tmp_path, compression):
    amd = three_layers(compression)
    img = oci_image({"linux/amd64": amd, "linux/arm/v7": [blayer(LAYER_B, compression)]})
    root = write_dir(tmp_path / "layout", oci_files(img))
    got = open_image(str(root))
    assert got.source == "oci-layout" and got.platform == "linux/amd64" and got.warnings == []
    assert [l.diff_id for l in got.layers] == [l.diff_id for l in amd]
    assert open_image(str(root), platform="linux/arm/v7").platform == "linux/arm/v7"
    assert open_image("oci:" + str(root)).platform == "linux/amd64"
    # same content as the archive form
    arch = open_image(str(write_tar(tmp_path / "a.tar", oci_files(img))))
    assert summary(arch) == summary(got)


def test_oci_layout_dir_blob_digest_mismatch(tmp_path):
    amd = [blayer(LAYER_A, "gzip")]
    img = oci_image({"linux/amd64": amd}, attestation=False)
    root = write_dir(tmp_path / "layout", oci_files(img))
    other = blayer(LAYER_B, "gzip").blob
    (root / "blobs/sha256" / amd[0].digest[7:]).write_bytes(other)
    with pytest.raises(DigestMismatchError, match="blob digest|bytes stored"):
        open_image(str(root))
    got = open_image(str(root), verify=False)
    assert any("not verified" in w for w in got.warnings)


def test_oci_layout_artifact_is_unsupported(tmp_path):
    blobs = {}
    cfg = b'{"name":"chart"}'
    blobs[sha(cfg)] = cfg
    content = gzip.compress(b"chart")
    blobs[sha(content)] = content
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json",
                                      "digest": sha(cfg), "size": len(cfg)},
                           "layers": [{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                                       "digest": sha(content), "size": len(content)}]}).encode()
    blobs[sha(manifest)] = manifest
    index = {"schemaVersion": 2, "manifests": [{"mediaType": OCI_MANIFEST, "digest": sha(manifest),
                                                "size": len(manifest)}]}
    root = write_dir(tmp_path / "art", oci_files(OciImage(blobs, index, {})))
    with pytest.raises(UnsupportedMediaTypeError, match="helm"):
        open_image(str(root))


def test_encrypted_layer_media_type_is_unsupported(tmp_path):
    amd = [blayer(LAYER_A, "gzip")]
    img = oci_image({"linux/amd64": amd}, nested=False, attestation=False)
    mdig = img.manifest_digests["linux/amd64"]
    manifest = json.loads(img.blobs[mdig])
    manifest["layers"][0]["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip+encrypted"
    mbytes = json.dumps(manifest).encode()
    img.blobs[sha(mbytes)] = mbytes
    img.index["manifests"][0].update(digest=sha(mbytes), size=len(mbytes))
    with pytest.raises(UnsupportedMediaTypeError, match="encrypted"):
        open_image(str(write_dir(tmp_path / "enc", oci_files(img))))


# ================================================================================ streams


@pytest.mark.parametrize("layout", ["legacy", "docker25", "containerd-gzip", "containerd-zstd"])
def test_save_stream_matches_archive(tmp_path, layout):
    """The daemon reader (forward-only, layers before manifest) agrees with the seekable reader."""
    if layout == "legacy":
        layers = three_layers()
        files = legacy_files(layers, make_config(layers))
    elif layout == "docker25":
        layers = three_layers()
        files = docker25_files(layers, make_config(layers))
    else:
        files = oci_files(oci_image({"linux/amd64": three_layers(layout.split("-")[1]),
                                     "linux/arm64": [blayer(LAYER_B)]}))
    path = write_tar(tmp_path / "x.tar", files)
    from_file = open_image(str(path))
    from_stream = read_save_stream(NonSeekable(path.read_bytes()), "test", source="daemon")
    assert from_stream.source == "daemon"
    assert summary(from_stream) == summary(from_file)
    assert [l.digest for l in from_stream.layers] == [l.digest for l in from_file.layers]
    # manifest first or last: no difference
    rev = write_tar(tmp_path / "rev.tar", list(reversed([f for f in files if f[1] is not None])))
    assert summary(read_save_stream(NonSeekable(rev.read_bytes()), "test")) == summary(from_file)


def test_save_stream_verifies_diff_ids(tmp_path):
    layers = three_layers()
    bad = json.loads(make_config(layers))
    bad["rootfs"]["diff_ids"][0] = "sha256:" + "1" * 64
    path = write_tar(tmp_path / "bad.tar", legacy_files(layers, json.dumps(bad).encode()))
    with pytest.raises(DigestMismatchError):
        read_save_stream(NonSeekable(path.read_bytes()), "test")


def test_save_stream_keeps_no_blob_bytes():
    """A 32 MiB layer passes through the stream reader with a small, bounded peak of memory."""
    big = make_tar([M("big", data=b"\1" * (32 << 20)), M("small", data=b"s")])
    lay = BLayer(big, big, "none")
    files = legacy_files([lay], make_config([lay]))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, value in files:
            info = tarfile.TarInfo(name)
            if value is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(value)
                tar.addfile(info, io.BytesIO(value))
    data = buf.getvalue()
    del big, lay, files, buf
    stream = NonSeekable(data, chunk=1 << 20)
    tracemalloc.start()
    try:
        img = read_save_stream(stream, "test")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [e.path for e in img.layers[0].entries] == ["big", "small"]
    assert peak < 12 << 20, peak


# ================================================================================ bad input


def test_truncated_archive(tmp_path):
    layers = three_layers()
    data = write_tar(tmp_path / "ok.tar", legacy_files(layers, make_config(layers))).read_bytes()
    inside_manifest = data.index(b'[{"Config"') + 10
    for cut in (len(data) // 3, inside_manifest, 700):
        path = tmp_path / f"cut{cut}.tar"
        path.write_bytes(data[:cut])
        with pytest.raises(CorruptImageError):
            open_image(str(path))
        with pytest.raises(CorruptImageError):
            read_save_stream(NonSeekable(data[:cut]), "test")
    # losing only the zero padding after the end-of-archive blocks is harmless
    path = tmp_path / "padding.tar"
    path.write_bytes(data[: len(data) - 2000])
    assert len(open_image(str(path)).layers) == 3


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_corrupt_compressed_layer(tmp_path, compression):
    amd = [blayer([M("f", data=os.urandom(300_000))], compression)]
    img = oci_image({"linux/amd64": amd}, attestation=False)
    blob = bytearray(amd[0].blob)
    blob[len(blob) // 2: len(blob) // 2 + 64] = bytes(64)
    img.blobs[amd[0].digest] = bytes(blob)
    path = write_tar(tmp_path / "c.tar", oci_files(img))
    with pytest.raises(CorruptImageError):
        open_image(str(path))
    try:  # without verification a broken stream is still an error unless the decoder misses it
        open_image(str(path), verify=False)
    except CorruptImageError:
        pass


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_truncated_compressed_layer(tmp_path, compression):
    amd = [blayer([M("f", data=os.urandom(300_000)), M("g", data=b"g")], compression)]
    img = oci_image({"linux/amd64": amd}, attestation=False)
    img.blobs[amd[0].digest] = amd[0].blob[: len(amd[0].blob) // 2]
    path = write_tar(tmp_path / "t.tar", oci_files(img))
    with pytest.raises(CorruptImageError):
        open_image(str(path))


def test_tampered_blob_same_size(tmp_path):
    amd = [blayer([M("f", data=b"a" * 1000)])]
    img = oci_image({"linux/amd64": amd}, attestation=False)
    tampered = make_tar([M("f", data=b"b" * 1000)])
    assert len(tampered) == len(amd[0].blob)
    img.blobs[amd[0].digest] = tampered
    root = write_dir(tmp_path / "l", oci_files(img))
    open_image(str(root))  # uncompressed and seekable: listed, not read
    with pytest.raises(DigestMismatchError):
        open_image(str(root), hash_contents=True)
    with pytest.raises(DigestMismatchError):  # the stream reader always verifies
        read_save_stream(NonSeekable(write_tar(tmp_path / "l.tar", oci_files(img)).read_bytes()), "t")


def test_manifest_digest_mismatch(tmp_path):
    img = oci_image({"linux/amd64": [blayer(LAYER_A, "gzip")]}, nested=False, attestation=False)
    mdig = img.manifest_digests["linux/amd64"]
    img.blobs[mdig] = img.blobs[mdig].replace(b'"schemaVersion": 2', b'"schemaVersion":  2')
    with pytest.raises(DigestMismatchError, match="manifest"):
        open_image(str(write_dir(tmp_path / "m", oci_files(img))))


def test_missing_blob_and_bad_json(tmp_path):
    amd = [blayer(LAYER_A, "gzip")]
    img = oci_image({"linux/amd64": amd}, attestation=False)
    with pytest.raises(CorruptImageError, match="not in the"):
        open_image(str(write_dir(tmp_path / "m", oci_files(img, omit={amd[0].digest}))))
    files = [(n, b"{not json" if n == "index.json" else v) for n, v in oci_files(img)]
    with pytest.raises(CorruptImageError, match="JSON"):
        open_image(str(write_tar(tmp_path / "j.tar", files)))


def test_not_an_image(tmp_path):
    (tmp_path / "plain.txt").write_text("hello")
    with pytest.raises(CorruptImageError, match="neither a tar"):
        open_image(str(tmp_path / "plain.txt"))
    (tmp_path / "x.tar.gz").write_bytes(gzip.compress(make_tar([M("a")])))
    with pytest.raises(CorruptImageError, match="not a docker save"):
        open_image(str(tmp_path / "x.tar.gz"))
    write_tar(tmp_path / "other.tar", [("README", b"hi")])
    with pytest.raises(CorruptImageError, match="not a docker save archive"):
        open_image(str(tmp_path / "other.tar"))
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(ImageNotFoundError, match="not an OCI image layout"):
        open_image(str(tmp_path / "emptydir"))
    with pytest.raises(ImageNotFoundError):
        open_image(str(tmp_path / "missing.tar"))
    with pytest.raises(DecruftError, match="bad platform"):
        open_image(str(tmp_path / "other.tar"), platform="a/b/c/d")


def test_nothing_is_written(tmp_path):
    layers = three_layers("gzip")
    img = oci_image({"linux/amd64": layers})
    path = write_tar(tmp_path / "x.tar", oci_files(img))
    before = sorted(p.name for p in tmp_path.iterdir())
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        open_image(str(path), hash_contents=True)
    finally:
        os.chdir(cwd)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def _many_entries_tar(n: int) -> bytes:
    """``n`` empty files, headers written directly (tarfile is too slow for this)."""
    template = bytearray(tarfile.TarInfo("").tobuf(format=tarfile.USTAR_FORMAT))
    template[148:156] = b"        "
    base = sum(template)
    head, tail = bytes(template[100:148]), bytes(template[156:])
    parts = []
    for i in range(n):
        name = b"d%d/f%d" % (i // 1000, i % 1000)
        parts.append(name.ljust(100, b"\0") + head + b"%06o\0 " % (base + sum(name)) + tail)
    parts.append(bytes(1024))
    return b"".join(parts)


def test_many_entries(tmp_path, monkeypatch):
    data = _many_entries_tar(100_000)
    lay = BLayer(data, data, "none")
    path = write_tar(tmp_path / "many.tar", legacy_files([lay], make_config([lay])))
    start = time.perf_counter()
    img = open_image(str(path))
    elapsed = time.perf_counter() - start
    assert len(img.layers[0].entries) == 100_000
    assert elapsed < 60, elapsed  # ~1 s on an idle machine
    monkeypatch.setattr(tarstream, "MAX_ENTRIES", 50_000)
    with pytest.raises(TooManyEntriesError, match="50000"):
        open_image(str(path))


def test_decompression_bomb_is_bounded(tmp_path):
    """256 MiB of zeros in a few KB of zstd: read in bounded memory."""
    info = tarfile.TarInfo("zeros")
    info.size = 1 << 28
    header = info.tobuf(format=tarfile.USTAR_FORMAT)
    cctx = zstandard.ZstdCompressor(level=1)
    chunk = bytes(1 << 20)
    out = io.BytesIO()
    with cctx.stream_writer(out, closefd=False) as w:
        w.write(header)
        for _ in range(256):
            w.write(chunk)
        w.write(bytes(1024))
    blob = out.getvalue()
    assert len(blob) < 1 << 20
    tracemalloc.start()
    try:
        scan = tarstream.scan_stream(io.BytesIO(blob))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert scan.entries[0].size == 1 << 28 and scan.compression == "zstd"
    assert peak < 16 << 20, peak


# ================================================================================ registry (in-test server)


class FakeRegistry:
    """A tiny distribution API on 127.0.0.1 serving one repository from an OciImage.

    ``auth``: None (open), "bearer" (401 + Bearer challenge; the token service wants basic
    credentials user:secret), "basic". ``stall`` makes blob requests hang (timeout tests).
    """

    def __init__(self, img: OciImage, repo: str = "team/app", tag: str = "v1", auth: str | None = "bearer"):
        self.img, self.repo, self.tag, self.auth = img, repo, tag, auth
        self.token = "tok-" + os.urandom(4).hex()
        self.requests: list[str] = []
        self.stall = False
        self.tag_target: bytes = json.dumps(img.index).encode()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.requests.append(self.path)
                outer.handle(self)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stall = False
        self.server.shutdown()
        self.server.server_close()

    def send(self, h, status: int, body: bytes = b"", headers: dict | None = None):
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def handle(self, h):
        path, _, query = h.path.partition("?")
        if path == "/token":
            expected = "Basic " + base64.b64encode(b"user:secret").decode()
            if h.headers.get("Authorization") != expected:
                return self.send(h, 401, b'{"details":"bad credentials"}')
            assert f"repository%3A{self.repo.replace('/', '%2F')}%3Apull" in query or \
                f"repository:{self.repo}:pull" in query
            return self.send(h, 200, json.dumps({"token": self.token}).encode())
        if self.auth == "bearer" and h.headers.get("Authorization") != f"Bearer {self.token}":
            challenge = (f'Bearer realm="http://{self.host}/token",service="fake",'
                         f'scope="repository:{self.repo}:pull"')
            return self.send(h, 401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', {"WWW-Authenticate": challenge})
        if self.auth == "basic":
            expected = "Basic " + base64.b64encode(b"user:secret").decode()
            if h.headers.get("Authorization") != expected:
                return self.send(h, 401, b"", {"WWW-Authenticate": 'Basic realm="fake"'})
        if path == "/v2/":
            return self.send(h, 200, b"{}")
        prefix = f"/v2/{self.repo}/"
        if not path.startswith(prefix):
            return self.send(h, 404, b'{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}')
        kind, _, ref = path[len(prefix):].partition("/")
        if kind == "manifests":
            if ref == self.tag:
                data = self.tag_target
            elif ref in self.img.blobs:
                data = self.img.blobs[ref]
            else:
                return self.send(h, 404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')
            mt = json.loads(data).get("mediaType", OCI_MANIFEST)
            return self.send(h, 200, data, {"Content-Type": mt, "Docker-Content-Digest": sha(data)})
        if kind == "blobs":
            if self.stall:
                time.sleep(5)
            if ref not in self.img.blobs:
                return self.send(h, 404, b'{"errors":[{"code":"BLOB_UNKNOWN"}]}')
            return self.send(h, 200, self.img.blobs[ref], {"Content-Type": "application/octet-stream"})
        return self.send(h, 404)


@pytest.fixture
def docker_config(tmp_path, monkeypatch):
    """A Docker config with credentials for 127.0.0.1 registries (any port is set per test)."""
    cfg_dir = tmp_path / "dockercfg"
    cfg_dir.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(cfg_dir))

    def write(host: str | None, user: str = "user", password: str = "secret"):
        auths = {} if host is None else {host: {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}}
        (cfg_dir / "config.json").write_text(json.dumps({"auths": auths}))

    write(None)
    return write


@pytest.fixture
def registry_image():
    return oci_image({"linux/amd64": three_layers("gzip"), "linux/arm64": [blayer(LAYER_B, "zstd")]})


def test_registry_token_flow(registry_image, docker_config):
    with FakeRegistry(registry_image) as reg:
        docker_config(reg.host)
        img = open_image(f"registry://{reg.host}/team/app:v1")
        assert img.source == "registry" and img.platform == "linux/amd64"
        assert img.manifest_digest == registry_image.manifest_digests["linux/amd64"]
        assert [l.compressed_size for l in img.layers] == [len(l.blob) for l in three_layers("gzip")]
        assert any(r.startswith("/token") for r in reg.requests)
        # and the same image as from an OCI layout
        assert img.layers[1].entries[1].type is EntryType.WHITEOUT
        arm = open_image(f"registry://{reg.host}/team/app:v1", platform="linux/arm64")
        assert arm.layers[0].media_type == LAYER_MT["zstd"]
        # pinned by digest; plain host/repo form (not in the daemon) goes to the registry too
        pinned = open_image(f"registry://{reg.host}/team/app@{registry_image.manifest_digests['linux/amd64']}")
        assert summary(pinned) == summary(img)
        with pytest.raises(PlatformNotFoundError):
            open_image(f"registry://{reg.host}/team/app:v1", platform="windows/amd64")


def test_registry_compares_with_oci_layout(registry_image, docker_config, tmp_path):
    root = write_dir(tmp_path / "layout", oci_files(registry_image))
    with FakeRegistry(registry_image) as reg:
        docker_config(reg.host)
        got = open_image(f"registry://{reg.host}/team/app:v1", hash_contents=True)
    local = open_image(str(root), hash_contents=True)
    assert summary(got) == summary(local)
    assert [[e.digest for e in l.entries] for l in got.layers] == [[e.digest for e in l.entries] for l in local.layers]


def test_registry_without_or_with_wrong_credentials(registry_image, docker_config):
    with FakeRegistry(registry_image) as reg:
        with pytest.raises(ImageUnauthorizedError, match="anonymous"):
            open_image(f"registry://{reg.host}/team/app:v1")
        docker_config(reg.host, password="wrong")
        with pytest.raises(ImageUnauthorizedError, match="token service"):
            open_image(f"registry://{reg.host}/team/app:v1")
        docker_config(f"http://{reg.host}/v2/")  # URL-shaped keys work too
        assert open_image(f"registry://{reg.host}/team/app:v1").layers


def test_registry_basic_auth(registry_image, docker_config):
    with FakeRegistry(registry_image, auth="basic") as reg:
        with pytest.raises(ImageUnauthorizedError, match="no credentials"):
            open_image(f"registry://{reg.host}/team/app:v1")
        docker_config(reg.host)
        assert len(open_image(f"registry://{reg.host}/team/app:v1").layers) == 3


def test_registry_not_found(registry_image, docker_config):
    with FakeRegistry(registry_image, auth=None) as reg:
        with pytest.raises(ImageNotFoundError, match="MANIFEST_UNKNOWN"):
            open_image(f"registry://{reg.host}/team/app:nope")
        with pytest.raises(ImageNotFoundError, match="NAME_UNKNOWN"):
            open_image(f"registry://{reg.host}/other/app:v1")
        del reg.img.blobs[three_layers("gzip")[0].digest]
        with pytest.raises(ImageNotFoundError, match="BLOB_UNKNOWN"):
            open_image(f"registry://{reg.host}/team/app:v1")


def test_registry_blob_mismatch_and_schema1(registry_image, docker_config):
    with FakeRegistry(registry_image, auth=None) as reg:
        first = three_layers("gzip")[0]
        reg.img.blobs[first.digest] = blayer(LAYER_B, "gzip").blob
        with pytest.raises(CorruptImageError):  # read to the declared size: a broken gzip stream
            open_image(f"registry://{reg.host}/team/app:v1")
        reg.img.blobs[first.digest] = blayer(LAYER_A, "zstd").blob  # wrong bytes, a valid stream
        with pytest.raises(DigestMismatchError):
            open_image(f"registry://{reg.host}/team/app:v1")
        reg.tag_target = json.dumps({"schemaVersion": 1, "name": "team/app", "fsLayers": []}).encode()
        with pytest.raises(UnsupportedMediaTypeError, match="schema 1"):
            open_image(f"registry://{reg.host}/team/app:v1")


def test_registry_unreachable_names_the_address(docker_config):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SourceUnreachableError) as info:
        open_image(f"registry://127.0.0.1:{port}/team/app:v1")
    assert info.value.address == f"http://127.0.0.1:{port}"
    assert f"127.0.0.1:{port}" in str(info.value)


def test_registry_read_timeout(registry_image, docker_config, monkeypatch):
    monkeypatch.setattr(registry_mod, "READ_TIMEOUT", 0.5)
    with FakeRegistry(registry_image, auth=None) as reg:
        reg.stall = True
        start = time.perf_counter()
        with pytest.raises(SourceUnreachableError, match="timed out"):
            open_image(f"registry://{reg.host}/team/app:v1")
        assert time.perf_counter() - start < 5


def test_reference_parsing():
    p = registry_mod.parse_reference
    assert p("python:3.11") == registry_mod.Reference("docker.io", "library/python", "3.11", None)
    assert p("127.0.0.1:5000/a/b").reference == "latest"
    ref = p("localhost:5000/a/b:t@sha256:" + "a" * 64)
    assert (ref.host, ref.repository, ref.tag, ref.digest) == ("localhost:5000", "a/b", "t", "sha256:" + "a" * 64)
    assert p("ghcr.io/org/x").api_host == "ghcr.io" and p("x").api_host == "registry-1.docker.io"
    assert registry_mod.is_loopback("127.0.0.1:5000") and registry_mod.is_loopback("localhost")
    assert not registry_mod.is_loopback("ghcr.io")
    with pytest.raises(ImageNotFoundError):
        p("UPPER/case")
    assert registry_mod.parse_challenge('Bearer realm="https://a/token",service="reg",scope="repository:x:pull"') == (
        "bearer", {"realm": "https://a/token", "service": "reg", "scope": "repository:x:pull"})


# ================================================================================ real engine


DOCKER = "/usr/bin/docker"
LOCAL_REGISTRY = "127.0.0.1:5000"


@pytest.fixture(scope="module")
def engine():
    import docker

    try:
        client = docker.APIClient(version="auto", timeout=30)
        client.ping()
    except Exception as exc:  # a missing engine is a broken setup, not a skip
        pytest.fail(f"no Docker engine answers (scripts/docker-up starts one): {exc}", pytrace=False)
    yield client
    client.close()


@pytest.fixture(scope="module")
def built_image(engine, tmp_path_factory):
    ctx = tmp_path_factory.mktemp("ctx")
    (ctx / "Dockerfile").write_text(
        "FROM busybox\n"
        "COPY a.txt /data/a.txt\n"
        "RUN mkdir -p /data/sub && echo hi > /data/sub/b && ln /data/a.txt /data/hard && rm /bin/vi\n"
        "ENV X=1\n"
        "RUN rm -rf /data/sub && echo new > /data/a.txt\n"
    )
    (ctx / "a.txt").write_text("a" * 5000)
    tag = f"decruft-test/sources:{os.getpid()}"
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    out = subprocess.run([DOCKER, "build", "-q", "-t", tag, str(ctx)], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    yield tag
    subprocess.run([DOCKER, "rmi", "-f", tag], capture_output=True, timeout=60)


@pytest.mark.docker
def test_daemon_archive_and_registry_agree(built_image, tmp_path):
    daemon = open_image(f"docker://{built_image}")
    assert daemon.source == "daemon" and len(daemon.layers) == 5  # busybox's two + COPY + RUN + RUN
    by_name = open_image(built_image)  # a plain name the daemon has
    assert summary(by_name) == summary(daemon)

    archive_path = tmp_path / "saved.tar"
    subprocess.run([DOCKER, "save", "-o", str(archive_path), built_image], check=True, timeout=120)
    archive = open_image(str(archive_path))
    assert archive.source == "archive"
    assert summary(archive) == summary(daemon)
    assert open_image(str(archive_path), hash_contents=True).layers[2].entries[-1].digest == sha(b"a" * 5000)

    remote = f"{LOCAL_REGISTRY}/decruft-test/sources:{os.getpid()}"
    subprocess.run([DOCKER, "tag", built_image, remote], check=True, timeout=60)
    try:
        push = subprocess.run([DOCKER, "push", remote], capture_output=True, text=True, timeout=300)
        assert push.returncode == 0, push.stderr
        reg = open_image(f"registry://{remote}")
    finally:
        subprocess.run([DOCKER, "rmi", remote], capture_output=True, timeout=60)
    assert reg.source == "registry" and reg.manifest_digest
    assert summary(reg) == summary(daemon)
    assert all(l.digest and l.compressed_size for l in reg.layers)

    last = {e.path: e for e in daemon.layers[4].entries}
    assert last["data/sub"].type is EntryType.WHITEOUT
    assert last["data/a.txt"].size == 4
    mid = {e.path: e for e in daemon.layers[3].entries}
    assert mid["bin/vi"].type is EntryType.WHITEOUT
    assert mid["data/hard"].type in (EntryType.HARDLINK, EntryType.FILE)
    assert [l.created_by.startswith("RUN") for l in daemon.layers[3:]] == [True, True]
    assert any(h.empty_layer and "ENV X=1" in h.created_by for h in daemon.history)


@pytest.mark.docker
def test_daemon_not_found(engine):
    with pytest.raises(ImageNotFoundError):
        open_image("docker://decruft-test/does-not-exist:nope")
    with pytest.raises(ImageNotFoundError, match="registry://"):
        open_image("decruft-test-no-such-image")


@pytest.mark.docker
def test_daemon_unreachable(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nope.sock")
    with pytest.raises(SourceUnreachableError) as info:
        open_image("docker://busybox")
    assert "nope.sock" in info.value.address


# ================================================================================ read_files


def _read_files_layers(compression: str) -> list[BLayer]:
    return [
        blayer([M("var/lib/dpkg/status", data=b"v1"), M("etc/os-release", data=b"debian"),
                M("opt/x/conf", data=b"x")], compression),
        blayer([M("var/lib/dpkg/status", data=b"v2"), M("opt/x/", "dir"), M("opt/x/.wh..wh..opq")], compression),
        blayer([M("etc/.wh.os-release")], compression),
    ]


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_read_files_gives_the_visible_copy(tmp_path, compression):
    layers = _read_files_layers(compression)
    wanted = {"var/lib/dpkg/status", "/etc/os-release", "opt/x/conf", "missing"}
    if compression == "none":
        path = write_tar(tmp_path / "a.tar", legacy_files(layers, make_config(layers)))
    else:
        path = write_tar(tmp_path / "a.tar", oci_files(oci_image({"linux/amd64": layers})))
    img = open_image(str(path), read_files=wanted)
    assert img.file_contents == {"var/lib/dpkg/status": b"v2"}
    streamed = read_save_stream(NonSeekable(path.read_bytes()), "t", read_files=wanted)
    assert streamed.file_contents == {"var/lib/dpkg/status": b"v2"}
    assert open_image(str(path)).file_contents == {}
    hashed = open_image(str(path), read_files=wanted, hash_contents=True)
    status = [e for e in hashed.layers[1].entries if e.path == "var/lib/dpkg/status"][0]
    assert status.digest == sha(b"v2")


def test_progress_reports(tmp_path):
    layers = three_layers("gzip")
    path = write_tar(tmp_path / "p.tar", oci_files(oci_image({"linux/amd64": layers})))
    calls: list[tuple] = []
    open_image(str(path), progress=lambda label, done, total: calls.append((label, done, total)))
    labels = {c[0] for c in calls}
    assert {"layer 1/3", "layer 2/3"} <= labels
    assert all(total == len(layers[int(label[6]) - 1].blob) for label, _, total in calls)


@pytest.mark.docker
@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_real_oci_layouts_from_skopeo(built_image, tmp_path, compression):
    """OCI layout directories and oci-archive tars as a real tool writes them (gzip and zstd)."""
    import shutil

    if not shutil.which("skopeo"):
        pytest.skip("skopeo is not installed (apt-get install skopeo)")
    daemon = open_image(f"docker://{built_image}")
    for dest, path in ((f"oci:{tmp_path}/layout:latest", tmp_path / "layout"),
                       (f"oci-archive:{tmp_path}/image.tar:latest", tmp_path / "image.tar")):
        subprocess.run(["skopeo", "copy", "-q", "--insecure-policy", "--dest-compress-format", compression,
                        f"docker-daemon:{built_image}", dest], check=True, timeout=300)
        img = open_image(str(path))
        assert img.warnings == []
        assert summary(img) == summary(daemon)
        assert all(l.media_type == LAYER_MT[compression] for l in img.layers)


@pytest.mark.docker
def test_daemon_platform_and_name_shadowed_by_a_directory(built_image, tmp_path, monkeypatch):
    with pytest.raises(PlatformNotFoundError, match="linux/arm64"):
        open_image(f"docker://{built_image}", platform="linux/arm64")
    assert open_image(f"docker://{built_image}", platform="linux/amd64").platform == "linux/amd64"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "busybox").mkdir()  # a directory that is not an OCI layout does not hide the image
    assert open_image("busybox").source == "daemon"


@pytest.mark.parametrize("args", [["--format=gnu"], ["--format=posix"], ["--format=posix", "--sparse-version=0.1"]],
                         ids=["gnu-S", "pax-1.0", "pax-0.1"])
def test_gnu_tar_sparse_files(tmp_path, args):
    """Sparse members written by GNU tar report the file's real size; the next member still parses."""
    src = tmp_path / "src"
    src.mkdir()
    with open(src / "holey", "wb") as fh:
        fh.truncate(10 << 20)
        fh.seek(5_000_000)
        fh.write(b"data")
    (src / "small").write_text("small\n")
    out = tmp_path / "sparse.tar"
    subprocess.run(["tar", "--sparse", *args, "-C", str(src), "-cf", str(out), "holey", "small"], check=True)
    scan = tarstream.scan_stream(io.BytesIO(out.read_bytes()))
    assert [(e.path, e.size) for e in scan.entries] == [("holey", 10 << 20), ("small", 6)]
    assert scan.warnings == []


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_compressed_archive_and_stdin(tmp_path, compression, monkeypatch):
    """docker save IMAGE | gzip > image.tar.gz, and docker save IMAGE | decruft inspect -"""
    layers = three_layers()
    plain = write_tar(tmp_path / "a.tar", legacy_files(layers, make_config(layers)))
    packed = tmp_path / "a.tar.z"
    packed.write_bytes(compress(plain.read_bytes(), compression))
    expected = summary(open_image(str(plain)))
    img = open_image(str(packed))
    assert img.source == "archive" and summary(img) == expected
    with open(packed, "rb") as fh:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(fh))
        assert summary(open_image("-")) == expected
    broken = tmp_path / "broken.tar.z"
    broken.write_bytes(packed.read_bytes()[: packed.stat().st_size // 2])
    with pytest.raises(CorruptImageError):
        open_image(str(broken))
