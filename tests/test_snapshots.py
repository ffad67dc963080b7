"""Snapshot tests: every screen on fixed data, so a visual regression fails the suite."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from app.core.preflight import TargetReport, _tag_check
from app.core.remote_tag import LocalContent, RemoteTag, compare
from app.core.steps import LoginNeed, StepStates
from app.ui.app import DockpushApp
from app.ui.dialogs.login import LoginDialog
from app.ui.screens.tag_form import TagFormScreen
from app.ui.session import Session
from app.ui.workflow import Source
from tests.fixed_data import (
    DIGEST,
    IMAGES,
    PREFLIGHT,
    WHEN,
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
        return self.screen_factory(self.session)


async def _wait_for_first_screen(pilot) -> None:
    """Wait (at most 10 s) until the first screen is composed."""
    deadline = time.monotonic() + 10
    while not pilot.app.screen_stack or not pilot.app.screen.is_mounted:
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

    assert _snap(
        snap_compare,
        lambda session: LoginDialog(session, "registry.example.com:5000"),
        run_before=fill,
    )


def test_push_preflight(snap_compare) -> None:
    async def ready(pilot) -> None:
        await pilot.pause(0.1)

    assert _snap(snap_compare, lambda session: FixedPush(session, None), run_before=ready)


@pytest.mark.parametrize("upto", [0.5, None], ids=["in-progress", "done"])
def test_push(snap_compare, upto) -> None:
    async def replay(pilot) -> None:
        await pilot.pause(0.1)
        pilot.app.screen.replay()
        await pilot.pause(0.2)

    assert _snap(snap_compare, lambda session: FixedPush(session, upto), run_before=replay)


@pytest.mark.parametrize("passed", [True, False], ids=["passed", "failed"])
def test_verify(snap_compare, passed) -> None:
    async def ready(pilot) -> None:
        await pilot.pause(0.1)

    assert _snap(snap_compare, lambda session: FixedVerify(session, passed), run_before=ready)


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

    factory = FixedBrowser if which == "browser" else (lambda session: FixedPush(session, 0.5))
    app = SnapshotApp(factory)

    async def ready_then(pilot) -> None:
        await _wait_for_first_screen(pilot)
        await ready(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=ready_then)


# -- the everyday path (#18): a form filled from the image's name, a tag the push would move ----


class PrefilledTagForm(FixedTagForm):
    """The tag form for an image already named for its registry, after the browser chose it."""

    def __init__(self, session: Session) -> None:
        image = IMAGES[1]  # registry.example.com:5000/team/api:2.0.1
        source = Source(image.repo_tags[0], image.id, image.repo_tags[0].rpartition(":")[0], ())
        TagFormScreen.__init__(self, session, [source])


def _moved_tag_preflight() -> list[TargetReport]:
    index = "application/vnd.oci.image.index.v1+json"
    remote = RemoteTag(DIGEST, index, None, WHEN, ("linux/amd64", "linux/arm64/v8"))
    comparison = compare(remote, LocalContent(IMAGES[1].id, None))
    report = PREFLIGHT[0]
    return [
        replace(
            report,
            checks=(*report.checks, _tag_check(report.target, comparison)),
            commands=report.commands[1:],  # pushed as it is: no docker tag
            login=LoginNeed.ACCEPTED,
            tag=comparison,
        )
    ]


class MovedTagPush(FixedPush):
    """Push as it is (`p`), where the registry's tag holds another image."""

    def __init__(self, session: Session) -> None:
        super().__init__(session, None)

    def run_preflight_check(self) -> None:  # type: ignore[override]
        self.session.workflow.steps = StepStates().selected().tag_skipped()
        self._login_user = "ci-bot"
        self.call_after_refresh(self._show_preflight, _moved_tag_preflight())


def test_tag_form_prefilled_from_the_name(snap_compare) -> None:
    async def ready(pilot) -> None:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert _snap(snap_compare, PrefilledTagForm, run_before=ready)


def test_push_preflight_moved_tag(snap_compare) -> None:
    async def ready(pilot) -> None:
        await pilot.pause(0.1)

    assert _snap(snap_compare, MovedTagPush, run_before=ready)
