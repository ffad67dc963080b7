"""The virtual image table: rendering, cursor, header clicks, fitting the width."""

from __future__ import annotations

from textual.app import App, ComposeResult

from app.ui.widgets.image_table import Column, ImageTable, fit


def test_fit() -> None:
    assert fit("abc", 5) == "abc  "
    assert fit("abc", 5, right=True) == "  abc"
    assert fit("abcdefgh", 5) == "abcd…"
    assert fit("日本語のタグ", 7) == "日本語…"


class TableApp(App):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[object] = []

    def compose(self) -> ComposeResult:
        yield ImageTable(id="t")

    def on_image_table_row_highlighted(self, message: ImageTable.RowHighlighted) -> None:
        self.messages.append(("highlighted", message.key))

    def on_image_table_header_selected(self, message: ImageTable.HeaderSelected) -> None:
        self.messages.append(("header", message.column_key))

    def on_image_table_row_selected(self, message: ImageTable.RowSelected) -> None:
        self.messages.append(("selected", message.key))


async def test_cursor_keys_header_and_width() -> None:
    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(ImageTable)
        table.set_columns(
            [
                Column("repo", "Repository", 40, flexible=True),
                Column("tag", "Tag", 8),
                Column("size", "Size", 6, right=True),
            ]
        )
        keys = [f"k{i}" for i in range(1000)]
        cells = {key: (f"repo-{i}", f"v{i}", f"{i} B") for i, key in enumerate(keys)}
        table.set_rows(keys, cells)
        table.focus()
        await pilot.pause()
        assert table.columns[0].width == 60 - (8 + 2) - (6 + 2) - 2  # fits the widget
        await pilot.press("down", "down", "pagedown", "end")
        assert table.cursor_key == "k999"
        assert table.scroll_offset.y > 900  # the cursor stayed on screen
        await pilot.press("enter")
        assert ("selected", "k999") in app.messages
        table.set_rows(keys[990:], cells)
        assert table.cursor_key == "k999"  # the cursor follows its key
        table.set_rows(["k1", "k2"], {"k1": ("a", "1", ""), "k2": ("b", "2", "")})
        assert table.cursor_key == "k1"
        await pilot.click(ImageTable, offset=(table.columns[0].width + 3, 0))
        assert ("header", "tag") in app.messages
        await pilot.click(ImageTable, offset=(2, 2))
        assert table.cursor_key == "k2"
        line = "".join(segment.text for segment in table.render_line(2))
        assert line.startswith("b ") and "2" in line


async def test_the_cursor_keeps_its_line_when_the_rows_widen_and_new_rows_need_no_layout() -> None:
    """Widening a filter puts the cursor's row back among thousands: it stays on screen, on
    the line it was on; a new row count redraws the table without laying out the screen."""
    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(ImageTable)
        table.set_columns([Column("repo", "Repository", 20), Column("tag", "Tag", 8)])
        keys = [f"k{i:05d}" for i in range(10_000)]
        cells = {key: (key, "1") for key in keys}
        table.set_rows(keys, cells)
        table.focus()
        await pilot.pause()
        table.set_rows(keys[5427:5527], cells)  # narrowed (still more rows than lines)
        await pilot.press("down")
        assert table.cursor_key == "k05428"
        line = table.cursor_row - table.scroll_offset.y
        await pilot.pause()
        layouts = _count_layouts(app)
        table.set_rows(keys, cells)  # widened again
        await pilot.pause()
        assert table.cursor_key == "k05428"
        assert table.cursor_row - table.scroll_offset.y == line
        rendered = "".join(s.text for s in table.render_line(line + 1))
        assert rendered.startswith("k05428")
        assert layouts() == 0  # the scrollbar stays, so nothing moves


