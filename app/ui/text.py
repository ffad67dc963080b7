"""The one way the UI shows text from outside: plain `Text`, never parsed as markup.

Textual reads a `str` given to Label, Static, DataTable cells and notifications as markup:
`[/]` crashes the app and `[@click=app.quit]` becomes a clickable action. A `rich.text.Text`
is never parsed, so outside strings go through `plain`, which also makes control characters
and escape sequences visible (see app/core/plaintext.py). The app's own styling is applied
around the data (`Text.append_text`, `Text.assemble`), never interpolated into markup.
Notifications go through `notify_plain` (a test checks no other `.notify(` call exists).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style, StyleType
from rich.text import Text
from textual.app import App
from textual.notifications import SeverityLevel
from textual.widget import Widget

from app.core.plaintext import MAX_CHARS, printable


def plain(
    text: object, style: StyleType = "", *, multiline: bool = False, limit: int | None = MAX_CHARS
) -> Text:
    """`text` (anything, shown as `str(text)`) as inert `Text`, optionally styled."""
    return Text(printable(str(text), multiline=multiline, limit=limit), style=style)


def notify_plain(
    where: App | Widget,
    message: str,
    *,
    title: str = "",
    severity: SeverityLevel = "information",
    timeout: float | None = None,
) -> None:
    """Show a toast as plain text: messages quote references, paths, engine and registry
    answers, so they are never read as markup and their control characters are made visible."""
    where.notify(
        printable(message, multiline=True),
        title=printable(title),
        severity=severity,
        timeout=timeout,
        markup=False,
    )


@dataclass(frozen=True)
class Tones:
    """The theme's colours as Rich styles, for text built outside CSS (check lists, panes)."""

    good: Style
    bad: Style
    warning: Style
    info: Style
    muted: Style

    @classmethod
    def of(cls, app: App) -> Tones:
        """The current theme's success, error, warning and accent colours; muted is dimmed."""
        theme = app.current_theme
        return cls(
            good=Style(color=theme.success),
            bad=Style(color=theme.error),
            warning=Style(color=theme.warning),
            info=Style(color=theme.accent),
            muted=Style(dim=True),
        )
