"""An image's platforms as the engine lists them: which are here, which are missing, and which
entries are attestations rather than platforms. Pure functions over the engine's answers.

Engines from API 1.47 list every manifest of an image (`manifests=1` on the image list, which
`docker image ls --tree` uses): `Kind` tells a platform image from an attestation, `Available`
says whether its content is in the local store, and `Size.Content` counts its blobs. Older
engines do not: on the containerd store the same entries are read from an export of the image
(app/core/oci_archive.py); on the classic store an image has one platform, its inspect
`Os`/`Architecture`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# The engine lists an image's manifests from API 1.47 (inspect from 1.48), and pushes one
# platform of an index from 1.46.
LISTS_MANIFESTS_FROM = (1, 47)
INSPECTS_MANIFESTS_FROM = (1, 48)
PUSHES_PLATFORM_FROM = (1, 46)
INDEX_MEDIA_TYPES = frozenset(
    {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    }
)


class ManifestKind(StrEnum):
    """What one entry of an image index is."""

    IMAGE = "image"
    ATTESTATION = "attestation"
    UNKNOWN = "unknown"


class SizeKind(StrEnum):
    """What an image's size counts; each store reports one of these."""

    CONTENT = "content size"
    UNPACKED = "unpacked size"
    DISK = "disk usage"

    @property
    def explanation(self) -> str:
        """One line that says what the number counts."""
        if self is SizeKind.CONTENT:
            return "every blob of the image held locally, compressed as a push uploads them"
        if self is SizeKind.DISK:
            return "the image's compressed blobs plus its unpacked layers"
        return "the layers as unpacked on disk; a push uploads them compressed"


@dataclass(frozen=True, slots=True)
class Platform:
    """An OCI platform: `linux/arm64/v8`."""

    os: str
    architecture: str
    variant: str = ""

    @classmethod
    def parse(cls, text: str) -> Platform:
        """`os/architecture[/variant]`, as `docker push --platform` takes it."""
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"not a platform: {text!r} (expected os/architecture[/variant])")
        return cls(*parts)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> Platform | None:
        """From the engine's (or an index's) platform object; None when absent."""
        if not raw or not raw.get("os"):
            return None
        return cls(
            str(raw.get("os", "")), str(raw.get("architecture", "")), str(raw.get("variant") or "")
        )

    def __str__(self) -> str:
        return "/".join(part for part in (self.os, self.architecture, self.variant) if part)

    def to_json(self) -> str:
        """The JSON-encoded OCI platform object the push endpoint's `platform` parameter takes."""
        value = {"os": self.os, "architecture": self.architecture}
        if self.variant:
            value["variant"] = self.variant
        return json.dumps(value, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One manifest of an image: a platform's image, or an attestation about one."""

    digest: str
    kind: ManifestKind
    platform: Platform | None
    available: bool
    content_size: int
    unpacked_size: int
    attests: str = ""  # for an attestation: the digest of the manifest it is about


@dataclass(frozen=True, slots=True)
class ImageManifests:
    """Every manifest the engine holds for one image (an index, or one lone manifest)."""

    media_type: str
    entries: tuple[ManifestEntry, ...]

    @property
    def is_index(self) -> bool:
        """Whether the image is an index (a multi-platform image, or one with attestations)."""
        return self.media_type in INDEX_MEDIA_TYPES

    @property
    def platforms(self) -> tuple[ManifestEntry, ...]:
        """The platform images, present or not."""
        return tuple(e for e in self.entries if e.kind is ManifestKind.IMAGE)

    @property
    def attestations(self) -> tuple[ManifestEntry, ...]:
        """The attestation manifests (provenance, SBOM), listed apart from platforms."""
        return tuple(e for e in self.entries if e.kind is ManifestKind.ATTESTATION)

    @property
    def missing(self) -> tuple[ManifestEntry, ...]:
        """Platforms whose content is not in the local store."""
        return tuple(e for e in self.platforms if not e.available)

    @property
    def multi_platform(self) -> bool:
        """More than one platform image."""
        return len(self.platforms) > 1

    @property
    def content_size(self) -> int:
        """The bytes of every blob held locally (the engine's `docker image ls --tree` total)."""
        return sum(e.content_size for e in self.entries)

    def platform_of(self, digest: str) -> str:
        """The platform name of the manifest with this digest, or its short digest."""
        for entry in self.platforms:
            if entry.digest == digest and entry.platform is not None:
                return str(entry.platform)
        return digest.removeprefix("sha256:")[:12]

    def summary(self) -> str:
        """`multi-platform: 2 platforms (1 missing locally), 2 attestations` and the like."""
        if not self.is_index:
            entry = self.platforms[0] if self.platforms else None
            return f"single platform: {entry.platform}" if entry and entry.platform else "one image"
        platforms = self.platforms
        noun = "platform" if len(platforms) == 1 else "platforms"
        text = f"{'multi-platform' if self.multi_platform else 'index'}: {len(platforms)} {noun}"
        if self.missing:
            text += f" ({len(self.missing)} missing locally)"
        if self.attestations:
            count = len(self.attestations)
            text += f", {count} attestation{'s' if count != 1 else ''}"
        return text


def _entry(raw: Mapping[str, Any]) -> ManifestEntry:
    descriptor = raw.get("Descriptor") or {}
    text = str(raw.get("Kind") or "")
    kind = ManifestKind(text) if text in set(ManifestKind) else ManifestKind.UNKNOWN
    image_data = raw.get("ImageData") or {}
    size = raw.get("Size") or {}
    # An attestation's descriptor says `unknown/unknown`: it has no platform of its own.
    platform = image_data.get("Platform") or (
        descriptor.get("platform") if kind is ManifestKind.IMAGE else None
    )
    return ManifestEntry(
        digest=str(raw.get("ID") or descriptor.get("digest") or ""),
        kind=kind,
        platform=Platform.from_json(platform),
        available=bool(raw.get("Available")),
        content_size=int(size.get("Content") or 0),
        unpacked_size=int((image_data.get("Size") or {}).get("Unpacked") or 0),
        attests=str((raw.get("AttestationData") or {}).get("For") or ""),
    )


def manifests_from_engine(summary: Mapping[str, Any]) -> ImageManifests | None:
    """The `Descriptor` and `Manifests` of one image-list (or inspect) answer; None when the engine
    did not send them (API before 1.47, or the classic image store)."""
    raw = summary.get("Manifests")
    if raw is None:
        return None
    media_type = str((summary.get("Descriptor") or {}).get("mediaType") or "")
    return ImageManifests(media_type, tuple(_entry(item) for item in raw))


def api_at_least(api_version: str, minimum: tuple[int, int]) -> bool:
    """Whether an engine API version (`1.51`) is at least `minimum`."""
    try:
        major, minor = (int(part) for part in api_version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= minimum


def distinct(values: Iterable[str]) -> tuple[str, ...]:
    """The values once each, in their first order (an engine may list a tag twice)."""
    return tuple(dict.fromkeys(values))


def own_layer_sizes(cumulative: Sequence[int]) -> list[int]:
    """Each step's own size from sizes that also count every layer below (empty steps stay 0)."""
    sizes, below = [], 0
    for size in cumulative:
        if size == 0:
            sizes.append(0)
            continue
        sizes.append(max(0, size - below))
        below = size
    return sizes
