"""One layer of a push: id, phase, bar, bytes, rate and time left; updated in place."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar

from app.core.progress import LayerView, Phase
from app.core.units import human_duration, human_rate, human_size

PHASE_CLASSES = {
    Phase.PUSHED: "-done",
    Phase.EXISTS: "-skipped",
    Phase.MOUNTED: "-skipped",
    Phase.RETRYING: "-retrying",
    Phase.FAILED: "-failed",
    Phase.PUSHING: "-pushing",
}


def bytes_text(done: int, total: int | None) -> str:
    """`3.1 MB / 20 MB`, or just the done part when the total is unknown."""
    if total:
        return f"{human_size(done)} / {human_size(total)}"
    return human_size(done) if done else ""


class LayerRow(Horizontal):
    """A push's layer row."""

    DEFAULT_CSS = """
    LayerRow { height: 1; }
    LayerRow .layer-id { width: 13; color: $text-muted; }
    LayerRow .layer-phase { width: 2fr; min-width: 12; }
    LayerRow ProgressBar { width: 1fr; min-width: 8; }
    LayerRow ProgressBar Bar { width: 1fr; }
    LayerRow .layer-bytes { width: 21; text-align: right; }
    LayerRow .layer-speed { width: 18; text-align: right; color: $text-muted; }
    LayerRow.-done .layer-phase { color: $success; }
    LayerRow.-skipped .layer-phase { color: $accent; }
    LayerRow.-retrying .layer-phase { color: $warning; text-style: bold; }
    LayerRow.-failed .layer-phase { color: $error; text-style: bold; }
    """

    def __init__(self, layer_id: str) -> None:
        super().__init__(id=f"layer-{layer_id}")
        self.layer_id = layer_id
        self._view: LayerView | None = None
        self._ready = False  # True while a draw waits for the row to be composed

    def compose(self) -> ComposeResult:
        """Labels and the bar."""
        yield Label(self.layer_id, classes="layer-id")
        yield Label("", classes="layer-phase")
        yield ProgressBar(total=100, show_eta=False, show_percentage=False, classes="layer-bar")
        yield Label("", classes="layer-bytes")
        yield Label("", classes="layer-speed")

    def show(self, view: LayerView) -> None:
        """Show a snapshot of the layer; kept and drawn later if the row is still composing."""
        self._view = view
        self._draw_latest()

    def _draw_latest(self) -> None:
        if self._view is None:
            return
        if not self.query(".layer-phase"):
            # Not composed yet (a snapshot can arrive right after mount): try after a refresh.
            if not self._ready:
                self._ready = True
                self.call_after_refresh(self._retry_draw)
            return
        self._draw(self._view)

    def _retry_draw(self) -> None:
        self._ready = False
        self._draw_latest()

    def _draw(self, view: LayerView) -> None:
        for css_class in set(PHASE_CLASSES.values()):
            self.set_class(PHASE_CLASSES.get(view.phase) == css_class, css_class)
        self.query_one(".layer-phase", Label).update(view.description)
        self.query_one(ProgressBar).update(total=100, progress=round(view.fraction * 100, 1))
        shown_bytes = view.total if view.phase.is_done and view.total else view.current
        self.query_one(".layer-bytes", Label).update(bytes_text(shown_bytes, view.total))
        speed = ""
        if view.phase is Phase.PUSHING and view.rate > 0:
            speed = f"{human_rate(view.rate)} {human_duration(view.eta_seconds)}"
        elif view.phase is Phase.RETRYING:
            speed = f"gives up in ≤{human_duration(view.longest_wait_left)}"
        self.query_one(".layer-speed", Label).update(speed)
