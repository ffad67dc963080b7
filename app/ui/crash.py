"""The report printed when the app crashes: where it happened, never what the variables held.

Textual's own report shows every frame's local variables, which can hold a password or a
registry token. This one shows the frames and the error only, with the error text made
printable: it may quote outside data (a MarkupError quotes the markup it choked on), and
an escape sequence in it would reach the terminal once the app has left the screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.core.plaintext import printable

if TYPE_CHECKING:  # loaded with the first crash, as Textual loads it (pygments: ~20 ms)
    from rich.traceback import Trace, Traceback


def _make_printable(trace: Trace) -> None:
    for stack in trace.stacks:
        stack.exc_value = printable(stack.exc_value, multiline=True)
        stack.notes = [printable(note, multiline=True) for note in stack.notes]
        for group_member in stack.exceptions:
            _make_printable(group_member)


def crash_report(error: BaseException) -> Traceback:
    """`error` as a Rich traceback without locals, its text made printable."""
    import rich
    from rich.traceback import Traceback

    trace = Traceback.extract(type(error), error, error.__traceback__, show_locals=False)
    _make_printable(trace)
    return Traceback(trace, width=None, show_locals=False, suppress=[rich])
