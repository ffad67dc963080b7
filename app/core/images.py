"""The image list as the browser shows it: one row per tag, filtered and sorted. Pure functions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from app.core.engine import LocalImage

NONE = "<none>"


class SortColumn(StrEnum):
    """Columns the browser can sort by."""

    REPOSITORY = "repository"
    TAG = "tag"
    ID = "id"
    CREATED = "created"
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
        SortColumn.SIZE: lambda r: (r.image.size, r.repository, r.tag),
    }
    return sorted(rows, key=keys[column], reverse=descending)
