"""Step 1: browse local images, filter, sort, inspect, mark, and pick what to publish."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Header, Input, Label, Static
from textual.worker import Worker, WorkerState, get_current_worker

from app.core.early_listing import ANSWER_SECONDS
from app.core.errors import DockpushError
from app.core.images import (
    NONE,
    ImageListing,
    ImageRow,
    ListingSettings,
    SortColumn,
    image_rows,
)
from app.core.live_images import LiveImages, apply_events, batches
from app.core.local_images import ImageDetails, LayerInfo, LocalImage
from app.core.platforms import SizeKind
from app.ui.image_details import details_content
from app.ui.messages import EngineEventsStopped, ImagesChosen, ImagesChosenAsIs
from app.ui.session import Session
from app.ui.text import notify_plain, plain
from app.ui.widgets.error_panel import ErrorPanel
from app.ui.widgets.filter_input import FilterInput
from app.ui.widgets.footer import SettledFooter
from app.ui.widgets.image_table import Column, ImageTable
from app.ui.widgets.stepper import Stepper
from app.ui.workflow import Source

if TYPE_CHECKING:  # the Engine API client loads with the first connection (a worker)
    from app.core.engine import EventStream

COLUMNS = [
    ("mark", " "),
    (SortColumn.REPOSITORY, "Repository"),
    (SortColumn.TAG, "Tag"),
    (SortColumn.ID, "Image ID"),
    (SortColumn.CREATED, "Created"),
    (SortColumn.PLATFORMS, "Platforms"),
    (SortColumn.SIZE, "Size"),  # labelled with what the engine's sizes count, see _size_kind
]
MAX_WIDTHS: dict[str, int] = {SortColumn.REPOSITORY: 64, SortColumn.TAG: 24}
# Hidden in this order when the table is narrow (the detail pane, which takes the width,
# shows all three for the highlighted image); never the column the rows are sorted by.
HIDE_RANKS: dict[str, int] = {SortColumn.PLATFORMS: 3, SortColumn.CREATED: 2, SortColumn.ID: 1}
DETAILS_MIN_WIDTH = 100
# Fewer rows than this are formatted and sorted at once (a few ms), without a worker.
SYNC_BUILD_ROWS = 1_000
# The detail pane of an image that events change is made again at most this often.
STALE_DETAILS_SECONDS = 1.0
# Engine events are applied in batches, at most this often: a busy engine sends ~100 a second.
EVENT_BATCH_SECONDS = 0.1
# How long the connection waits for the table to draw the rows listed at start-up.
FIRST_FRAME_SECONDS = 1.0


class ImageBrowserScreen(Screen[None]):
    """The image browser: one row per tag, live with the engine's events."""

    # The table has the focus from the first frame: focusing it after mount (the filter,
    # first in the layout, would have it) rebuilt the key bar a second time at start-up.
    AUTO_FOCUS = "#images"
    BINDINGS = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("enter", "continue", "Tag & push", priority=False),
        Binding("p", "push_as_is", "Push as is"),
        Binding("space", "toggle_mark", "Mark"),
        Binding("A", "mark_repository", "Mark all tags", show=False),
        Binding("s", "next_sort", "Sort"),
        Binding("S", "reverse_sort", "Reverse", show=False),
        Binding("d", "toggle_dangling", "Untagged"),
        Binding("t", "toggle_dates", "Dates", show=False),
        Binding("i", "toggle_details", "Details", show=False),
        Binding("r", "refresh", "Refresh"),
        Binding("escape", "leave_filter", "Back to list", show=False),
    ]

    @dataclass
    class ImagesListed(Message):
        """The engine listed its images (the first time, or after a reconnect)."""

        follower: int  # which run of load_images: a message of an older one is dropped
        images: list[LocalImage]

    @dataclass
    class ImagesChanged(Message):
        """Engine events changed these images (None: the image is gone)."""

        follower: int
        changes: Mapping[str, LocalImage | None]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.images: list[LocalImage] = []
        self.listing = ImageListing([])
        self.show_dangling = False
        self.absolute_dates = False
        self.sort_column = SortColumn.REPOSITORY
        self.sort_descending = False
        self._events_stream: EventStream | None = None
        self._follower = 0  # the run of load_images whose messages count
        self._rows_drawn = threading.Event()  # set from the UI thread, waited for by a worker
        self._detail_key: str | None = None
        self.applied_filter = ""
        self._details_wanted: bool | None = None  # None: shown when the terminal is wide
        # A listing made on a worker misses the changes that came while it was made.
        self._build = 0  # the newest listing asked of a worker (0: none under way)
        self._builds = 0
        self._changes_since_build: dict[str, LocalImage | None] = {}
        self._widths: dict[str, int] = {}
        self._stale_details: Timer | None = None
        # Inspect and history per image id: content-addressed, so they never go stale.
        self._details: dict[str, tuple[ImageDetails, list[LayerInfo]]] = {}

    @property
    def all_rows(self) -> list[ImageRow]:
        """Every row (untagged images only when shown), in the sort order."""
        return self.listing.rows

    @property
    def shown_rows(self) -> list[ImageRow]:
        """The rows the filter shows, in the sort order."""
        return self.listing.shown

    @property
    def marked(self) -> set[str]:
        """The keys of the marked rows."""
        return self.listing.marked

    def compose(self) -> ComposeResult:
        """Filter box, table and detail pane side by side."""
        yield Header()
        yield Stepper(0)
        with Horizontal(id="browser-body"):
            with Vertical(id="browser-main"):
                yield FilterInput(placeholder="Filter by repository, tag or id  ( / )", id="filter")
                yield Label("Loading images…", id="row-count")
                yield ErrorPanel(id="engine-error")
                yield Static(id="empty-state")
                yield ImageTable(id="images")
            with VerticalScroll(id="detail-pane"):
                yield Static("Highlight an image to see its layers.", id="detail")
        yield SettledFooter()

    def on_mount(self) -> None:
        """Place the detail pane and start loading."""
        self._place_details()
        self.query_one("#empty-state").display = False
        # A watcher, not the Changed message: the message climbs the DOM one queue at a time
        # and a frame was drawn before it arrived, so each keystroke took two frames.
        self.watch(self.query_one("#filter", Input), "value", self._filter_changed, init=False)
        # Listed while the app started: in the first frame, when the engine has answered.
        early = self.session.early_images(wait=0)
        if early is not None:
            self._show_images(early)
        self.load_images()

    def on_unmount(self) -> None:
        """Stop following the engine's events."""
        self._stop_following()

    # -- loading ---------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="events", exit_on_error=False)
    def load_images(self) -> None:
        """Connect, list the images, then follow the engine's image events until the screen
        goes: each batch of events changes only the images it names."""
        follower, worker = self._follower, get_current_worker()
        early = self.session.early_images(wait=ANSWER_SECONDS)
        if early is not None:  # shown until the listing below, made with events followed
            self.post_message(self.ImagesListed(follower, early))
        if early or self.images:
            # docker-py's import (next) holds the GIL for ~90 ms: not while the rows are drawn.
            self._rows_drawn.wait(FIRST_FRAME_SECONDS)
        engine = self.session.ensure_engine()
        # Events first: none is lost between the listing and the stream.
        stream = engine.image_events()
        if worker.is_cancelled:  # a reload began while this one connected
            stream.close()
            return
        self._events_stream = stream
        live = LiveImages(engine.list_images())
        self.post_message(self.ImagesListed(follower, list(live.images.values())))
        try:
            for events in batches(stream, EVENT_BATCH_SECONDS):
                if worker.is_cancelled:
                    return
                changes = apply_events(engine, live, events)
                if changes:
                    self.post_message(self.ImagesChanged(follower, changes))
        except DockpushError as error:
            if not worker.is_cancelled:
                self.post_message(EngineEventsStopped(error.explanation))
            return
        if not worker.is_cancelled:
            # A stopped engine closes the stream without an error.
            self.post_message(EngineEventsStopped("The engine stopped sending events."))

    def _stop_following(self) -> None:
        # Cancelled first, so the old stream's end is not reported as a lost engine.
        self._follower += 1
        self.workers.cancel_group(self, "events")
        if self._events_stream is not None:
            self._events_stream.close()
            self._events_stream = None

    @work(thread=True, exclusive=True, group="listing", exit_on_error=False)
    def build_listing(
        self, build: int, images: list[LocalImage], settings: ListingSettings, marked: set[str]
    ) -> tuple[int, ImageListing]:
        """Format and sort every row, away from the screen's thread."""
        return build, ImageListing(images, settings, marked)

    @work(thread=True, exclusive=True, group="details", exit_on_error=False)
    def load_details(self, row: ImageRow) -> tuple[str, Content]:
        """Inspect and read the history of the highlighted image; make the pane's text."""
        cached = self._details.get(row.image.id)
        if cached is None:
            engine = self.session.ensure_engine()
            cached = engine.inspect_image(row.image.id), engine.image_history(row.image.id)
            self._details[row.image.id] = cached
        pushed = dict(self.session.workflow.pushed)
        return row.key, details_content(row, row.image, *cached, pushed)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        """The one place where this screen's background work reports back."""
        worker = event.worker
        if event.state is WorkerState.ERROR:
            if worker.group == "events":
                self._show_engine_error(worker.error)
            elif worker.group == "details":
                self.query_one("#detail", Static).update(
                    plain(f"Could not inspect: {worker.error}")
                )
            elif worker.group == "listing":
                self._build = 0
                self._show_engine_error(worker.error)
            return
        if event.state is not WorkerState.SUCCESS:
            return
        if worker.group == "listing":
            build, listing = cast(tuple[int, ImageListing], worker.result)
            if build == self._build:
                self._build = 0
                self._install(listing)
        elif worker.group == "details":
            key, content = cast(tuple[str, Content], worker.result)
            if key == self._detail_key:
                self.query_one("#detail", Static).update(content)

    def _show_engine_error(self, error: BaseException | None) -> None:
        self.query_one(ErrorPanel).show_error(error)
        self.query_one("#row-count", Label).update("Press r to retry.")
        # Hidden, so that focus cannot fall into the filter box and swallow the retry key.
        self.query_one(ImageTable).display = False
        self.query_one("#filter", Input).display = False
        self.set_focus(None)

    @on(ImagesListed)
    def _images_listed(self, event: ImagesListed) -> None:
        if event.follower == self._follower:
            self._show_images(event.images)

    def _show_images(self, images: list[LocalImage]) -> None:
        self.query_one(ErrorPanel).show_error(None)
        self.query_one("#filter", Input).display = True
        table = self.query_one(ImageTable)
        table.display = True
        if self.focused is None:
            table.focus()
        self.images = images
        self._rebuild()

    @on(ImageTable.RowsDrawn)
    def _table_drew_rows(self, _event: ImageTable.RowsDrawn) -> None:
        self._rows_drawn.set()

    @on(ImagesChanged)
    def _images_changed(self, event: ImagesChanged) -> None:
        """Only the rows of the images the events named change."""
        if event.follower != self._follower:
            return
        images: dict[str, LocalImage | None] = {image.id: image for image in self.images}
        images.update(event.changes)
        self.images = [image for image in images.values() if image is not None]
        if self._build:
            # A listing is being made of older images: these changes go in when it is shown.
            self._changes_since_build.update(event.changes)
            return
        if self.listing.rows_changed_by(event.changes) >= SYNC_BUILD_ROWS:
            self._rebuild()  # as many rows as a new listing (a prune, a load): on a worker
            return
        self.listing.replace_images(event.changes)
        dangling = self.show_dangling
        new_rows = (
            self.listing.cells[row.key]
            for image in event.changes.values()
            if image is not None
            for row in image_rows([image], show_dangling=dangling)
        )
        if self._widths != self._column_widths(new_rows, self._widths):
            self._set_columns()
        highlighted = self.highlighted_row()
        # Its tags changed, which the pane lists: shown again soon, not at every event.
        if highlighted and highlighted.image.id in event.changes and not self._stale_details:
            self._stale_details = self.set_timer(STALE_DETAILS_SECONDS, self._renew_details)
        self._show_rows()

    def _renew_details(self) -> None:
        self._stale_details = None
        self._detail_key = None
        self._follow_highlight()

    @on(EngineEventsStopped)
    def _events_stopped(self, event: EngineEventsStopped) -> None:
        self._events_stream = None
        notify_plain(self, f"{event.reason} Press r to reconnect.", severity="warning")

    # -- the table -------------------------------------------------------------------------

    def _settings(self) -> ListingSettings:
        return ListingSettings(
            self.sort_column, self.sort_descending, self.show_dangling, self.absolute_dates
        )

    def _rebuild(self) -> None:
        """New images from the engine (or a toggle): every row formatted and sorted again, on a
        worker when there are many; the table keeps showing the rows it has until then."""
        if sum(len(image.repo_tags) or 1 for image in self.images) < SYNC_BUILD_ROWS:
            self._rebuild_rows()
            return
        self._builds += 1
        self._build = self._builds
        self._changes_since_build = {}
        settings = self._settings()
        self.build_listing(self._build, list(self.images), settings, set(self.marked))

    def _rebuild_rows(self) -> None:
        """Every row formatted and sorted again, now (small lists, fixed data)."""
        self._build = 0  # a listing still under way would be of older images
        self._install(ImageListing(self.images, self._settings(), self.marked))

    def _install(self, listing: ImageListing) -> None:
        """Show a new listing, with what changed while it was made: marks and images."""
        listing.mark(self.marked - listing.marked, True)
        listing.mark(listing.marked - self.marked, False)
        listing.replace_images(self._changes_since_build)
        self._changes_since_build = {}
        listing.set_query(self.query_one("#filter", Input).value)
        self.listing = listing
        self.images = list(listing.images.values())
        self._set_columns()
        self._show_rows()

    def _resort(self) -> None:
        """A new sort: the formatted cells stay, only the order changes."""
        if self._build:
            self._rebuild()  # the listing under way is made in the new order instead
        else:
            self._install(self.listing.with_settings(self._settings()))

    def _column_widths(
        self, cells: Iterable[tuple[str, ...]], start: Mapping[str, int]
    ) -> dict[str, int]:
        """The widest cell of each column, from `start`."""
        widths = dict(start)
        for row in cells:
            for (key, _label), cell in zip(COLUMNS, row, strict=False):
                if len(cell) > widths.get(key, 0):
                    widths[key] = len(cell)
        return widths

    def _set_columns(self) -> None:
        """Column widths from the widest cell of every row (so filtering never jitters)."""
        self._widths = self._column_widths(self.listing.cells.values(), {})
        columns = []
        for key, label in COLUMNS:
            if key == SortColumn.SIZE:
                label = str(self._size_kind()).capitalize()
            if key == self.sort_column:
                label += " ▼" if self.sort_descending else " ▲"
            width = min(max(self._widths.get(key, 0), len(label)), MAX_WIDTHS.get(key, 64))
            columns.append(
                Column(
                    str(key),
                    label,
                    width,
                    right=key in (SortColumn.SIZE, SortColumn.PLATFORMS),
                    flexible=key == SortColumn.REPOSITORY,
                    hide_rank=0 if key == self.sort_column else HIDE_RANKS.get(key, 0),
                )
            )
        self.query_one(ImageTable).set_columns(columns)

    def _size_kind(self) -> SizeKind:
        """What the Size column counts: one engine's images all report the same kind."""
        return self.images[0].size_kind if self.images else SizeKind.UNPACKED

    def _refresh_table(self) -> None:
        """Show the rows matching the filter (a narrower query filters the rows shown now)."""
        self.listing.set_query(self.query_one("#filter", Input).value)
        self._show_rows()

    def _show_rows(self) -> None:
        """Hand the table the rows shown: a list of keys and the mapping to their cells."""
        listing = self.listing
        self.query_one(ImageTable).set_rows([row.key for row in listing.shown], listing.cells)
        self.applied_filter = listing.query
        self._update_count(listing.query)
        # After the frame that shows the new rows: the details never hold that frame back.
        self.call_after_refresh(self._follow_highlight)

    def _details_shown(self) -> bool:
        panes = self.query("#detail-pane")
        return bool(panes) and panes.first().display

    def _follow_highlight(self) -> None:
        """Keep the detail pane (when shown) on the highlighted row, whatever moved the cursor."""
        if not self._details_shown():
            self._detail_key = None  # loaded when the pane is shown again
            return
        row = self.highlighted_row()
        key = row.key if row is not None else None
        if key == self._detail_key:
            return
        self._detail_key = key
        if row is None:
            self.query_one("#detail", Static).update("")
        else:
            self.load_details(row)

    def _update_count(self, query: str) -> None:
        total = len(self.listing.rows)
        shown = len(self.listing.shown)
        noun = "tag" if total == 1 else "tags"
        marked = f" · {len(self.marked)} marked" if self.marked else ""
        text = f"{shown} of {total} {noun}{marked}" if query else f"{total} {noun}{marked}"
        # The label is as wide as its column: a new count needs no layout of the screen.
        self.query_one("#row-count", Label).update(text, layout=False)
        empty = self.query_one("#empty-state", Static)
        empty.display = shown == 0
        if shown:
            return
        if not self.images:
            empty.update(
                "The engine has no images yet.\n\nBuild one (docker build -t app:1 .) or pull "
                "one (docker pull alpine); it appears here by itself."
            )
        elif total == 0:
            empty.update("Only untagged images here. Press d to show them.")
        else:
            empty.update(plain(f"No tag matches {query!r}. Press escape to clear the filter."))

    def highlighted_row(self) -> ImageRow | None:
        """The row under the cursor, if any (with its image as it is now)."""
        key = self.query_one(ImageTable).cursor_key
        return self.listing.by_key.get(key) if key is not None else None

    @on(ImageTable.RowHighlighted)
    def _row_highlighted(self, _event: ImageTable.RowHighlighted) -> None:
        self.call_after_refresh(self._follow_highlight)  # the cursor is drawn first

    @on(ImageTable.HeaderSelected)
    def _header_selected(self, event: ImageTable.HeaderSelected) -> None:
        key = event.column_key
        if key == "mark":
            return
        column = SortColumn(key)
        if column is self.sort_column:
            self.sort_descending = not self.sort_descending
        else:
            self.sort_column, self.sort_descending = column, False
        self._resort()

    @on(ImageTable.RowSelected)
    def _row_selected(self, _event: ImageTable.RowSelected) -> None:
        self.action_continue()

    def _show_details(self, row: ImageRow, details: ImageDetails, history: list[LayerInfo]) -> None:
        """Show the details of `row` now (fixed data; the live screen makes them on a worker)."""
        pushed = self.session.workflow.pushed
        content = details_content(row, row.image, details, history, pushed)
        self.query_one("#detail", Static).update(content)

    # -- actions ---------------------------------------------------------------------------

    def on_resize(self) -> None:
        """The detail pane needs room: shown from 100 columns, or on demand with i."""
        self._place_details()

    def _place_details(self) -> None:
        panes = self.query("#detail-pane")
        if not panes:
            return  # a resize can arrive before the screen is composed
        wide = self.size.width >= DETAILS_MIN_WIDTH
        panes.first().display = wide if self._details_wanted is None else self._details_wanted
        self._follow_highlight()

    def action_toggle_details(self) -> None:
        """Show or hide the detail pane."""
        self._details_wanted = not self.query_one("#detail-pane").display
        self._place_details()

    def action_focus_filter(self) -> None:
        """Jump to the filter box."""
        self.query_one("#filter", Input).focus()

    def action_leave_filter(self) -> None:
        """Clear the filter (when in it) and go back to the table."""
        filter_box = self.query_one("#filter", Input)
        if filter_box.has_focus and filter_box.value:
            filter_box.value = ""
        self.query_one(ImageTable).focus()

    def _filter_changed(self, _value: str) -> None:
        self._refresh_table()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, _event: Input.Submitted) -> None:
        self.query_one(ImageTable).focus()

    def action_toggle_mark(self) -> None:
        """Mark or unmark the highlighted row for pushing together."""
        row = self.highlighted_row()
        if row is None or row.repository == NONE:
            return
        self._set_marks([row], row.key not in self.marked)

    def action_mark_repository(self) -> None:
        """Mark every tag of the highlighted row's repository (again: unmark them)."""
        row = self.highlighted_row()
        if row is None or row.repository == NONE:
            return
        rows = [r for r in self.all_rows if r.repository == row.repository]
        self._set_marks(rows, not all(r.key in self.marked for r in rows))
        notify_plain(
            self,
            f"{'Marked' if rows[0].key in self.marked else 'Unmarked'} {len(rows)} "
            f"tags of {row.repository}.",
        )

    def _set_marks(self, rows: list[ImageRow], marked: bool) -> None:
        self.listing.mark([row.key for row in rows], marked)
        self.query_one(ImageTable).refresh()  # the table shares the listing's cells
        self._update_count(self.listing.query)

    def action_next_sort(self) -> None:
        """Sort by the next column."""
        order = list(SortColumn)
        self.sort_column = order[(order.index(self.sort_column) + 1) % len(order)]
        self._resort()

    def action_reverse_sort(self) -> None:
        """Reverse the sort order."""
        self.sort_descending = not self.sort_descending
        self._resort()

    def action_toggle_dangling(self) -> None:
        """Show or hide untagged (dangling) images."""
        self.show_dangling = not self.show_dangling
        self._rebuild()
        notify_plain(
            self, "Showing untagged images" if self.show_dangling else "Untagged images hidden"
        )

    def action_toggle_dates(self) -> None:
        """Switch Created between relative and full dates."""
        self.absolute_dates = not self.absolute_dates
        self._rebuild()

    def action_refresh(self) -> None:
        """List again now (and reconnect if the engine was lost)."""
        self.query_one("#row-count", Label).update("Loading images…")
        self._stop_following()
        self.load_images()

    def engine_switched(self) -> None:
        """The app now uses another engine: forget this one's images and follow the new one."""
        self._stop_following()
        self._details.clear()
        self.images = []
        self.marked.clear()
        self.query_one("#detail", Static).update("")
        self._rebuild_rows()
        self.query_one("#row-count", Label).update("Loading images…")
        self.load_images()

    def selected_sources(self) -> list[Source]:
        """The marked rows, or the highlighted one when nothing is marked."""
        by_key = self.listing.by_key
        rows = [by_key[r.key] for r in self.all_rows if r.key in self.marked]
        if not rows:
            row = self.highlighted_row()
            rows = [row] if row is not None and row.repository != NONE else []
        return [
            Source(row.reference, row.image.id, row.repository, tuple(row.image.repo_tags))
            for row in rows
        ]

    def action_continue(self) -> None:
        """Go to the tag form with the marked (or highlighted) images."""
        self._choose(ImagesChosen)

    def action_push_as_is(self) -> None:
        """Push the marked (or highlighted) images under their own names: no tag step."""
        self._choose(ImagesChosenAsIs)

    def _choose(self, chosen: type[ImagesChosen | ImagesChosenAsIs]) -> None:
        sources = self.selected_sources()
        if not sources:
            notify_plain(self, "Pick a tagged image first (untagged ones need a tag to push).")
            return
        self.post_message(chosen(sources))