async def test_the_cursor_stays_above_a_horizontal_scrollbar() -> None:
    """Columns wider than the table add a scrollbar line at the bottom: moving down, the
    cursor's row is drawn above it, never under it."""
    app = TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(ImageTable)
        table.set_columns([Column("repo", "Repository", 30), Column("tag", "Tag", 30)])
        keys = [f"k{i:03d}" for i in range(100)]
        table.set_rows(keys, {key: (key, "1") for key in keys})
        table.focus()
        await pilot.pause()
        assert table.show_horizontal_scrollbar
        rows = table.scrollable_content_region.height - 1
        for _ in range(rows + 3):
            await pilot.press("down")
            assert 0 <= table.cursor_row - table.scroll_offset.y < rows


def _count_layouts(app: App):
    """A function saying how many times the screen was laid out since this call."""
    screen = app.screen
    original = screen._refresh_layout
    calls = []

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    screen._refresh_layout = counted  # type: ignore[method-assign]
    return lambda: len(calls)


class ColumnsAtMountApp(App):
    """Sets the columns in on_mount, before the first layout, as the browser does."""

    def __init__(self) -> None:
        super().__init__()
        self.widths_at_mount: list[int] = []

    def compose(self) -> ComposeResult:
        yield ImageTable(id="t")

    def on_mount(self) -> None:
        table = self.query_one(ImageTable)
        table.set_columns(
            [Column("repo", "Repository", 20, flexible=True), Column("tag", "Tag", 8)]
        )
        self.widths_at_mount = [column.width for column in table.columns]


async def test_columns_set_before_the_first_layout_keep_their_natural_width() -> None:
    """The first frame draws them so: a narrowed first column was redrawn a frame later."""
    app = ColumnsAtMountApp()
    async with app.run_test(size=(100, 12)) as pilot:
        await pilot.pause()
        assert app.widths_at_mount == [20, 8]
        table = app.query_one(ImageTable)
        assert [column.width for column in table.columns] == [20, 8]  # room enough for both


async def test_a_narrow_table_hides_columns_by_rank_instead_of_cutting_the_last_one() -> None:
    """Too narrow for every column: the highest-ranked hideable one goes first, then the
    next, until the rest fit with the flexible column at its wanted width; clicks and lines
    follow the columns shown, and widening brings the hidden ones back."""
    app = TableApp()
    async with app.run_test(size=(50, 12)) as pilot:
        table = app.query_one(ImageTable)
        table.set_columns(
            [
                Column("repo", "Repository", 30, flexible=True),
                Column("id", "Image ID", 12, hide_rank=1),
                Column("platforms", "Platforms", 9, hide_rank=2),
                Column("size", "Size", 8, right=True),
            ]
        )
        table.set_rows(["k"], {"k": ("registry.example/team/app", "0123456789ab", "2", "5 MB")})
        await pilot.pause()
        # 20 + 12 + 9 + 8 and 4 gaps of 2 = 57 > 50; without Platforms' 9 + 2: 46.
        assert [c.key for c in table.shown_columns] == ["repo", "id", "size"]
        line = "".join(segment.text for segment in table.render_line(1))
        assert "0123456789ab" in line and line.rstrip().endswith("5 MB")
        header = "".join(segment.text for segment in table.render_line(0))
        assert "Platforms" not in header and header.rstrip().endswith("Size")
        repo = table.columns[0].width
        assert repo == 50 - (12 + 2) - (8 + 2) - 2  # the flexible column takes what is left
        await pilot.click(ImageTable, offset=(repo + 2 + 12 + 3, 0))
        assert ("header", "size") in app.messages  # the click finds the column drawn there

        await pilot.resize_terminal(40, 12)  # 46 > 40; without the Image ID's 14: 32
        await pilot.pause()
        assert [c.key for c in table.shown_columns] == ["repo", "size"]
        assert table.columns[0].width == 40 - (8 + 2) - 2
        assert not table.show_horizontal_scrollbar

        await pilot.resize_terminal(100, 12)
        await pilot.pause()
        assert [c.key for c in table.shown_columns] == ["repo", "id", "platforms", "size"]
        assert table.columns[0].width == 30  # its natural width, room to spare
