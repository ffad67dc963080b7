"""Login dialog and saved logins, driven with Pilot; the password must appear nowhere."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.core
import pytest
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.widgets import Checkbox, DataTable, Input

from app.core.credentials import CredentialStore, Login
from app.core.push_queue import Stage
from app.core.reference import parse_normalized
from app.core.secret import Secret
from app.ui.app import DockpushApp
from app.ui.dialogs.login import LoginDialog
from app.ui.screens.browser import ImageBrowserScreen
from app.ui.screens.logins import SavedLoginsScreen
from app.ui.screens.push import ItemState, PushScreen
from app.ui.screens.verify import VerifyScreen
from tests.harness.images import build_image
from tests.harness.sandbox import SandboxInfo
from tests.ui import log_in, settle, wait_for_screen, wait_until


def _forget_keyring_backends() -> None:
    """Make keyring detect its backend again from the environment."""
    # The cache is empty (reset raises KeyError) when nothing in this process asked keyring
    # yet: dockpush imports it only when a login is first looked up.
    with contextlib.suppress(KeyError):
        keyring.backend.get_all_keyring.reset()
    keyring.core.init_backend()


def _table_rows(screen: SavedLoginsScreen) -> list[list[str]]:
    table = screen.query_one(DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


@contextlib.asynccontextmanager
async def _app_with_saved_login(sandbox: SandboxInfo) -> AsyncIterator[tuple[DockpushApp, Pilot]]:
    """The app, back on the browser after logging in to the registry that needs a login,
    the login saved."""
    app = DockpushApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_screen(pilot, ImageBrowserScreen)
        await log_in(pilot, sandbox.auth_registry, sandbox.user, sandbox.password)
        await wait_for_screen(pilot, ImageBrowserScreen, timeout=20)
        yield app, pilot


async def _list_one_saved_login(pilot) -> SavedLoginsScreen:
    """Open the saved logins (ctrl+l) and wait for the one saved login's row."""
    await pilot.press("ctrl+l")
    screen = await wait_for_screen(pilot, SavedLoginsScreen)
    await wait_until(pilot, lambda: screen.query_one(DataTable).row_count == 1)
    return screen


async def test_saved_login_listed_checked_and_forgotten(
    sandbox: SandboxInfo, secret_service: None, engine_client
) -> None:
    async with _app_with_saved_login(sandbox) as (app, pilot):
        assert keyring.get_password(f"dockpush:{sandbox.auth_registry}", sandbox.user)
        screen = await _list_one_saved_login(pilot)
        row = _table_rows(screen)[0]
        assert row[:3] == [sandbox.auth_registry, sandbox.user, "system keyring (dockpush)"]
        assert row[3].startswith("✓ valid")  # visible without opening anything
        app.session.login_checks.clear()
        await pilot.press("c")
        await wait_until(pilot, lambda: _table_rows(screen)[0][3].startswith("✓ valid"))
        await pilot.press("f")
        await wait_until(pilot, lambda: screen.query_one(DataTable).row_count == 0)
        assert keyring.get_password(f"dockpush:{sandbox.auth_registry}", sandbox.user) is None
        assert "No saved logins" in str(screen.query_one("#logins-note").render())


async def test_rejected_login_is_marked(
    sandbox: SandboxInfo, secret_service: None, engine_client
) -> None:
    async with _app_with_saved_login(sandbox) as (app, pilot):
        # The password changes elsewhere: put a wrong one in the keyring.
        keyring.set_password(f"dockpush:{sandbox.auth_registry}", sandbox.user, "changed")
        app.session.workflow.logins.clear()
        screen = await _list_one_saved_login(pilot)
        await pilot.press("c")
        await wait_until(pilot, lambda: _table_rows(screen)[0][3].startswith("✗ rejected"))
        await pilot.press("f")
        await wait_until(pilot, lambda: screen.query_one(DataTable).row_count == 0)


