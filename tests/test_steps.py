"""The workflow's step states: each transition, and what the stepper reads for them (pure)."""

from __future__ import annotations

import pytest

from app.core.steps import LoginNeed, Step, StepState, StepStates, step_label

TO_DO, DONE, SKIPPED, NOT_NEEDED = (
    StepState.TO_DO,
    StepState.DONE,
    StepState.SKIPPED,
    StepState.NOT_NEEDED,
)


def _states(steps: StepStates) -> list[StepState]:
    return [steps[step] for step in Step]


def test_nothing_is_done_at_the_start() -> None:
    assert _states(StepStates()) == [TO_DO] * 5


def test_the_tag_path() -> None:
    steps = StepStates().selected()
    assert _states(steps) == [DONE, TO_DO, TO_DO, TO_DO, TO_DO]
    steps = steps.tagged()
    assert _states(steps) == [DONE, DONE, TO_DO, TO_DO, TO_DO]
    steps = steps.login_checked([LoginNeed.ACCEPTED]).pushed()
    assert _states(steps) == [DONE, DONE, DONE, DONE, TO_DO]


def test_push_as_is_skips_the_tag_step() -> None:
    steps = StepStates().selected().tag_skipped()
    assert steps[Step.TAG] is SKIPPED
    assert step_label(Step.TAG, SKIPPED) == "Tag skipped"
    # Going back to the tag form makes tagging a step to do again.
    assert steps.retagging()[Step.TAG] is TO_DO


@pytest.mark.parametrize(
    ("needs", "state"),
    [
        ([LoginNeed.ACCEPTED], DONE),
        ([LoginNeed.NOT_NEEDED], NOT_NEEDED),
        ([LoginNeed.NOT_NEEDED, LoginNeed.ACCEPTED], DONE),
        ([LoginNeed.MISSING], TO_DO),  # "no login saved": never a tick
        ([LoginNeed.ACCEPTED, LoginNeed.MISSING], TO_DO),  # one registry still needs one
        ([LoginNeed.UNKNOWN], TO_DO),  # the registry did not answer: not established
        ([], TO_DO),
    ],
)
def test_login_is_done_only_when_accepted_or_not_needed(
    needs: list[LoginNeed], state: StepState
) -> None:
    steps = StepStates().selected().tagged().login_checked(needs)
    assert steps[Step.LOGIN] is state


def test_a_failed_login_after_a_good_one_takes_the_tick_away() -> None:
    steps = StepStates().login_checked([LoginNeed.ACCEPTED]).login_checked([LoginNeed.MISSING])
    assert steps[Step.LOGIN] is TO_DO


def test_an_open_registry_reads_no_login_needed() -> None:
    assert step_label(Step.LOGIN, NOT_NEEDED) == "no login needed"
    assert step_label(Step.LOGIN, DONE) == "Log in"


def test_a_new_selection_starts_over() -> None:
    done = StepStates().selected().tagged().login_checked([LoginNeed.ACCEPTED]).pushed()
    assert _states(done.selected()) == [DONE, TO_DO, TO_DO, TO_DO, TO_DO]


def test_tagging_again_after_a_push_leaves_push_to_do() -> None:
    pushed = StepStates().selected().tag_skipped().pushed()
    assert pushed[Step.PUSH] is DONE
    assert pushed.tagged()[Step.PUSH] is TO_DO
