"""Snapshot tests: every screen on fixed data, so a visual regression fails the suite."""

from __future__ import annotations

import time

import pytest

from app.ui.app import DockpushApp
from app.ui.dialogs.login import LoginDialog
from tests.fixed_data import (
    FixedBrowser,
    FixedEngines,
    FixedLogins,
    FixedPush,
    FixedTagForm,
    FixedVerify,
)

SIZE = (110, 34)


@pytest.fixture(autouse=True)
def fixed_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    # No keyring, no engine: rendering must not depend on this machine.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    import keyring.core

    keyring.core.init_backend()


class SnapshotApp(DockpushApp):
    """The real app, opening one fixed screen instead of the live browser."""

    def __init__(self, screen_factory) -> None:
        super().__init__()
        self.screen_factory = screen_factory
        self.sub_title = "engine unix:///var/run/docker.sock"

    def first_screen(self):
        return self.screen_factory()


async def _wait_for_first_screen(pilot) -> None:
    """on_mount pushes the screen; wait (at most 10 s) until it is composed."""
    deadline = time.monotonic() + 10
    while len(pilot.app.screen_stack) < 2 or not pilot.app.screen.is_mounted:
        assert time.monotonic() < deadline, "the screen under test never appeared"
        await pilot.pause(0.01)
    await pilot.pause()


def _snap(snap_compare, factory, press=(), run_before=None) -> bool:
    return snap_compare(
        SnapshotApp(factory), terminal_size=SIZE, press=list(press), run_before=run_before
    )


def test_browser(snap_compare) -> None:
    assert _snap(snap_compare, FixedBrowser)


def test_browser_filtered_and_sorted(snap_compare) -> None:
    assert _snap(snap_compare, FixedBrowser, press=["s", "s", "s", "s", "S", "slash", *"web"])


def test_tag_form(snap_compare) -> None:
    async def fill(pilot) -> None:
        await pilot.pause()
        screen = pilot.app.screen
        screen.query_one("#registry").value = "registry.example.com:5000"
        screen.query_one("#namespace").value = "team"
        screen.query_one("#tags").value = "1.4.2 latest"
        await pilot.pause()

    assert _snap(snap_compare, FixedTagForm, run_before=fill)


def test_tag_form_invalid(snap_compare) -> None:
    async def fill(pilot) -> None:
        await pilot.pause()
        screen = pilot.app.screen
        screen.query_one("#namespace").value = "Team"
        screen.query_one("#tags").value = "v1 .0"
        await pilot.pause()

    assert _snap(snap_compare, FixedTagForm, run_before=fill)


def test_login_dialog(snap_compare) -> None:
    async def fill(pilot) -> None:
        await pilot.pause()
        dialog = pilot.app.screen
        dialog.query_one("#username").value = "ci-bot"
        dialog.query_one("#password").value = "not-shown-anywhere"
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert _snap(snap_compare, lambda: LoginDialog("registry.example.com:5000"), run_before=fill)


def test_push_preflight(snap_compare) -> None:
    async def ready(pilot) -> None:
        await pilot.pause(0.1)

    assert _snap(snap_compare, lambda: FixedPush(None), run_before=ready)


@pytest.mark.parametrize("upto", [0.5, None], ids=["in-progress", "done"])
def test_push(snap_compare, upto) -> None:
    async def replay(pilot) -> None:
        await pilot.pause(0.1)
        pilot.app.screen.replay()
        await pilot.pause(0.2)

    assert _snap(snap_compare, lambda: FixedPush(upto), run_before=replay)


@pytest.mark.parametrize("passed", [True, False], ids=["passed", "failed"])
def test_verify(snap_compare, passed) -> None:
    async def ready(pilot) -> None:
        await pilot.pause(0.1)

    assert _snap(snap_compare, lambda: FixedVerify(passed), run_before=ready)


def test_saved_logins(snap_compare) -> None:
    async def ready(pilot) -> None:
        await pilot.pause(0.1)

    assert _snap(snap_compare, FixedLogins, run_before=ready)


def test_engines(snap_compare) -> None:
    assert _snap(snap_compare, FixedEngines)


def test_help(snap_compare) -> None:
    assert _snap(snap_compare, FixedBrowser, press=["question_mark"])


@pytest.mark.parametrize("which", ["browser", "push"])
def test_small_terminal(snap_compare, which) -> None:
    """80x24 stays readable: the detail pane steps aside and layer rows shrink."""

    async def ready(pilot) -> None:
        await pilot.pause(0.1)
        if which == "push":
            pilot.app.screen.replay()
            await pilot.pause(0.2)

    factory = FixedBrowser if which == "browser" else (lambda: FixedPush(0.5))
    app = SnapshotApp(factory)

    async def ready_then(pilot) -> None:
        await _wait_for_first_screen(pilot)
        await ready(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=ready_then)
