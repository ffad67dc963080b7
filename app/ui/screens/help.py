"""Keys for every screen, the current one first."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEY_NAMES = {
    "slash": "/",
    "space": "space",
    "escape": "esc",
    "enter": "enter",
    "question_mark": "?",
    "ctrl+l": "ctrl+l",
    "ctrl+q": "ctrl+q",
    "ctrl+p": "ctrl+p",
    "ctrl+s": "ctrl+s",
}


def key_table(title: str, bindings: list[BindingType]) -> Text:
    """One section: the screen's name and its keys with what they do."""
    text = Text()
    text.append(f"{title}\n", style="bold underline")
    for binding in bindings:
        if not isinstance(binding, Binding):
            continue
        key = KEY_NAMES.get(binding.key, binding.key)
        text.append(f"  {key:<10}", style="bold")
        text.append(f"{binding.description or binding.action}\n")
    return text


class HelpScreen(ModalScreen[None]):
    """A modal listing keys per screen; any of escape, q or ? closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 76; height: 80%; border: thick $primary; background: $surface; padding: 1 2;
    }
    """
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def __init__(self, sections: list[tuple[str, list[BindingType]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        """The sections."""
        with VerticalScroll():
            text = Text("dockpush keys\n\n", style="bold")
            for title, bindings in self.sections:
                text.append_text(key_table(title, bindings))
                text.append("\n")
            text.append("The mouse works too: click rows, buttons and column headers.", style="dim")
            yield Static(text)

    def action_close(self) -> None:
        """Close the help."""
        self.dismiss()
