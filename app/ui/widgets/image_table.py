"""A virtual table for many rows: renders only the lines on screen (Textual's Line API).

DataTable spends about 130 µs per added row, so re-filtering 10,000 image tags on every
keystroke would take over a second. This table keeps a list of row keys and a mapping from
key to cells (plain tuples of strings), and draws each visible line on demand, so replacing
all rows costs a list assignment. A new row count changes only the scrollbar: the table's
own size never depends on its rows, so no layout of the screen is asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rich.cells import cell_len
from rich.segment import Segment
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

GAP = 2
FLEXIBLE_MIN = 12  # the flexible column is never narrower (the table scrolls sideways instead)
# Columns are hidden while the flexible column would get fewer cells than this (or its
# natural width): a repository cut to "dockpush-de…" says less than the hidden column.
FLEXIBLE_WANTED = 20


@dataclass
class Column:
    """A column: key, label, width in cells, and whether it aligns right. A `flexible` one
    takes the width left by the others. When the table is too narrow, columns with a
    `hide_rank` are hidden, the highest rank first, rather than cut off at the right edge."""

    key: str
    label: str
    width: int
    right: bool = False
    flexible: bool = False
    hide_rank: int = 0


def fit(text: str, width: int, right: bool = False) -> str:
    """Pad or cut `text` to exactly `width` cells, with … where it was cut."""
    length = cell_len(text)
    if length > width:
        out, used = [], 0
        for char in text:
            size = cell_len(char)
            if used + size > width - 1:
                break
            out.append(char)
            used += size
        return "".join(out) + "…" + " " * (width - 1 - used)
    padding = " " * (width - length)
    return padding + text if right else text + padding


class ImageTable(ScrollView, can_focus=True):
    """Rows of cells with a fixed header, a row cursor, and sortable column headers."""

    DEFAULT_CSS = """
    ImageTable { height: 1fr; background: $surface; }
    ImageTable > .image-table--header { text-style: bold; background: $panel; }
    ImageTable > .image-table--cursor { background: $primary 40%; }
    ImageTable:focus > .image-table--cursor { background: $primary; color: $text; }
    ImageTable > .image-table--odd { background: $surface-lighten-1; }
    """
    COMPONENT_CLASSES = {
        "image-table--header",
        "image-table--cursor",
        "image-table--odd",
    }
    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("enter", "select", "Select", show=False),
    ]

    cursor_row: reactive[int] = reactive(0, always_update=True)

    @dataclass
    class RowHighlighted(Message):
        """The cursor moved to the row with this key."""

        table: ImageTable
        key: str | None

    @dataclass
    class RowSelected(Message):
        """Enter (or a second click) on the row with this key."""

        table: ImageTable
        key: str

    class RowsDrawn(Message):
        """The table drew rows for the first time (handled once that frame is written)."""

    @dataclass
    class HeaderSelected(Message):
        """A column header was clicked."""

        table: ImageTable
        column_key: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.columns: list[Column] = []
        self._shown: list[tuple[int, Column]] = []  # (index in a row's cells, column)
        self.keys: list[str] = []
        self.cells: Mapping[str, tuple[str, ...]] = {}
        self._last_drawn: tuple[int, int, list[tuple[str, ...]]] | None = None
        self._natural: dict[str, int] = {}
        self._rows_drawn = False

    # -- data ------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        """How many rows there are."""
        return len(self.keys)

    @property
    def cursor_key(self) -> str | None:
        """The key of the row under the cursor."""
        return self.keys[self.cursor_row] if self.keys else None

    def row(self, index: int) -> tuple[str, ...]:
        """The cells of the row at `index`."""
        return self.cells[self.keys[index]]

    def set_columns(self, columns: list[Column]) -> None:
        """Replace the columns; a `flexible` one is narrowed to fit the widget's width."""
        self._natural = {column.key: column.width for column in columns}
        self.columns = columns
        self._fit_columns()

    @property
    def shown_columns(self) -> list[Column]:
        """The columns drawn, left to right (the others are hidden for want of width)."""
        return [column for _index, column in self._shown]

    def _fit_columns(self) -> None:
        # Before the first layout (no size yet): the natural widths, as far as the screen allows.
        all_natural = sum(width + GAP for width in self._natural.values())
        available = self.size.width or min(all_natural, self.app.size.width or all_natural)
        shown = list(enumerate(self.columns))
        hideable = sorted((c for c in self.columns if c.hide_rank), key=lambda c: -c.hide_rank)
        while hideable and self._wanted_width([c for _i, c in shown]) > available:
            hidden = hideable.pop(0)
            shown = [(i, c) for i, c in shown if c is not hidden]
        fixed = sum(c.width + GAP for _i, c in shown if not c.flexible)
        for _index, column in shown:
            if column.flexible:
                natural = self._natural[column.key]
                column.width = max(FLEXIBLE_MIN, min(natural, available - fixed - GAP))
        self._shown = shown
        self._resize()
        self.refresh()

    def _flexible_wanted(self, column: Column) -> int:
        return max(FLEXIBLE_MIN, min(self._natural[column.key], FLEXIBLE_WANTED))

    def _wanted_width(self, columns: list[Column]) -> int:
        """The width `columns` need, the flexible one at its wanted width."""
        return sum(GAP + (self._flexible_wanted(c) if c.flexible else c.width) for c in columns)

    def on_resize(self, _event: events.Resize) -> None:
        """Re-fit the flexible column to the new width."""
        if self.columns:
            self._fit_columns()

    def set_rows(self, keys: list[str], cells: Mapping[str, tuple[str, ...]]) -> None:
        """Show the rows `keys`, each drawn from `cells[key]`. The cursor stays on its key
        when that row is still there, on the same line of the screen; else it goes to the top."""
        previous, line = self.cursor_key, self.cursor_row - self.scroll_offset.y
        self.keys, self.cells = keys, cells
        self._resize()
        try:
            target = keys.index(previous) if previous is not None else 0
        except ValueError:
            target, line = 0, 0
        if target != self.cursor_row:
            self.scroll_to(y=max(0, target - max(0, line)), animate=False)
        self.set_reactive(ImageTable.cursor_row, target)
        self._cursor_moved(previous)
        drawn = self._drawn()
        if drawn != self._last_drawn:  # rows that come and go off screen redraw nothing
            self._last_drawn = drawn
            self.refresh()

    def _drawn(self) -> tuple[int, int, list[tuple[str, ...]]]:
        """What the lines on screen show: scroll position, cursor, and each row's cells (the
        same tuple while a row is unchanged)."""
        top = self.scroll_offset.y
        rows = [self.cells.get(key, ()) for key in self.keys[top : top + self._visible_rows]]
        return top, self.cursor_row, rows

    def _resize(self) -> None:
        width = sum(column.width + GAP for column in self.shown_columns)
        size = Size(width, len(self.keys) + 1)
        if size == self.virtual_size:
            return
        # Not the reactive's layout: the table's size does not follow its rows, only the
        # scrollbar does (when it appears or goes, Textual lays out the table again).
        self.set_reactive(ImageTable.virtual_size, size)
        self._scroll_update(size)

    # -- drawing ---------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        """The header on the first line, then the rows from the scroll position."""
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        if y == 0:
            cells = tuple(column.label for column in self.columns)
            style = self.get_component_rich_style("image-table--header")
        else:
            index = scroll_y + y - 1
            if index >= len(self.keys):
                return Strip.blank(width, self.rich_style)
            cells = self.row(index)
            if not self._rows_drawn:
                self._rows_drawn = True
                self.post_message(self.RowsDrawn())
            style = self.rich_style
            if index % 2:
                style += self.get_component_rich_style("image-table--odd")
            if index == self.cursor_row:
                style += self.get_component_rich_style("image-table--cursor")
        text = "".join(
            fit(cells[index] if index < len(cells) else "", column.width, column.right) + " " * GAP
            for index, column in self._shown
        )
        strip = Strip([Segment(text, style)], cell_len(text))
        return strip.crop_extend(scroll_x, scroll_x + width, style)

    def watch_cursor_row(self, old: int, new: int) -> None:
        """Redraw the two rows and keep the cursor on screen."""
        scroll_y = self.scroll_offset.y
        self.refresh_line(old - scroll_y + 1)
        self.refresh_line(new - scroll_y + 1)
        visible = self._visible_rows
        if new < scroll_y:
            self.scroll_to(y=new, animate=False)
        elif new >= scroll_y + visible:
            self.scroll_to(y=new - visible + 1, animate=False)
        self.post_message(self.RowHighlighted(self, self.cursor_key))

    @property
    def _visible_rows(self) -> int:
        """How many rows fit under the header (a horizontal scrollbar takes a line)."""
        return max(1, self.scrollable_content_region.height - 1)

    def _cursor_moved(self, previous: str | None) -> None:
        """After new rows: keep the cursor on screen, and say so when its row changed."""
        visible = self._visible_rows
        scroll_y = self.scroll_offset.y
        if not scroll_y <= self.cursor_row < scroll_y + visible:
            self.scroll_to(y=max(0, self.cursor_row - visible + 1), animate=False)
        if self.cursor_key != previous:
            self.post_message(self.RowHighlighted(self, self.cursor_key))

    def refresh_line(self, y: int) -> None:
        """Redraw one line of the widget (0 is the header)."""
        if 0 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    # -- input -----------------------------------------------------------------------------

    def action_cursor(self, step: int) -> None:
        """Move the cursor by `step` rows."""
        if self.keys:
            self.cursor_row = max(0, min(len(self.keys) - 1, self.cursor_row + step))

    def action_page(self, direction: int) -> None:
        """Move the cursor by a screenful."""
        self.action_cursor(direction * max(1, self._visible_rows - 1))

    def action_jump(self, where: int) -> None:
        """To the first (0) or last (-1) row."""
        if self.keys:
            self.cursor_row = 0 if where == 0 else len(self.keys) - 1

    def action_select(self) -> None:
        """Post RowSelected for the cursor row."""
        if self.cursor_key is not None:
            self.post_message(self.RowSelected(self, self.cursor_key))

    def on_click(self, event: events.Click) -> None:
        """A header click sorts; a row click moves the cursor; a second click selects."""
        if event.y == 0:
            x = event.x + self.scroll_offset.x
            for column in self.shown_columns:
                if x < column.width + GAP:
                    self.post_message(self.HeaderSelected(self, column.key))
                    return
                x -= column.width + GAP
            return
        index = self.scroll_offset.y + event.y - 1
        if 0 <= index < len(self.keys):
            if index == self.cursor_row and event.chain >= 2:
                self.action_select()
            self.cursor_row = index
