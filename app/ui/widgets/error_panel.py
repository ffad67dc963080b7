"""A panel that explains a typed error: headline, explanation, next step, engine detail."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from app.core.errors import DockpushError
from app.ui.text import plain


def error_text(error: BaseException) -> Text:
    """The words for an error, never a traceback."""
    # Explanations and details quote engine and registry messages, paths and references.
    text = Text()
    if isinstance(error, DockpushError):
        text.append_text(plain(f"{error.title}\n", "bold", multiline=True))
        text.append_text(plain(f"{error.explanation}\n", multiline=True))
        text.append("What to do: ", style="bold")
        text.append_text(plain(f"{error.next_step}\n", multiline=True))
        if error.detail:
            text.append_text(plain(f"Engine said: {error.detail}", "dim", multiline=True))
    else:
        text.append("Unexpected problem\n", style="bold")
        text.append_text(plain(f"{type(error).__name__}: {error}\n", multiline=True))
        text.append("What to do: please report this; the app keeps running.")
    return text


class ErrorPanel(Static):
    """Shows one error; hidden while there is none."""

    DEFAULT_CSS = """
    ErrorPanel { display: none; border: round $error; padding: 0 1; height: auto; }
    ErrorPanel.-visible { display: block; }
    """

    def show_error(self, error: BaseException | None) -> None:
        """Show `error`, or hide the panel with None."""
        self.set_class(error is not None, "-visible")
        self.update(error_text(error) if error is not None else "")
