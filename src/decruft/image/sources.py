"""Image sources for ``decruft inspect``: turn a reference into an :class:`~decruft.image.model.Image`.

:func:`open_image` dispatches on what the reference is:

==================================  ==============================================================
``path/to/file`` (or ``-``: stdin)  a ``docker save`` archive, any of the three layouts: Docker
                                    <= 24 (``manifest.json`` + ``<id>/layer.tar``, repeated layers
                                    as symlinks), Docker >= 25 (OCI layout inside the tar plus
                                    ``manifest.json``), containerd store (gzip/zstd blobs, nested
                                    indexes, attestation manifests). An OCI layout packed in a tar
                                    is read the same way; a gzip/zstd-compressed archive or stdin
                                    is read as a stream (one pass, like the daemon's).
``path/to/dir``                     an OCI image layout directory (``oci-layout``, ``index.json``)
``docker://NAME``, or a name the    the Engine API's save stream (``GET /images/{name}/get``),
local daemon has                    read as a stream (nothing written to disk)
``registry://host[:port]/repo:tag`` the distribution API (index -> platform manifest -> config ->
or ``host[:port]/repo[:tag|@dig]``  blobs streamed), bearer-token and basic auth from
not in the daemon                   ``~/.docker/config.json``; ``http`` for loopback registries
==================================  ==============================================================

How bytes are read (see :mod:`decruft.image.tarstream`): an uncompressed layer inside a seekable
file (a ``docker save`` archive, an OCI directory) is listed in place by seeking over file bodies;
compressed layers and every stream (daemon, registry) are decompressed and read through once.

Verification.  Whenever the bytes are read anyway, they are checked: the blob digest of compressed
or streamed blobs against the manifest (and its size), the DiffID (sha256 of the uncompressed tar)
against the config's ``rootfs.diff_ids``, manifests and configs against the digests that name
them.  An uncompressed layer listed by seeking is *not* hashed (that would cost reading it; pass
``hash_contents=True`` to read everything).  A mismatch raises :class:`DigestMismatchError`.
``verify=False`` (the CLI's ``--no-verify``) hashes no layer at all -- sha256 is what a streamed
read costs most (about 100-400 MB/s without SHA extensions, against >1 GB/s for listing) -- and
turns the mismatches still seen (manifest/config digests, blob sizes) into warnings in
``Image.warnings``, so a damaged image can still be inspected.

Warnings (bad paths, ``..`` escapes, links out of the tree, several images in one archive, ...) go
to ``Image.warnings``; they never stop the read.  Errors are :class:`ImageError` subclasses (all
:class:`decruft.errors.DecruftError`): :class:`ImageNotFoundError`, :class:`ImageUnauthorizedError`,
:class:`SourceUnreachableError` (``.address``), :class:`UnsupportedMediaTypeError`,
:class:`PlatformNotFoundError` (``.available``), :class:`CorruptImageError` and its subclass
:class:`DigestMismatchError`, :class:`TooManyEntriesError`.

``progress``, when given, is called as ``progress(label, done_bytes, total_bytes_or_None)``.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform as _platform
import posixpath
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from decruft.image.model import EntryType, HistoryEntry, Image, Layer
from decruft.image.tarstream import (
    BLOCK,
    CorruptImageError,
    DigestMismatchError,
    EntryBudget,
    ImageError,
    ImageNotFoundError,
    ImageUnauthorizedError,
    IterReader,
    LayerScan,
    PlatformNotFoundError,
    RawReader,
    SeekInput,
    SeqInput,
    SourceUnreachableError,
    TooManyEntriesError,
    UnsupportedMediaTypeError,
    Warnings,
    decompressing_reader,
    detect_compression,
    iter_headers,
    looks_like_tar,
    scan_file_window,
    scan_stream,
)

__all__ = [
    "CorruptImageError",
    "DigestMismatchError",
    "ImageError",
    "ImageNotFoundError",
    "ImageUnauthorizedError",
    "PlatformNotFoundError",
    "SourceUnreachableError",
    "TooManyEntriesError",
    "UnsupportedMediaTypeError",
    "host_platform",
    "open_image",
]

Progress = Callable[[str, int, "int | None"], None]

MAX_JSON = 32 << 20  # largest manifest / config / index we read into memory
MAX_LINK_HOPS = 40
DAEMON_TIMEOUT = 120  # seconds without a byte from the daemon before we give up

# ----------------------------------------------------------------------------------- media types

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
SCHEMA1 = frozenset({
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
})
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
CONFIG_TYPES = frozenset({
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
})
LAYER_TYPES = frozenset({
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar.zstd",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
})
ATTESTATION_KEY = "vnd.docker.reference.type"

_DIGEST_RE = re.compile(r"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$")


# -------------------------------------------------------------------------------------- platform


def host_platform() -> str:
    """The platform images default to: the host's (``linux/amd64`` on x86-64)."""
    machine = _platform.machine().lower()
    arch = {
        "x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
        "armv7l": "arm/v7", "armv6l": "arm/v6", "i686": "386", "i386": "386",
        "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64",
    }.get(machine, "amd64")
    return f"linux/{arch}"


_DEFAULT_VARIANT = {"arm64": "v8", "arm": "v7", "amd64": None}


def _split_platform(text: str) -> tuple[str, str, str | None]:
    parts = [p for p in text.strip().lower().split("/") if p]
    if not parts or len(parts) > 3:
        raise ImageError(f"bad platform {text!r}: expected os/arch[/variant], e.g. linux/amd64")
    if len(parts) == 1:  # "arm64" -> linux/arm64
        parts = ["linux", *parts]
    os_, arch = parts[0], parts[1]
    arch = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64"}.get(arch, arch)
    variant = parts[2] if len(parts) == 3 else None
    if variant == _DEFAULT_VARIANT.get(arch):
        variant = None
    if arch == "amd64" and variant == "v1":
        variant = None
    return os_, arch, variant


def _platform_string(os_: str | None, arch: str | None, variant: str | None = None) -> str | None:
    if not os_ and not arch:
        return None
    text = f"{os_ or 'unknown'}/{arch or 'unknown'}"
    return f"{text}/{variant}" if variant else text


def _desc_platform(desc: dict[str, Any]) -> str | None:
    plat = desc.get("platform")
    if not isinstance(plat, dict):
        return None
    return _platform_string(plat.get("os"), plat.get("architecture"), plat.get("variant"))


