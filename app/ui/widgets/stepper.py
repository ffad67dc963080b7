"""The workflow stepper: Select > Tag > Log in > Push > Verify, with the current step lit.

A step shows a tick only when it was done; a skipped or unneeded step says so ("Tag skipped",
"no login needed"); everything else shows its number. The facts come from `StepStates`.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

from app.core.steps import Step, StepState, StepStates, step_label

_MARKS = {StepState.DONE: "✓", StepState.SKIPPED: "–", StepState.NOT_NEEDED: "–"}
_CLASSES = {
    StepState.DONE: "-done",
    StepState.SKIPPED: "-skipped",
    StepState.NOT_NEEDED: "-skipped",
}


class Stepper(Horizontal):
    """Shows where the person is in the workflow and what is true of each step."""

    DEFAULT_CSS = """
    Stepper { height: 1; width: 100%; background: $panel; padding: 0 1; }
    Stepper Label { padding: 0 1; color: $text-muted; }
    Stepper Label.-done { color: $success; }
    Stepper Label.-skipped { color: $text-muted; text-style: italic; }
    Stepper Label.-current { color: $text; background: $primary; text-style: bold; }
    Stepper Label.-arrow { padding: 0; }
    """

    def __init__(self, current: Step | int, states: StepStates | None = None) -> None:
        super().__init__()
        self.current = Step(current)
        self.states = states if states is not None else StepStates()

    def compose(self) -> ComposeResult:
        """One label per step, arrows between."""
        for step in Step:
            if step:
                yield Label("›", classes="-arrow")
            yield Label(id=f"step-{step.name.lower()}")

    def on_mount(self) -> None:
        """Show the states given at construction."""
        self.show(self.states)

    def show(self, states: StepStates) -> None:
        """Show new facts (a login found by the pre-flight, a push finished)."""
        self.states = states
        for step in Step:
            state = states[step]
            label = self.query_one(f"#step-{step.name.lower()}", Label)
            mark = _MARKS.get(state, str(step + 1))
            label.update(f"{mark} {step_label(step, state)}")
            label.set_classes(_CLASSES.get(state, ""))
            label.set_class(step is self.current, "-current")

    def state_of(self, step: Step) -> str:
        """The words the stepper shows for a step (for tests and screen readers)."""
        return str(self.query_one(f"#step-{step.name.lower()}", Label).render())
