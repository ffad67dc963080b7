"""What the engine says about local images, as plain data: no docker-py import, so the screens
that show images load without the Engine API client (it loads with the first connection)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.core.platforms import ImageManifests, SizeKind, distinct, manifests_from_engine


@dataclass(frozen=True, slots=True)
class LocalImage:
    """One image in the engine's store, as the image list reports it."""

    id: str
    repo_tags: tuple[str, ...]
    repo_digests: tuple[str, ...]
    created: datetime
    size: int
    size_kind: SizeKind = SizeKind.UNPACKED
    # Every manifest of the image, where the engine lists them (API 1.47 and later).
    manifests: ImageManifests | None = None
    # On the containerd image store, which gives every tag a repo digest, pushed or not.
    containerd_store: bool = False

    @property
    def short_id(self) -> str:
        """The 12-character id the docker CLI shows."""
        return self.id.removeprefix("sha256:")[:12]

    @property
    def dangling(self) -> bool:
        """Untagged: no repository name points at it."""
        return not self.repo_tags


@dataclass(frozen=True, slots=True)
class LayerInfo:
    """One step of an image's history: the layer it made (size 0 for metadata-only steps)."""

    id: str
    created_by: str
    size: int
    created: datetime


@dataclass(frozen=True, slots=True)
class ImageDetails:
    """What inspect says about one image."""

    id: str
    repo_tags: tuple[str, ...]
    repo_digests: tuple[str, ...]
    architecture: str
    os: str
    size: int
    created: datetime
    diff_ids: tuple[str, ...]
    # Every manifest of the image: listed by the engine from API 1.48, read from an export of
    # the image before that on the containerd store; None on the classic store.
    manifests: ImageManifests | None = None
    # Why `manifests` is None on the containerd store ("" when they were read).
    manifests_unread: str = ""

    @property
    def layer_count(self) -> int:
        """How many filesystem layers the image has."""
        return len(self.diff_ids)


@dataclass(frozen=True, slots=True)
class ImageEvent:
    """One image event: what happened (tag, untag, delete, pull, ...), to which image, and the
    name the event carries: the tag, or (an untag on the classic store) the image's id."""

    action: str
    image_id: str
    name: str


def engine_time(value: str | int | None) -> datetime:
    """A time as the engine writes it: Unix seconds, or RFC 3339 with nanoseconds."""
    if isinstance(value, int):
        return datetime.fromtimestamp(value, UTC)
    if not value:
        return datetime.fromtimestamp(0, UTC)
    # The engine writes nanoseconds; Python's fromisoformat takes at most microseconds.
    text = value.rstrip("Z")
    if "." in text:
        head, fraction = text.split(".", 1)
        text = f"{head}.{fraction[:6]}"
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def images_from_list(
    raw: Iterable[Mapping[str, Any]], containerd: bool, include_dangling: bool = True
) -> list[LocalImage]:
    """The engine's image list (`GET /images/json`) as `LocalImage`s."""
    images = []
    for item in raw:
        # The containerd store can list a tag twice (an image loaded under a short name).
        tags = distinct(t for t in (item.get("RepoTags") or ()) if t != "<none>:<none>")
        if not tags and not include_dangling:
            continue
        manifests = manifests_from_engine(item)
        if manifests is not None:
            size, size_kind = manifests.content_size, SizeKind.CONTENT
        else:
            size = int(item.get("Size") or 0)
            size_kind = SizeKind.DISK if containerd else SizeKind.UNPACKED
        images.append(
            LocalImage(
                id=item["Id"],
                repo_tags=tags,
                repo_digests=distinct(
                    d for d in (item.get("RepoDigests") or ()) if not d.startswith("<none>")
                ),
                created=engine_time(item.get("Created")),
                size=size,
                size_kind=size_kind,
                manifests=manifests,
                containerd_store=containerd,
            )
        )
    return images