def _config_platform(config: dict[str, Any]) -> str | None:
    return _platform_string(config.get("os"), config.get("architecture"), config.get("variant"))


def _platform_matches(wanted: str, have: str | None) -> bool:
    if have is None:
        return False
    w, h = _split_platform(wanted), _split_platform(have)
    if w[:2] != h[:2]:
        return False
    return w[2] is None or w[2] == h[2]


# ------------------------------------------------------------------------------------ assembling


@dataclass
class _LayerSpec:
    key: str  # blob identity, for reading a repeated layer once
    digest: str | None  # stored blob digest, when known
    media_type: str | None
    size: int | None  # stored bytes according to the manifest or archive
    scan: Callable[[Warnings, EntryBudget, Callable[[int], None] | None], LayerScan]
    where: str  # for messages: "blobs/sha256/ab12..." / "ab12.../layer.tar"


class _Ctx:
    """Per-call options and state: warnings, entry budget, verification, progress."""

    def __init__(self, reference: str, *, platform: str | None, hash_contents: bool,
                 progress: Progress | None, verify: bool, read_files: frozenset[str] | None = None):
        self.reference = reference
        self.read_files = read_files or None
        self.platform = platform
        self.hash_contents = hash_contents
        self.progress = progress
        self.verify = verify
        self.warnings: list[str] = []
        self.budget = EntryBudget()

    def mismatch(self, message: str) -> None:
        if self.verify:
            raise DigestMismatchError(message + " (use --no-verify to read it anyway)")
        self.warnings.append("not verified: " + message)

    def check_digest(self, data: bytes, digest: str | None, what: str) -> None:
        if not digest:
            return
        algo, _, want = digest.partition(":")
        if algo not in ("sha256", "sha512"):
            return
        have = hashlib.new(algo, data).hexdigest()
        if have != want:
            self.mismatch(f"{what}: digest is {algo}:{have}, expected {digest}")

    def reporter(self, label: str, total: int | None) -> Callable[[int], None] | None:
        if self.progress is None:
            return None
        progress = self.progress

        def report(done: int) -> None:
            progress(label, done, total)

        return report


def _parse_json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptImageError(f"{what} is not valid JSON: {exc}") from None


def _history_entries(config: dict[str, Any]) -> list[HistoryEntry]:
    out = []
    for item in config.get("history") or []:
        if not isinstance(item, dict):
            continue
        out.append(HistoryEntry(
            created_by=str(item.get("created_by") or ""),
            created=item.get("created"),
            comment=item.get("comment"),
            empty_layer=bool(item.get("empty_layer", False)),
        ))
    return out


def map_history(history: list[HistoryEntry], n_layers: int) -> tuple[list[HistoryEntry | None], str | None]:
    """Give each layer the history entry that created it.

    Each entry with ``empty_layer != true`` consumes the next ``rootfs.diff_ids[k]``.  Returns the
    per-layer entries and a warning when the counts disagree (then the extra side stays unmapped).
    """
    per_layer: list[HistoryEntry | None] = [None] * n_layers
    k = 0
    for entry in history:
        if entry.empty_layer:
            continue
        if k < n_layers:
            per_layer[k] = entry
        k += 1
    warning = None
    if history and k != n_layers:
        warning = f"config history has {k} non-empty entries for {n_layers} layers; the mapping may be off"
    return per_layer, warning


def _assemble(ctx: _Ctx, *, source: str, config_bytes: bytes, specs: list[_LayerSpec],
              manifest_digest: str | None, platform: str | None) -> Image:
    config = _parse_json(config_bytes, "image config")
    if not isinstance(config, dict):
        raise CorruptImageError("image config is not a JSON object")
    rootfs = config.get("rootfs") or {}
    diff_ids = rootfs.get("diff_ids") or []
    if not isinstance(diff_ids, list) or not all(isinstance(d, str) for d in diff_ids):
        raise CorruptImageError("image config has no valid rootfs.diff_ids")
    if len(diff_ids) != len(specs):
        raise CorruptImageError(
            f"the manifest lists {len(specs)} layers but the config has {len(diff_ids)} diff_ids"
        )
    history = _history_entries(config)
    per_layer, warning = map_history(history, len(specs))
    if warning:
        ctx.warnings.append(warning)

    cache: dict[str, LayerScan] = {}
    layers: list[Layer] = []
    for i, spec in enumerate(specs):
        scan = cache.get(spec.key)
        if scan is None:
            warn = Warnings(prefix=f"layer {i + 1} ({spec.where}): ")
            total = spec.size
            scan = spec.scan(warn, ctx.budget, ctx.reporter(f"layer {i + 1}/{len(specs)}", total))
            cache[spec.key] = scan
            ctx.warnings.extend(scan.warnings)
            _verify_scan(ctx, spec, scan, diff_ids[i], i)
        else:
            ctx.budget.take(len(scan.entries))
        layers.append(Layer(
            index=i,
            diff_id=diff_ids[i],
            digest=spec.digest,
            media_type=spec.media_type,
            compressed_size=spec.size if spec.size is not None else scan.raw_size,
            tar_size=scan.tar_size,
            entries=list(scan.entries),
            history=per_layer[i],
        ))
    return Image(
        reference=ctx.reference,
        source=source,
        config=config,
        layers=layers,
        history=history,
        platform=platform or _config_platform(config),
        manifest_digest=manifest_digest,
        warnings=ctx.warnings,
        file_contents=_visible_contents(layers, [cache[spec.key].contents for spec in specs]) if ctx.read_files else {},
    )


def _visible_contents(layers: list[Layer], per_layer: list[dict[str, bytes]]) -> dict[str, bytes]:
    """The contents each requested path has in the final filesystem (bottom to top, whiteouts applied)."""
    visible: dict[str, bytes] = {}
    for layer, contents in zip(layers, per_layer):
        if not visible and not contents:
            continue
        for entry in layer.entries:  # opaque markers and whiteouts act on lower layers only
            if entry.type is EntryType.OPAQUE:
                prefix = entry.path + "/" if entry.path else ""
                for path in [p for p in visible if p.startswith(prefix)]:
                    del visible[path]
            elif entry.type is EntryType.WHITEOUT:
                for path in [p for p in visible if p == entry.path or p.startswith(entry.path + "/")]:
                    del visible[path]
        for entry in layer.entries:
            if entry.type is EntryType.WHITEOUT or entry.type is EntryType.OPAQUE:
                continue
            if entry.path in contents and entry.type is EntryType.FILE:
                visible[entry.path] = contents[entry.path]
            elif entry.path in visible:  # replaced by a directory, a link, a file too big to keep
                del visible[entry.path]
            elif entry.type is not EntryType.DIR and visible:  # a non-directory hides paths below it
                prefix = entry.path + "/"
                for path in [p for p in visible if p.startswith(prefix)]:
                    del visible[path]
    return visible


