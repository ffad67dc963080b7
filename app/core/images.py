"""The image list as the browser shows it: one row per tag, filtered and sorted. Pure functions."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from app.core.local_images import LocalImage
from app.core.plaintext import printable
from app.core.reference import InvalidReference, parse_normalized
from app.core.units import human_size, relative_time

NONE = "<none>"
MARK = "●"


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


def split_repo_tag(repo_tag: str) -> tuple[str, str]:
    """`repository:tag` as (repository, tag); (name, "<none>") when it carries no tag."""
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
            repository, tag = split_repo_tag(repo_tag)
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
    own = {split_repo_tag(tag)[0] for tag in image.repo_tags}
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
    found: list[str] = []
    if not pushed:  # the usual case: no tag to parse
        return ()
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
    if len(words) == 1:  # the common case, as one plain `in` per row
        word = words[0]
        return [row for row in rows if word in row.search_text]
    return [row for row in rows if all(word in row.search_text for word in words)]


def narrows(previous: str, query: str) -> bool:
    """Whether every row matching `query` also matches `previous`, so that filtering the rows
    `previous` matched gives the same answer: each earlier word lies within a new one."""
    new_words = query.lower().split()
    return all(any(old in new for new in new_words) for old in previous.lower().split())


def sort_key(column: SortColumn) -> Callable[[ImageRow], tuple]:
    """A row's place when sorting by `column`; ties go by repository, tag, then the row's key,
    so that no two rows tie and a row's place can be found by bisection."""
    keys: dict[SortColumn, Callable[[ImageRow], tuple]] = {
        SortColumn.REPOSITORY: lambda r: (r.repository, r.tag, r.key),
        SortColumn.TAG: lambda r: (r.tag, r.repository, r.key),
        SortColumn.ID: lambda r: (r.image.id, r.repository, r.tag, r.key),
        SortColumn.CREATED: lambda r: (r.image.created, r.repository, r.tag, r.key),
        SortColumn.PLATFORMS: lambda r: (_platform_count(r.image), r.repository, r.tag, r.key),
        SortColumn.SIZE: lambda r: (r.image.size, r.repository, r.tag, r.key),
    }
    return keys[column]


def sort_rows(rows: list[ImageRow], column: SortColumn, descending: bool = False) -> list[ImageRow]:
    """Rows sorted by one column; ties keep repository then tag order."""
    return sorted(rows, key=sort_key(column), reverse=descending)


def row_cells(row: ImageRow, now: datetime, absolute_dates: bool, marked: bool) -> tuple[str, ...]:
    """The browser's cells for a row: mark, repository, tag, id, created, platforms, size.

    Names and tags come from the engine, so control characters are made visible."""
    image = row.image
    created = (
        image.created.strftime("%Y-%m-%d %H:%M")
        if absolute_dates
        else relative_time(image.created, now)
    )
    return (
        MARK if marked else " ",
        printable(row.repository),
        printable(row.tag),
        printable(image.short_id),
        created,
        platforms_cell(image),
        human_size(image.size),
    )


@dataclass(frozen=True, slots=True)
class ListingSettings:
    """How the browser lists the rows: the sort, untagged images or not, full or relative dates."""

    sort_column: SortColumn = SortColumn.REPOSITORY
    descending: bool = False
    show_dangling: bool = False
    absolute_dates: bool = False


def _same_cells(old: LocalImage, new: LocalImage) -> bool:
    """Whether a tag's row reads (and sorts) the same for both states of its image."""
    return (old.created, old.size, old.manifests, old.containerd_store) == (
        new.created,
        new.size,
        new.manifests,
        new.containerd_store,
    )


class _Descending:
    """Inverts `<` for bisection in a list sorted in descending order."""

    __slots__ = ("key",)

    def __init__(self, key: tuple) -> None:
        self.key = key

    def __lt__(self, other: _Descending) -> bool:
        return other.key < self.key


