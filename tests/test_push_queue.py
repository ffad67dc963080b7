"""The push queue's transitions: every path through queues of one to three references, the
transitions each stage refuses, and random sequences of valid operations (hypothesis)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from app.core.errors import PushCancelled, RegistryUnreachable
from app.core.progress import PushResult
from app.core.push_queue import ItemState, PushQueue, QueueTransitionError, Stage
from app.core.reference import parse_normalized

LENGTHS = [1, 2, 3]
PUSHED = PushResult("1", "sha256:" + "a" * 64, 529)
FAILED = RegistryUnreachable("The registry did not answer.")
CANCELLED = PushCancelled("The push was cancelled before it finished.")


def _queue(length: int) -> PushQueue:
    return PushQueue([parse_normalized(f"127.0.0.1:5000/queue/app{i}:1") for i in range(length)])


def _states(queue: PushQueue) -> list[ItemState]:
    return [item.state for item in queue.items]


def _push(queue: PushQueue, index: int) -> None:
    queue.item_started(index)
    queue.item_finished(index, PUSHED, None)


def _fail(queue: PushQueue, index: int) -> None:
    queue.item_started(index)
    queue.item_finished(index, None, FAILED)


def _assert_invariants(queue: PushQueue) -> None:
    pending = any(item.state.is_pending for item in queue.items)
    assert (queue.stage is Stage.DONE) is not pending
    assert sum(item.state is ItemState.PUSHING for item in queue.items) <= 1
    assert queue.all_pushed is (
        queue.stage is Stage.DONE and all(i.state is ItemState.DONE for i in queue.items)
    )
    for item in queue.items:
        assert (item.result is not None) is (item.state is ItemState.DONE)
        assert (item.error is not None) <= item.state.can_retry


# -- whole runs ---------------------------------------------------------------------------


@pytest.mark.parametrize("length", LENGTHS)
def test_a_clean_run_ends_done_and_ready_to_verify(length: int) -> None:
    queue = _queue(length)
    assert queue.stage is Stage.PREFLIGHT and not queue.all_pushed
    assert queue.start() == 1
    for index in range(length):
        assert queue.stage is Stage.PUSHING
        _push(queue, index)
        assert queue.current == index
        _assert_invariants(queue)
    assert queue.stage is Stage.DONE and queue.all_pushed
    assert queue.retryable == []


@pytest.mark.parametrize(("length", "failing"), [(n, k) for n in LENGTHS for k in range(n)])
def test_retrying_a_failed_item_at_any_position_ends_done(length: int, failing: int) -> None:
    queue = _queue(length)
    queue.start()
    for index in range(length):
        (_fail if index == failing else _push)(queue, index)
    assert queue.stage is Stage.DONE and not queue.all_pushed
    assert queue.retryable == [failing]
    assert queue.items[failing].error is FAILED
    assert queue.retry([failing]) == 2
    assert queue.stage is Stage.PUSHING
    assert queue.items[failing].state is ItemState.WAITING and queue.items[failing].error is None
    _push(queue, failing)
    # The reported bug: with two references, retrying the first left the step "pushing".
    assert queue.stage is Stage.DONE and queue.all_pushed
    _assert_invariants(queue)


def test_retry_of_the_first_of_two_ends_done_so_enter_verifies() -> None:
    """The bug from issue 17, step by step: first fails, second is pushed, retry the first."""
    queue = _queue(2)
    queue.start()
    _fail(queue, 0)
    assert queue.stage is Stage.PUSHING  # the second is still waiting
    _push(queue, 1)
    assert queue.stage is Stage.DONE
    queue.retry(queue.retryable)
    _push(queue, 0)
    assert _states(queue) == [ItemState.DONE, ItemState.DONE]
    assert queue.stage is Stage.DONE and queue.all_pushed


@pytest.mark.parametrize("length", LENGTHS)
def test_every_item_failing_then_all_retried(length: int) -> None:
    queue = _queue(length)
    queue.start()
    for index in range(length):
        _fail(queue, index)
    assert queue.retryable == list(range(length))
    queue.retry(queue.retryable)
    assert _states(queue) == [ItemState.WAITING] * length
    for index in range(length):
        _push(queue, index)
    assert queue.all_pushed


@pytest.mark.parametrize(("length", "at"), [(n, k) for n in LENGTHS for k in range(n)])
@pytest.mark.parametrize("too_late", [False, True], ids=["stopped", "finished-anyway"])
def test_cancel_while_an_item_pushes(length: int, at: int, too_late: bool) -> None:
    queue = _queue(length)
    queue.start()
    for index in range(at):
        _push(queue, index)
    queue.item_started(at)
    queue.request_cancel()
    assert queue.stage is Stage.CANCELLING
    _assert_invariants(queue)
    if too_late:  # the digest arrived before the stream was closed
        queue.item_finished(at, PUSHED, None)
    else:
        queue.item_finished(at, None, CANCELLED)
    assert queue.stage is Stage.DONE
    expected = [ItemState.DONE] * at + [ItemState.DONE if too_late else ItemState.CANCELLED]
    expected += [ItemState.CANCELLED] * (length - at - 1)  # never started
    assert _states(queue) == expected
    assert queue.retryable == [i for i, state in enumerate(expected) if state.can_retry]
    assert queue.all_pushed is (too_late and at == length - 1)
    queue.run_ended()  # the worker's own end changes nothing after that
    assert _states(queue) == expected
    if queue.retryable:
        retried = queue.retryable
        queue.retry(retried)
        for index in retried:
            _push(queue, index)
    assert queue.all_pushed


@pytest.mark.parametrize(("length", "after"), [(n, k) for n in LENGTHS for k in range(n - 1)])
@pytest.mark.parametrize("next_started", [False, True], ids=["worker-stops", "next-in-flight"])
def test_cancel_between_two_items(length: int, after: int, next_started: bool) -> None:
    queue = _queue(length)
    queue.start()
    for index in range(after + 1):
        _push(queue, index)
    queue.request_cancel()  # nothing is pushing right now
    assert queue.stage is Stage.CANCELLING and queue.pushing is None
    _assert_invariants(queue)
    if next_started:  # the worker had already posted that it started the next one
        queue.item_started(after + 1)
        queue.item_finished(after + 1, None, CANCELLED)
    else:
        queue.run_ended()
    assert queue.stage is Stage.DONE
    assert _states(queue) == [ItemState.DONE] * (after + 1) + [ItemState.CANCELLED] * (
        length - after - 1
    )
    assert queue.retryable == list(range(after + 1, length))


@pytest.mark.parametrize("length", LENGTHS)
def test_a_worker_that_died_leaves_its_items_failed(length: int) -> None:
    queue = _queue(length)
    queue.start()
    queue.item_started(0)
    queue.run_ended()  # no item_finished: the worker raised something unexpected
    assert queue.stage is Stage.DONE
    assert _states(queue) == [ItemState.FAILED] * length
    assert queue.retryable == list(range(length))


@pytest.mark.parametrize("length", LENGTHS)
def test_a_worker_without_an_engine_fails_every_item_with_its_error(length: int) -> None:
    queue = _queue(length)
    queue.start()
    queue.run_ended(FAILED)
    assert _states(queue) == [ItemState.FAILED] * length
    assert all(item.error is FAILED for item in queue.items)
    queue.retry(queue.retryable)
    assert all(item.error is None for item in queue.items)


def test_runs_are_numbered_so_old_messages_are_recognised() -> None:
    queue = _queue(2)
    assert not queue.in_progress(0)
    first = queue.start()
    assert queue.in_progress(first)
    _fail(queue, 0)
    _push(queue, 1)
    assert not queue.in_progress(first)  # the run is over
    second = queue.retry([0])
    assert second == first + 1
    assert queue.in_progress(second) and not queue.in_progress(first)


def test_the_shown_item_follows_the_push() -> None:
    queue = _queue(3)
    assert queue.shown is queue.items[0]
    queue.start()
    _push(queue, 0)
    queue.item_started(1)
    assert queue.shown is queue.items[1] and queue.pushing == 1
    queue.item_finished(1, None, FAILED)
    assert queue.shown is queue.items[1] and queue.pushing is None


def test_an_empty_queue_is_refused() -> None:
    with pytest.raises(ValueError):
        PushQueue([])


# -- refused transitions ------------------------------------------------------------------


def _preflight() -> PushQueue:
    return _queue(2)


def _pushing() -> PushQueue:
    queue = _queue(2)
    queue.start()
    queue.item_started(0)
    return queue


def _between() -> PushQueue:
    queue = _queue(2)
    queue.start()
    _push(queue, 0)
    return queue


def _cancelling() -> PushQueue:
    queue = _pushing()
    queue.request_cancel()
    return queue


def _done_with_failure() -> PushQueue:
    queue = _queue(2)
    queue.start()
    _push(queue, 0)
    _fail(queue, 1)
    return queue


REFUSED: list[tuple[str, Callable[[], PushQueue], Callable[[PushQueue], object]]] = [
    ("retry before any push", _preflight, lambda q: q.retry([0])),
    ("item started before start", _preflight, lambda q: q.item_started(0)),
    ("item finished before start", _preflight, lambda q: q.item_finished(0, PUSHED, None)),
    ("cancel before start", _preflight, lambda q: q.request_cancel()),
    ("run ended before start", _preflight, lambda q: q.run_ended()),
    ("start twice", _pushing, lambda q: q.start()),
    ("retry while pushing", _pushing, lambda q: q.retry([1])),
    ("two items pushing at once", _pushing, lambda q: q.item_started(1)),
    ("the same item started again", _pushing, lambda q: q.item_started(0)),
    ("finish an item not pushing", _pushing, lambda q: q.item_finished(1, PUSHED, None)),
    ("finish with no outcome", _pushing, lambda q: q.item_finished(0, None, None)),
    ("an index outside the queue", _pushing, lambda q: q.item_finished(2, PUSHED, None)),
    ("a negative index", _between, lambda q: q.item_started(-1)),
    ("a done item started again", _between, lambda q: q.item_started(0)),
    ("cancel twice", _cancelling, lambda q: q.request_cancel()),
    ("retry while cancelling", _cancelling, lambda q: q.retry([0])),
    ("start after done", _done_with_failure, lambda q: q.start()),
    ("cancel after done", _done_with_failure, lambda q: q.request_cancel()),
    ("item started after done", _done_with_failure, lambda q: q.item_started(1)),
    ("item finished after done", _done_with_failure, lambda q: q.item_finished(1, PUSHED, None)),
    ("retry a pushed item", _done_with_failure, lambda q: q.retry([0])),
    ("retry nothing", _done_with_failure, lambda q: q.retry([])),
    ("retry outside the queue", _done_with_failure, lambda q: q.retry([5])),
]


@pytest.mark.parametrize(
    ("make", "transition"),
    [(make, transition) for _, make, transition in REFUSED],
    ids=[name for name, _, _ in REFUSED],
)
def test_refused_transitions_raise_and_change_nothing(
    make: Callable[[], PushQueue], transition: Callable[[PushQueue], object]
) -> None:
    queue = make()
    before = (queue.stage, queue.run, queue.current, _states(queue))
    with pytest.raises(QueueTransitionError):
        transition(queue)
    assert (queue.stage, queue.run, queue.current, _states(queue)) == before


# -- random sequences ---------------------------------------------------------------------


class QueueMachine(RuleBasedStateMachine):
    """Drives a queue the way the screen and its worker can: every valid operation in any
    order, including ones the worker sends after a cancel; the invariants hold throughout."""

    def __init__(self) -> None:
        super().__init__()
        self.queue = _queue(3)

    @precondition(lambda self: self.queue.stage is Stage.PREFLIGHT)
    @rule()
    def start(self) -> None:
        self.queue.start()
        assert _states(self.queue) == [ItemState.WAITING] * 3

    @precondition(lambda self: self.queue.running and self.queue.pushing is None)
    @rule(data=st.data())
    def start_an_item(self, data: st.DataObject) -> None:
        waiting = [i for i, item in enumerate(self.queue.items) if item.state is ItemState.WAITING]
        if waiting:
            self.queue.item_started(data.draw(st.sampled_from(waiting)))

    @precondition(lambda self: self.queue.pushing is not None)
    @rule(outcome=st.sampled_from(["pushed", "failed", "cancelled"]))
    def finish_the_item(self, outcome: str) -> None:
        index = self.queue.pushing
        assert index is not None
        result = PUSHED if outcome == "pushed" else None
        error = {"pushed": None, "failed": FAILED, "cancelled": CANCELLED}[outcome]
        self.queue.item_finished(index, result, error)
        assert (
            self.queue.items[index].state
            is {
                "pushed": ItemState.DONE,
                "failed": ItemState.FAILED,
                "cancelled": ItemState.CANCELLED,
            }[outcome]
        )

    @precondition(lambda self: self.queue.stage is Stage.PUSHING)
    @rule()
    def cancel(self) -> None:
        self.queue.request_cancel()
        assert self.queue.stage is Stage.CANCELLING

    @precondition(lambda self: self.queue.running and self.queue.pushing is None)
    @rule(error=st.sampled_from([None, FAILED]))
    def worker_ends(self, error: RegistryUnreachable | None) -> None:
        cancelling = self.queue.stage is Stage.CANCELLING
        waiting = [i for i, item in enumerate(self.queue.items) if item.state is ItemState.WAITING]
        self.queue.run_ended(error)
        assert self.queue.stage is Stage.DONE
        for index in waiting:
            item = self.queue.items[index]
            assert item.state is (ItemState.CANCELLED if cancelling else ItemState.FAILED)
            assert item.error is (None if cancelling else error)

    @precondition(lambda self: bool(self.queue.retryable))
    @rule(data=st.data())
    def retry(self, data: st.DataObject) -> None:
        chosen = data.draw(st.lists(st.sampled_from(self.queue.retryable), min_size=1))
        run = self.queue.run
        assert self.queue.retry(chosen) == run + 1
        assert all(self.queue.items[i].state is ItemState.WAITING for i in chosen)

    @precondition(lambda self: self.queue.stage is Stage.DONE)
    @rule()
    def late_worker_end_changes_nothing(self) -> None:
        before = _states(self.queue)
        self.queue.run_ended()
        assert _states(self.queue) == before and self.queue.stage is Stage.DONE

    @rule(index=st.integers(0, 2))
    def refused_item_start_changes_nothing(self, index: int) -> None:
        queue = self.queue
        valid = (
            queue.running
            and queue.pushing is None
            and queue.items[index].state is ItemState.WAITING
        )
        if valid:
            return  # start_an_item covers it
        before = (queue.stage, queue.run, queue.current, _states(queue))
        with pytest.raises(QueueTransitionError):
            queue.item_started(index)
        assert (queue.stage, queue.run, queue.current, _states(queue)) == before

    @invariant()
    def holds(self) -> None:
        _assert_invariants(self.queue)

    @invariant()
    def enter_after_everything_pushed_verifies(self) -> None:
        # What enter does in the screen: verify only when everything is pushed.
        if self.queue.stage is Stage.DONE and not self.queue.retryable:
            assert self.queue.all_pushed


QueueMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=30, deadline=None)
test_random_sequences_of_valid_operations = QueueMachine.TestCase