def _verify_scan(ctx: _Ctx, spec: _LayerSpec, scan: LayerScan, diff_id: str, i: int) -> None:
    what = f"layer {i + 1} ({spec.where})"
    if spec.size is not None and scan.raw_size != spec.size and (scan.digest is not None or scan.compression != "none"):
        ctx.mismatch(f"{what}: {scan.raw_size} bytes stored, the manifest says {spec.size}")
    if scan.digest and spec.digest and spec.digest.startswith("sha256:") and scan.digest != spec.digest:
        ctx.mismatch(f"{what}: blob digest is {scan.digest}, expected {spec.digest}")
    if scan.diff_id and diff_id.startswith("sha256:") and scan.diff_id != diff_id:
        ctx.mismatch(f"{what}: DiffID (sha256 of the uncompressed tar) is {scan.diff_id}, the config says {diff_id}")
    if spec.media_type and spec.media_type not in LAYER_TYPES:
        raise UnsupportedMediaTypeError(f"{what}: unsupported layer media type {spec.media_type!r}")
    if spec.media_type:
        declared = "zstd" if "zstd" in spec.media_type else "gzip" if "gzip" in spec.media_type else "none"
        if declared != scan.compression:
            ctx.warnings.append(f"{what}: media type says {declared} but the bytes are {scan.compression}")


# ------------------------------------------------------------------------------ OCI index walking


class _Store:
    """Blobs addressed by digest (an archive, an OCI directory, a buffered stream, a registry)."""

    kind = "blob store"

    def has(self, digest: str) -> bool:
        raise NotImplementedError

    def read_json_blob(self, digest: str, what: str) -> bytes:
        raise NotImplementedError

    def read_manifest(self, digest: str, what: str) -> bytes:
        """A manifest or index by digest (registries serve those apart from blobs)."""
        return self.read_json_blob(digest, what)

    def layer_spec(self, desc: dict[str, Any], ctx: _Ctx) -> _LayerSpec:
        raise NotImplementedError


def _check_descriptor(desc: Any, what: str) -> dict[str, Any]:
    if not isinstance(desc, dict) or not isinstance(desc.get("digest"), str):
        raise CorruptImageError(f"{what}: descriptor without a digest")
    if not _DIGEST_RE.match(desc["digest"]):
        raise CorruptImageError(f"{what}: bad digest {desc['digest']!r}")
    size = desc.get("size")
    if size is not None and (not isinstance(size, int) or size < 0):
        raise CorruptImageError(f"{what}: bad size {size!r}")
    return desc


def _is_attestation(desc: dict[str, Any]) -> bool:
    annotations = desc.get("annotations") or {}
    if annotations.get(ATTESTATION_KEY) == "attestation-manifest":
        return True
    plat = desc.get("platform") or {}
    return plat.get("os") == "unknown" and plat.get("architecture") == "unknown"


def _load_json_desc(store: _Store, desc: dict[str, Any], ctx: _Ctx, what: str,
                    manifest: bool = False) -> tuple[bytes, Any]:
    if manifest:
        data = store.read_manifest(desc["digest"], what)
    else:
        data = store.read_json_blob(desc["digest"], what)
    ctx.check_digest(data, desc["digest"], what)
    return data, _parse_json(data, what)


def _doc_media_type(desc: dict[str, Any], doc: Any) -> str | None:
    if isinstance(doc, dict) and isinstance(doc.get("mediaType"), str):
        return doc["mediaType"]
    return desc.get("mediaType")


