"""What the engine says about itself (`/version`, `/info`), as plain data: no docker-py import,
so the first listing can read it over the socket before docker-py has loaded."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class ImageStore(StrEnum):
    """Which kind of engine store pushes, which decides what its progress numbers mean."""

    CLASSIC = "classic"
    CONTAINERD = "containerd"
    PODMAN = "podman"

    @property
    def units_note(self) -> str:
        """What the push screen's sizes are, in words true for this store."""
        if self is ImageStore.CONTAINERD:
            return "Compressed layer sizes, as they travel and as the registry stores them."
        if self is ImageStore.PODMAN:
            return "Podman reports no layer sizes during a push."
        return "Uncompressed layer sizes, as this engine (classic image store) counts them."

    @property
    def reports_layers(self) -> bool:
        """Whether the engine streams per-layer progress (Podman's Docker API does not)."""
        return self is not ImageStore.PODMAN


def product_name(version: Mapping[str, Any]) -> str:
    """What serves the API: "Docker Engine 20.10.24", "Podman Engine 4.3.1", ..."""
    components = version.get("Components") or [{}]
    name = components[0].get("Name") or "Engine"
    if name == "Engine":  # Docker's own engine calls itself just "Engine"
        name = "Docker Engine"
    return f"{name} {version.get('Version', '')}".strip()


def image_store_from(product: str, info: Mapping[str, Any] | None) -> ImageStore:
    """Which image store the engine uses: Podman's, or Docker's classic or containerd store
    (which `/info` names as its snapshotter; no answer reads as the classic store)."""
    if product.startswith("Podman"):
        return ImageStore.PODMAN
    status = (info or {}).get("DriverStatus") or ()
    driver = dict(pair for pair in status if len(pair) == 2)
    if driver.get("driver-type") == "io.containerd.snapshotter.v1":
        return ImageStore.CONTAINERD
    return ImageStore.CLASSIC
