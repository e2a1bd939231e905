"""Image references (``[registry/]repository[:tag][@digest]``) and base-image families (data/base_images.toml)."""

from __future__ import annotations

from dataclasses import dataclass

from decruft.audit.context import data_table


@dataclass(slots=True, frozen=True)
class ImageReference:
    """``[registry/]repository[:tag][@digest]`` split; ``repository`` without ``library/``."""

    registry: str | None
    repository: str
    tag: str | None
    digest: str | None
    text: str  # the reference as given

    @property
    def name_part(self) -> str:
        """The reference without tag and digest, as written (registry and namespace kept)."""
        end = len(self.text)
        if self.digest is not None:
            end = self.text.index("@")
        head = self.text[:end]
        if self.tag is not None:
            head = head[: head.rindex(":")]
        return head


def parse_image_reference(text: str) -> ImageReference:
    reference, _, digest = text.partition("@")
    slash = reference.rfind("/")
    colon = reference.rfind(":")
    tag = None
    if colon > slash:
        reference, tag = reference[:colon], reference[colon + 1 :]
    registry = None
    first, sep, rest = reference.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, reference = first, rest
    repository = reference.lower()
    for prefix in ("docker/library/", "library/"):
        if repository.startswith(prefix):
            repository = repository[len(prefix) :]
            break
    return ImageReference(registry, repository, tag or None, digest or None, text)


def image_family(reference: ImageReference) -> tuple[str, dict] | None:
    """``(name, table)`` of the base_images.toml family the repository belongs to."""
    families = data_table("base_images.toml").get("families", {})
    for name, family in families.items():
        if reference.repository in family.get("repositories", ()):
            return name, family
    return None


def tag_is_slim(tag: str | None, family: dict) -> bool:
    """The tag already names a slimmer (or non-Debian) variant: nothing to suggest."""
    markers = tuple(family.get("slim_markers", ())) + tuple(
        data_table("base_images.toml").get("skip_markers", ())
    )
    if not tag or not markers:
        return False
    return any(part.startswith(markers) for part in tag.lower().split("-"))