def _select_manifest(store: _Store, root: dict[str, Any], ctx: _Ctx, where: str,
                     root_desc: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Walk an index (nested indexes included, attestations skipped) to one image manifest.

    Returns ``(descriptor, manifest)``.  The platform is ``ctx.platform`` or, by default, the
    host's; an index with a single image needs no match.
    """
    if root_desc is not None and _doc_media_type(root_desc, root) in MANIFEST_TYPES:
        return root_desc, root  # a registry tag that names a manifest directly

    candidates: list[dict[str, Any]] = []
    unsupported: list[str] = []

    def walk(index: dict[str, Any], depth: int, what: str) -> None:
        if depth > 8:
            raise CorruptImageError(f"{where}: image indexes nested deeper than 8 levels")
        manifests = index.get("manifests")
        if not isinstance(manifests, list):
            raise CorruptImageError(f"{what} has no 'manifests' list")
        for j, raw in enumerate(manifests):
            desc = _check_descriptor(raw, f"{what} manifests[{j}]")
            if _is_attestation(desc):
                continue
            media_type = desc.get("mediaType")
            if media_type in INDEX_TYPES:
                if not store.has(desc["digest"]):
                    ctx.warnings.append(f"{where}: nested index {desc['digest']} is not in the {store.kind}; skipped")
                    continue
                _, nested = _load_json_desc(store, desc, ctx, f"index {desc['digest']}", manifest=True)
                if not isinstance(nested, dict):
                    raise CorruptImageError(f"index {desc['digest']} is not a JSON object")
                walk(nested, depth + 1, f"index {desc['digest'][:19]}")
            elif media_type in MANIFEST_TYPES or media_type is None:
                candidates.append(desc)
            else:
                unsupported.append(str(media_type))

    walk(root, 0, where)
    if not candidates:
        if unsupported:
            raise UnsupportedMediaTypeError(f"{where}: no image manifest, only {', '.join(sorted(set(unsupported)))}")
        raise CorruptImageError(f"{where}: the index lists no image manifest")

    present = [d for d in candidates if store.has(d["digest"])]
    listed = sorted({p for d in candidates if (p := _desc_platform(d))})
    if not present:
        raise CorruptImageError(f"{where}: none of the image manifests it lists is in the {store.kind}")

    loaded: dict[str, tuple[dict[str, Any], str | None]] = {}

    def platform_of(desc: dict[str, Any]) -> str | None:
        plat = _desc_platform(desc)
        if plat is not None:
            return plat
        if desc["digest"] not in loaded:
            manifest = _load_manifest(store, desc, ctx)
            cfg_desc = manifest.get("config") or {}
            cfg_plat = None
            if isinstance(cfg_desc, dict) and store.has(str(cfg_desc.get("digest"))):
                cfg = _parse_json(store.read_json_blob(cfg_desc["digest"], "image config"), "image config")
                cfg_plat = _config_platform(cfg) if isinstance(cfg, dict) else None
            loaded[desc["digest"]] = (manifest, cfg_plat)
        return loaded[desc["digest"]][1]

    def finish(desc: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        if desc["digest"] in loaded:
            return desc, loaded[desc["digest"]][0]
        return desc, _load_manifest(store, desc, ctx)

    wanted = ctx.platform
    if len(present) == 1 and wanted is None:
        return finish(present[0])
    target = wanted or host_platform()
    platforms = [(d, platform_of(d)) for d in present]
    matching = [d for d, p in platforms if _platform_matches(target, p)]
    if wanted is not None and not matching:
        missing = [d for d in candidates if d not in present and _platform_matches(target, _desc_platform(d))]
        available = sorted({p for _, p in platforms if p})
        if missing:
            raise PlatformNotFoundError(
                f"{where}: platform {target} is listed in the index but its content is not in the {store.kind}"
                f" (present: {', '.join(available) or 'none'})", available=available)
        raise PlatformNotFoundError(
            f"{where}: no image for platform {target}; available: {', '.join(listed or available) or 'none'}",
            available=listed or available)
    if not matching:
        distinct = {p for _, p in platforms}
        if len(distinct) == 1:  # one platform only (not the host's): read it
            ctx.warnings.append(f"{where}: the image is for {next(iter(distinct))}, not the host platform {target}")
            return finish(present[0])
        available = sorted(p for p in distinct if p)
        raise PlatformNotFoundError(
            f"{where}: no image for the host platform {target}; pick one with --platform: {', '.join(available)}",
            available=available)
    if len(matching) > 1:
        names = [_image_name(d) or d["digest"][:19] for d in matching]
        ctx.warnings.append(f"{where}: {len(matching)} images match {target} ({', '.join(names)}); reading the first")
    return finish(matching[0])


def _image_name(desc: dict[str, Any]) -> str | None:
    annotations = desc.get("annotations") or {}
    return annotations.get("io.containerd.image.name") or annotations.get("org.opencontainers.image.ref.name")


def _load_manifest(store: _Store, desc: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    _, manifest = _load_json_desc(store, desc, ctx, f"manifest {desc['digest']}", manifest=True)
    if not isinstance(manifest, dict):
        raise CorruptImageError(f"manifest {desc['digest']} is not a JSON object")
    media_type = _doc_media_type(desc, manifest)
    if media_type in SCHEMA1 or manifest.get("schemaVersion") == 1:
        raise UnsupportedMediaTypeError(f"manifest {desc['digest']}: Docker schema 1 manifests are not supported")
    if media_type is not None and media_type not in MANIFEST_TYPES:
        raise UnsupportedMediaTypeError(f"manifest {desc['digest']}: unsupported media type {media_type!r}")
    return manifest


def _image_from_manifest(store: _Store, desc: dict[str, Any], manifest: dict[str, Any], ctx: _Ctx,
                         source: str) -> Image:
    cfg_desc = _check_descriptor(manifest.get("config"), "manifest config")
    cfg_type = cfg_desc.get("mediaType")
    if cfg_type is not None and cfg_type not in CONFIG_TYPES:
        raise UnsupportedMediaTypeError(
            f"manifest {desc['digest']}: config media type {cfg_type!r} is not a container image (an artifact?)")
    if not store.has(cfg_desc["digest"]):
        raise CorruptImageError(f"image config {cfg_desc['digest']} is not in the {store.kind}")
    config_bytes, config = _load_json_desc(store, cfg_desc, ctx, f"image config {cfg_desc['digest']}")
    if ctx.platform is not None and _desc_platform(desc) is None and isinstance(config, dict):
        have = _config_platform(config)
        if not _platform_matches(ctx.platform, have):
            raise PlatformNotFoundError(f"the image is for {have}, not {ctx.platform}", available=[have] if have else [])
    layers = manifest.get("layers")
    if not isinstance(layers, list):
        raise CorruptImageError(f"manifest {desc['digest']} has no 'layers' list")
    specs = []
    for j, raw in enumerate(layers):
        ldesc = _check_descriptor(raw, f"manifest layers[{j}]")
        media_type = ldesc.get("mediaType")
        if media_type is not None and media_type not in LAYER_TYPES:
            raise UnsupportedMediaTypeError(f"layer {j + 1} ({ldesc['digest']}): unsupported media type {media_type!r}")
        if not store.has(ldesc["digest"]):
            extra = " (a foreign layer: its bytes live at its URLs)" if ldesc.get("urls") else ""
            raise CorruptImageError(f"layer {j + 1} blob {ldesc['digest']} is not in the {store.kind}{extra}")
        specs.append(store.layer_spec(ldesc, ctx))
    return _assemble(ctx, source=source, config_bytes=config_bytes, specs=specs,
                     manifest_digest=desc.get("digest"), platform=_desc_platform(desc))


# ----------------------------------------------------------------------------- seekable archives


@dataclass(slots=True)
class _Member:
    name: str
    typeflag: str
    offset: int
    size: int
    linkname: str


def _clean_member_name(name: str) -> str:
    return posixpath.normpath("/" + name).lstrip("/")


class _Archive:
    """The member table of a seekable tar (a ``docker save`` output), symlinks resolved on demand."""

    def __init__(self, fd: int, length: int, where: str):
        self.fd = fd
        self.where = where
        self.members: dict[str, _Member] = {}
        inp = SeekInput(fd, 0, length)
        for h in iter_headers(inp):
            name = _clean_member_name(h.name)
            self.members[name] = _Member(name, h.typeflag, h.offset, h.size, h.linkname)

    def resolve(self, name: str) -> _Member | None:
        name = _clean_member_name(name)
        seen: list[str] = []
        member = self.members.get(name)
        while member is not None and member.typeflag in ("1", "2"):
            if member.name in seen or len(seen) >= MAX_LINK_HOPS:
                chain = " -> ".join([*seen, member.name])
                raise CorruptImageError(f"{self.where}: symlink loop in the archive: {chain}")
            seen.append(member.name)
            if member.typeflag == "2":
                base = posixpath.dirname(member.name)
                target = posixpath.normpath(posixpath.join("/", base, member.linkname)).lstrip("/")
                rel = posixpath.normpath(posixpath.join(base, member.linkname))
                if rel == ".." or rel.startswith("../"):
                    raise CorruptImageError(
                        f"{self.where}: member {member.name} links outside the archive ({member.linkname})")
            else:  # hard link: the name of an earlier member
                target = _clean_member_name(member.linkname)
            member = self.members.get(target)
        if member is not None and member.typeflag not in ("0", "\0", "7"):
            return None
        return member

    def read(self, name: str, what: str) -> bytes:
        member = self.resolve(name)
        if member is None:
            raise CorruptImageError(f"{self.where}: {what} ({name}) is not in the archive")
        if member.size > MAX_JSON:
            raise CorruptImageError(f"{self.where}: {what} ({name}) is {member.size} bytes, larger than allowed")
        data = os.pread(self.fd, member.size, member.offset)
        if len(data) != member.size:
            raise CorruptImageError(f"{self.where}: truncated: {name} ends early")
        return data


def _blob_path(digest: str) -> str:
    if not _DIGEST_RE.match(digest):
        raise CorruptImageError(f"bad digest {digest!r}")
    algo, _, hexpart = digest.partition(":")
    return f"blobs/{algo}/{hexpart}"


class _ArchiveStore(_Store):
    kind = "archive"

    def __init__(self, archive: _Archive, ctx: _Ctx):
        self.archive = archive
        self.hash_contents = ctx.hash_contents
        self.verify = ctx.verify
        self.read_files = ctx.read_files

    def has(self, digest: str) -> bool:
        return bool(_DIGEST_RE.match(digest)) and self.archive.resolve(_blob_path(digest)) is not None

    def read_json_blob(self, digest: str, what: str) -> bytes:
        return self.archive.read(_blob_path(digest), what)

    def member_spec(self, name: str, *, digest: str | None, media_type: str | None, size: int | None) -> _LayerSpec:
        member = self.archive.resolve(name)
        if member is None:
            raise CorruptImageError(f"{self.archive.where}: layer {name} is not in the archive")
        fd = self.archive.fd
        hash_contents, verify, read_files = self.hash_contents, self.verify, self.read_files

        def scan(warn: Warnings, budget: EntryBudget, progress: Callable[[int], None] | None) -> LayerScan:
            return scan_file_window(fd, member.offset, member.size, hash_contents=hash_contents,
                                    warn=warn, budget=budget, progress=progress, verify=verify,
                                    read_files=read_files)

        return _LayerSpec(key=member.name, digest=digest, media_type=media_type,
                          size=size if size is not None else member.size, scan=scan, where=name)

    def layer_spec(self, desc: dict[str, Any], ctx: _Ctx) -> _LayerSpec:
        return self.member_spec(_blob_path(desc["digest"]), digest=desc["digest"],
                                media_type=desc.get("mediaType"), size=desc.get("size"))


def _open_archive(path: Path, ctx: _Ctx) -> Image:
    where = str(path)
    with open(path, "rb") as f:
        fd = f.fileno()
        length = os.fstat(fd).st_size
        head = os.pread(fd, BLOCK, 0)
        if detect_compression(head) != "none":  # docker save | gzip > image.tar.gz: read as a stream
            return _read_compressed_archive(f, ctx, where)
        if not looks_like_tar(head):
            raise CorruptImageError(f"{where} is neither a tar archive (docker save) nor an OCI layout directory")
        archive = _Archive(fd, length, where)
        store = _ArchiveStore(archive, ctx)
        if archive.resolve("index.json") is not None:
            index = _parse_json(archive.read("index.json", "index.json"), f"{where}: index.json")
            if not isinstance(index, dict):
                raise CorruptImageError(f"{where}: index.json is not a JSON object")
            desc, manifest = _select_manifest(store, index, ctx, f"{where}: index.json")
            return _image_from_manifest(store, desc, manifest, ctx, "archive")
        if archive.resolve("manifest.json") is not None:
            return _legacy_image(store, archive.read("manifest.json", "manifest.json"), ctx, where,
                                 lambda name: archive.read(name, "image config"),
                                 lambda name, **kw: store.member_spec(name, **kw),
                                 "archive")
        raise CorruptImageError(f"{where}: a tar, but not a docker save archive (no manifest.json or index.json)")


def _read_compressed_archive(reader: Any, ctx: _Ctx, where: str) -> Image:
    kind, plain = decompressing_reader(reader)
    try:
        store = _StreamStore(where)
        store.kind = "archive"
        store.feed(plain, ctx)
        return store.image(ctx, "archive")
    except ImageError:
        raise
    except (OSError, EOFError, ValueError) as exc:
        raise CorruptImageError(f"{where}: corrupt {kind} data: {exc}") from exc
    except Exception as exc:
        if type(exc).__name__ == "ZstdError":
            raise CorruptImageError(f"{where}: corrupt {kind} data: {exc}") from exc
        raise


def _legacy_image(store: _Store, manifest_bytes: bytes, ctx: _Ctx, where: str,
                  read_config: Callable[[str], bytes], spec_for: Callable[..., _LayerSpec], source: str) -> Image:
    manifest = _parse_json(manifest_bytes, f"{where}: manifest.json")
    if not isinstance(manifest, list) or not manifest or not all(isinstance(m, dict) for m in manifest):
        raise CorruptImageError(f"{where}: manifest.json lists no images")
    chosen = manifest[0]
    configs: dict[int, tuple[bytes, dict[str, Any]]] = {}

    def config_of(i: int) -> tuple[bytes, dict[str, Any]]:
        if i not in configs:
            name = manifest[i].get("Config")
            if not isinstance(name, str):
                raise CorruptImageError(f"{where}: manifest.json entry {i} has no Config")
            data = read_config(name)
            cfg = _parse_json(data, f"{where}: {name}")
            if not isinstance(cfg, dict):
                raise CorruptImageError(f"{where}: {name} is not a JSON object")
            configs[i] = (data, cfg)
        return configs[i]

    if len(manifest) > 1 or ctx.platform is not None:
        target = ctx.platform or host_platform()
        platforms = [_config_platform(config_of(i)[1]) for i in range(len(manifest))]
        matching = [i for i, p in enumerate(platforms) if _platform_matches(target, p)]
        available = sorted({p for p in platforms if p})
        if not matching:
            if ctx.platform is not None or len(set(platforms)) > 1:
                raise PlatformNotFoundError(
                    f"{where}: no image for platform {target}; available: {', '.join(available) or 'none'}",
                    available=available)
            matching = [0]
        chosen = manifest[matching[0]]
        if len(matching) > 1:
            tags = [", ".join(manifest[i].get("RepoTags") or []) or manifest[i].get("Config", "?") for i in matching]
            ctx.warnings.append(f"{where}: holds {len(matching)} images ({'; '.join(tags)}); reading the first")
    config_name = chosen.get("Config")
    if not isinstance(config_name, str):
        raise CorruptImageError(f"{where}: manifest.json has no Config")
    config_bytes = config_of(manifest.index(chosen))[0]
    # The config's name is its digest (legacy: "<hex>.json"; Docker >= 25: "blobs/sha256/<hex>").
    stem = posixpath.basename(config_name).removesuffix(".json")
    if re.fullmatch(r"[a-f0-9]{64}", stem):
        ctx.check_digest(config_bytes, "sha256:" + stem, f"image config {config_name}")
    layer_names = chosen.get("Layers")
    if not isinstance(layer_names, list) or not all(isinstance(n, str) for n in layer_names):
        raise CorruptImageError(f"{where}: manifest.json has no Layers list")
    sources = chosen.get("LayerSources") or {}
    cfg = config_of(manifest.index(chosen))[1]
    diff_ids = (cfg.get("rootfs") or {}).get("diff_ids") or []
    specs = []
    for j, name in enumerate(layer_names):
        media_type = None
        digest = None
        size = None
        if name.startswith("blobs/"):  # Docker >= 25 layout: the name is the digest
            parts = name.split("/")
            if len(parts) == 3:
                digest = f"{parts[1]}:{parts[2]}"
        if j < len(diff_ids) and isinstance(sources, dict) and diff_ids[j] in sources:
            src = sources[diff_ids[j]] or {}
            media_type = src.get("mediaType")
        specs.append(spec_for(name, digest=digest, media_type=media_type, size=size))
    return _assemble(ctx, source=source, config_bytes=config_bytes, specs=specs, manifest_digest=None,
                     platform=None)


# ------------------------------------------------------------------------------ OCI layout directory


class _DirStore(_Store):
    kind = "OCI layout"

    def __init__(self, root: Path, ctx: _Ctx):
        self.root = root
        self.hash_contents = ctx.hash_contents
        self.verify = ctx.verify
        self.read_files = ctx.read_files

    def _path(self, digest: str) -> Path:
        return self.root / _blob_path(digest)

    def has(self, digest: str) -> bool:
        return bool(_DIGEST_RE.match(digest)) and self._path(digest).is_file()

    def read_json_blob(self, digest: str, what: str) -> bytes:
        path = self._path(digest)
        try:
            size = path.stat().st_size
            if size > MAX_JSON:
                raise CorruptImageError(f"{what} ({path}) is {size} bytes, larger than allowed")
            return path.read_bytes()
        except FileNotFoundError:
            raise CorruptImageError(f"{what} ({digest}) is not in {self.root}") from None

    def layer_spec(self, desc: dict[str, Any], ctx: _Ctx) -> _LayerSpec:
        path = self._path(desc["digest"])
        hash_contents, verify, read_files = self.hash_contents, self.verify, self.read_files

        def scan(warn: Warnings, budget: EntryBudget, progress: Callable[[int], None] | None) -> LayerScan:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())
                if not stat.S_ISREG(st.st_mode):
                    raise CorruptImageError(f"{path} is not a regular file")
                return scan_file_window(f.fileno(), 0, st.st_size, hash_contents=hash_contents,
                                        warn=warn, budget=budget, progress=progress, verify=verify,
                                        read_files=read_files)

        return _LayerSpec(key=desc["digest"], digest=desc["digest"], media_type=desc.get("mediaType"),
                          size=desc.get("size"), scan=scan, where=_blob_path(desc["digest"]))


def _open_layout_dir(root: Path, ctx: _Ctx) -> Image:
    layout = root / "oci-layout"
    index_path = root / "index.json"
    if not index_path.is_file():
        raise ImageNotFoundError(f"{root} is a directory but not an OCI image layout (no index.json)")
    if layout.is_file():
        info = _parse_json(layout.read_bytes()[:MAX_JSON], f"{layout}")
        version = info.get("imageLayoutVersion") if isinstance(info, dict) else None
        if version and not str(version).startswith("1."):
            ctx.warnings.append(f"{layout}: imageLayoutVersion {version} is newer than 1.x")
    else:
        ctx.warnings.append(f"{root}: no oci-layout file; reading index.json anyway")
    index = _parse_json(index_path.read_bytes()[:MAX_JSON], str(index_path))
    if not isinstance(index, dict):
        raise CorruptImageError(f"{index_path} is not a JSON object")
    store = _DirStore(root, ctx)
    desc, manifest = _select_manifest(store, index, ctx, str(index_path))
    return _image_from_manifest(store, desc, manifest, ctx, "oci-layout")


# --------------------------------------------------------------------- streamed archives (daemon)


@dataclass(slots=True)
class _StreamMember:
    kind: str  # "json", "layer", "link", "other"
    data: bytes | None = None
    scan: LayerScan | None = None
    link: str | None = None
    size: int = 0


class _StreamStore(_Store):
    """An archive read once, front to back: small JSON kept, layers parsed on arrival.

    The save stream's member order is not ours to choose (legacy saves put layers before
    ``manifest.json``), so every member that looks like a layer (tar/gzip/zstd magic) is parsed as
    it passes and only its entries are kept; JSON members are kept as bytes; nothing else is.
    """

    kind = "daemon's save stream"

    def __init__(self, where: str):
        self.where = where
        self.members: dict[str, _StreamMember] = {}

    def feed(self, reader: Any, ctx: _Ctx, total: int | None = None) -> None:
        outer = SeqInput(reader, None, ctx.reporter(self.where, total))
        for h in iter_headers(outer):
            name = _clean_member_name(h.name)
            if h.typeflag in ("1", "2"):
                target = h.linkname
                if h.typeflag == "2":
                    base = posixpath.dirname(name)
                    rel = posixpath.normpath(posixpath.join(base, target))
                    if rel.startswith("../") or rel == "..":
                        raise CorruptImageError(f"{self.where}: member {name} links outside the archive ({target})")
                    target = _clean_member_name(posixpath.join(base, target))
                else:
                    target = _clean_member_name(target)
                self.members[name] = _StreamMember("link", link=target)
                continue
            if h.typeflag not in ("0", "\0", "7"):
                continue
            raw = RawReader(outer, length=h.size)
            head = raw.peek(BLOCK)
            if detect_compression(head) != "none" or looks_like_tar(head):
                warn = Warnings(prefix=f"{name}: ")
                scan = scan_stream(raw, length=h.size, hash_contents=ctx.hash_contents, warn=warn,
                                   budget=ctx.budget, progress=None, verify=ctx.verify,
                                   read_files=ctx.read_files)
                self.members[name] = _StreamMember("layer", scan=scan, size=h.size)
            elif head.lstrip()[:1] in (b"{", b"[") and h.size <= MAX_JSON:
                data = raw.read()
                if len(data) != h.size:
                    raise CorruptImageError(f"{self.where}: truncated: {name} ends early")
                self.members[name] = _StreamMember("json", data=data, size=h.size)
            else:
                self.members[name] = _StreamMember("other", size=h.size)

    def resolve(self, name: str) -> _StreamMember | None:
        name = _clean_member_name(name)
        seen: list[str] = []
        member = self.members.get(name)
        while member is not None and member.kind == "link":
            if name in seen or len(seen) >= MAX_LINK_HOPS:
                raise CorruptImageError(f"{self.where}: symlink loop in the archive: {' -> '.join([*seen, name])}")
            seen.append(name)
            name = member.link or ""
            member = self.members.get(name)
        return member

    def has(self, digest: str) -> bool:
        return bool(_DIGEST_RE.match(digest)) and self.resolve(_blob_path(digest)) is not None

    def read(self, name: str, what: str) -> bytes:
        member = self.resolve(name)
        if member is None:
            raise CorruptImageError(f"{self.where}: {what} ({name}) is not in the archive")
        if member.kind != "json" or member.data is None:
            raise CorruptImageError(f"{self.where}: {what} ({name}) is not JSON")
        return member.data

    def read_json_blob(self, digest: str, what: str) -> bytes:
        return self.read(_blob_path(digest), what)

    def member_spec(self, name: str, *, digest: str | None, media_type: str | None, size: int | None) -> _LayerSpec:
        member = self.resolve(name)
        if member is None:
            raise CorruptImageError(f"{self.where}: layer {name} is not in the archive")
        if member.kind != "layer" or member.scan is None:
            raise CorruptImageError(f"{self.where}: layer {name} is not a tar, gzip or zstd blob")
        scan = member.scan

        def scan_fn(warn: Warnings, budget: EntryBudget, progress: Callable[[int], None] | None) -> LayerScan:
            return scan  # parsed while streaming (its entries already counted in the budget)

        return _LayerSpec(key=f"{id(scan)}", digest=digest, media_type=media_type,
                          size=size if size is not None else member.size, scan=scan_fn, where=name)

    def layer_spec(self, desc: dict[str, Any], ctx: _Ctx) -> _LayerSpec:
        return self.member_spec(_blob_path(desc["digest"]), digest=desc["digest"],
                                media_type=desc.get("mediaType"), size=desc.get("size"))

    def image(self, ctx: _Ctx, source: str) -> Image:
        if self.resolve("index.json") is not None:
            index = _parse_json(self.read("index.json", "index.json"), f"{self.where}: index.json")
            if not isinstance(index, dict):
                raise CorruptImageError(f"{self.where}: index.json is not a JSON object")
            desc, manifest = _select_manifest(self, index, ctx, f"{self.where}: index.json")
            return _image_from_manifest(self, desc, manifest, ctx, source)
        if self.resolve("manifest.json") is not None:
            return _legacy_image(self, self.read("manifest.json", "manifest.json"), ctx, self.where,
                                 lambda name: self.read(name, "image config"), self.member_spec, source)
        raise CorruptImageError(f"{self.where}: not a docker save stream (no manifest.json or index.json)")


def read_save_stream(reader: Any, reference: str, *, source: str = "daemon", platform: str | None = None,
                     hash_contents: bool = False, progress: Progress | None = None,
                     verify: bool = True, read_files: set[str] | frozenset[str] | None = None) -> Image:
    """Read a ``docker save`` tar from a forward-only reader (``read(n)``), in one pass."""
    ctx = _Ctx(reference, platform=platform, hash_contents=hash_contents, progress=progress, verify=verify,
               read_files=frozenset(read_files) if read_files else None)
    store = _StreamStore(reference)
    store.feed(reader, ctx)
    return store.image(ctx, source)


# ----------------------------------------------------------------------------------------- daemon


def _docker_client(timeout: int = DAEMON_TIMEOUT) -> Any:
    try:
        import docker
        from docker.utils import kwargs_from_env
    except ImportError as exc:  # pragma: no cover - a dependency
        raise ImageError("reading from the Docker daemon needs the 'docker' package") from exc
    kwargs = kwargs_from_env()
    try:
        return docker.APIClient(timeout=timeout, version="auto", **kwargs)
    except docker.errors.DockerException as exc:
        address = kwargs.get("base_url") or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        raise SourceUnreachableError(f"cannot reach the Docker daemon at {address}: {exc}", address=address) from exc


def daemon_has(name: str) -> bool | None:
    """True/False when the daemon answers, None when no daemon answers."""
    try:
        client = _docker_client(timeout=10)
    except SourceUnreachableError:
        return None
    import docker

    try:
        client.inspect_image(name)
        return True
    except docker.errors.NotFound:
        return False
    except docker.errors.APIError as exc:
        if exc.status_code in (400, 404):  # 400: not a valid reference
            return False
        return None
    except Exception:
        return None
    finally:
        client.close()


def _open_daemon(name: str, ctx: _Ctx) -> Image:
    import docker
    import requests

    client = _docker_client()
    address = client.base_url
    try:
        try:
            info = client.inspect_image(name)
        except docker.errors.NotFound:
            raise ImageNotFoundError(f"no image {name!r} in the Docker daemon ({address})") from None
        except docker.errors.APIError as exc:
            if exc.status_code == 400:
                raise ImageNotFoundError(f"{name!r} is not a valid image reference: {exc.explanation}") from None
            raise
        # Our own request rather than client.get_image(): docker-py switches the socket timeout
        # off for that stream, and a stalled daemon must not hang us.  With a platform, engines
        # with API >= 1.48 save only that platform of a multi-platform (containerd-store) image;
        # older ones ignore the parameter and the index is walked here instead.
        url = f"{address}/v{client.api_version}/images/{_quote_name(name)}/get"
        params = {}
        if ctx.platform is not None:
            os_, arch, variant = _split_platform(ctx.platform)
            plat = {"os": os_, "architecture": arch, **({"variant": variant} if variant else {})}
            params["platform"] = json.dumps(plat)
        response = client.get(url, params=params, stream=True, timeout=DAEMON_TIMEOUT)
        if response.status_code == 404:
            raise ImageNotFoundError(f"no image {name!r} in the Docker daemon ({address})")
        response.raise_for_status()
        try:
            chunks = response.iter_content(chunk_size=1 << 20)
            return _stream_image(IterReader(chunks), ctx, total=info.get("Size"))
        finally:
            response.close()
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise SourceUnreachableError(f"the Docker daemon at {address} stopped answering: {exc}",
                                     address=address) from exc
    except docker.errors.APIError as exc:
        raise ImageError(f"the Docker daemon ({address}) refused: {exc.explanation or exc}") from exc
    finally:
        client.close()


def _stream_image(reader: Any, ctx: _Ctx, total: int | None = None) -> Image:
    store = _StreamStore(ctx.reference)
    store.feed(reader, ctx, total=total)
    return store.image(ctx, "daemon")


def _quote_name(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="/:@")


# -------------------------------------------------------------------------------------- registry


def _open_registry(ref: str, ctx: _Ctx) -> Image:
    from decruft.image import registry

    client = registry.RegistryClient.for_reference(ref)
    try:
        store = registry.RegistryStore(client, ctx)
        data, media_type, digest = client.get_manifest(client.ref.reference)
        root = _parse_json(data, f"manifest {client.ref}")
        if not isinstance(root, dict):
            raise CorruptImageError(f"manifest of {client.ref} is not a JSON object")
        if client.ref.digest:
            ctx.check_digest(data, client.ref.digest, f"manifest {client.ref}")
        media_type = root.get("mediaType") or media_type
        if media_type in SCHEMA1 or root.get("schemaVersion") == 1:
            raise UnsupportedMediaTypeError(f"{client.ref}: Docker schema 1 manifests are not supported")
        if media_type in INDEX_TYPES or (media_type not in MANIFEST_TYPES and "manifests" in root):
            desc, manifest = _select_manifest(store, root, ctx, str(client.ref))
        elif media_type in MANIFEST_TYPES or "layers" in root:
            desc, manifest = {"mediaType": media_type, "digest": digest, "size": len(data)}, root
        else:
            raise UnsupportedMediaTypeError(f"{client.ref}: unsupported manifest media type {media_type!r}")
        return _image_from_manifest(store, desc, manifest, ctx, "registry")
    finally:
        client.close()


# ---------------------------------------------------------------------------------------- dispatch


def _has_registry_host(name: str) -> bool:
    first, sep, _ = name.partition("/")
    return bool(sep) and ("." in first or ":" in first or first == "localhost")


def open_image(reference: str, *, platform: str | None = None, hash_contents: bool = False,
               progress: Progress | None = None, verify: bool = True,
               read_files: set[str] | frozenset[str] | None = None) -> Image:
    """Read the image ``reference`` names: an archive, an OCI directory, a daemon or registry image.

    ``platform`` (``os/arch[/variant]``) picks one image of a multi-platform index (default: the
    host's). ``hash_contents`` reads every file body and sets ``Entry.digest`` (sha256).
    ``verify=False`` hashes no layer and turns digest mismatches into warnings.  ``read_files``
    (normalised paths such as ``var/lib/dpkg/status``) fills ``Image.file_contents`` with the
    bytes each of those files has in the final filesystem (files up to 64 MiB).  See the module
    docstring for the dispatch rules and the errors.
    """
    if platform is not None:
        _split_platform(platform)  # validate early
    files = frozenset(p.strip("/") for p in read_files) if read_files else None
    ctx = _Ctx(reference, platform=platform, hash_contents=hash_contents, progress=progress, verify=verify,
               read_files=files)
    if reference == "-":  # docker save IMAGE | decruft inspect -   (plain, gzip or zstd)
        import sys

        return _read_compressed_archive(sys.stdin.buffer, ctx, "<stdin>")
    if reference.startswith("docker://"):
        return _open_daemon(reference[len("docker://"):], ctx)
    if reference.startswith("registry://"):
        return _open_registry(reference[len("registry://"):], ctx)
    for prefix in ("oci:", "oci-archive:", "docker-archive:"):
        if reference.startswith(prefix) and os.path.exists(reference[len(prefix):]):
            reference = reference[len(prefix):]
            break
    path = Path(reference)
    try:
        if path.is_dir():
            if not (path / "index.json").exists() and not reference.startswith((".", "/")) and daemon_has(reference):
                return _open_daemon(reference, ctx)  # "python" names an image, not ./python/
            return _open_layout_dir(path, ctx)
        if path.exists():
            if not path.is_file():
                raise ImageNotFoundError(f"{reference} is not a regular file or directory")
            return _open_archive(path, ctx)
    except PermissionError as exc:
        raise ImageError(f"cannot read {reference}: {exc.strerror}") from None
    if "/" in reference and (reference.startswith((".", "/")) or reference.endswith((".tar", ".tar.gz"))):
        raise ImageNotFoundError(f"no such file or directory: {reference}")
    present = daemon_has(reference)
    if present:
        return _open_daemon(reference, ctx)
    if _has_registry_host(reference):
        return _open_registry(reference, ctx)
    if present is None:
        raise SourceUnreachableError(
            f"{reference!r} is not a file or directory, and no Docker daemon answers to look it up "
            f"(DOCKER_HOST={os.environ.get('DOCKER_HOST', 'unix:///var/run/docker.sock')})",
            address=os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"))
    raise ImageNotFoundError(
        f"{reference!r} is not a file, a directory or an image in the Docker daemon"
        f" (for a registry image use registry://HOST/NAME:TAG, e.g. registry://docker.io/library/{reference})")
