"""The tag form, driven with Pilot against the sandbox engine."""

from __future__ import annotations

import threading

import docker
import pytest
from textual.widgets import Button, Input, Label, Static

from app.core.credentials import CredentialStore, Login
from app.core.engine import Engine
from app.core.secret import Secret
from app.core.tagging import TagFields
from app.ui.app import DockpushApp
from app.ui.screens.browser import ImageBrowserScreen
from app.ui.screens.push import PushScreen
from app.ui.screens.tag_form import FIELDS, TagFormScreen
from app.ui.workflow import Source
from tests.harness.sandbox import SandboxInfo
from tests.ui import settle, wait_for_screen


async def _form(pilot, *references: str) -> TagFormScreen:
    app = pilot.app
    await wait_for_screen(pilot, ImageBrowserScreen)
    engine = Engine.connect()  # the test's own connection: the app's belongs to its workers
    sources = []
    for reference in references:
        details = engine.inspect_image(reference)
        repository = reference.rpartition(":")[0]
        sources.append(Source(reference, details.id, repository, details.repo_tags))
    app.start_tagging(sources)
    await wait_for_screen(pilot, TagFormScreen)
    await settle(app, pilot)
    return app.screen


async def _type(pilot, field: str, text: str) -> None:
    box = pilot.app.screen.query_one(f"#{field}", Input)
    box.value = text
    await pilot.pause(0.05)


def _problem(screen: TagFormScreen, field: str) -> str:
    return str(screen.query_one(f"#{field}-problem", Label).render())


async def test_apply_creates_tags_in_the_engine(
    engine_client: docker.DockerClient, sandbox: SandboxInfo, unique: str, remove_afterwards
) -> None:
    app = DockpushApp()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _form(pilot, "dockpush-demo/tiny:1.0")
        assert screen.query_one("#registry", Input).value == "docker.io"
        assert screen.query_one("#repository", Input).value == "tiny"
        assert screen.query_one("#tags", Input).value == "1.0"
        await _type(pilot, "registry", sandbox.auth_registry)
        await _type(pilot, "namespace", f"form-{unique}")
        await _type(pilot, "tags", "1.0 latest")
        preview = str(screen.query_one("#preview", Static).render())
        target = f"{sandbox.auth_registry}/form-{unique}/tiny"
        assert f"{target}:1.0" in preview and f"{target}:latest" in preview
        assert not screen.query_one("#apply", Button).disabled
        remove_afterwards += [f"{target}:1.0", f"{target}:latest"]
        await pilot.click("#apply")
        # The push step opens; leaving before it is mounted races Textual's Header teardown.
        await wait_for_screen(pilot, PushScreen)
        await settle(app, pilot)
        tags = engine_client.images.get("dockpush-demo/tiny:1.0").tags
        assert f"{target}:1.0" in tags and f"{target}:latest" in tags
        assert [str(t) for t in app.session.workflow.targets] == [
            f"{target}:1.0",
            f"{target}:latest",
        ]


async def test_every_validation_message(engine_client: docker.DockerClient) -> None:
    app = DockpushApp()
    async with app.run_test(size=(120, 50)) as pilot:
        screen = await _form(pilot, "dockpush-demo/tiny:1.0")
        apply = screen.query_one("#apply", Button)
        assert "Docker Hub needs a namespace" in _problem(screen, "namespace")
        assert apply.disabled
        await _type(pilot, "namespace", "Team")
        assert "uppercase" in _problem(screen, "namespace")
        await _type(pilot, "namespace", "team")
        assert _problem(screen, "namespace") == "" and not apply.disabled
        await _type(pilot, "registry", "no_such host")
        assert "registry" in _problem(screen, "registry") and apply.disabled
        await _type(pilot, "registry", "myregistry")
        assert "does not look like a registry host" in _problem(screen, "registry")
        await _type(pilot, "registry", "ghcr.io")
        await _type(pilot, "repository", "my app")
        assert "contains a space" in _problem(screen, "repository")
        await _type(pilot, "repository", "app")
        await _type(pilot, "tags", "v1 .0")
        assert "may not start with '.'" in _problem(screen, "tags")
        await _type(pilot, "tags", "x" * 129)
        assert "129 characters" in _problem(screen, "tags")
        await _type(pilot, "tags", "")
        assert "at least one tag" in _problem(screen, "tags")
        assert screen.query_one("#tags", Input).has_class("-invalid")
        await _type(pilot, "tags", "1.0")
        assert not apply.disabled


async def test_paste_splits_and_quick_tags(engine_client: docker.DockerClient) -> None:
    app = DockpushApp()
    async with app.run_test(size=(120, 50)) as pilot:
        screen = await _form(pilot, "dockpush-demo/layers:2.3.1")
        await _type(pilot, "repository", "ghcr.io/org/app:1.2")
        values = {
            f: screen.query_one(f"#{f}", Input).value
            for f in ("registry", "namespace", "repository", "tags")
        }
        assert values == {
            "registry": "ghcr.io",
            "namespace": "org",
            "repository": "app",
            "tags": "1.2",
        }
        choices = [b.name for b in screen.query(".tag-choice")]
        assert choices == ["latest", "2.3.2", "2.4.0", "3.0.0"]
        await pilot.click("Button.tag-choice")
        assert screen.query_one("#tags", Input).value == "1.2 latest"


