"""One layer of a push: id, phase, bar, bytes, rate and time left, drawn as one line.

A single widget that renders its own line, rather than a row of labels and a progress bar:
a push updates every row many times a second, and one widget per row costs a fraction of
the styling, layout and compositing that eight nested widgets cost (the app's CPU during a
push competes with the engine's compression on small machines).
"""

from __future__ import annotations

from rich.align import AlignMethod
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from app.core.plaintext import printable
from app.core.progress import LayerView, Phase
from app.core.units import human_duration, human_rate, human_size

ID_WIDTH, BYTES_WIDTH, SPEED_WIDTH = 13, 21, 18
MIN_PHASE_WIDTH, MIN_BAR_WIDTH = 12, 8
PHASE_STYLES = {
    Phase.PUSHED: "layer-row--done",
    Phase.EXISTS: "layer-row--skipped",
    Phase.MOUNTED: "layer-row--skipped",
    Phase.RETRYING: "layer-row--retrying",
    Phase.FAILED: "layer-row--failed",
    Phase.UNAVAILABLE: "layer-row--failed",
}


def bytes_text(done: int, total: int | None) -> str:
    """`3.1 MB / 20 MB`, or just the done part when the total is unknown."""
    if total:
        return f"{human_size(done)} / {human_size(total)}"
    return human_size(done) if done else ""


def _cell(text: str, width: int, style: Style | str = "", justify: AlignMethod = "left") -> Text:
    cell = Text(printable(text), style=style, no_wrap=True)  # ids and phases come from the engine
    cell.truncate(width, overflow="ellipsis")
    cell.align(justify, width)
    return cell


def speed_text(view: LayerView) -> str:
    """Rate and time left while pushing; the longest wait while retrying."""
    if view.phase is Phase.PUSHING and view.rate > 0:
        # The time left only when the rate means something (the fold decides); never absurd.
        left = "" if view.eta_seconds is None else f" {human_duration(view.eta_seconds)}"
        return f"{human_rate(view.rate)}{left}"
    if view.phase is Phase.RETRYING:
        return f"gives up in ≤{human_duration(view.longest_wait_left)}"
    return ""


class LayerRow(Widget):
    """A push's layer row."""

    COMPONENT_CLASSES = {
        "layer-row--id",
        "layer-row--done",
        "layer-row--skipped",
        "layer-row--retrying",
        "layer-row--failed",
        "layer-row--bar",
        "layer-row--bar-done",
        "layer-row--bar-back",
        "layer-row--muted",
    }
    DEFAULT_CSS = """
    LayerRow { height: 1; }
    LayerRow > .layer-row--id { color: $text-muted; }
    LayerRow > .layer-row--muted { color: $text-muted; }
    LayerRow > .layer-row--done { color: $success; }
    LayerRow > .layer-row--skipped { color: $accent; }
    LayerRow > .layer-row--retrying { color: $warning; text-style: bold; }
    LayerRow > .layer-row--failed { color: $error; text-style: bold; }
    LayerRow > .layer-row--bar { color: $primary; }
    LayerRow > .layer-row--bar-done { color: $success; }
    LayerRow > .layer-row--bar-back { color: $foreground 10%; }
    """

    def __init__(self, layer_id: str) -> None:
        # No DOM id from `layer_id`: the engine names layers, and a name that is not an
        # identifier (a hostile engine's "[/]") would make Textual raise.
        super().__init__()
        self.layer_id = layer_id
        self.view: LayerView | None = None

    def show(self, view: LayerView) -> None:
        """Show a snapshot of the layer (repainted only when something changed)."""
        if view != self.view:
            self.view = view
            self.refresh()

    def render(self) -> Text:
        """id · phase · bar · bytes · speed, fitted to the row's width."""
        view = self.view
        flexible = max(0, self.size.width - ID_WIDTH - BYTES_WIDTH - SPEED_WIDTH)
        phase_width = max(MIN_PHASE_WIDTH, flexible * 2 // 3)
        bar_width = max(MIN_BAR_WIDTH, flexible - phase_width)
        style = self.get_component_rich_style
        line = Text(no_wrap=True, overflow="crop")
        line.append_text(_cell(self.layer_id, ID_WIDTH, style("layer-row--id")))
        if view is None:
            return line
        phase_style = style(PHASE_STYLES[view.phase]) if view.phase in PHASE_STYLES else ""
        line.append_text(_cell(view.description, phase_width, phase_style))
        line.append_text(self._bar(view.fraction, bar_width))
        shown = view.total if view.phase.is_done and view.total else view.current
        line.append_text(_cell(bytes_text(shown, view.total), BYTES_WIDTH, justify="right"))
        muted = style("layer-row--muted")
        line.append_text(_cell(speed_text(view), SPEED_WIDTH, muted, justify="right"))
        return line

    def _bar(self, fraction: float, width: int) -> Text:
        filled = round(max(0.0, min(1.0, fraction)) * width)
        done_style = "layer-row--bar-done" if fraction >= 1 else "layer-row--bar"
        bar = Text("━" * filled, style=self.get_component_rich_style(done_style))
        bar.append(
            "━" * (width - filled), style=self.get_component_rich_style("layer-row--bar-back")
        )
        return bar
