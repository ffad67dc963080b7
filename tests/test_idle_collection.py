"""Full garbage collections wait for a pause in the input; the younger ones go on as before."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import docker
import pytest

from app.ui.app import DockpushApp
from app.ui.idle_collection import IdleCollector
from app.ui.screens.browser import ImageBrowserScreen
from tests.ui import settle, wait_for_screen, wait_until


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def full_collections() -> Iterator[list[int]]:
    """How many full collections start while the test runs (automatic or called)."""
    started: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            started.append(1)

    gc.callbacks.append(seen)
    try:
        yield started
    finally:
        gc.callbacks.remove(seen)


@pytest.fixture
def collector() -> Iterator[tuple[IdleCollector, Clock]]:
    clock = Clock()
    collector = IdleCollector(quiet=1.0, most_deferred=40, clock=clock)
    before = gc.get_threshold()
    collector.install()
    gc.collect()  # nothing pending as the test starts
    try:
        yield collector, clock
    finally:
        collector.uninstall()
        assert gc.get_threshold() == before


def _middle_collections(count: int) -> None:
    """What CPython counts towards a full collection: collections of the middle generation."""
    for _ in range(count):
        gc.collect(1)


def _long_lived_and_garbage(objects: int) -> list[list[int]]:
    """Objects that live on (CPython runs a full collection once they are a quarter more than
    the long-lived ones it knows) among cyclic garbage."""
    kept = []
    for number in range(objects):
        node: dict[str, object] = {}
        node["self"] = node
        kept.append([number])
    return kept


def test_install_stops_only_the_automatic_full_collection() -> None:
    before = gc.get_threshold()
    collector = IdleCollector()
    collector.install()
    try:
        young, middle, full = gc.get_threshold()
        assert (young, middle) == before[:2]
        assert full > 1_000_000
    finally:
        collector.uninstall()
    assert gc.get_threshold() == before


def test_no_automatic_full_collection_while_installed(
    collector: tuple[IdleCollector, Clock], full_collections: list[int]
) -> None:
    kept = _long_lived_and_garbage(1_000_000)  # about 2,800 young collections, 280 middle ones
    assert full_collections == []
    assert len(kept) == 1_000_000
    assert gc.get_count()[2] > 10  # without the collector, CPython would have run several


def test_collects_once_the_input_is_quiet(
    collector: tuple[IdleCollector, Clock], full_collections: list[int]
) -> None:
    idle, clock = collector
    assert not idle.collect_if_due()  # nothing pending yet
    _middle_collections(11)
    idle.input_seen()
    clock.now += 0.9
    assert not idle.collect_if_due()  # the user may still be typing
    assert full_collections == []
    clock.now += 0.2
    assert idle.collect_if_due()
    assert full_collections == [1]
    assert gc.get_count()[2] == 0
    clock.now += 5
    assert not idle.collect_if_due()  # once per pause, not once per check
    assert full_collections == [1]


def test_input_defers_the_collection_only_so_long(
    collector: tuple[IdleCollector, Clock], full_collections: list[int]
) -> None:
    idle, _clock = collector
    _middle_collections(39)
    idle.input_seen()
    assert not idle.collect_if_due()
    _middle_collections(1)  # the 40th: most_deferred
    idle.input_seen()
    assert idle.collect_if_due()
    assert full_collections == [1]


def test_not_installed_never_collects(full_collections: list[int]) -> None:
    clock = Clock()
    idle = IdleCollector(clock=clock)
    _middle_collections(20)
    clock.now += 10
    assert not idle.collect_if_due()
    assert full_collections == []


async def test_typing_in_the_app_defers_the_full_collection_to_the_pause(
    classic_engine_client: docker.DockerClient, full_collections: list[int]
) -> None:
    before = gc.get_threshold()
    app = DockpushApp()
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await wait_for_screen(pilot, ImageBrowserScreen)
        await wait_until(pilot, lambda: bool(screen.all_rows))
        await pilot.press("slash")
        await settle(app, pilot)
        full_collections.clear()
        _middle_collections(12)  # a full collection is due
        for key in "dockpush-nothing-matches":  # 24 keys, 0.15 s apart: 3.6 s of typing
            await pilot.press(key)
            await pilot.pause(0.15)
        assert full_collections == []
        await wait_until(pilot, lambda: full_collections == [1], timeout=app.collector.quiet * 3)
        assert screen.query_one("#filter").value == "dockpush-nothing-matches"
    assert gc.get_threshold() == before
