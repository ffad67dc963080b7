"""The everyday path (#18), driven with Pilot against the sandbox engines and registries:
push as it is (`p`), the form pre-filled from an image's name, a stepper that ticks only what
is done, and what the registry's tag holds before a push (new, the same image, moved)."""

from __future__ import annotations

import contextlib

import docker
import docker.errors
from textual.widgets import Input, Static

from app.core.as_is import fields_from_name, own_target
from app.core.credentials import Login
from app.core.push_queue import ItemState, Stage
from app.core.reference import Reference, parse_normalized
from app.core.remote_tag import TagChange
from app.core.secret import Secret
from app.core.steps import Step
from app.core.tagging import TagFields
from app.ui.app import DockpushApp
from app.ui.dialogs.confirm import ConfirmDialog
from app.ui.screens.browser import ImageBrowserScreen
from app.ui.screens.push import PushScreen
from app.ui.screens.tag_form import TagFormScreen
from app.ui.screens.verify import VerifyScreen
from app.ui.widgets.stepper import Stepper
from tests.harness.images import build_image
from tests.harness.sandbox import SandboxInfo
from tests.multiplatform import registry_manifest
from tests.ui import push_and_wait, settle, wait_for_screen, wait_until

FIELDS = ("registry", "namespace", "repository", "tags")


def _built(client: docker.DockerClient, reference: str, seed: str, remove: list[str]) -> Reference:
    build_image(client, reference, [4096, 8192], seed)
    remove.append(reference)
    return parse_normalized(reference)


async def _browse_to(pilot, text: str) -> ImageBrowserScreen:
    """The browser with the filter narrowed to `text` and the list focused."""
    screen = await wait_for_screen(pilot, ImageBrowserScreen)
    await wait_until(pilot, lambda: any(text in row.reference for row in screen.all_rows), 20)
    await pilot.press("slash", *text, "enter")
    await settle(pilot.app, pilot)
    return screen


async def _pressed_p(pilot) -> PushScreen:
    await pilot.press("p")
    screen = await wait_for_screen(pilot, PushScreen)
    await wait_until(pilot, lambda: bool(screen.reports), 30)
    await settle(pilot.app, pilot)
    return screen


def _stepper(screen) -> dict[Step, str]:
    stepper = screen.query_one(Stepper)
    return {step: stepper.state_of(step) for step in Step}


def _preflight(screen: PushScreen) -> str:
    return str(screen.query_one("#preflight", Static).render())


def _fields(screen: TagFormScreen) -> dict[str, str]:
    return {field: screen.query_one(f"#{field}", Input).value for field in FIELDS}


def test_names_read_as_the_docker_cli_reads_them() -> None:
    """`docker push alpine:3` goes to docker.io/library/alpine:3; the form takes its fields
    only from names with a registry host."""
    assert str(own_target("alpine:3")) == "docker.io/library/alpine:3"
    assert str(own_target("me/app")) == "docker.io/me/app:latest"
    assert str(own_target("127.0.0.1:5000/team/app:1")) == "127.0.0.1:5000/team/app:1"
    assert fields_from_name("ghcr.io/me/group/app:1.0") == TagFields(
        "ghcr.io", "me/group", "app", "1.0"
    )
    assert fields_from_name("localhost:5000/app:2") == TagFields("localhost:5000", "", "app", "2")
    assert fields_from_name("me/app:1") is None and fields_from_name("alpine:3") is None


async def test_p_pushes_as_it_is_with_the_tag_step_skipped(
    engine_client: docker.DockerClient, sandbox: SandboxInfo, unique: str, remove_afterwards
) -> None:
    """New tag: `p` pushes the image under its own name; the stepper says the tag step was
    skipped and that the open registry needs no login; nothing claims a login."""
    target = _built(
        engine_client, f"{sandbox.open_registry}/as-is-{unique}/app:1", unique, remove_afterwards
    )
    app = DockpushApp()
    async with app.run_test(size=(130, 45)) as pilot:
        await _browse_to(pilot, f"as-is-{unique}")
        screen = await _pressed_p(pilot)
        assert [item.target for item in screen.items] == [target]
        assert app.session.workflow.targets == [target]
        steps = _stepper(screen)
        assert steps[Step.SELECT] == "✓ Select"
        assert steps[Step.TAG] == "– Tag skipped"
        assert steps[Step.LOGIN] == "– no login needed"
        assert steps[Step.PUSH] == "4 Push"
        text = _preflight(screen)
        assert f"new: the registry has no as-is-{unique}/app:1 yet" in text
        assert "docker tag" not in text and f"docker push {target}" in text
        await push_and_wait(pilot, screen)
        assert screen.items[0].state is ItemState.DONE
        await pilot.press("enter")  # on to verification: the push step is now done
        await wait_for_screen(pilot, VerifyScreen)
        assert _stepper(app.screen)[Step.PUSH] == "✓ Push"
    assert registry_manifest(sandbox.open_registry, target.path, "1")[0] == 200


