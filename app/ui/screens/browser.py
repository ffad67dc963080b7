"""Step 1: browse local images, filter, sort, inspect, mark, and pick what to publish."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Label, Static
from textual.worker import Worker, WorkerState, get_current_worker

from app.core.engine import Engine, ImageDetails, LayerInfo, LocalImage
from app.core.errors import DockpushError
from app.core.images import (
    ImageRow,
    SortColumn,
    filter_rows,
    image_rows,
    platforms_cell,
    pushed_this_session,
    registry_digests,
    sort_rows,
)
from app.core.plaintext import printable
from app.core.platforms import ImageManifests, SizeKind
from app.core.units import human_size, relative_time
from app.ui.messages import EngineEventsStopped, EngineImagesChanged
from app.ui.text import notify_plain, plain
from app.ui.widgets.error_panel import ErrorPanel
from app.ui.widgets.image_table import Column, ImageTable
from app.ui.widgets.plain_input import PlainInput
from app.ui.widgets.stepper import Stepper
from app.ui.workflow import Source

COLUMNS = [
    ("mark", " "),
    (SortColumn.REPOSITORY, "Repository"),
    (SortColumn.TAG, "Tag"),
    (SortColumn.ID, "Image ID"),
    (SortColumn.CREATED, "Created"),
    (SortColumn.PLATFORMS, "Platforms"),
    (SortColumn.SIZE, "Size"),  # labelled with what the engine's sizes count, see _size_kind
]
MAX_WIDTHS = {SortColumn.REPOSITORY: 64, SortColumn.TAG: 24}
MARK = "●"
DETAILS_MIN_WIDTH = 100
RELOAD_DELAY = 0.3


class ImageBrowserScreen(Screen[None]):
    """The image browser: one row per tag, live with the engine's events."""

    BINDINGS = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("enter", "continue", "Tag & push", priority=False),
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

    def __init__(self) -> None:
        super().__init__()
        self.images: list[LocalImage] = []
        self.all_rows: list[ImageRow] = []
        self.shown_rows: list[ImageRow] = []
        self.marked: set[str] = set()
        self.show_dangling = False
        self.absolute_dates = False
        self.sort_column = SortColumn.REPOSITORY
        self.sort_descending = False
        self._reload_timer: Timer | None = None
        self._reload_pending = False
        self._events_stream = None
        self._detail_key: str | None = None
        self.applied_filter = ""
        self._details_wanted: bool | None = None  # None: shown when the terminal is wide
        self._sorted: list[ImageRow] = []
        self._cells: dict[str, tuple[str, ...]] = {}
        self._by_key: dict[str, ImageRow] = {}

    def compose(self) -> ComposeResult:
        """Filter box, table and detail pane side by side."""
        yield Header()
        yield Stepper(0)
        with Horizontal(id="browser-body"):
            with Vertical(id="browser-main"):
                yield PlainInput(placeholder="Filter by repository, tag or id  ( / )", id="filter")
                yield Label("Loading images…", id="row-count")
                yield ErrorPanel(id="engine-error")
                yield Static(id="empty-state")
                yield ImageTable(id="images")
            with VerticalScroll(id="detail-pane"):
                yield Static("Highlight an image to see its layers.", id="detail")
        yield Footer()

    def on_mount(self) -> None:
        """Place the detail pane and start loading."""
        self._place_details()
        self.query_one("#empty-state").display = False
        self.query_one(ImageTable).focus()
        self.load_images()

    def on_unmount(self) -> None:
        """Stop following the engine's events."""
        if self._events_stream is not None:
            self._events_stream.close()

    # -- loading ---------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="images", exit_on_error=False)
    def load_images(self) -> list[LocalImage]:
        """Ask the engine for its images (connecting first if needed)."""
        engine = self.app.ensure_engine()  # type: ignore[attr-defined]
        return engine.list_images()

    @work(thread=True, exclusive=True, group="events", exit_on_error=False)
    def follow_events(self, engine: Engine) -> None:
        """Post EngineImagesChanged for every image event until the screen goes away."""
        stream = engine.image_events()
        self._events_stream = stream
        worker = get_current_worker()
        try:
            for action in stream:
                if worker.is_cancelled:
                    return
                self.post_message(EngineImagesChanged(action))
        except DockpushError as error:
            if not worker.is_cancelled:
                self.post_message(EngineEventsStopped(error.explanation))
            return
        if not worker.is_cancelled:
            # A stopped engine closes the stream without an error.
            self.post_message(EngineEventsStopped("The engine stopped sending events."))

    @work(thread=True, exclusive=True, group="details", exit_on_error=False)
    def load_details(self, row: ImageRow) -> tuple[ImageRow, ImageDetails, list[LayerInfo]]:
        """Inspect and read the history of the highlighted image."""
        engine = self.app.ensure_engine()  # type: ignore[attr-defined]
        return row, engine.inspect_image(row.image.id), engine.image_history(row.image.id)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        """The one place where this screen's background work reports back."""
        worker = event.worker
        if event.state is WorkerState.ERROR:
            if worker.group == "images":
                self._show_engine_error(worker.error)
            elif worker.group == "details":
                self.query_one("#detail", Static).update(
                    plain(f"Could not inspect: {worker.error}")
                )
            return
        if event.state is not WorkerState.SUCCESS:
            return
        if worker.group == "images":
            self._images_loaded(worker.result)
        elif worker.group == "details":
            self._show_details(*worker.result)

    def _show_engine_error(self, error: BaseException | None) -> None:
        self.query_one(ErrorPanel).show_error(error)
        self.query_one("#row-count", Label).update("Press r to retry.")
        # Hidden, so that focus cannot fall into the filter box and swallow the retry key.
        self.query_one(ImageTable).display = False
        self.query_one("#filter", Input).display = False
        self.set_focus(None)

    def _images_loaded(self, images: list[LocalImage]) -> None:
        self.query_one(ErrorPanel).show_error(None)
        self.query_one("#filter", Input).display = True
        table = self.query_one(ImageTable)
        table.display = True
        if self.focused is None:
            table.focus()
        first_load = not self.images and self._events_stream is None
        self.images = images
        self._rebuild_rows()
        if first_load:
            self.follow_events(self.app.engine)  # type: ignore[attr-defined]
        if self._reload_pending:
            self._reload_pending = False
            self.load_images()

    # -- live updates ----------------------------------------------------------------------

    @on(EngineImagesChanged)
    def _engine_changed(self, _event: EngineImagesChanged) -> None:
        # Many events arrive together (a build tags and untags): one reload shortly after the
        # first of them. Not restarted by each event, or a steady stream of them (a busy
        # engine) would put the reload off for ever.
        if self._reload_timer is None:
            self._reload_timer = self.set_timer(RELOAD_DELAY, self._reload_now)

    def _reload_now(self) -> None:
        self._reload_timer = None
        running = [w for w in self.workers if w.group == "images" and w.is_running]
        if running:
            self._reload_pending = True
        else:
            self.load_images()

    @on(EngineEventsStopped)
    def _events_stopped(self, event: EngineEventsStopped) -> None:
        self._events_stream = None
        notify_plain(self, f"{event.reason} Press r to reconnect.", severity="warning")

    # -- the table -------------------------------------------------------------------------

    def _set_columns(self) -> None:
        """Column widths from the widest cell of every row (so filtering never jitters)."""
        columns = []
        for index, (key, label) in enumerate(COLUMNS):
            if key == SortColumn.SIZE:
                label = str(self._size_kind()).capitalize()
            if key == self.sort_column:
                label += " ▼" if self.sort_descending else " ▲"
            widest = max((len(cells[index]) for cells in self._cells.values()), default=0)
            width = min(max(widest, len(label)), MAX_WIDTHS.get(key, 64))
            columns.append(
                Column(
                    str(key),
                    label,
                    width,
                    right=key in (SortColumn.SIZE, SortColumn.PLATFORMS),
                    flexible=key == SortColumn.REPOSITORY,
                )
            )
        self.query_one(ImageTable).set_columns(columns)

    def _size_kind(self) -> SizeKind:
        """What the Size column counts: one engine's images all report the same kind."""
        return self.images[0].size_kind if self.images else SizeKind.UNPACKED

    def _rebuild_rows(self) -> None:
        """New data from the engine (or a toggle): format every row once, sort once."""
        self.all_rows = image_rows(self.images, show_dangling=self.show_dangling)
        self._by_key = {row.key: row for row in self.all_rows}
        self.marked &= set(self._by_key)
        now = datetime.now(UTC)
        self._cells = {row.key: self._format(row, now) for row in self.all_rows}
        self._resort()

    def _resort(self) -> None:
        self._sorted = sort_rows(self.all_rows, self.sort_column, self.sort_descending)
        self._set_columns()
        self._refresh_table()

    def _refresh_table(self) -> None:
        """Show the rows matching the filter: a filter over pre-sorted rows and a list swap."""
        query = self.query_one("#filter", Input).value
        rows = filter_rows(self._sorted, query)
        self.shown_rows = rows
        keys = [row.key for row in rows]
        self.query_one(ImageTable).set_rows(keys, [self._cells[key] for key in keys])
        self.applied_filter = query
        self._update_count(query)
        self._follow_highlight()

    def _follow_highlight(self) -> None:
        """Keep the detail pane on the highlighted row, whatever moved the cursor."""
        row = self.highlighted_row()
        key = row.key if row is not None else None
        if key == self._detail_key:
            return
        self._detail_key = key
        if row is None:
            self.query_one("#detail", Static).update("")
        else:
            self.load_details(row)

    def _format(self, row: ImageRow, now: datetime) -> tuple[str, ...]:
        created = (
            row.image.created.strftime("%Y-%m-%d %H:%M")
            if self.absolute_dates
            else relative_time(row.image.created, now)
        )
        return (
            MARK if row.key in self.marked else " ",
            printable(row.repository),
            printable(row.tag),
            printable(row.image.short_id),
            created,
            platforms_cell(row.image),
            human_size(row.image.size),
        )

    def _update_count(self, query: str) -> None:
        total = len(self.all_rows)
        shown = len(self.shown_rows)
        noun = "tag" if total == 1 else "tags"
        marked = f" · {len(self.marked)} marked" if self.marked else ""
        text = f"{shown} of {total} {noun}{marked}" if query else f"{total} {noun}{marked}"
        self.query_one("#row-count", Label).update(text)
        empty = self.query_one("#empty-state", Static)
        empty.display = shown == 0
        if not self.images:
            empty.update(
                "The engine has no images yet.\n\nBuild one (docker build -t app:1 .) or pull "
                "one (docker pull alpine); it appears here by itself."
            )
        elif total == 0:
            empty.update("Only untagged images here. Press d to show them.")
        elif shown == 0:
            empty.update(plain(f"No tag matches {query!r}. Press escape to clear the filter."))

    def highlighted_row(self) -> ImageRow | None:
        """The row under the cursor, if any."""
        key = self.query_one(ImageTable).cursor_key
        return self._by_key.get(key) if key is not None else None

    @on(ImageTable.RowHighlighted)
    def _row_highlighted(self, _event: ImageTable.RowHighlighted) -> None:
        self._follow_highlight()

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
        # Every line quotes the engine (tags, platform, history), so each goes through plain().
        image = row.image
        text = Text()
        text.append_text(plain(row.reference, style="bold"))
        text.append("\nID        ")
        text.append_text(plain(details.id))
        text.append(f"\nCreated   {details.created:%Y-%m-%d %H:%M:%S} UTC\n")
        # The same number and label as the list's Size column.
        text.append(f"Size      {human_size(image.size)} {image.size_kind}")
        text.append(f": {image.size_kind.explanation}\n", style="dim")
        if image.manifests is not None and image.manifests.is_index:
            text.append_text(self._platform_lines(image.manifests))
        else:
            text.append("Platform  ")
            text.append_text(plain(f"{details.os}/{details.architecture}", limit=200))
            text.append("  (single platform)\n", style="dim")
        text.append("\nTags\n", style="bold")
        for tag in image.repo_tags or ("(none)",):
            text.append_text(plain(f"  {tag}"))
            text.append("\n")
        text.append_text(self._digest_lines(image))
        layers = f"{details.layer_count} layer{'s' * (details.layer_count != 1)}"
        of = f" of {details.os}/{details.architecture}" if image.manifests else ""
        text.append("\n")
        text.append_text(plain(f"{layers}{of} (oldest first, each layer's unpacked size)", "bold"))
        text.append("\n")
        for step in history:
            command = step.created_by.replace("/bin/sh -c #(nop) ", "").strip()
            size = human_size(step.size) if step.size else "-"
            text.append(f"  {size:>9}  ", style="bold" if step.size else "dim")
            text.append_text(plain(command, style="" if step.size else "dim", limit=200))
            text.append("\n")
        self.query_one("#detail", Static).update(text)

    @staticmethod
    def _platform_lines(manifests: ImageManifests) -> Text:
        """The platforms of an index, each present or missing, then its attestations apart."""
        text = Text("Platforms ")
        text.append_text(plain(manifests.summary()))
        text.append("\n")
        for entry in manifests.platforms:
            text.append_text(plain(f"  {entry.platform or '?'!s:<16}", style="bold"))
            text.append(f"{human_size(entry.content_size):>9}  ")
            if entry.available:
                text.append("here           ", style="green")
            else:
                text.append("missing locally", style="bold red")
            text.append_text(plain(f"  {entry.digest[:19]}…", style="dim"))
            text.append("\n")
        if manifests.attestations:
            text.append("Attestations (not platforms)\n")
            for entry in manifests.attestations:
                about = manifests.platform_of(entry.attests) if entry.attests else "?"
                text.append_text(plain(f"  for {about:<14}"))
                text.append(f"{human_size(entry.content_size):>9}  ")
                text.append_text(plain(f"{entry.digest[:19]}…", style="dim"))
                text.append("\n")
        return text

    def _digest_lines(self, image: LocalImage) -> Text:
        """Repo digests that came from a registry, and this session's pushes; never the
        containerd store's per-tag digests, which it records whether anything was pushed."""
        text = Text("\nPushed or pulled as (registry digests)\n", style="bold")
        pushed = self.app.workflow.pushed  # type: ignore[attr-defined]
        digests = (*registry_digests(image), *pushed_this_session(image, pushed))
        for digest in dict.fromkeys(digests):
            text.append_text(plain(f"  {digest}"))
            text.append("\n")
        if not digests:
            text.append("  (none recorded by this engine)\n")
        if image.containerd_store:
            text.append(
                "  This store gives every tag a digest, pushed or not; dockpush's verify step "
                "asks the registry.\n",
                style="dim",
            )
        return text

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

    @on(Input.Changed, "#filter")
    def _filter_changed(self, _event: Input.Changed) -> None:
        self._refresh_table()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, _event: Input.Submitted) -> None:
        self.query_one(ImageTable).focus()

    def action_toggle_mark(self) -> None:
        """Mark or unmark the highlighted row for pushing together."""
        row = self.highlighted_row()
        if row is None or row.repository == "<none>":
            return
        self._set_marks([row], row.key not in self.marked)

    def action_mark_repository(self) -> None:
        """Mark every tag of the highlighted row's repository (again: unmark them)."""
        row = self.highlighted_row()
        if row is None or row.repository == "<none>":
            return
        rows = [r for r in self.all_rows if r.repository == row.repository]
        self._set_marks(rows, not all(r.key in self.marked for r in rows))
        notify_plain(
            self,
            f"{'Marked' if rows[0].key in self.marked else 'Unmarked'} {len(rows)} "
            f"tags of {row.repository}.",
        )

    def _set_marks(self, rows: list[ImageRow], marked: bool) -> None:
        table = self.query_one(ImageTable)
        for row in rows:
            if marked:
                self.marked.add(row.key)
            else:
                self.marked.discard(row.key)
            cells = (MARK if marked else " ", *self._cells[row.key][1:])
            self._cells[row.key] = cells
            table.update_row(row.key, cells)
        self._update_count(self.query_one("#filter", Input).value)

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
        self._rebuild_rows()
        notify_plain(
            self, "Showing untagged images" if self.show_dangling else "Untagged images hidden"
        )

    def action_toggle_dates(self) -> None:
        """Switch Created between relative and full dates."""
        self.absolute_dates = not self.absolute_dates
        self._rebuild_rows()

    def action_refresh(self) -> None:
        """Reload now (and reconnect if the engine was lost)."""
        self.query_one("#row-count", Label).update("Loading images…")
        if self._events_stream is None and self.app.engine is not None:  # type: ignore[attr-defined]
            self.follow_events(self.app.engine)  # type: ignore[attr-defined]
        self.load_images()

    def engine_switched(self) -> None:
        """The app now uses another engine: forget this one's images and follow the new one."""
        # Cancelled first, so the old stream's end is not reported as a lost engine.
        self.workers.cancel_group(self, "events")
        if self._events_stream is not None:
            self._events_stream.close()
            self._events_stream = None
        self.images = []
        self.marked.clear()
        self.query_one("#detail", Static).update("")
        self._rebuild_rows()
        self.query_one("#row-count", Label).update("Loading images…")
        # With no images and no stream, the load counts as a first one and follows events.
        self.load_images()

    def selected_sources(self) -> list[Source]:
        """The marked rows, or the highlighted one when nothing is marked."""
        rows = [r for r in self.all_rows if r.key in self.marked]
        if not rows:
            row = self.highlighted_row()
            rows = [row] if row is not None and row.repository != "<none>" else []
        return [
            Source(row.reference, row.image.id, row.repository, tuple(row.image.repo_tags))
            for row in rows
        ]

    def action_continue(self) -> None:
        """Go to the tag form with the marked (or highlighted) images."""
        sources = self.selected_sources()
        if not sources:
            notify_plain(self, "Pick a tagged image first (untagged ones need a tag to push).")
            return
        self.app.start_tagging(sources)  # type: ignore[attr-defined]
