"""A Static that says when its new content has been drawn."""

from __future__ import annotations

from textual.app import RenderResult
from textual.message import Message
from textual.visual import VisualType
from textual.widgets import Static


class DrawnStatic(Static):
    """Posts `Drawn` from the render of each new content. The message is handled once that
    frame is on the screen, so a worker whose next step would take the GIL from the frame (a
    push's read-back of its manifest) can wait for it; Textual's `call_after_refresh` runs
    before the widgets' changes are drawn. It is posted while the screen renders, so it stops
    at the screen (Textual does not bubble a message past its sender): handle it there."""

    class Drawn(Message):
        """The content last given to `update` is on the screen."""

        def __init__(self, static: DrawnStatic) -> None:
            super().__init__()
            self.static = static

        @property
        def control(self) -> DrawnStatic:
            """The widget drawn (what `@on(..., "#id")` matches)."""
            return self.static

    _unreported = False

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        self._unreported = True
        super().update(content, layout=layout)

    def render(self) -> RenderResult:
        if self._unreported:
            self._unreported = False
            self.post_message(self.Drawn(self))
        return super().render()
