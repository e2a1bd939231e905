"""``RUN --mount=...`` values, parsed as BuildKit's runmount does (CSV fields)."""

from __future__ import annotations

import csv
from functools import lru_cache
from dataclasses import dataclass, field

MOUNT_TYPES = ("bind", "cache", "tmpfs", "secret", "ssh")
_ALIASES = {
    "src": "source",
    "dst": "target",
    "destination": "target",
    "ro": "readonly",
    "rw": "readwrite",
}
_BARE_KEYS = frozenset({"readonly", "readwrite", "required"})
_KEYS = frozenset(
    {"type", "from", "source", "target", "readonly", "readwrite", "id", "sharing", "mode",
     "uid", "gid", "size", "required", "env", "relabel"}
)  # fmt: skip
_SHARING = ("shared", "private", "locked")


class MountError(ValueError):
    pass


@dataclass(slots=True, frozen=True)
class Mount:
    type: str
    target: str | None
    source: str | None = None
    from_: str | None = None
    id: str | None = None
    sharing: str | None = None
    readonly: bool = False
    options: dict[str, str] = field(default_factory=dict)

    @property
    def is_cache(self) -> bool:
        return self.type == "cache"


@lru_cache(maxsize=4096)
def parse_mount(value: str) -> Mount:
    """Parse one ``--mount`` value (cached: validation and the model both ask)."""
    try:
        fields = next(csv.reader([value]), [])
    except csv.Error as exc:
        raise MountError(f"invalid --mount value {value!r}: {exc}") from None
    options: dict[str, str] = {}
    for item in fields:
        key, sep, val = item.partition("=")
        key = _ALIASES.get(key.strip().lower(), key.strip().lower())
        if not sep:
            if key not in _BARE_KEYS:
                raise MountError(f"invalid field '{item}' must be a key=value pair")
            val = "true"
        if key not in _KEYS:
            raise MountError(f"unexpected key '{key}' in '{item}'")
        options[key] = val
    mount_type = options.pop("type", "bind").lower()
    if mount_type not in MOUNT_TYPES:
        raise MountError(f'unsupported mount type "{mount_type}"')
    target = options.pop("target", None)
    if not target and mount_type not in ("secret", "ssh"):
        raise MountError("mount destination not specified")
    sharing = options.pop("sharing", None)
    if sharing is not None and sharing not in _SHARING:
        raise MountError(f"unsupported sharing value {sharing!r}")
    readonly = options.pop("readonly", "false").lower() in ("true", "1", "")
    if options.pop("readwrite", "false").lower() in ("true", "1", ""):
        readonly = False
    return Mount(
        type=mount_type,
        target=target,
        source=options.pop("source", None),
        from_=options.pop("from", None),
        id=options.pop("id", None),
        sharing=sharing,
        readonly=readonly,
        options=options,
    )
