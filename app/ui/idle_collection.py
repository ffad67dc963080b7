"""Full garbage collections when the user is not waiting for the screen.

CPython's full collection walks every tracked object. With 10,000 tags listed it takes
40-145 ms on the UI thread, and while the user typed in the filter it ran every second or
two: one or two keystrokes in twenty reached the screen 100 ms late. Textual leaves cyclic
garbage behind every frame (a `Strip` keeps itself in its own caches), so full collections
cannot be avoided, only moved. The young generations are still collected as usual (a few
milliseconds); only the full collection waits for a pause in the input, the way Textual
pauses collection while it scrolls (`App.PAUSE_GC_ON_SCROLL`).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

# Automatic full collections need more middle-generation collections than a session makes.
NEVER_BY_ITSELF = 1 << 30


class IdleCollector:
    """Defers CPython's automatic full collection to the first quiet moment after input.

    `quiet` is how long no key or mouse event must arrive (seconds): longer than the pause
    between a person's keystrokes. `most_deferred` bounds how long input can put it off,
    counted in middle-generation collections (CPython itself waits for 10)."""

    def __init__(
        self,
        quiet: float = 1.0,
        most_deferred: int = 400,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.quiet = quiet
        self.most_deferred = most_deferred
        self._clock = clock
        self._last_input = clock()
        self._thresholds: tuple[int, int, int] | None = None

    def install(self) -> None:
        """Stop automatic full collections (the younger generations go on as before)."""
        if self._thresholds is None:
            self._thresholds = gc.get_threshold()
            young, middle, _full = self._thresholds
            gc.set_threshold(young, middle, NEVER_BY_ITSELF)

    def uninstall(self) -> None:
        """CPython's own thresholds again."""
        if self._thresholds is not None:
            gc.set_threshold(*self._thresholds)
            self._thresholds = None

    def input_seen(self) -> None:
        """A key, a paste or the mouse: the user may be waiting for the next frame."""
        self._last_input = self._clock()

    def due(self) -> bool:
        """Whether a full collection would run now: CPython's own count reached, and the
        input quiet (or deferred for too long)."""
        if self._thresholds is None:
            return False
        pending = gc.get_count()[2]
        if pending < self._thresholds[2]:
            return False
        return pending >= self.most_deferred or self._clock() - self._last_input >= self.quiet

    def collect_if_due(self) -> bool:
        """Run the full collection if it is due; whether it ran."""
        if not self.due():
            return False
        gc.collect()
        return True
