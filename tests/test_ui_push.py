"""The push screen end to end against the sandbox: progress, skips, mounts, login, faults."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import docker
import pytest
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Input

from app.core.errors import ImageNotFound
from app.core.progress import Phase
from app.core.push_queue import Stage
from app.core.reference import Reference, parse_normalized
from app.ui.app import DockpushApp
from app.ui.dialogs.confirm import ConfirmDialog
from app.ui.dialogs.login import LoginDialog
from app.ui.screens.browser import ImageBrowserScreen
from app.ui.screens.push import ItemState, PushScreen
from app.ui.screens.tag_form import TagFormScreen
from app.ui.screens.verify import VerifyScreen
from tests.harness import sandbox as sandbox_control
from tests.harness.images import build_image
from tests.harness.sandbox import SandboxInfo
from tests.harness.slow_proxy import SlowProxy
from tests.ui import (
    open_push_screen,
    push_and_wait,
    settle,
    wait_for_layer_phase,
    wait_for_screen,
    wait_until,
)

LAYERS = [400_000, 3_000_000, 12_000_000]


@pytest.fixture
def image(
    engine_client: docker.DockerClient, unique: str, remove_afterwards: list[str]
) -> Callable[[str, str], Reference]:
    """Builds a fresh LAYERS image as `<registry>/ui/<name>-<unique>:1` on the engine under
    test; removed when the test ends."""

    def build(registry: str, name: str) -> Reference:
        reference = f"{registry}/ui/{name}-{unique}:1"
        build_image(engine_client, reference, LAYERS, reference)
        remove_afterwards.append(reference)
        return parse_normalized(reference)

    return build


@contextlib.asynccontextmanager
async def _push_screen(
    targets: list[Reference], message_hook: Callable[[Message], None] | None = None
) -> AsyncIterator[tuple[DockpushApp, Pilot, PushScreen]]:
    """The app with the push step open for `targets`, its pre-flight done."""
    app = DockpushApp()
    async with app.run_test(size=(130, 45), message_hook=message_hook) as pilot:
        yield app, pilot, await open_push_screen(pilot, targets)


def _phases(screen: PushScreen, index: int = 0) -> set[Phase]:
    snapshot = screen.items[index].snapshot
    assert snapshot is not None
    return {layer.phase for layer in snapshot.layers}


async def test_multi_layer_push_then_repeat_then_mount(
    engine_client: docker.DockerClient, sandbox: SandboxInfo, unique: str, remove_afterwards, image
) -> None:
    first = image(sandbox.open_registry, "first")
    async with _push_screen([first]) as (app, pilot, screen):
        assert all(report.ready for report in screen.reports)
        await push_and_wait(pilot, screen)
        item = screen.items[0]
        assert item.state is ItemState.DONE and item.result is not None
        snap = item.snapshot
        assert snap is not None and len(snap.layers) == 3
        assert _phases(screen) == {Phase.PUSHED}
        assert snap.bytes_done == snap.bytes_to_upload == sum(v.total for v in snap.layers)
        rows = screen.query("LayerRow")
        assert len(rows) == 3
        assert all("Pushed" in str(r.render()) for r in rows)
        assert app.session.workflow.pushed[str(first)] == item.result.digest

    async with _push_screen([first]) as (_app, pilot, screen):
        await push_and_wait(pilot, screen)
        assert _phases(screen) == {Phase.EXISTS}
        label = str(screen.query_one("#overall-label").render())
        assert "3 layers already in the registry" in label
        assert "not sent" in label

    second = parse_normalized(f"{sandbox.open_registry}/ui/second-{unique}:1")
    engine_client.api.tag(str(first), second.name, second.tag)
    remove_afterwards.append(str(second))
    async with _push_screen([second]) as (_app, pilot, screen):
        await push_and_wait(pilot, screen)
        assert _phases(screen) == {Phase.MOUNTED}
        rows = screen.query("LayerRow")
        assert all(f"Mounted from ui/first-{unique}" in str(r.render()) for r in rows)


async def test_auth_registry_without_login_leads_through_login_to_success(
    sandbox: SandboxInfo, image
) -> None:
    target = image(sandbox.auth_registry, "auth")
    async with _push_screen([target]) as (app, pilot, screen):
        preflight = str(screen.query_one("#preflight").render())
        assert "no login saved" in preflight and "✗" in preflight
        await pilot.press("l")
        await wait_for_screen(pilot, LoginDialog)
        dialog = app.screen
        assert dialog.query_one("#registry", Input).value == sandbox.auth_registry
        dialog.query_one("#username", Input).value = sandbox.user
        dialog.query_one("#password", Input).value = "not-the-password"
        await pilot.click("#submit")
        await wait_until(
            pilot, lambda: "rejected" in str(dialog.query_one("#login-outcome").render())
        )
        assert dialog.query_one("#password", Input).value == ""
        password = dialog.query_one("#password", Input)
        password.value = sandbox.password
        password.focus()
        await pilot.press("enter")
        await wait_for_screen(pilot, PushScreen, timeout=20)
        await wait_until(pilot, lambda: all(r.ready for r in screen.reports), timeout=20)
        await push_and_wait(pilot, screen)
        assert screen.items[0].state is ItemState.DONE
        await pilot.press("enter")
        await wait_for_screen(pilot, VerifyScreen)
        verify = app.screen
        await wait_until(pilot, lambda: bool(verify.reports), timeout=20)
        assert verify.reports[0].passed


async def test_login_error_during_push_opens_login_then_retries(
    sandbox: SandboxInfo, image
) -> None:
    target = image(sandbox.auth_registry, "late")
    async with _push_screen([target]) as (app, pilot, screen):
        screen._start()  # push despite the failed pre-flight, as a stale login would
        await wait_for_screen(pilot, LoginDialog, timeout=30)
        assert screen.items[0].state is ItemState.FAILED
        assert "Login required" in str(screen.query_one("#push-error").render())
        dialog = app.screen
        dialog.query_one("#username", Input).value = sandbox.user
        dialog.query_one("#password", Input).value = sandbox.password
        await pilot.click("#submit")
        await wait_until(pilot, lambda: screen.items[0].state is ItemState.DONE, timeout=30)


async def test_registry_stopped_mid_push_fails_clearly_then_retry_succeeds(
    engine_client: docker.DockerClient,
    image_store: str,
    sandbox: SandboxInfo,
    unique: str,
    remove_afterwards,
) -> None:
    reference = f"{sandbox.open_registry}/ui/cut-{unique}:1"
    # The containerd store uploads the compressed blobs it kept from the build at loopback
    # speed: 30 MB were gone before the registry could be stopped (seen in CI).
    big = [150_000_000, 150_000_000] if image_store == "containerd" else [30_000_000]
    build_image(engine_client, reference, [*big, 2_000_000], unique)
    remove_afterwards.append(reference)
    app = DockpushApp()
    try:
        async with app.run_test(size=(130, 45)) as pilot:
            screen = await open_push_screen(pilot, [parse_normalized(reference)])
            await pilot.press("enter")
            await wait_for_layer_phase(pilot, screen, Phase.PUSHING)
            sandbox_control.stop_process("registry-open")
            if image_store == "classic":
                # 20.10 retries a lost upload 5 times, saying nothing of why; the containerd
                # store gives up at once (tests/data/push-containerd-registry-stopped.jsonl).
                await wait_for_layer_phase(pilot, screen, Phase.RETRYING, timeout=30)
                assert "gives no reason" in str(screen.query_one("#push-outcome").render())
            await wait_until(pilot, lambda: screen.stage is Stage.DONE, timeout=90)
            assert screen.items[0].state is ItemState.FAILED
            shown = str(screen.query_one("#push-error").render())
            assert "Registry not reachable" in shown and "What to do" in shown
            assert "Pushed" not in str(screen.query_one("#push-outcome").render())
            sandbox_control.start_registry("open")
            await pilot.press("R")
            await wait_until(pilot, lambda: screen.items[0].state is ItemState.DONE, timeout=60)
    finally:
        sandbox_control.start_registry("open")


async def test_cancelled_push_claims_nothing(
    engine_client: docker.DockerClient, sandbox: SandboxInfo, unique: str, remove_afterwards
) -> None:
    # Through a slow proxy: the containerd store sends 60 MB to a loopback registry in well
    # under a second, before a person (or this test) could confirm the cancel.
    with SlowProxy(sandbox.open_registry, rate=2_000_000) as proxy:
        reference = f"{proxy.address}/ui/cancel-{unique}:1"
        build_image(engine_client, reference, [60_000_000], unique)
        remove_afterwards.append(reference)
        async with _push_screen([parse_normalized(reference)]) as (app, pilot, screen):
            await pilot.press("enter")
            await wait_until(pilot, lambda: screen._busy("push"))
            await pilot.press("escape")
            await wait_for_screen(pilot, ConfirmDialog)
            await pilot.press("y")
            assert screen.stage in (Stage.CANCELLING, Stage.DONE)
            await wait_until(pilot, lambda: screen.stage is Stage.DONE, timeout=30)
            assert screen.items[0].state is ItemState.CANCELLED
            assert screen.items[0].result is None
            assert str(reference) not in app.session.workflow.pushed
            assert "Cancelled" in str(screen.query_one("#push-outcome").render())
            assert not screen.query_one("#push-stage").has_class("-preflight")


async def test_retrying_the_first_of_two_ends_done_so_enter_verifies(
    engine_client: docker.DockerClient, sandbox: SandboxInfo, unique: str, remove_afterwards, image
) -> None:
    """Issue 17's bug: in a queue of two, the first push fails and is retried after a fix.
    The screen used to stay "pushing" with both done, and enter pushed both again instead
    of opening verification."""
    first, second = (image(sandbox.open_registry, f"retry-{i}") for i in range(2))
    # The first image kept under another name, so its tag can go away and come back.
    kept = parse_normalized(f"{sandbox.open_registry}/ui/kept-{unique}:1")
    engine_client.api.tag(str(first), kept.name, kept.tag)
    remove_afterwards.append(str(kept))
    started: list[int] = []

    def count_starts(message: object) -> None:
        if isinstance(message, PushScreen.PushStarted):
            started.append(message.index)

    async with _push_screen([first, second], message_hook=count_starts) as (app, pilot, screen):
        assert all(report.ready for report in screen.reports)
        engine_client.api.remove_image(str(first))  # gone between the pre-flight and the push
        await pilot.press("enter")
        states = [ItemState.FAILED, ItemState.DONE]
        await wait_until(pilot, lambda: [i.state for i in screen.items] == states, timeout=60)
        assert isinstance(screen.items[0].error, ImageNotFound)
        engine_client.api.tag(str(kept), first.name, first.tag)  # fixed
        await pilot.press("R")
        await wait_until(pilot, lambda: screen.items[0].state is ItemState.DONE, timeout=60)
        await settle(app, pilot)
        assert started == [0, 1, 0]
        await pilot.press("enter")
        await wait_for_screen(pilot, VerifyScreen)
        assert started == [0, 1, 0], "enter pushed again instead of verifying"
        assert screen.stage is Stage.DONE and screen.queue.all_pushed
        assert app.screen.targets == [first, second]


async def test_the_end_of_a_push_is_drawn_before_the_registry_is_asked(
    sandbox: SandboxInfo, image
) -> None:
    """The outcome reaches the screen as soon as the engine's stream ends; reading the
    pushed manifest back (the registry's sizes for the total) comes after it."""
    target = image(sandbox.open_registry, "end")
    seen: list[PushScreen.PushProgressed | PushScreen.PushFinished] = []

    def keep(message: object) -> None:
        if isinstance(message, PushScreen.PushProgressed | PushScreen.PushFinished):
            seen.append(message)

    async with _push_screen([target], message_hook=keep) as (_app, pilot, screen):
        read_back = screen._read_back_layers
        outcome_drawn_first: list[bool] = []

        def recorded(*args: object) -> None:
            outcome_drawn_first.append(screen._outcome_drawn.is_set())
            read_back(*args)

        screen._read_back_layers = recorded  # type: ignore[method-assign]
        await push_and_wait(pilot, screen)
        assert outcome_drawn_first == [True]  # the worker waited for the outcome's frame
        finished = next(i for i, m in enumerate(seen) if isinstance(m, PushScreen.PushFinished))
        end = seen[finished]
        assert end.snapshot.result == end.result is not None
        assert end.snapshot.fraction == 1.0
        assert end.snapshot.stated_layer_bytes is None  # the registry is not asked yet
        refined = seen[finished + 1 :]
        assert refined and all(isinstance(m, PushScreen.PushProgressed) for m in refined)
        assert refined[-1].snapshot.stated_layer_bytes is not None
        assert screen.items[0].snapshot is refined[-1].snapshot
        assert "as the registry stores them" in str(screen.query_one("#overall-label").render())


@pytest.mark.parametrize("count", [2])
async def test_queue_of_several_references_keeps_rows_apart(
    sandbox: SandboxInfo, image, count: int
) -> None:
    targets = [image(sandbox.open_registry, f"queue-{i}") for i in range(count)]
    async with _push_screen(targets) as (_app, pilot, screen):
        assert screen.query_one("#queue").display
        await push_and_wait(pilot, screen)
        assert [item.state for item in screen.items] == [ItemState.DONE] * count
        layer_sets = [{v.layer_id for v in item.snapshot.layers} for item in screen.items]
        assert layer_sets[0].isdisjoint(layer_sets[1])
        digests = {item.result.digest for item in screen.items}
        assert len(digests) == count
        await asyncio.sleep(0)


async def test_all_tags_of_a_repository_in_one_queue(
    engine_client: docker.DockerClient, sandbox: SandboxInfo, unique: str, remove_afterwards
) -> None:
    app = DockpushApp()
    async with app.run_test(size=(130, 45)) as pilot:
        browser = await wait_for_screen(pilot, ImageBrowserScreen)
        await wait_until(pilot, lambda: bool(browser.all_rows))
        await pilot.press("slash", *"dockpush-demo/multi", "enter")
        await pilot.press("A")  # every tag of the repository, whatever the filter shows
        assert sorted(browser.marked) == sorted(
            r.key for r in browser.all_rows if r.repository == "dockpush-demo/multi"
        )
        await pilot.press("enter")
        form = await wait_for_screen(pilot, TagFormScreen)
        form.query_one("#registry", Input).value = sandbox.open_registry
        form.query_one("#namespace", Input).value = f"all-{unique}"
        form.query_one("#tags", Input).value = ""  # each keeps its own tag
        await settle(app, pilot)
        expected = [
            f"{sandbox.open_registry}/all-{unique}/multi:{t}" for t in ("1.0", "1.1", "latest")
        ]
        remove_afterwards.extend(expected)
        await pilot.press("ctrl+s")
        screen = await wait_for_screen(pilot, PushScreen, timeout=20)
        await wait_until(pilot, lambda: bool(screen.reports), timeout=20)
        assert sorted(str(item.target) for item in screen.items) == expected
        await push_and_wait(pilot, screen)
        assert all(item.state is ItemState.DONE for item in screen.items)
        digests = {item.result.digest for item in screen.items if item.result}
        assert len(digests) == 1  # three tags of one image: one manifest