async def test_no_keyring_means_a_session_login_said_plainly(
    sandbox: SandboxInfo, engine_client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    # keyring caches the backends it found usable; an earlier test in this process may have
    # cached the sandbox's Secret Service, which now cannot even rate itself.
    _forget_keyring_backends()
    try:
        app = DockpushApp()
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for_screen(pilot, ImageBrowserScreen)
            app.open_login(sandbox.auth_registry)
            dialog = await wait_for_screen(pilot, LoginDialog)
            await wait_until(pilot, lambda: dialog._keyring_problem is not None)
            text = str(dialog.query_one("#login-outcome").render())
            assert "No system keyring" in text and "only for this run" in text
            assert "never falls back to plain text" in text
            assert dialog.query_one("#remember", Checkbox).disabled
            box = dialog.query_one("#username", Input)
            box.value = sandbox.user
            dialog.query_one("#password", Input).value = sandbox.password
            dialog.query_one("#password", Input).focus()
            await pilot.press("enter")
            await wait_for_screen(pilot, ImageBrowserScreen, timeout=20)
            assert app.session.workflow.logins[sandbox.auth_registry].username == sandbox.user
        assert not list(tmp_path.rglob("logins.json"))
    finally:
        monkeypatch.undo()
        _forget_keyring_backends()


async def test_password_appears_nowhere(
    sandbox: SandboxInfo,
    secret_service: None,
    engine_client,
    unique: str,
    remove_afterwards,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # anything written to the current folder is scanned too
    reference = f"{sandbox.auth_registry}/secret/scan-{unique}:1"
    build_image(engine_client, reference, [200_000], unique)
    remove_afterwards.append(reference)
    screens_text: list[str] = []
    app = DockpushApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_screen(pilot, ImageBrowserScreen)
        screens_text.append(app.export_screenshot())
        dialog = await log_in(
            pilot, sandbox.auth_registry, sandbox.user, "wrong-" + sandbox.password
        )
        await wait_until(
            pilot, lambda: "rejected" in str(dialog.query_one("#login-outcome").render())
        )
        screens_text.append(app.export_screenshot())
        dialog.query_one("#password", Input).value = sandbox.password
        screens_text.append(app.export_screenshot())  # the field is masked
        dialog.query_one("#password", Input).focus()
        await pilot.press("enter")
        await wait_for_screen(pilot, ImageBrowserScreen, timeout=20)
        app.finish_tagging([parse_normalized(reference)])
        push = await wait_for_screen(pilot, PushScreen)
        await wait_until(pilot, lambda: bool(push.reports), timeout=20)
        screens_text.append(app.export_screenshot())
        await pilot.press("enter")
        await wait_until(pilot, lambda: push.stage is Stage.DONE, timeout=60)
        push.action_toggle_log()
        await settle(app, pilot)
        screens_text.append(app.export_screenshot())
        assert push.items[0].state is ItemState.DONE
        await pilot.press("enter")
        verify = await wait_for_screen(pilot, VerifyScreen)
        await wait_until(pilot, lambda: bool(verify.reports), timeout=20)
        screens_text.append(app.export_screenshot())
        await pilot.press("ctrl+l")
        await wait_for_screen(pilot, SavedLoginsScreen)
        await settle(app, pilot)
        screens_text.append(app.export_screenshot())
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: bool(list(tmp_path.rglob("dockpush-session-*.log"))))
        errors = [str(i.error) + repr(i.error) for i in push.items if i.error]
        store_key = f"dockpush:{sandbox.auth_registry}"
    files = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()]
    try:
        password = sandbox.password
        assert all(password not in text for text in screens_text)
        assert all(password.encode() not in content for content in files)
        assert password not in caplog.text
        assert all(password not in text for text in errors)
        assert keyring.get_password(store_key, sandbox.user) == password  # only there
    finally:
        keyring.delete_password(store_key, sandbox.user)


async def test_empty_fields_are_named_and_nothing_is_checked(
    sandbox: SandboxInfo, engine_client
) -> None:
    app = DockpushApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_screen(pilot, ImageBrowserScreen)
        app.open_login(sandbox.auth_registry)
        dialog = await wait_for_screen(pilot, LoginDialog)
        dialog.query_one("#password", Input).focus()
        await pilot.press("enter")
        outcome = str(dialog.query_one("#login-outcome").render())
        assert "Fill in the user and password." in outcome
        assert not [w for w in dialog.workers if w.group == "check"]
        assert isinstance(app.screen, LoginDialog)  # still open, nothing lost
        assert sandbox.auth_registry not in app.session.workflow.logins


# -- a broken docker config is listed as broken, never as "no logins" -----------------------


def _note(screen: SavedLoginsScreen) -> str:
    return str(screen.query_one("#logins-note").render())


async def _open_logins(pilot) -> SavedLoginsScreen:
    await wait_for_screen(pilot, ImageBrowserScreen)
    await pilot.press("ctrl+l")
    screen = await wait_for_screen(pilot, SavedLoginsScreen)
    await settle(pilot.app, pilot)
    return screen


