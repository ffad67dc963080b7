"""The engines screen: contexts made by the real docker CLI, switching engine at run time."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.message import Message
from textual.notifications import Notify
from textual.widgets import DataTable, Static

from app.ui.app import DockpushApp
from app.ui.screens.browser import ImageBrowserScreen
from app.ui.screens.engines import EnginesScreen
from app.ui.widgets.error_panel import ErrorPanel
from tests.harness.sandbox import TLS_ENGINE_IMAGE, SandboxInfo
from tests.test_contexts import docker_cli
from tests.ui import settle, wait_for_screen, wait_until


def _tags(screen: ImageBrowserScreen) -> set[str]:
    return {f"{row.repository}:{row.tag}" for row in screen.all_rows}


def _create_contexts(config: Path, sandbox: SandboxInfo) -> None:
    def tls_host(certs: str) -> str:
        folder = Path(certs)
        return (
            f"host={sandbox.tls_docker_host},ca={folder / 'ca.pem'},"
            f"cert={folder / 'cert.pem'},key={folder / 'key.pem'}"
        )

    docker_cli(config, "context", "create", "main", "--docker", f"host={sandbox.docker_host}")
    docker_cli(config, "context", "create", "tls", "--docker", tls_host(sandbox.tls_cert_path))
    docker_cli(
        config, "context", "create", "wrong-ca", "--docker", tls_host(sandbox.tls_wrong_cert_path)
    )
    docker_cli(config, "context", "use", "main")


async def _pick(pilot, screen: EnginesScreen, name: str) -> None:
    table = screen.query_one(DataTable)
    await wait_until(pilot, lambda: table.row_count >= 4)
    names = [endpoint.context for endpoint in screen.endpoints]
    table.move_cursor(row=names.index(name))
    await pilot.press("enter")


async def test_switch_engine_shows_the_other_engines_images(
    sandbox: SandboxInfo, isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    _create_contexts(isolated_config, sandbox)
    app = DockpushApp()
    notes: list[str] = []

    def note_down(message: Message) -> None:
        if isinstance(message, Notify):
            notes.append(message.notification.message)

    async with app.run_test(size=(130, 40), message_hook=note_down) as pilot:
        browser = await wait_for_screen(pilot, ImageBrowserScreen)
        await wait_until(pilot, lambda: "dockpush-demo/tiny:1.0" in _tags(browser))
        # The current context from config.json is in use, and the header says which.
        assert app.sub_title.startswith(f"engine main ({sandbox.docker_host})")

        await pilot.press("ctrl+e")
        engines = await wait_for_screen(pilot, EnginesScreen)
        await _pick(pilot, engines, "tls")
        browser = await wait_for_screen(pilot, ImageBrowserScreen, timeout=20)
        await wait_until(pilot, lambda: TLS_ENGINE_IMAGE in _tags(browser), timeout=20)
        assert "dockpush-demo/tiny:1.0" not in _tags(browser)
        assert app.sub_title.startswith(f"engine tls ({sandbox.tls_docker_host})")
        await settle(app, pilot)
        # The old engine's event stream ended on purpose: no warning that an engine was lost.
        assert not [note for note in notes if "stopped sending events" in note]
        assert "docker --context tls" in app.session.log.render()

        # A context that cannot connect leaves the engine in use as it was.
        await pilot.press("ctrl+e")
        engines = await wait_for_screen(pilot, EnginesScreen)
        note = str(engines.query_one("#engines-note", Static).render())
        assert "In use: tls" in note and "Docker Engine" in note
        await _pick(pilot, engines, "wrong-ca")
        panel = engines.query_one(ErrorPanel)
        await wait_until(pilot, lambda: panel.has_class("-visible"), timeout=20)
        text = str(panel.render())
        assert "TLS with the Docker engine failed" in text and "ca.pem" in text
        assert "Traceback" not in text
        assert app.session.engine is not None and app.session.engine.endpoint.context == "tls"
        await pilot.press("escape")
        await wait_for_screen(pilot, ImageBrowserScreen)


async def test_unknown_context_is_explained_on_the_first_screen(
    sandbox: SandboxInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    app = DockpushApp(context="nowhere")
    async with app.run_test(size=(120, 40)) as pilot:
        browser = await wait_for_screen(pilot, ImageBrowserScreen)
        panel = browser.query_one(ErrorPanel)
        await wait_until(pilot, lambda: panel.has_class("-visible"))
        text = str(panel.render())
        assert "No such docker context" in text and '"nowhere"' in text
        assert "docker context ls" in text


async def test_palette_opens_the_engines_screen(sandbox: SandboxInfo) -> None:
    app = DockpushApp(host=sandbox.docker_host)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_screen(pilot, ImageBrowserScreen)
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"switch engine")
        await pilot.pause(0.5)
        await pilot.press("enter")
        engines = await wait_for_screen(pilot, EnginesScreen)
        table = engines.query_one(DataTable)
        await wait_until(pilot, lambda: table.row_count >= 1)
        assert engines.endpoints[0].context == "default"


async def test_reload_updates_rows_in_place_and_keeps_the_cursor_on_its_context(
    sandbox: SandboxInfo, isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_clear(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the table was cleared instead of updated in place")

    docker_cli(isolated_config, "context", "create", "main", "--docker", "host=tcp://10.0.0.1:1")
    docker_cli(isolated_config, "context", "create", "tls", "--docker", "host=tcp://10.0.0.2:1")
    app = DockpushApp(host=sandbox.docker_host)
    async with app.run_test(size=(130, 40)) as pilot:
        await wait_for_screen(pilot, ImageBrowserScreen)
        await pilot.press("ctrl+e")
        engines = await wait_for_screen(pilot, EnginesScreen)
        table = engines.query_one(DataTable)
        await wait_until(pilot, lambda: table.row_count == 3)
        monkeypatch.setattr(DataTable, "clear", no_clear)
        table.move_cursor(row=2)
        assert engines.highlighted_key() == "tls"
        # Made in another terminal: two contexts sort before the highlighted one, one goes.
        for name in ("alpha", "beta"):
            docker_cli(isolated_config, "context", "create", name, "--docker", "host=tcp://x:1")
        docker_cli(isolated_config, "context", "rm", "main")
        await pilot.press("r")
        await wait_until(pilot, lambda: "beta" in [e.context for e in engines.endpoints])
        await settle(app, pilot)
        assert [str(table.get_row_at(i)[1]) for i in range(table.row_count)] == [
            "default",
            "alpha",
            "beta",
            "tls",
        ]
        assert engines.highlighted_key() == "tls" and table.cursor_row == 3
        assert str(table.get_row_at(0)[0]) == "●"  # the engine in use: --host, the default