async def test_p_with_marked_images_queues_each_under_its_own_name(
    engine_client: docker.DockerClient, sandbox: SandboxInfo, unique: str, remove_afterwards
) -> None:
    first = _built(
        engine_client, f"{sandbox.open_registry}/marked-{unique}/app:1", unique, remove_afterwards
    )
    second = parse_normalized(f"{sandbox.open_registry}/marked-{unique}/app:2")
    engine_client.api.tag(str(first), second.name, second.tag)
    remove_afterwards.append(str(second))
    app = DockpushApp()
    async with app.run_test(size=(130, 45)) as pilot:
        browser = await _browse_to(pilot, f"marked-{unique}")
        await pilot.press("space", "down", "space")
        assert len(browser.marked) == 2
        screen = await _pressed_p(pilot)
        assert {item.target for item in screen.items} == {first, second}


async def test_no_tick_while_no_login_is_saved(
    engine_client: docker.DockerClient, sandbox: SandboxInfo, unique: str, remove_afterwards
) -> None:
    """The pre-flight says "no login saved": the stepper shows Log in as still to do; after a
    login the registry accepts, it is ticked."""
    _built(engine_client, f"{sandbox.auth_registry}/auth-{unique}/app:1", unique, remove_afterwards)
    app = DockpushApp()
    async with app.run_test(size=(130, 45)) as pilot:
        await _browse_to(pilot, f"auth-{unique}")
        screen = await _pressed_p(pilot)
        assert "no login saved for this registry" in _preflight(screen)
        assert _stepper(screen)[Step.LOGIN] == "3 Log in"
        app.session.workflow.logins[sandbox.auth_registry] = Login(
            sandbox.auth_registry, sandbox.user, Secret(sandbox.password)
        )
        await pilot.press("enter")  # a failed pre-flight: enter checks again
        await wait_until(pilot, lambda: all(r.ready for r in screen.reports), 30)
        await settle(app, pilot)
        assert _stepper(screen)[Step.LOGIN] == "✓ Log in"


async def test_the_form_is_filled_from_a_registry_name(
    engine_client: docker.DockerClient, sandbox: SandboxInfo, unique: str, remove_afterwards
) -> None:
    _built(engine_client, f"{sandbox.open_registry}/team-{unique}/app:1", unique, remove_afterwards)
    app = DockpushApp()
    async with app.run_test(size=(130, 45)) as pilot:
        await _browse_to(pilot, f"team-{unique}")
        await pilot.press("enter")
        form = await wait_for_screen(pilot, TagFormScreen)
        await settle(app, pilot)
        assert _fields(form) == {
            "registry": sandbox.open_registry,
            "namespace": f"team-{unique}",
            "repository": "app",
            "tags": "1",
        }
        assert _stepper(form)[Step.SELECT] == "✓ Select"
        assert _stepper(form)[Step.TAG] == "2 Tag"


