"""The push step as a model: the references to push, where each one is, and the stage of the
whole step. Pure (no Textual, no engine): the push screen renders it, and its worker's
messages drive it through the transition methods below. A transition the current stage or an
item's state does not allow raises `QueueTransitionError`: that is a bug in the caller, never
something a person did.

Stages, and what moves between them:

    PREFLIGHT --start--> PUSHING --request_cancel--> CANCELLING
                           |  ^                         |
      last item finished   |  | retry(failed or         | the running item finished, or
      (or run_ended)       v  |  cancelled items)       v the worker stopped (run_ended)
                           DONE <-----------------------+

The queue is DONE exactly when no item is waiting or pushing, whichever item finished last:
the end of a run is decided by the items, not by the position of the last one started.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from app.core.errors import DockpushError, PushCancelled
from app.core.progress import PushResult, PushSnapshot
from app.core.reference import Reference


class Stage(StrEnum):
    """Where the whole push step is; the screen shows different parts in each."""

    PREFLIGHT = "preflight"  # checks shown, nothing pushed yet
    PUSHING = "pushing"  # a run is under way
    CANCELLING = "cancelling"  # cancel asked for; waiting for the running push to stop
    DONE = "done"  # the run ended: every item pushed, failed or was cancelled


class ItemState(StrEnum):
    """Where one reference of the queue is."""

    WAITING = "waiting"
    PUSHING = "pushing"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_pending(self) -> bool:
        """Not finished in the current run (or not started before the first)."""
        return self in (ItemState.WAITING, ItemState.PUSHING)

    @property
    def can_retry(self) -> bool:
        """Ended without a pushed digest, so pushing it again makes sense."""
        return self in (ItemState.FAILED, ItemState.CANCELLED)


class QueueTransitionError(RuntimeError):
    """A transition the queue's stage or an item's state does not allow (a caller's bug)."""


@dataclass
class QueueItem:
    """One reference to push and how it went."""

    target: Reference
    state: ItemState = ItemState.WAITING
    result: PushResult | None = None
    error: DockpushError | None = None
    # The last progress seen for this reference (kept after it finished, for its rows).
    snapshot: PushSnapshot | None = field(default=None, repr=False)


class PushQueue:
    """The references of one push step, pushed one after another, and the step's stage.

    `run` counts the runs (the first push and each retry): a worker is told its run number
    and says it in every message, so a message from a run that is over is recognised.
    """

    def __init__(self, targets: Sequence[Reference]) -> None:
        if not targets:
            raise ValueError("a push queue needs at least one reference")
        self.items = [QueueItem(target) for target in targets]
        self.stage = Stage.PREFLIGHT
        self.run = 0
        # The item the screen shows: the one pushing, else the last one that ran.
        self.current: int | None = None

    def __len__(self) -> int:
        return len(self.items)

    # -- questions -------------------------------------------------------------------------

    @property
    def shown(self) -> QueueItem:
        """The item the title and the layer rows are about."""
        return self.items[self.current or 0]

    @property
    def pushing(self) -> int | None:
        """The index of the item being pushed, if one is."""
        return next(
            (i for i, item in enumerate(self.items) if item.state is ItemState.PUSHING), None
        )

    @property
    def retryable(self) -> list[int]:
        """Indexes of the items that failed or were cancelled (when the run is over)."""
        if self.stage is not Stage.DONE:
            return []
        return [i for i, item in enumerate(self.items) if item.state.can_retry]

    @property
    def all_pushed(self) -> bool:
        """Every reference pushed: the step is over and verification can start."""
        return self.stage is Stage.DONE and all(i.state is ItemState.DONE for i in self.items)

    @property
    def running(self) -> bool:
        """A run is under way (pushing, or stopping after a cancel)."""
        return self.stage in (Stage.PUSHING, Stage.CANCELLING)

    def in_progress(self, run: int) -> bool:
        """Whether a worker message from `run` still belongs to the run under way."""
        return run == self.run and self.running

    # -- transitions -----------------------------------------------------------------------

    def start(self) -> int:
        """Enter after a clean pre-flight: push every reference; returns the run number."""
        self._require(Stage.PREFLIGHT, "start")
        return self._begin_run()

    def retry(self, indexes: Iterable[int]) -> int:
        """Push again the given items, each of which failed or was cancelled; returns the
        run number."""
        self._require(Stage.DONE, "retry")
        chosen = sorted(set(indexes))
        if not chosen:
            raise QueueTransitionError("retry needs at least one item")
        for index in chosen:
            item = self._item(index)
            if not item.state.can_retry:
                raise QueueTransitionError(f"item {index} is {item.state}, nothing to retry")
        for index in chosen:
            item = self.items[index]
            item.state, item.result, item.error = ItemState.WAITING, None, None
        return self._begin_run()

    def item_started(self, index: int) -> None:
        """The worker began pushing item `index`."""
        self._require_running("item_started")
        item = self._item(index)
        if item.state is not ItemState.WAITING:
            raise QueueTransitionError(f"item {index} is {item.state}, not waiting")
        if self.pushing is not None:
            raise QueueTransitionError(f"item {self.pushing} is still pushing")
        item.state = ItemState.PUSHING
        item.snapshot = None
        self.current = index

    def item_finished(
        self, index: int, result: PushResult | None, error: DockpushError | None
    ) -> None:
        """Item `index` ended: pushed (a result, no error), cancelled, or failed."""
        self._require_running("item_finished")
        item = self._item(index)
        if item.state is not ItemState.PUSHING:
            raise QueueTransitionError(f"item {index} is {item.state}, not pushing")
        if error is None and result is None:
            raise QueueTransitionError("a push ends with a result or an error")
        item.result, item.error = (result, None) if error is None else (None, error)
        if error is None:
            item.state = ItemState.DONE
        elif isinstance(error, PushCancelled):
            item.state = ItemState.CANCELLED
        else:
            item.state = ItemState.FAILED
        if self.stage is Stage.CANCELLING:
            self._cancel_waiting()
        self._end_run_if_settled()

    def request_cancel(self) -> None:
        """The person confirmed the cancel; the running push stops, the rest never start."""
        self._require(Stage.PUSHING, "request_cancel")
        self.stage = Stage.CANCELLING

    def run_ended(self, error: DockpushError | None = None) -> None:
        """The worker stopped. Normally every item already finished and this changes
        nothing; after a cancel between two items, the ones never started are cancelled; if
        the worker could not go on, what it left unfinished failed (with `error` if known)."""
        if self.stage is Stage.DONE:
            return
        self._require_running("run_ended")
        cancelled = self.stage is Stage.CANCELLING
        for item in self.items:
            if item.state.is_pending:
                item.state = ItemState.CANCELLED if cancelled else ItemState.FAILED
                item.error = None if cancelled else error
        self._end_run_if_settled()

    # -- helpers ---------------------------------------------------------------------------

    def _begin_run(self) -> int:
        self.stage = Stage.PUSHING
        self.run += 1
        return self.run

    def _cancel_waiting(self) -> None:
        for item in self.items:
            if item.state is ItemState.WAITING:
                item.state = ItemState.CANCELLED

    def _end_run_if_settled(self) -> None:
        if not any(item.state.is_pending for item in self.items):
            self.stage = Stage.DONE

    def _item(self, index: int) -> QueueItem:
        if not 0 <= index < len(self.items):
            raise QueueTransitionError(f"no item {index} in a queue of {len(self.items)}")
        return self.items[index]

    def _require(self, stage: Stage, transition: str) -> None:
        if self.stage is not stage:
            raise QueueTransitionError(f"{transition} in stage {self.stage}, needs {stage}")

    def _require_running(self, transition: str) -> None:
        if not self.running:
            raise QueueTransitionError(f"{transition} in stage {self.stage}, no run under way")
