"""The image browser, driven with Pilot against the sandbox engine."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import docker
import pytest
from textual.widgets import Static

from app.core.images import ImageListing
from app.ui.app import DockpushApp
from app.ui.screens import browser
from app.ui.screens.browser import ImageBrowserScreen
from app.ui.screens.tag_form import TagFormScreen
from app.ui.widgets.error_panel import ErrorPanel
from app.ui.widgets.image_table import ImageTable
from tests.harness.sandbox import SandboxInfo
from tests.ui import settle, wait_for_screen, wait_until


async def _open(pilot) -> ImageBrowserScreen:
    await wait_for_screen(pilot, ImageBrowserScreen)
    screen = pilot.app.screen
    await wait_until(pilot, lambda: bool(screen.all_rows))
    await settle(pilot.app, pilot)
    return screen


def _shown(screen: ImageBrowserScreen) -> list[str]:
    return [f"{row.repository}:{row.tag}" for row in screen.shown_rows]


async def test_lists_filters_and_counts(engine_client: docker.DockerClient) -> None:
    app = DockpushApp()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(pilot)
        shown = _shown(screen)
        assert {"dockpush-demo/layers:2.3.1", "dockpush-demo/multi:latest"} <= set(shown)
        assert not any(tag.startswith("<none>") for tag in shown)
        assert str(screen.query_one("#row-count").render()).endswith("tags")
        await pilot.press("slash", *"multi:")  # not dockpush-demo/multiplatform
        await settle(app, pilot)
        assert _shown(screen) == [
            "dockpush-demo/multi:1.0",
            "dockpush-demo/multi:1.1",
            "dockpush-demo/multi:latest",
        ]
        total = len(screen.all_rows)
        assert str(screen.query_one("#row-count").render()) == f"3 of {total} tags"
        await pilot.press("escape")  # clears the filter
        assert len(screen.shown_rows) == total
        await pilot.press("slash", *"no-such-image")
        await settle(app, pilot)
        assert "No tag matches" in str(screen.query_one("#empty-state").render())


async def test_sort_detail_and_dangling(engine_client: docker.DockerClient) -> None:
    app = DockpushApp()
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await _open(pilot)
        while screen.sort_column.value != "size":
            await pilot.press("s")
        await pilot.press("S")
        await settle(app, pilot)
        sizes = [row.image.size for row in screen.shown_rows]
        assert sizes == sorted(sizes, reverse=True)
        labels = [column.label for column in screen.query_one(ImageTable).columns]
        size_label = f"{screen.images[0].size_kind}".capitalize()
        assert size_label in ("Content size", "Unpacked size")
        assert f"{size_label} ▼" in labels
        await pilot.press("slash", *"layers", "enter")
        await settle(app, pilot)
        detail = str(screen.query_one("#detail", Static).render())
        assert "dockpush-demo/layers:2.3.1" in detail
        assert "linux/" in detail and "4 layers" in detail
        assert "COPY" in detail and "/data/layer2.bin" in detail
        await pilot.press("escape", "d")
        await pilot.press("slash", *"none")
        await settle(app, pilot)
        assert any(row.repository == "<none>" for row in screen.shown_rows)


async def test_mark_several_then_continue(engine_client: docker.DockerClient) -> None:
    app = DockpushApp()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(pilot)
        await pilot.press("slash", *"dockpush-demo/multi", "enter")
        await settle(app, pilot)
        await pilot.press("space", "down", "space")
        assert len(screen.marked) == 2
        assert "2 marked" in str(screen.query_one("#row-count").render())
        await pilot.press("enter")
        await wait_for_screen(pilot, TagFormScreen)
        assert [s.reference for s in app.screen.sources] == [
            "dockpush-demo/multi:1.0",
            "dockpush-demo/multi:1.1",
        ]


async def test_follows_engine_events_without_refresh(
    engine_client: docker.DockerClient, unique: str
) -> None:
    app = DockpushApp()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(pilot)
        repository = f"live/added-{unique}"
        engine_client.api.tag("dockpush-demo/tiny:1.0", repository, "1")
        try:
            # Generous: the shared sandbox engine can be busy with other suites' pushes.
            await wait_until(pilot, lambda: f"{repository}:1" in _shown(screen), timeout=30)
            engine_client.api.remove_image(f"{repository}:1")
            await wait_until(pilot, lambda: f"{repository}:1" not in _shown(screen), timeout=30)
        finally:
            if f"{repository}:1" in {t for i in engine_client.images.list() for t in i.tags}:
                engine_client.api.remove_image(f"{repository}:1")


async def test_unreachable_engine_explains_and_retry_recovers(
    sandbox: SandboxInfo, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = DockpushApp(host=f"unix://{tmp_path}/no-engine.sock")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_screen(pilot, ImageBrowserScreen)
        screen = app.screen
        panel = screen.query_one(ErrorPanel)
        await wait_until(pilot, lambda: panel.has_class("-visible"))
        text = str(panel.render())
        assert "Docker engine not reachable" in text
        assert "no-engine.sock" in text and "What to do" in text
        assert "Traceback" not in text
        app.session.host = sandbox.docker_host
        await pilot.press("r")
        await wait_until(pilot, lambda: bool(screen.all_rows))
        assert not panel.has_class("-visible")


async def test_a_burst_of_engine_events_leaves_the_list_exact(
    engine_client: docker.DockerClient, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tags made, moved to another image and removed in a burst (from threads, as another
    terminal would): the browser applies them as they come and ends equal to a fresh listing.
    Every full listing is formatted on a worker here, as it is for thousands of tags."""
    monkeypatch.setattr(browser, "SYNC_BUILD_ROWS", 0)
    app = DockpushApp()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open(pilot)
        await pilot.press("t")  # full dates: the cells then do not depend on the clock
        await settle(app, pilot)
        repository = f"live/burst-{unique}"
        tiny = engine_client.images.get("dockpush-demo/tiny:1.0").id
        multi = engine_client.images.get("dockpush-demo/multi:1.0").id
        api = engine_client.api

        def burst() -> None:
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda i: api.tag(tiny, repository, str(i)), range(40)))
            for i in range(0, 40, 4):  # a tag moves: the engine sends no untag for it
                api.tag(multi, repository, str(i))
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda i: api.remove_image(f"{repository}:{i}"), range(1, 40, 3)))

        try:
            await asyncio.to_thread(burst)
            engine = app.session.engine
            deadline = time.monotonic() + 30
            while True:
                fresh = await asyncio.to_thread(engine.list_images)
                expected = ImageListing(fresh, screen.listing.settings, screen.marked)
                if _table(screen) == [(r.key, expected.cells[r.key]) for r in expected.rows]:
                    break
                assert time.monotonic() < deadline, "the list never matched a fresh listing"
                await pilot.pause(0.2)
            shown = _shown(screen)
            assert f"{repository}:0" in shown and f"{repository}:1" not in shown
            moved = next(r for r in screen.all_rows if r.repository == repository and r.tag == "8")
            assert moved.image.id == multi
            table = screen.query_one(ImageTable)
            assert table.keys == [row.key for row in screen.shown_rows]
        finally:
            left = {t for i in engine_client.images.list() for t in i.tags if repository in t}
            for reference in left:
                api.remove_image(reference)


def _table(screen: ImageBrowserScreen) -> list[tuple[str, tuple[str, ...]]]:
    table = screen.query_one(ImageTable)
    return [(key, table.cells[key]) for key in table.keys]
