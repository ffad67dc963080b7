"""The image list as the browser shows it: one row per tag, filtered and sorted. Pure functions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from app.core.engine import LocalImage
from app.core.reference import InvalidReference, parse_normalized

NONE = "<none>"


class SortColumn(StrEnum):
    """Columns the browser can sort by."""

    REPOSITORY = "repository"
    TAG = "tag"
    ID = "id"
    CREATED = "created"
    PLATFORMS = "platforms"
    SIZE = "size"


@dataclass(frozen=True, slots=True)
class ImageRow:
    """One tag of one image (or one untagged image)."""

    key: str
    repository: str
    tag: str
    image: LocalImage
    search_text: str

    @property
    def reference(self) -> str:
        """What to hand the engine for this row: `repo:tag`, or the id when untagged."""
        if self.repository == NONE:
            return self.image.id
        return f"{self.repository}:{self.tag}"


def _split_repo_tag(repo_tag: str) -> tuple[str, str]:
    # The tag follows the last ':' unless that ':' belongs to a registry port ("host:5000/app").
    repository, sep, tag = repo_tag.rpartition(":")
    if not sep or "/" in tag:
        return repo_tag, NONE
    return repository, tag


def _hex(image_id: str) -> str:
    # Without the "sha256:" prefix, which would match every query containing "2" or "sha".
    return image_id.removeprefix("sha256:")


def image_rows(images: Iterable[LocalImage], show_dangling: bool = False) -> list[ImageRow]:
    """One row per tag; untagged images only when asked for."""
    rows = []
    for image in images:
        if image.dangling:
            if show_dangling:
                text = f"{NONE} {_hex(image.id)}"
                rows.append(ImageRow(image.id, NONE, NONE, image, text))
            continue
        for repo_tag in image.repo_tags:
            repository, tag = _split_repo_tag(repo_tag)
            key = f"{image.id}|{repo_tag}"
            text = f"{repo_tag} {_hex(image.id)}".lower()
            rows.append(ImageRow(key, repository, tag, image, text))
    return rows


def registry_digests(image: LocalImage) -> tuple[str, ...]:
    """The repo digests that came from a registry (a push, or a pull).

    The containerd store also gives every tag a digest of its own, `repository@<image id>`,
    whether anything was pushed or not; such a digest says nothing about a registry and is
    left out. A digest under another repository or of another manifest (a pull by digest)
    stays.
    """
    if not image.containerd_store:
        return image.repo_digests
    own = {_split_repo_tag(tag)[0] for tag in image.repo_tags}
    return tuple(
        digest
        for digest in image.repo_digests
        if digest.partition("@")[0] not in own or digest.partition("@")[2] != image.id
    )


def _platform_count(image: LocalImage) -> int:
    return 1 if image.manifests is None else len(image.manifests.platforms)


def pushed_this_session(image: LocalImage, pushed: Mapping[str, str]) -> tuple[str, ...]:
    """`tag  digest` for each of the image's tags that this session pushed, with the digest the
    registry reported: on the containerd store the only record of a push there is."""
    found = []
    for tag in image.repo_tags:
        try:
            digest = pushed.get(str(parse_normalized(tag)))
        except InvalidReference:
            continue
        if digest:
            found.append(f"{tag}  {digest}")
    return tuple(found)


def platforms_cell(image: LocalImage) -> str:
    """The list's Platforms cell: how many platforms, and how many lack local content."""
    manifests = image.manifests
    if manifests is None:
        # The classic store keeps one platform per image; a containerd store that does not
        # list manifests (API before 1.47) leaves it unknown.
        return "?" if image.containerd_store else "1"
    text = str(_platform_count(image))
    if manifests.missing:
        text += f" ({len(manifests.missing)} missing)"
    return text


def filter_rows(rows: list[ImageRow], query: str) -> list[ImageRow]:
    """Rows whose repository, tag or id contain every word of the query (case-insensitive)."""
    words = query.lower().split()
    if not words:
        return rows
    return [row for row in rows if all(word in row.search_text for word in words)]


def sort_rows(rows: list[ImageRow], column: SortColumn, descending: bool = False) -> list[ImageRow]:
    """Rows sorted by one column; ties keep repository then tag order."""
    keys = {
        SortColumn.REPOSITORY: lambda r: (r.repository, r.tag),
        SortColumn.TAG: lambda r: (r.tag, r.repository),
        SortColumn.ID: lambda r: (r.image.id, r.repository, r.tag),
        SortColumn.CREATED: lambda r: (r.image.created, r.repository, r.tag),
        SortColumn.PLATFORMS: lambda r: (_platform_count(r.image), r.repository, r.tag),
        SortColumn.SIZE: lambda r: (r.image.size, r.repository, r.tag),
    }
    return sorted(rows, key=keys[column], reverse=descending)