async def test_moved_tag_warning(engine_client: docker.DockerClient) -> None:
    app = DockpushApp()
    async with app.run_test(size=(120, 50)) as pilot:
        screen = await _form(pilot, "dockpush-demo/tiny:1.0")
        await _type(pilot, "registry", "docker.io")
        await _type(pilot, "namespace", "dockpush-demo")
        await _type(pilot, "repository", "multi")
        await _type(pilot, "tags", "latest")
        preview = str(screen.query_one("#preview", Static).render())
        assert "moves it away from that image" in preview
        assert "dockpush-demo/multi:1.1" in preview


async def test_cancel_changes_nothing(engine_client: docker.DockerClient, unique: str) -> None:
    # Only this test's names are compared: other tests tag and untag on the same engine.
    namespace = f"someone-{unique}"
    app = DockpushApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await _form(pilot, "dockpush-demo/tiny:1.0")
        await _type(pilot, "namespace", namespace)
        await pilot.press("escape")
        await wait_for_screen(pilot, ImageBrowserScreen)
    assert not [t for i in engine_client.images.list() for t in i.tags if namespace in t]


async def test_fields_survive_going_back_and_forth(engine_client, sandbox: SandboxInfo) -> None:
    app = DockpushApp()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _form(pilot, "dockpush-demo/tiny:1.0")
        await _type(pilot, "registry", sandbox.open_registry)
        await _type(pilot, "namespace", "kept")
        await pilot.press("escape")
        await wait_for_screen(pilot, ImageBrowserScreen)
        screen = await _form(pilot, "dockpush-demo/tiny:1.0")
        assert screen.query_one("#namespace", Input).value == "kept"
        assert screen.query_one("#registry", Input).value == sandbox.open_registry
        await pilot.press("escape")
        await wait_for_screen(pilot, ImageBrowserScreen)
        screen = await _form(pilot, "dockpush-demo/multi:1.0")  # other images: fresh defaults
        assert screen.query_one("#namespace", Input).value == ""


async def test_registry_suggestions_and_namespace_from_saved_logins(
    engine_client, sandbox: SandboxInfo
) -> None:
    app = DockpushApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_screen(pilot, ImageBrowserScreen)
        app.session.workflow.logins[sandbox.auth_registry] = Login(
            sandbox.auth_registry, "saved-user", Secret("x")
        )
        screen = await _form(pilot, "dockpush-demo/tiny:1.0")
        await _type(pilot, "registry", sandbox.auth_registry)
        assert screen.query_one("#namespace", Input).value == "saved-user"
        suggestion = await screen.query_one("#registry", Input).suggester.get_suggestion("127.0")
        assert suggestion == sandbox.auth_registry


async def test_a_pasted_registry_survives_the_images_and_saved_logins_arriving(
    engine_client: docker.DockerClient, sandbox: SandboxInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The known bug: a registry pasted into the form was reset to docker.io when the form's
    workers reported. Both of them (the real image list and the real saved logins) are held
    until the paste has landed; neither then touches what was pasted."""
    armed, release = threading.Event(), threading.Event()

    def held(read):
        def call(*args, **kwargs):
            result = read(*args, **kwargs)
            if armed.is_set():
                release.wait(10)
            return result

        return call

    monkeypatch.setattr(Engine, "list_images", held(Engine.list_images))
    monkeypatch.setattr(CredentialStore, "saved_users", held(CredentialStore.saved_users))
    app = DockpushApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_screen(pilot, ImageBrowserScreen)
        await settle(app, pilot)
        details = Engine.connect().inspect_image("dockpush-demo/tiny:1.0")
        armed.set()
        app.start_tagging([Source("dockpush-demo/tiny:1.0", details.id, "dockpush-demo/tiny", ())])
        form = await wait_for_screen(pilot, TagFormScreen)
        assert not form.images  # still held
        box = form.query_one("#registry", Input)
        box.value = ""
        box.insert_text_at_cursor(f"{sandbox.open_registry}/pasted/app:7")
        await pilot.pause(0.1)
        release.set()
        await settle(app, pilot)
        assert form.images  # the image list arrived after the paste
        fields = {f: form.query_one(f"#{f}", Input).value for f in FIELDS}
        assert fields == {
            "registry": sandbox.open_registry,
            "namespace": "pasted",
            "repository": "app",
            "tags": "7",
        }
        assert app.session.workflow.tag_fields == TagFields(
            sandbox.open_registry, "pasted", "app", "7"
        )


async def test_saved_logins_are_read_off_the_ui_thread(
    engine_client: docker.DockerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The saved logins (a file, maybe a slow disk or network home) are read in a worker; the
    namespace still takes the saved user for Docker Hub when they arrive."""
    threads: list[str] = []
    read = CredentialStore.saved_users

    def recorded(store: CredentialStore) -> dict[str, str]:
        threads.append(threading.current_thread().name)
        return {**read(store), "docker.io": "saved-hub-user"}

    monkeypatch.setattr(CredentialStore, "saved_users", recorded)
    app = DockpushApp()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _form(pilot, "dockpush-demo/tiny:1.0")
        assert threads and threading.main_thread().name not in threads
        assert screen.query_one("#namespace", Input).value == "saved-hub-user"
