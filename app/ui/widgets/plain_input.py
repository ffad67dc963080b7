"""An Input that refuses control and invisible characters (from a paste).

Textual's Input shows its value as it is: a pasted C1 code (U+009B is a one-byte CSI), a C0
control (shift-out switches the terminal's character set) or a bidi override reaches the
terminal byte for byte. A key press cannot make these, a paste can. Rather than keep text that
would look different from what it holds, the paste is refused and the person told why.
"""

from __future__ import annotations

from textual.widget import Widget
from textual.widgets import Input

from app.core.plaintext import printable
from app.ui.text import notify_plain


def refused(text: str, where: Widget) -> bool:
    """Whether `text` holds control or invisible formatting characters; if so, a warning
    naming each by code point is shown (from `where`) and the text must not be inserted."""
    if printable(text, limit=None) == text:
        return False
    unsafe = dict.fromkeys(f"U+{ord(char):04X}" for char in text if printable(char) != char)
    notify_plain(
        where,
        f"Not pasted: the text holds control or invisible characters ({', '.join(unsafe)}) "
        "that a terminal may act on or that hide what the text says. Remove them and "
        "paste again.",
        title="Paste refused",
        severity="warning",
    )
    return True


class PlainInput(Input):
    """An Input whose value never holds a character that `printable` would change."""

    def replace(self, text: str, start: int, end: int) -> None:
        """Insert `text` (typed or pasted) in place of start..end, unless it holds control or
        invisible formatting characters: then nothing changes and a warning names them."""
        if refused(text, self):
            self.restricted()
            return
        super().replace(text, start, end)
