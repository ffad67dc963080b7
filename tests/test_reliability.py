"""Faults: the engine stops while the app runs, and comes back."""

from __future__ import annotations

import docker

from app.ui.app import DockpushApp
from app.ui.screens.browser import ImageBrowserScreen
from app.ui.widgets.error_panel import ErrorPanel
from tests.harness import sandbox as sandbox_control
from tests.ui import wait_for_screen, wait_until


async def test_engine_stops_and_comes_back(
    engine_client: docker.DockerClient, image_store: str
) -> None:
    process = sandbox_control.ENGINE_PROCESSES[image_store]
    app = DockpushApp()
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await wait_for_screen(pilot, ImageBrowserScreen)
            await wait_until(pilot, lambda: bool(screen.all_rows))
            sandbox_control.stop_process(process)
            # The event stream ends: the screen says so (a toast), and nothing hangs.
            await wait_until(pilot, lambda: screen._events_stream is None, timeout=20)
            await pilot.press("r")
            panel = screen.query_one(ErrorPanel)
            await wait_until(pilot, lambda: panel.has_class("-visible"), timeout=20)
            assert "engine" in str(panel.render()).lower()
            assert "Traceback" not in str(panel.render())
            sandbox_control.start_engine(image_store)
            await pilot.press("r")
            await wait_until(pilot, lambda: not panel.has_class("-visible"), timeout=30)
            await wait_until(pilot, lambda: screen._events_stream is not None, timeout=10)
            assert any(row.repository == "dockpush-demo/layers" for row in screen.all_rows)
    finally:
        if not sandbox_control._running_pid(process):
            sandbox_control.start_engine(image_store)
