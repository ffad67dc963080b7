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
        table.set_rows(keys, [(f"repo-{i}", f"v{i}", f"{i} B") for i in range(1000)])
        table.focus()
        await pilot.pause()
        assert table.columns[0].width == 60 - (8 + 2) - (6 + 2) - 2  # fits the widget
        await pilot.press("down", "down", "pagedown", "end")
        assert table.cursor_key == "k999"
        assert table.scroll_offset.y > 900  # the cursor stayed on screen
        await pilot.press("enter")
        assert ("selected", "k999") in app.messages
        table.set_rows(keys[990:], [(f"repo-{i}", f"v{i}", "") for i in range(990, 1000)])
        assert table.cursor_key == "k999"  # the cursor follows its key
        table.set_rows(["k1", "k2"], [("a", "1", ""), ("b", "2", "")])
        assert table.cursor_key == "k1"
        await pilot.click(ImageTable, offset=(table.columns[0].width + 3, 0))
        assert ("header", "tag") in app.messages
        await pilot.click(ImageTable, offset=(2, 2))
        assert table.cursor_key == "k2"
        line = "".join(segment.text for segment in table.render_line(2))
        assert line.startswith("b ") and "2" in line
