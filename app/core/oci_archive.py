"""An image's layer sizes and manifests, read from an OCI image archive: the tar the engine's
image export writes.

The containerd image store names layers in its push stream by their compressed blob digest,
and engines before API 1.47 do not list an image's platforms; the Engine API states neither
anywhere except in an export of the image. This reads such an export once, as a stream: the
small JSON documents (index.json, indexes, manifests, configs) are kept, every other blob is
only counted (its tar header gives name and size; its data is skipped, never held).

The containerd store exports what it holds and leaves out what it lacks (moby#46978), so a
blob absent from the archive is content missing locally: that is how a platform whose content
was never pulled shows as missing, as the engine's own listing (API 1.47) says it.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from app.core.platforms import (
    INDEX_MEDIA_TYPES,
    ImageManifests,
    ManifestEntry,
    ManifestKind,
    Platform,
)

# Manifests and indexes are small; the distribution registry refuses ones over 4 MiB.
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
# index.json -> image index -> manifest is as deep as exports go; a little slack.
MAX_NESTING = 4
# Enough of a blob's start to tell a JSON document (`{`, maybe after a newline) from layer data.
PEEK_BYTES = 64
# buildx marks an attestation manifest in its index entry; the engine lists it apart.
REFERENCE_TYPE = "vnd.docker.reference.type"
REFERENCE_DIGEST = "vnd.docker.reference.digest"
ATTESTATION_MANIFEST = "attestation-manifest"
IMAGE_CONFIG_TYPES = frozenset(
    {
        "application/vnd.oci.image.config.v1+json",
        "application/vnd.docker.container.image.v1+json",
    }
)


@dataclass(frozen=True, slots=True)
class ArchiveContent:
    """What one pass over an export found: its index.json, the JSON blobs, every blob's size."""

    top: Mapping[str, Any] = field(default_factory=dict)
    documents: Mapping[str, dict] = field(default_factory=dict)  # by digest
    blob_sizes: Mapping[str, int] = field(default_factory=dict)  # by digest, every blob present


def _json_object(data: bytes) -> dict | None:
    try:
        parsed = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _blob_digest(path: str) -> str | None:
    """`blobs/sha256/<hex>` -> `sha256:<hex>`."""
    parts = path.split("/")
    if len(parts) != 3 or parts[0] != "blobs" or not parts[2]:
        return None
    return f"{parts[1]}:{parts[2]}"


def _document(archive: tarfile.TarFile, member: tarfile.TarInfo) -> dict | None:
    """The member's JSON object, reading only its first bytes unless it looks like one."""
    if member.size > MAX_DOCUMENT_BYTES:
        return None
    content = archive.extractfile(member)
    if content is None:
        return None
    head = content.read(PEEK_BYTES)
    if not head.lstrip().startswith(b"{"):
        return None  # a layer or other binary blob: the stream skips the rest of it
    return _json_object(head + content.read())


def read(stream: IO[bytes]) -> ArchiveContent:
    """One pass over an export stream. Raises `tarfile.TarError` or `OSError` when the
    stream is not a tar or breaks off."""
    top: dict | None = None
    documents: dict[str, dict] = {}
    sizes: dict[str, int] = {}
    with tarfile.open(fileobj=stream, mode="r|") as archive:
        for member in archive:
            if not member.isfile():
                continue
            digest = _blob_digest(member.name)
            if digest is not None:
                sizes[digest] = member.size
                parsed = _document(archive, member)
                if parsed is not None:
                    documents[digest] = parsed
            elif member.name == "index.json":
                top = _document(archive, member)
    return ArchiveContent(top or {}, documents, sizes)


def _collect(
    document: dict, documents: Mapping[str, dict], sizes: dict[str, int], depth: int
) -> None:
    for layer in document.get("layers") or ():
        if isinstance(layer, dict) and isinstance(layer.get("digest"), str):
            size = layer.get("size")
            if isinstance(size, int) and size >= 0:
                sizes[layer["digest"]] = size
    if depth >= MAX_NESTING:
        return
    for child in _descriptors(document, "manifests"):
        nested = documents.get(child["digest"])
        if nested is not None:
            _collect(nested, documents, sizes, depth + 1)


def layer_sizes(content: ArchiveContent) -> dict[str, int]:
    """Every layer the archive's images reference, by blob digest, with the size their
    manifests state (all platforms an index holds; content missing from the archive is
    still listed when a manifest present names it)."""
    sizes: dict[str, int] = {}
    _collect(dict(content.top), content.documents, sizes, 0)
    return sizes


def _descriptors(document: Mapping[str, Any], key: str) -> list[dict]:
    value = document.get(key)
    if not isinstance(value, list):
        return []
    return [d for d in value if isinstance(d, dict) and isinstance(d.get("digest"), str)]


def _entry(descriptor: Mapping[str, Any], content: ArchiveContent) -> ManifestEntry:
    """One manifest of the image, as the engine's listing (API 1.47) describes it: its kind,
    platform, whether all its content is here, and the bytes of it that are."""
    digest = str(descriptor["digest"])
    annotations = descriptor.get("annotations") or {}
    manifest = content.documents.get(digest)
    config_descriptor = (manifest or {}).get("config") or {}
    children = [config_descriptor, *_descriptors(manifest or {}, "layers")]
    child_digests = {str(c.get("digest")) for c in children if c.get("digest")}
    present = {digest, *child_digests} & content.blob_sizes.keys()
    if annotations.get(REFERENCE_TYPE) == ATTESTATION_MANIFEST:
        kind = ManifestKind.ATTESTATION
    elif manifest is None or config_descriptor.get("mediaType") in IMAGE_CONFIG_TYPES:
        kind = ManifestKind.IMAGE
    else:
        kind = ManifestKind.UNKNOWN  # an artifact (a chart, a signature) stored as a manifest
    # The config names the platform when it is here; otherwise the index entry does.
    config = content.documents.get(str(config_descriptor.get("digest")), {})
    platform = None
    if kind is ManifestKind.IMAGE:
        platform = Platform.from_json(config if config.get("os") else descriptor.get("platform"))
    return ManifestEntry(
        digest=digest,
        kind=kind,
        platform=platform,
        available=manifest is not None and child_digests <= content.blob_sizes.keys(),
        content_size=sum(content.blob_sizes[d] for d in present),
        unpacked_size=0,  # an export holds no unpacked snapshots
        attests=str(annotations.get(REFERENCE_DIGEST) or ""),
    )


def manifests(content: ArchiveContent, image_id: str) -> ImageManifests | None:
    """The manifests of the exported image `image_id` (on the containerd store, the digest of
    its index or manifest): each platform present or missing, attestations apart. None when
    the archive does not hold that image as the store does (an engine that exported a subset
    of the index under another digest)."""
    target = next(
        (d for d in _descriptors(content.top, "manifests") if d["digest"] == image_id), None
    )
    if target is None:
        return None
    document = content.documents.get(image_id)
    media_type = str(target.get("mediaType") or (document or {}).get("mediaType") or "")
    if media_type not in INDEX_MEDIA_TYPES:
        return ImageManifests(media_type, (_entry(target, content),))
    if document is None:
        return None
    entries = tuple(_entry(child, content) for child in _descriptors(document, "manifests"))
    return ImageManifests(media_type, entries)
