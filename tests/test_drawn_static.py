"""DrawnStatic reports each new content once it is drawn, and only then."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.screen import Screen

from app.ui.widgets.drawn_static import DrawnStatic


class OutcomeScreen(Screen):
    """Handles the report as the push screen does (it is posted while the screen renders,
    so it stops at the screen)."""

    def __init__(self) -> None:
        super().__init__()
        self.reports: list[DrawnStatic] = []

    def compose(self) -> ComposeResult:
        yield DrawnStatic("first", id="outcome")

    def on_drawn_static_drawn(self, message: DrawnStatic.Drawn) -> None:
        self.reports.append(message.control)


class DrawnApp(App):
    def get_default_screen(self) -> Screen:
        return OutcomeScreen()


async def _frames(pilot: Pilot, count: int = 4) -> None:
    for _ in range(count):
        await pilot.pause(0.05)


async def test_each_update_is_reported_once_after_its_render() -> None:
    app = DrawnApp()
    async with app.run_test(size=(40, 5)) as pilot:
        screen = app.screen
        assert isinstance(screen, OutcomeScreen)
        await _frames(pilot)
        assert screen.reports == []  # the content it was made with is not an update
        static = screen.query_one(DrawnStatic)
        static.update("Pushed it")
        assert screen.reports == []  # not drawn yet
        await _frames(pilot)
        assert screen.reports == [static]
        static.refresh()  # drawn again, nothing new
        await _frames(pilot)
        assert screen.reports == [static]
