"""A Footer that rebuilds its keys once per change of what it shows, not once per signal.

Textual's Footer recomposes (unmounts every key, mounts new ones and styles each) on every
"bindings updated" signal: each focus change, screen push and `refresh_bindings` call. A
screen often sends several in one turn: at start-up the image browser sent eleven, about 25 ms
of UI-thread time each, while the first listing was waiting to be drawn. Here the signals of
one turn make one check, and the keys are rebuilt only when the keys to show have changed.
"""

from __future__ import annotations

from collections.abc import Hashable

from textual.screen import Screen
from textual.widgets import Footer


class SettledFooter(Footer):
    """The key bar: rebuilt only when a key appears, goes, or changes its label or state."""

    def __init__(self) -> None:
        super().__init__()
        self._check_pending = False
        self._shown: tuple[Hashable, ...] | None = None

    def bindings_changed(self, screen: Screen) -> None:
        """Textual's signal handler: coalesce this turn's signals into one check."""
        # Footer.compose shows nothing until the first signal has come.
        self._bindings_ready = True
        if not screen.app.app_focus or self._check_pending:
            return
        if self.is_attached and screen is self.screen:
            self._check_pending = True
            self.call_after_refresh(self._rebuild_if_changed)

    async def _rebuild_if_changed(self) -> None:
        self._check_pending = False
        if not self.is_attached:
            return
        shown = self._keys_shown()
        if shown == self._shown:
            return
        self._shown = shown
        await self.recompose()

    def _keys_shown(self) -> tuple[Hashable, ...]:
        """Everything Footer.compose reads from the bindings, in its order."""
        return tuple(
            (
                binding.key,
                binding.action,
                binding.description,
                binding.show,
                binding.group,
                self.app.get_key_display(binding),
                enabled,
                tooltip,
            )
            for (_node, binding, enabled, tooltip) in self.screen.active_bindings.values()
        )
