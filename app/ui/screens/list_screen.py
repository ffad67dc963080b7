"""A screen that lists things in a table: read in a worker, shown in rows updated in place.

The saved-logins and engines screens are this one skeleton: a title, a table keyed by a stable
id, a note below, escape to go back. A subclass says how to read its listing (`read`, run in a
worker thread: file, keyring and helper reads never block the UI), how to keep it (`loaded`),
and how to show it (`rows`, `note`). Each refresh updates the rows in place by key, so the
cursor stays on the same item while check marks or the list change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar, cast

from rich.console import RenderableType
from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Header, Label, Static
from textual.worker import Worker, WorkerState

from app.ui.text import notify_plain
from app.ui.widgets.footer import SettledFooter

ListingT = TypeVar("ListingT")


@dataclass(frozen=True)
class ListRow:
    """One row: its stable key and its cells, one per column."""

    key: str
    cells: tuple[RenderableType, ...]


def _keys_in_order(table: DataTable) -> list[str]:
    return [str(row.key.value) for row in table.ordered_rows]


def sync_rows(table: DataTable, rows: Sequence[ListRow]) -> None:
    """Make `table` show `rows`, in order, without clearing it: rows whose key stays are
    updated in place, gone ones removed, new ones added; the cursor stays on its row's key."""
    cursor_key = _keys_in_order(table)[table.cursor_row] if table.row_count else None
    cursor_index = table.cursor_row
    wanted = {row.key: row for row in rows}
    for key in _keys_in_order(table):
        if key not in wanted:
            table.remove_row(key)
    # DataTable only appends: rows after the first one out of place are added again.
    current = _keys_in_order(table)
    kept = 0
    while kept < min(len(current), len(rows)) and current[kept] == rows[kept].key:
        kept += 1
    for key in current[kept:]:
        table.remove_row(key)
    columns = list(table.columns)
    for row in rows[:kept]:
        for column, cell in zip(columns, row.cells, strict=True):
            table.update_cell(row.key, column, cell, update_width=True)
    for row in rows[kept:]:
        table.add_row(*row.cells, key=row.key)
    if not rows:
        return
    if cursor_key in wanted:
        table.move_cursor(row=table.get_row_index(cursor_key))
    else:
        table.move_cursor(row=min(cursor_index, len(rows) - 1))


class ListScreen(Screen[None], Generic[ListingT]):
    """Title, a keyed table, a note; the listing is read in a worker and shown in place."""

    # "logins" gives the table id "logins", the title "logins-title", the note "logins-note".
    LIST_ID: ClassVar[str] = "list"
    HEADING: ClassVar[str] = ""
    COLUMNS: ClassVar[tuple[str, ...]] = ()
    BINDINGS = [Binding("escape", "close", "Back")]
    # Tones for text drawn in table cells and notes, from the theme (see `tone`).
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "list-screen--good",
        "list-screen--bad",
        "list-screen--warning",
        "list-screen--muted",
    }
    DEFAULT_CSS = """
    ListScreen > .list-screen--good { color: $success; }
    ListScreen > .list-screen--bad { color: $error; }
    ListScreen > .list-screen--warning { color: $warning; }
    ListScreen > .list-screen--muted { color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        """Title, table, what the subclass adds, the note."""
        yield Header()
        yield Label(self.HEADING, id=f"{self.LIST_ID}-title", classes="list-title")
        yield DataTable(cursor_type="row", id=self.LIST_ID, classes="list-table")
        yield from self.compose_extra()
        yield Static(id=f"{self.LIST_ID}-note", classes="list-note")
        yield SettledFooter()

    def compose_extra(self) -> Iterable[Widget]:
        """Widgets between the table and the note (none by default)."""
        return ()

    def on_mount(self) -> None:
        """Set up the columns and read the listing."""
        self.query_one(DataTable).add_columns(*self.COLUMNS)
        self.load()

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load(self) -> ListingT:
        """Read the listing in a worker thread."""
        return self.read()

    def read(self) -> ListingT:
        """The listing; runs in a worker thread, so it may block. Subclasses define it."""
        raise NotImplementedError

    def loaded(self, listing: ListingT) -> None:
        """Keep a listing just read (on the UI thread). Subclasses define it."""
        raise NotImplementedError

    def rows(self) -> list[ListRow]:
        """The rows to show now, in order."""
        raise NotImplementedError

    def note(self) -> Text:
        """The text under the table."""
        raise NotImplementedError

    def load_failed(self, error: BaseException) -> None:
        """Say why the listing could not be read."""
        notify_plain(self, str(error), severity="error")

    @on(Worker.StateChanged)
    def _load_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != "load":
            return
        if event.state is WorkerState.SUCCESS:
            # The "load" group's only worker is `load`, which returns a ListingT.
            self.loaded(cast(ListingT, worker.result))
            self._show()
        elif event.state is WorkerState.ERROR and worker.error is not None:
            self.load_failed(worker.error)

    def _show(self) -> None:
        """Bring table and note up to date, in place."""
        sync_rows(self.query_one(DataTable), self.rows())
        self.query_one(f"#{self.LIST_ID}-note", Static).update(self.note())

    def highlighted_key(self) -> str | None:
        """The key of the row under the cursor, None when the table is empty."""
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return str(table.ordered_rows[table.cursor_row].key.value)

    def tone(self, name: str) -> Style:
        """The theme's style for `good`, `bad`, `warning` or `muted` text."""
        # The colour only: the partial style cannot resolve `$text-muted` (a share of the
        # foreground), and a background would hide the cursor row's highlight.
        return Style(color=self.get_component_rich_style(f"list-screen--{name}").color)

    @on(DataTable.RowSelected)
    def _row_selected(self, _event: DataTable.RowSelected) -> None:
        # The focused table takes enter before the screen's own binding sees it.
        self.action_select()

    def action_select(self) -> None:
        """What enter does on a row (nothing by default)."""

    def action_close(self) -> None:
        """Back to where the person was."""
        self.dismiss()
