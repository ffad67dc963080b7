"""A PlainInput whose typing never lays out the whole screen.

Textual's Input sets its virtual width to the width of its value on every change, and the
virtual size is a layout reactive: each keystroke lays out and repaints the whole screen. In
the image browser at 160x45 that cost about as much as filtering 10,000 rows. The filter box's
size comes from the stylesheet and it never shows a scrollbar, so that layout changes nothing:
here the virtual size is stored (the input still scrolls a long value) without one.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.reactive import Reactive

from app.ui.widgets.plain_input import PlainInput


class FilterInput(PlainInput):
    """A one-line filter box sized by its CSS: a keystroke repaints it, nothing more."""

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)