async def test_remote_tag_new_same_and_moved_in_the_push_screen(
    engine_client: docker.DockerClient, sandbox: SandboxInfo, unique: str, remove_afterwards
) -> None:
    """A tag that really exists: pushed once (new), the same image again (nothing changes),
    then another image under the same name (moves: asked first, no keeps it, yes pushes)."""
    reference = f"{sandbox.open_registry}/moving-{unique}/app:1.2.3"
    target = _built(engine_client, reference, f"first-{unique}", remove_afterwards)
    app = DockpushApp()
    async with app.run_test(size=(130, 50)) as pilot:
        await _browse_to(pilot, f"moving-{unique}")
        screen = await _pressed_p(pilot)
        assert screen.reports[0].tag.change is TagChange.NEW
        await push_and_wait(pilot, screen)
        first_digest = screen.items[0].result.digest

        await pilot.press("escape")  # back to the browser; push the same image again
        await _browse_to(pilot, f"moving-{unique}")
        screen = await _pressed_p(pilot)
        assert screen.reports[0].tag.change is TagChange.SAME
        assert "the push changes nothing" in _preflight(screen)

        await pilot.press("escape")
        _built(engine_client, reference, f"second-{unique}", remove_afterwards)
        await _browse_to(pilot, f"moving-{unique}")
        screen = await _pressed_p(pilot)
        report = screen.reports[0]
        assert report.tag.change is TagChange.MOVES and report.ready
        text = _preflight(screen)
        assert f"holds another image: {first_digest[:19]}…" in text
        assert "enter asks before moving it" in text

        await pilot.press("enter")
        dialog = await wait_for_screen(pilot, ConfirmDialog)
        assert f"holds another image now ({first_digest[:19]}…" in str(
            dialog.query_one(".question").render()
        )
        await pilot.press("escape")  # keep it
        await wait_for_screen(pilot, PushScreen)
        assert screen.stage is Stage.PREFLIGHT and screen.items[0].state is ItemState.WAITING
        assert registry_manifest(sandbox.open_registry, target.path, "1.2.3")[2] == first_digest

        await pilot.press("enter")
        await wait_for_screen(pilot, ConfirmDialog)
        await pilot.press("y")
        await wait_until(pilot, lambda: screen.stage is Stage.DONE, 60)
        await settle(app, pilot)
        assert report.move_key in screen.confirmed_moves
        moved_to = screen.items[0].result.digest
        assert moved_to != first_digest
        assert registry_manifest(sandbox.open_registry, target.path, "1.2.3")[2] == moved_to


async def test_each_moving_tag_is_asked_for_and_remembered_alone(
    classic_engine_client: docker.DockerClient,
    sandbox: SandboxInfo,
    unique: str,
) -> None:
    """Two tags that would both move: a yes for the first is not a yes for the second; after
    a no, enter asks only about the second again. (UI logic: one image store is enough; the
    comparison itself is tested on both.)"""
    created: list[str] = []
    repository = f"{sandbox.open_registry}/two-{unique}/app"
    first, second = (parse_normalized(f"{repository}:{tag}") for tag in ("1", "2"))
    old = _built(classic_engine_client, str(first), f"old-{unique}", created)
    classic_engine_client.api.tag(str(old), second.name, second.tag)
    created.append(str(second))
    try:
        app = DockpushApp()
        async with app.run_test(size=(130, 50)) as pilot:
            await _browse_to(pilot, f"two-{unique}")
            await pilot.press("space", "down", "space")
            screen = await _pressed_p(pilot)
            await push_and_wait(pilot, screen)  # both tags now exist in the registry
        _built(classic_engine_client, str(first), f"new-{unique}", created)
        classic_engine_client.api.tag(str(first), second.name, second.tag)

        app = DockpushApp()
        async with app.run_test(size=(130, 50)) as pilot:
            await _browse_to(pilot, f"two-{unique}")
            await pilot.press("space", "down", "space")
            screen = await _pressed_p(pilot)
            assert all(report.moves_tag for report in screen.reports)
            questions: list[str] = []

            async def answer(key: str) -> None:
                dialog = await wait_for_screen(pilot, ConfirmDialog)
                questions.append(str(dialog.query_one(".question").render()))
                await pilot.press(key)
                await pilot.pause(0.1)

            await pilot.press("enter")
            await answer("y")  # the first: yes
            await answer("escape")  # the second: no
            assert screen.stage is Stage.PREFLIGHT
            assert len(screen.confirmed_moves) == 1
            await pilot.press("enter")  # asks about the second only
            await answer("y")
            await wait_until(pilot, lambda: screen.stage is Stage.DONE, 60)
            await settle(app, pilot)
            targets = [str(report.target) for report in screen.reports]
            assert [q.split("The registry's ")[1].split(" holds")[0] for q in questions] == [
                targets[0],
                targets[1],
                targets[1],
            ]
            assert all(item.state is ItemState.DONE for item in screen.items)
    finally:
        for reference in created:
            with contextlib.suppress(docker.errors.APIError):
                classic_engine_client.api.remove_image(reference)
