"""Layer sizes from an OCI image archive, the tar the engine's image export writes.

The containerd image store names layers in its push stream by their compressed blob
digest and counts compressed bytes, but the Engine API states those layer descriptors
nowhere except in an export of the image. This reads such an export once as a stream:
the small JSON documents (index.json, indexes, manifests) are kept, layer data is
skipped, and the sizes come from the manifests' own layer descriptors.
"""

from __future__ import annotations

import json
import tarfile
from typing import IO

# Manifests and indexes are small; the distribution registry refuses ones over 4 MiB.
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
# index.json -> image index -> manifest is as deep as exports go; a little slack.
MAX_NESTING = 4


def _json_object(data: bytes) -> dict | None:
    if not data.lstrip().startswith(b"{"):
        return None  # a layer or other binary blob: not worth decoding
    try:
        parsed = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _blob_digest(path: str) -> str | None:
    """`blobs/sha256/<hex>` -> `sha256:<hex>`."""
    parts = path.split("/")
    if len(parts) != 3 or parts[0] != "blobs":
        return None
    return f"{parts[1]}:{parts[2]}"


def _collect(document: dict, documents: dict[str, dict], sizes: dict[str, int], depth: int) -> None:
    for layer in document.get("layers") or ():
        if isinstance(layer, dict) and isinstance(layer.get("digest"), str):
            size = layer.get("size")
            if isinstance(size, int) and size >= 0:
                sizes[layer["digest"]] = size
    if depth >= MAX_NESTING:
        return
    for child in document.get("manifests") or ():
        nested = documents.get(child.get("digest")) if isinstance(child, dict) else None
        if nested is not None:
            _collect(nested, documents, sizes, depth + 1)


def layer_sizes(stream: IO[bytes]) -> dict[str, int]:
    """Every layer the archive's images reference, by blob digest, with the size their
    manifests state (all platforms an index holds; content missing from the archive is
    still listed when a manifest present names it)."""
    documents: dict[str, dict] = {}
    top: dict | None = None
    with tarfile.open(fileobj=stream, mode="r|") as archive:
        for member in archive:
            if not member.isfile() or member.size > MAX_DOCUMENT_BYTES:
                continue
            digest = _blob_digest(member.name)
            if digest is None and member.name != "index.json":
                continue
            content = archive.extractfile(member)
            parsed = _json_object(content.read()) if content is not None else None
            if parsed is None:
                continue
            if digest is None:
                top = parsed
            else:
                documents[digest] = parsed
    sizes: dict[str, int] = {}
    _collect(top or {}, documents, sizes, 0)
    return sizes
