"""The workflow stepper: Select > Tag > Log in > Push > Verify, with the current step lit."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

from app.ui.workflow import Workflow


class Stepper(Horizontal):
    """Shows where the person is in the workflow and which steps are done."""

    DEFAULT_CSS = """
    Stepper { height: 1; width: 100%; background: $panel; padding: 0 1; }
    Stepper Label { padding: 0 1; color: $text-muted; }
    Stepper Label.-done { color: $success; }
    Stepper Label.-current { color: $text; background: $primary; text-style: bold; }
    Stepper Label.-arrow { padding: 0; }
    """

    def __init__(self, current: int) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        """One label per step, arrows between."""
        for index, name in enumerate(Workflow.STEPS):
            if index:
                yield Label("›", classes="-arrow")
            state = "-done" if index < self.current else "-current" if index == self.current else ""
            mark = "✓ " if index < self.current else f"{index + 1} "
            yield Label(f"{mark}{name}", classes=state)
