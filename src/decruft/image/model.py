"""The in-memory shape of a container image as decruft reads it.

Readers (``decruft.image.sources``) stream each layer's tar headers into
:class:`Entry` records without extracting anything; analysis
(``decruft.image.analysis``) works only on these records.  Memory is
proportional to the number of paths, never to the bytes in the layers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class EntryType(str, Enum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    CHAR = "char"
    BLOCK = "block"
    FIFO = "fifo"
    WHITEOUT = "whiteout"  # <dir>/.wh.<name>: deletes <dir>/<name> from lower layers
    OPAQUE = "opaque"  # <dir>/.wh..wh..opq: hides all lower children of <dir>


@dataclass(slots=True)
class Entry:
    """One tar header of a layer.

    ``path`` is normalised: no leading ``./`` or ``/``, no trailing ``/``,
    ``..`` components rejected by the reader.  For WHITEOUT entries ``path`` is
    the path that is deleted (``a/b`` for ``a/.wh.b``); for OPAQUE entries it is
    the directory whose lower children are hidden (``a`` for ``a/.wh..wh..opq``).
    """

    path: str
    type: EntryType
    size: int = 0  # file content bytes (0 for non-regular files)
    mode: int = 0o644  # permission bits (without the file type)
    uid: int = 0
    gid: int = 0
    mtime: int = 0
    linkname: str | None = None  # symlink target or hard-link source path
    digest: str | None = None  # content hash, only when the reader was asked to hash


@dataclass(slots=True)
class HistoryEntry:
    created_by: str
    created: str | None = None
    comment: str | None = None
    empty_layer: bool = False


@dataclass(slots=True)
class Layer:
    index: int  # 0 = bottom
    diff_id: str  # sha256 of the uncompressed tar ("sha256:...")
    digest: str | None  # the blob digest as stored (compressed), when known
    media_type: str | None
    compressed_size: int | None  # bytes as stored / pushed
    tar_size: int  # bytes of the uncompressed tar stream
    entries: list[Entry] = field(default_factory=list)
    history: HistoryEntry | None = None  # the config history entry that created it

    @property
    def created_by(self) -> str | None:
        return self.history.created_by if self.history else None

    @property
    def content_size(self) -> int:
        """Sum of regular-file sizes (what dive calls the layer size)."""
        return sum(entry.size for entry in self.entries if entry.type is EntryType.FILE)


@dataclass(slots=True)
class Image:
    reference: str  # what the user asked for (name, path, registry ref)
    source: str  # "daemon", "archive", "oci-layout", "registry"
    config: dict[str, Any]
    layers: list[Layer]
    history: list[HistoryEntry]  # all entries, empty layers included, in order
    platform: str | None = None  # "linux/amd64"
    manifest_digest: str | None = None
    warnings: list[str] = field(default_factory=list)
    # Contents of the files a reader was asked for (``open_image(read_files=...)``): path -> bytes
    # of the copy visible in the final filesystem (topmost regular file, not deleted above).
    file_contents: dict[str, bytes] = field(default_factory=dict)

    @property
    def tar_size(self) -> int:
        return sum(layer.tar_size for layer in self.layers)

    @property
    def compressed_size(self) -> int | None:
        sizes = [layer.compressed_size for layer in self.layers]
        return None if any(size is None for size in sizes) else sum(sizes)  # type: ignore[misc]
