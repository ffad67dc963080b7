"""Helpers for driving the real app with Pilot."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input

from app.core.progress import Phase
from app.core.push_queue import Stage
from app.core.reference import Reference
from app.ui.dialogs.login import LoginDialog
from app.ui.screens.push import PushScreen

# Workers that run for the app's lifetime; waiting for them would never end.
LONG_LIVED = {"events"}


async def settle(app: App, pilot: Pilot, pause: float = 0.1) -> None:
    """Wait for every finite worker, then let messages land."""
    for _ in range(3):
        finite = [w for w in app.workers if w.group not in LONG_LIVED and w.is_running]
        if finite:
            # An explicit list: an empty one would mean "all", the event follower included.
            await asyncio.gather(*(w.wait() for w in finite), return_exceptions=True)
        await pilot.pause(pause)


async def wait_until(pilot: Pilot, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Pause until `condition()` holds; fail with a clear message after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await pilot.pause(0.05)


async def wait_for_screen(pilot: Pilot, screen_type: type, timeout: float = 10.0):
    """Wait until the top screen is a `screen_type` and has been composed and mounted."""
    app = pilot.app
    await wait_until(
        pilot, lambda: isinstance(app.screen, screen_type) and app.screen.is_mounted, timeout
    )
    await pilot.pause()
    return app.screen


async def open_push_screen(pilot: Pilot, targets: list[Reference]) -> PushScreen:
    """Tags are made: open the push step for `targets` and wait for its pre-flight."""
    app = pilot.app
    await pilot.pause(0.2)
    app.finish_tagging(targets)  # type: ignore[attr-defined]
    screen = await wait_for_screen(pilot, PushScreen)
    await wait_until(pilot, lambda: bool(screen.reports), timeout=20)
    return screen


async def push_and_wait(pilot: Pilot, screen: PushScreen, timeout: float = 60) -> None:
    """Press enter to push, and wait until the whole queue is done."""
    await pilot.press("enter")
    await wait_until(pilot, lambda: screen.stage is Stage.DONE, timeout=timeout)
    await settle(pilot.app, pilot)


async def wait_for_layer_phase(
    pilot: Pilot, screen: PushScreen, phase: Phase, timeout: float = 10.0
) -> None:
    """Wait until some layer of the current push is in `phase`."""

    def reached() -> bool:
        snap = screen.queue.shown.snapshot
        return snap is not None and any(view.phase is phase for view in snap.layers)

    await wait_until(pilot, reached, timeout)


async def log_in(
    pilot: Pilot, registry: str, user: str, password: str, remember: bool = True
) -> LoginDialog:
    """Open the login dialog for `registry`, fill it in and press enter; returns the dialog.
    "Remember" is ticked only when asked and the dialog found a system keyring."""
    app = pilot.app
    app.open_login(registry)  # type: ignore[attr-defined]
    dialog = await wait_for_screen(pilot, LoginDialog)
    await settle(app, pilot)
    dialog.query_one("#username", Input).value = user
    dialog.query_one("#remember", Checkbox).value = remember and not dialog._keyring_problem
    box = dialog.query_one("#password", Input)
    box.value = password
    box.focus()
    await pilot.press("enter")
    return dialog
