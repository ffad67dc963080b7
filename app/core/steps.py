"""The workflow's steps and what is true of each: done, skipped, not needed, or still to do.

The stepper shows these facts; it never infers them from which screen is open. A step is
ticked only when it was done; a step the path does not need says so instead of a tick.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import IntEnum, StrEnum


class Step(IntEnum):
    """The workflow's steps, in order."""

    SELECT = 0
    TAG = 1
    LOGIN = 2
    PUSH = 3
    VERIFY = 4

    @property
    def title(self) -> str:
        """The step's name as the stepper shows it."""
        return ("Select", "Tag", "Log in", "Push", "Verify")[self]


class StepState(StrEnum):
    """What is true of one step."""

    TO_DO = "to do"
    DONE = "done"
    SKIPPED = "skipped"  # the person chose a path without it (push as it is: no tagging)
    NOT_NEEDED = "not needed"  # nothing to do (an open registry needs no login)


class LoginNeed(StrEnum):
    """What the pre-flight found about logging in to one target's registry."""

    ACCEPTED = "accepted"  # a login the registry accepted just now
    NOT_NEEDED = "not needed"  # the registry is open
    MISSING = "missing"  # the registry needs a login: none saved, or it was rejected
    UNKNOWN = "unknown"  # not established: the registry did not answer


# What a step in a state reads, where it differs from the step's own name.
_READS = {
    (Step.TAG, StepState.SKIPPED): "Tag skipped",
    (Step.LOGIN, StepState.NOT_NEEDED): "no login needed",
}


def step_label(step: Step, state: StepState) -> str:
    """The words for a step in a state (`no login needed`, `Tag skipped`, or its name)."""
    return _READS.get((step, state), step.title)


@dataclass(frozen=True, slots=True)
class StepStates:
    """The state of every step; each change returns a new value (the transitions below)."""

    states: tuple[StepState, ...] = (StepState.TO_DO,) * len(Step)

    def __getitem__(self, step: Step) -> StepState:
        return self.states[step]

    def _with(self, **changes: StepState) -> StepStates:
        states = list(self.states)
        for name, state in changes.items():
            states[Step[name.upper()]] = state
        return replace(self, states=tuple(states))

    def selected(self) -> StepStates:
        """Images were chosen: a fresh start for everything after the selection."""
        return StepStates()._with(select=StepState.DONE)

    def tagged(self) -> StepStates:
        """The tags were made; pushing and verifying are still to do."""
        return self._with(tag=StepState.DONE, push=StepState.TO_DO, verify=StepState.TO_DO)

    def tag_skipped(self) -> StepStates:
        """The images go under their own names: no tag step."""
        return self._with(tag=StepState.SKIPPED, push=StepState.TO_DO, verify=StepState.TO_DO)

    def retagging(self) -> StepStates:
        """Back to the tag form: the tags (and anything after them) are to be made again."""
        return self._with(tag=StepState.TO_DO, push=StepState.TO_DO, verify=StepState.TO_DO)

    def login_checked(self, needs: Iterable[LoginNeed]) -> StepStates:
        """The pre-flight's login findings for every target: done only when every registry
        that needs a login accepted one; not needed when no registry needs one."""
        found = set(needs)
        if not found or found & {LoginNeed.MISSING, LoginNeed.UNKNOWN}:
            return self._with(login=StepState.TO_DO)
        if found == {LoginNeed.NOT_NEEDED}:
            return self._with(login=StepState.NOT_NEEDED)
        return self._with(login=StepState.DONE)

    def pushed(self) -> StepStates:
        """Every reference of the queue was pushed."""
        return self._with(push=StepState.DONE, verify=StepState.TO_DO)
