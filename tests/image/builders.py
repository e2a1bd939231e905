"""Small helpers to make :class:`decruft.image.model.Image` objects and real archives in tests.

Two halves:

* **In-memory images** for the pure analysis tests::

      img = image(
          layer(d("etc"), f("etc/a", 10)),
          layer(wh("etc/a"), created_by="RUN rm etc/a"),
      )

  ``f``/``d``/``ln``/``hl``/``wh``/``opq`` build :class:`Entry` records whose paths are
  normalised like a reader would (``./etc/`` -> ``etc``); ``from_tar_names`` turns the
  ``"etc/"``/``"etc/.wh.x"`` notation of ``layer_vectors.json`` into entries.

* **docker save archives** (Docker <= 24 layout: ``manifest.json``, ``<config>.json``,
  ``<id>/layer.tar``) written straight to disk by :func:`write_docker_archive`, for the
  reader, for dive cross-checks and for the benchmarks.  File contents are zeros written as
  holes (sparse: a 5 GB archive costs almost no disk) unless a ``content`` callback gives
  bytes.  Inner tar sizes are computed before writing so nothing is staged twice.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

from decruft.image.model import Entry, EntryType, HistoryEntry, Image, Layer

BLOCK = 512


# --------------------------------------------------------------------------- entries


def f(path: str, size: int = 0, *, mode: int = 0o644, digest: str | None = None, uid: int = 0, gid: int = 0) -> Entry:
    return Entry(_norm(path), EntryType.FILE, size=size, mode=mode, digest=digest, uid=uid, gid=gid)


def d(path: str, *, mode: int = 0o755) -> Entry:
    return Entry(_norm(path), EntryType.DIR, mode=mode)


def ln(path: str, target: str) -> Entry:
    return Entry(_norm(path), EntryType.SYMLINK, mode=0o777, linkname=target)


def hl(path: str, target: str) -> Entry:
    return Entry(_norm(path), EntryType.HARDLINK, linkname=_norm(target))


def wh(path: str) -> Entry:
    """A whiteout deleting ``path`` (the tar member ``<dir>/.wh.<name>``)."""
    return Entry(_norm(path), EntryType.WHITEOUT)


def opq(directory: str) -> Entry:
    """An opaque whiteout for ``directory`` (the tar member ``<dir>/.wh..wh..opq``)."""
    return Entry(_norm(directory), EntryType.OPAQUE)


def _norm(path: str) -> str:
    path = path.strip()
    while path.startswith("./"):
        path = path[2:]
    return path.strip("/")


def from_tar_name(name: str, size: int = 0) -> Entry:
    """``"etc/"`` -> dir, ``"etc/.wh.x"`` -> whiteout of etc/x, ``"a/.wh..wh..opq"`` -> opaque a."""
    is_dir = name.endswith("/")
    path = _norm(name)
    parent, _, base = path.rpartition("/")
    if base == ".wh..wh..opq":
        return opq(parent)
    if base.startswith(".wh."):
        return wh(f"{parent}/{base[4:]}" if parent else base[4:])
    return d(path) if is_dir else f(path, size)


def from_tar_names(names: Iterable[str]) -> list[Entry]:
    return [from_tar_name(name) for name in names]


# --------------------------------------------------------------------------- images


@dataclass
class LayerSpec:
    entries: list[Entry]
    created_by: str | None = None


def layer(*entries: Entry, created_by: str | None = None) -> LayerSpec:
    return LayerSpec(list(entries), created_by)


def image(*layers: LayerSpec | Sequence[Entry], reference: str = "test:latest") -> Image:
    built: list[Layer] = []
    history: list[HistoryEntry] = []
    for index, spec in enumerate(layers):
        if not isinstance(spec, LayerSpec):
            spec = LayerSpec(list(spec))
        entry = HistoryEntry(created_by=spec.created_by or f"RUN step {index} # buildkit")
        history.append(entry)
        tar_size = sum(BLOCK + _pad(e.size) for e in spec.entries) + 2 * BLOCK
        built.append(
            Layer(
                index=index,
                diff_id="sha256:" + hashlib.sha256(repr([(e.path, e.type.value, e.size, e.mode, e.linkname) for e in spec.entries]).encode()).hexdigest(),
                digest=None,
                media_type=None,
                compressed_size=None,
                tar_size=tar_size,
                entries=list(spec.entries),
                history=entry,
            )
        )
    return Image(reference=reference, source="test", config={}, layers=built, history=history)


def _pad(size: int) -> int:
    return (size + BLOCK - 1) // BLOCK * BLOCK


# --------------------------------------------------------------------------- archives


ContentFn = Callable[[int, Entry], "bytes | Iterable[bytes] | None"]


@dataclass
class ArchiveLayer:
    """A layer to write: entries in tar order (whiteouts/opaque markers become .wh. members)."""

    entries: Iterable[Entry] | Callable[[], Iterable[Entry]]
    created_by: str = "RUN true # buildkit"
    empty_before: list[str] = field(default_factory=list)  # empty_layer history entries before this one

    def iter_entries(self) -> Iterable[Entry]:
        return self.entries() if callable(self.entries) else self.entries


def tar_member(entry: Entry) -> tarfile.TarInfo:
    """The tar header a layer would carry for ``entry``."""
    path = entry.path
    info = tarfile.TarInfo()
    parent, _, base = path.rpartition("/")
    prefix = parent + "/" if parent else ""
    if entry.type is EntryType.WHITEOUT:
        info.name = f"{prefix}.wh.{base}"
        info.type = tarfile.REGTYPE
    elif entry.type is EntryType.OPAQUE:
        info.name = f"{path}/.wh..wh..opq" if path else ".wh..wh..opq"
        info.type = tarfile.REGTYPE
    elif entry.type is EntryType.DIR:
        info.name = path + "/"
        info.type = tarfile.DIRTYPE
    elif entry.type is EntryType.SYMLINK:
        info.name, info.type, info.linkname = path, tarfile.SYMTYPE, entry.linkname or ""
    elif entry.type is EntryType.HARDLINK:
        info.name, info.type, info.linkname = path, tarfile.LNKTYPE, entry.linkname or ""
    elif entry.type is EntryType.FIFO:
        info.name, info.type = path, tarfile.FIFOTYPE
    else:
        info.name, info.type = path, tarfile.REGTYPE
        info.size = entry.size
    info.mode = entry.mode
    info.uid, info.gid, info.mtime = entry.uid, entry.gid, entry.mtime
    return info


def _header(entry: Entry) -> bytes:
    return tar_member(entry).tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="surrogateescape")


class _Writer:
    """Writes to a file, turning long runs of zeros into holes, and hashes what it writes."""

    def __init__(self, fh, sparse: bool) -> None:
        self.fh = fh
        self.sparse = sparse
        self.hash: hashlib._Hash | None = None

    def write(self, data: bytes) -> None:
        self.fh.write(data)
        if self.hash is not None:
            self.hash.update(data)

    def zeros(self, count: int) -> None:
        if self.hash is not None:
            chunk = bytes(min(count, 1 << 20))
            left = count
            while left:
                n = min(left, len(chunk))
                self.hash.update(chunk[:n] if n < len(chunk) else chunk)
                left -= n
        if self.sparse:
            self.fh.seek(count, os.SEEK_CUR)
        else:
            chunk = bytes(min(count, 1 << 20))
            left = count
            while left:
                n = min(left, len(chunk))
                self.fh.write(chunk[:n])
                left -= n


def _outer_header(name: str, size: int, *, typ: bytes = tarfile.REGTYPE, linkname: str = "") -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size if typ == tarfile.REGTYPE else 0
    info.type = typ
    info.linkname = linkname
    info.mode = 0o644
    info.mtime = 0
    return info.tobuf(format=tarfile.PAX_FORMAT)


def write_docker_archive(
    path: str | os.PathLike[str],
    layers: Sequence[ArchiveLayer],
    *,
    repo_tag: str = "decruft-test:latest",
    content: ContentFn | None = None,
    sparse: bool = True,
    hash_layers: bool = True,
) -> dict:
    """Write a ``docker save`` archive (Docker <= 24 layout) and return its manifest entry.

    ``content(layer_index, entry)`` may return the bytes of a regular file, or an iterable of
    chunks (must add up to ``entry.size``); ``None`` means zeros.  Layer entry lists may be callables so huge
    synthetic layers are generated twice (size pass, write pass) instead of being held.
    With ``hash_layers=False`` the diff_ids are fake (faster for multi-GB archives).
    """
    diff_ids: list[str] = []
    layer_paths: list[str] = []
    written_layers: dict[str, tuple[str, str]] = {}  # entry listing -> (layer.tar name, diff_id)
    with open(path, "wb") as fh:
        out = _Writer(fh, sparse)
        for index, spec in enumerate(layers):
            inner_size = 2 * BLOCK
            listing = hashlib.sha256()
            for entry in spec.iter_entries():
                header = _header(entry)
                listing.update(header)
                inner_size += len(header)
                if entry.type is EntryType.FILE:
                    inner_size += _pad(entry.size)
            layer_id = hashlib.sha256(f"{repo_tag}/{index}".encode()).hexdigest()
            name = f"{layer_id}/layer.tar"
            layer_paths.append(name)
            out.write(_outer_header(f"{layer_id}/", 0, typ=tarfile.DIRTYPE))
            repeat = written_layers.get(listing.hexdigest()) if content is None else None
            if repeat is not None:
                # like docker save: a layer identical to an earlier one is a symlink to it
                out.write(_outer_header(name, 0, typ=tarfile.SYMTYPE, linkname="../" + repeat[0]))
                diff_ids.append(repeat[1])
                continue
            out.write(_outer_header(name, inner_size))
            out.hash = hashlib.sha256() if hash_layers else None
            written = 0
            for entry in spec.iter_entries():
                header = _header(entry)
                out.write(header)
                written += len(header)
                if entry.type is EntryType.FILE and entry.size:
                    data = content(index, entry) if content else None
                    if data is None:
                        out.zeros(entry.size)
                    elif isinstance(data, (bytes, bytearray, memoryview)):
                        assert len(data) == entry.size, (entry.path, len(data), entry.size)
                        out.write(bytes(data))
                    else:  # an iterable of chunks
                        total = 0
                        for chunk in data:
                            out.write(chunk)
                            total += len(chunk)
                        assert total == entry.size, (entry.path, total, entry.size)
                    pad = _pad(entry.size) - entry.size
                    if pad:
                        out.zeros(pad)
                    written += _pad(entry.size)
            out.zeros(2 * BLOCK)
            written += 2 * BLOCK
            assert written == inner_size, (written, inner_size)
            digest = out.hash.hexdigest() if out.hash is not None else hashlib.sha256(name.encode()).hexdigest()
            out.hash = None
            diff_ids.append("sha256:" + digest)
            written_layers.setdefault(listing.hexdigest(), (name, diff_ids[-1]))
        history = []
        for spec in layers:
            history.extend({"created_by": text, "empty_layer": True} for text in spec.empty_before)
            history.append({"created_by": spec.created_by})
        config = {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": history,
        }
        config_bytes = json.dumps(config).encode()
        config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
        for name, data in (
            (config_name, config_bytes),
            ("manifest.json", json.dumps([{"Config": config_name, "RepoTags": [repo_tag], "Layers": layer_paths}]).encode()),
        ):
            out.write(_outer_header(name, len(data)))
            out.write(data)
            out.zeros(_pad(len(data)) - len(data))
        out.zeros(2 * BLOCK)
        fh.truncate(fh.tell())
    return {"Config": config_name, "RepoTags": [repo_tag], "Layers": layer_paths, "diff_ids": diff_ids}


def archive_from_image(path: str | os.PathLike[str], img: Image, *, content: ContentFn | None = None) -> dict:
    """Write an in-memory test image as a real archive (entries in their stored order)."""
    return write_docker_archive(
        path,
        [ArchiveLayer(list(lyr.entries), lyr.created_by or "RUN true") for lyr in img.layers],
        repo_tag=img.reference if ":" in img.reference else img.reference + ":latest",
        content=content,
    )


def read_back(path: str | os.PathLike[str]) -> list[list[tarfile.TarInfo]]:
    """The members of every layer of an archive (test helper for the writer itself)."""
    result = []
    with tarfile.open(path) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))  # type: ignore[arg-type]
        for name in manifest[0]["Layers"]:
            data = outer.extractfile(name).read()  # type: ignore[union-attr]
            with tarfile.open(fileobj=io.BytesIO(data)) as inner:
                result.append(inner.getmembers())
    return result