async def test_broken_config_json_is_listed_as_broken_with_what_to_do(
    sandbox: SandboxInfo, secret_service: None, isolated_config: Path, unique: str
) -> None:
    registry = f"kept-{unique}.example"
    store = CredentialStore()
    store.save(Login(registry, "alice", Secret(f"pw-{unique}")))
    config_file = isolated_config / "config.json"
    config_file.write_text('{"auths": {')
    notes: list[str] = []

    def note_down(message: Message) -> None:
        if isinstance(message, Notify):
            notes.append(message.notification.message)

    try:
        app = DockpushApp()
        async with app.run_test(size=(130, 40), message_hook=note_down) as pilot:
            screen = await _open_logins(pilot)
            rows = _table_rows(screen)
            # dockpush's own login still works; the config is a broken row, not an empty list.
            assert rows[0][:3] == [registry, "alice", "system keyring (dockpush)"]
            assert rows[1] == [str(config_file), "-", "docker config.json", "✗ broken"]
            note = _note(screen)
            assert "No saved logins" not in note
            assert f"{config_file} is not valid JSON" in note and "line 1" in note
            assert f"What to do: Fix or move {config_file}" in note
            table = screen.query_one(DataTable)
            table.move_cursor(row=1)
            await pilot.press("c")  # nothing to check: the row says what to do instead
            await settle(app, pilot)
            assert any("is broken: Fix or move" in note for note in notes), notes
            assert not [w for w in screen.workers if w.group == "check"]
    finally:
        store.forget(registry)


async def test_failing_real_credential_helper_is_listed_as_broken(
    sandbox: SandboxInfo, isolated_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real docker-credential-secretservice, with no Secret Service to reach.
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")
    (isolated_config / "config.json").write_text('{"credsStore": "secretservice"}')
    app = DockpushApp()
    async with app.run_test(size=(130, 40)) as pilot:
        screen = await _open_logins(pilot)
        assert _table_rows(screen) == [
            ["docker-credential-secretservice", "-", "docker credsStore", "✗ broken"]
        ]
        note = _note(screen)
        assert "No saved logins" not in note
        assert "docker-credential-secretservice list failed with exit status 1" in note
        helper = shutil.which("docker-credential-secretservice")
        assert f"What to do: Try `{helper} list` in a terminal" in note


async def test_rows_update_in_place_and_the_cursor_stays_on_its_login(
    sandbox: SandboxInfo,
    secret_service: None,
    engine_client,
    unique: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_clear(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the table was cleared instead of updated in place")

    store = CredentialStore()
    names = [f"{letter}-{unique}.example" for letter in "bcd"]
    for name in names[:2]:
        store.save(Login(name, "alice", Secret("pw")))
    try:
        app = DockpushApp()
        async with app.run_test(size=(130, 40)) as pilot:
            screen = await _open_logins(pilot)
            monkeypatch.setattr(DataTable, "clear", no_clear)
            table = screen.query_one(DataTable)
            table.move_cursor(row=1)
            assert screen.highlighted_key() == f"login:{names[1]}"
            # A login that sorts first arrives, another leaves: the cursor keeps its login.
            store.save(Login(f"a-{unique}.example", "alice", Secret("pw")))
            store.save(Login(names[2], "alice", Secret("pw")))
            store.forget(names[0])
            screen.load()
            await wait_until(pilot, lambda: table.row_count == 3)
            assert [row[0] for row in _table_rows(screen)] == [f"a-{unique}.example", *names[1:]]
            assert screen.highlighted_key() == f"login:{names[1]}"
            # A check's result lands in its row; the cursor does not move.
            await pilot.press("c")
            await wait_until(pilot, lambda: _table_rows(screen)[1][3] != "not checked", 20)
            checked = _table_rows(screen)[1][3]
            assert "unreachable" in checked  # no such registry exists
            # The column grew to fit it (a wider cell updated in place is not cut off).
            assert list(table.columns.values())[3].content_width >= len(checked)
            assert screen.highlighted_key() == f"login:{names[1]}"
            # enter logs in again to the highlighted registry.
            await pilot.press("enter")
            dialog = await wait_for_screen(pilot, LoginDialog)
            assert dialog.query_one("#registry", Input).value == names[1]
    finally:
        for name in [f"a-{unique}.example", *names]:
            store.forget(name)
