"""The latency harness (scripts/latency.py) reads a real program's screen from a pty, gives
up with the screen when what it waits for never comes, and leaves no process behind."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from latency import BARE_APP, ScreenTimeout, Terminal, table_populated


def test_the_screen_is_read_from_the_pty_and_the_program_is_gone_afterwards() -> None:
    with Terminal([sys.executable, "-c", BARE_APP], dict(os.environ)) as term:
        shown = term.wait_for(table_populated, "the bare app's table")
        assert shown > term.started
        assert term.count() == (100, 100)
        assert "bare/row-000" in term.text()
        term.idle(0.5)  # the focused cursor's colour may come a frame after the rows
        # The DataTable's cursor moves to the second row: its row is drawn highlighted.
        first_bg = term.screen.buffer[_line(term, "bare/row-000")][4].bg
        seconds = term.measure(
            b"\x1b[B",
            lambda t: t.screen.buffer[_line(t, "bare/row-001")][4].bg == first_bg,
            "the cursor on the second row",
        )
        assert 0 < seconds < 30
        process = term.process
    assert process is not None and process.poll() is not None


def test_a_screen_that_never_comes_fails_with_what_was_on_screen() -> None:
    with Terminal([sys.executable, "-c", BARE_APP], dict(os.environ)) as term:
        term.wait_for(table_populated, "the bare app's table")
        with pytest.raises(ScreenTimeout, match="no unicorn after 1 s") as raised:
            term.wait_for(lambda t: "unicorn" in t.text(), "unicorn", timeout=1)
        assert "bare/row-000" in str(raised.value)


def _line(term: Terminal, text: str) -> int:
    return next(y for y, line in enumerate(term.screen.display) if text in line)
