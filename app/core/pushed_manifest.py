"""The layer sizes a pushed manifest states, read back from the registry after a push.

The engine's progress counts differ by image store (uncompressed tar bytes on the classic
store), so the push screen's final total is what the registry now holds: the layer blobs
the pushed manifest names, for an index those of every manifest it lists.
"""

from __future__ import annotations

from app.core.registry import RegistryClient

# An index lists manifests; a manifest lists layers. Nothing pushed nests deeper.
MAX_NESTING = 2


def stated_layer_sizes(
    client: RegistryClient, repository: str, digest: str, depth: int = 0
) -> dict[str, int]:
    """Layer blob digest -> size as the manifest `digest` (and, for an index, each manifest it
    lists: platforms and attestations) states them; a blob shared by two manifests once."""
    body = client.manifest(repository, digest).body
    sizes: dict[str, int] = {}
    for layer in body.get("layers") or ():
        if isinstance(layer, dict) and isinstance(layer.get("size"), int):
            sizes[str(layer.get("digest"))] = layer["size"]
    if depth < MAX_NESTING:
        for child in body.get("manifests") or ():
            if isinstance(child, dict) and isinstance(child.get("digest"), str):
                sizes |= stated_layer_sizes(client, repository, child["digest"], depth + 1)
    return sizes