class ImageListing:
    """The browser's rows: made from the engine's images, formatted once, kept in order and
    filtered; updated image by image as the engine's events come, in time proportional to the
    rows that change (plus a list copy), never by formatting or sorting every row again."""

    def __init__(
        self,
        images: Iterable[LocalImage],
        settings: ListingSettings = ListingSettings(),
        marked: Iterable[str] = (),
        now: datetime | None = None,
        *,
        resort: ImageListing | None = None,
    ) -> None:
        """Format and sort every row; with `resort` (a listing of the same images whose rows
        and dates are formatted as `settings` asks), only sort its rows again."""
        self.settings = settings
        self.images = {image.id: image for image in images}
        self.marked = set(marked)
        self.cells: dict[str, tuple[str, ...]]
        self.by_key: dict[str, ImageRow]
        if resort is not None:
            rows = list(resort.by_key.values())
            self.cells = dict(resort.cells)
        else:
            now = now or datetime.now(UTC)
            rows = image_rows(self.images.values(), show_dangling=settings.show_dangling)
            self.cells = {
                row.key: row_cells(row, now, settings.absolute_dates, row.key in self.marked)
                for row in rows
            }
        self.marked &= self.cells.keys()
        self._key = sort_key(settings.sort_column)
        self.rows = sorted(rows, key=self._key, reverse=settings.descending)
        self.by_key = {row.key: row for row in self.rows}
        self.query = ""
        self.shown = list(self.rows)

    # -- order -----------------------------------------------------------------------------

    def _place(self, rows: list[ImageRow], row: ImageRow) -> int:
        """Where `row` is, or would go, in `rows` (which are in this listing's order)."""
        key = self._key
        if not self.settings.descending:
            return bisect.bisect_left(rows, key(row), key=key)
        return bisect.bisect_left(rows, _Descending(key(row)), key=lambda r: _Descending(key(r)))

    def _insert(self, rows: list[ImageRow], row: ImageRow) -> None:
        rows.insert(self._place(rows, row), row)

    def _remove(self, rows: list[ImageRow], row: ImageRow) -> None:
        index = self._place(rows, row)
        if index < len(rows) and rows[index].key == row.key:
            del rows[index]

    # -- changes ---------------------------------------------------------------------------

    def set_query(self, query: str) -> None:
        """Show the rows matching `query`; a query that narrows the last one filters only the
        rows shown now."""
        base = self.shown if narrows(self.query, query) else self.rows
        self.shown = filter_rows(base, query)
        if self.shown is self.rows:
            self.shown = list(self.rows)  # never the same list: updates change both
        self.query = query

    def matches(self, row: ImageRow) -> bool:
        """Whether the current query shows `row`."""
        return bool(filter_rows([row], self.query))

    def replace_images(
        self, changes: Mapping[str, LocalImage | None], now: datetime | None = None
    ) -> None:
        """Take the new state of some images (None: the image is gone). Only the rows of tags
        that came or went change place; the rows of other tags keep theirs (in `by_key` they
        carry the new state of their image, in `rows` and `shown` perhaps an older one)."""
        now = now or datetime.now(UTC)
        dangling = self.settings.show_dangling
        for image_id, image in changes.items():
            old = self.images.pop(image_id, None)
            before = {row.key: row for row in image_rows([old] if old else (), dangling)}
            after = {row.key: row for row in image_rows([image] if image else (), dangling)}
            before_keys: Iterable[str]
            if old is not None and image is not None and not _same_cells(old, image):
                before_keys = before.keys()  # the cells change: every row is made again
            else:
                before_keys = before.keys() - after.keys()
            for key in before_keys:
                self._drop(key)
            if image is None:
                continue
            self.images[image_id] = image
            for key, row in after.items():
                if key in self.by_key:
                    self.by_key[key] = row
                    continue
                self.cells[key] = row_cells(
                    row, now, self.settings.absolute_dates, key in self.marked
                )
                self.by_key[key] = row
                self._insert(self.rows, row)
                if self.matches(row):
                    self._insert(self.shown, row)
        self.marked &= self.cells.keys()  # a mark stays with a tag that stays

    def rows_changed_by(self, changes: Mapping[str, LocalImage | None]) -> int:
        """How many rows `replace_images(changes)` would format and place."""
        count = 0
        for image_id, image in changes.items():
            old = self.images.get(image_id)
            before = set(old.repo_tags) if old else set()
            after = set(image.repo_tags) if image else set()
            if old is not None and image is not None and not _same_cells(old, image):
                count += len(before | after)
            else:
                count += len(before ^ after)
        return count

    def _drop(self, key: str) -> None:
        row = self.by_key.pop(key, None)
        if row is None:
            return
        del self.cells[key]
        self._remove(self.rows, row)
        self._remove(self.shown, row)

    def mark(self, keys: Iterable[str], marked: bool) -> None:
        """Mark or unmark rows (for pushing together)."""
        for key in keys:
            cells = self.cells.get(key)
            if cells is None:
                continue
            if marked:
                self.marked.add(key)
            else:
                self.marked.discard(key)
            self.cells[key] = (MARK if marked else " ", *cells[1:])

    def with_settings(self, settings: ListingSettings, now: datetime | None = None) -> ImageListing:
        """These images under other settings, with the same query; a new sort reuses the
        formatted cells."""
        same_cells = (settings.show_dangling, settings.absolute_dates) == (
            self.settings.show_dangling,
            self.settings.absolute_dates,
        )
        listing = ImageListing(
            self.images.values(),
            settings,
            self.marked,
            now,
            resort=self if same_cells else None,
        )
        listing.set_query(self.query)
        return listing
