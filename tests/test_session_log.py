"""The session log: what was done, as docker commands, saved to a new private file."""

from __future__ import annotations

import errno
import os
import stat
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from app.core.session_log import SessionLog, state_dir

AT = datetime(2026, 1, 2, 3, 4, 5)
NAME = "dockpush-session-20260102-030405.log"


def _log() -> SessionLog:
    log = SessionLog()
    log.record("tag", "docker tag app:1 registry.example.com/team/app:1", "created", at=AT)
    log.record("push", "docker push registry.example.com/team/app:1", "digest sha256:abc")
    return log


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_render_and_save_to_the_state_folder(tmp_path: Path) -> None:
    log = _log()
    text = log.render()
    assert "2026-01-02 03:04:05  tag: created" in text
    assert "    $ docker push registry.example.com/team/app:1" in text
    saved = log.save(at=AT)
    # conftest points DOCKPUSH_STATE_DIR at the test's folder; the full path is returned.
    assert saved == tmp_path / "dockpush-state" / NAME and saved.is_absolute()
    assert state_dir() == tmp_path / "dockpush-state"
    assert saved.read_text() == text
    assert [p.name for p in saved.parent.iterdir()] == [NAME]  # nothing else left


def test_log_file_is_0600_and_a_new_folder_0700(tmp_path: Path) -> None:
    old_umask = os.umask(0)  # the loosest umask: the modes must not come from it
    try:
        saved = _log().save(tmp_path / "new" / "logs", at=AT)
    finally:
        os.umask(old_umask)
    assert _mode(saved) == 0o600
    assert _mode(saved.parent) == 0o700


def test_a_folder_others_may_write_to_is_made_private(tmp_path: Path) -> None:
    folder = tmp_path / "loose"
    folder.mkdir()
    folder.chmod(0o777)
    _log().save(folder, at=AT)
    assert _mode(folder) == 0o700


def test_planted_symlink_at_the_log_path_is_never_followed(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    victim = tmp_path / "bashrc"
    victim.write_text("export PATH=/usr/bin\n")
    (folder / NAME).symlink_to(victim)
    dangling = folder / NAME.replace(".log", "-2.log")
    dangling.symlink_to(tmp_path / "would-be-created")
    saved = _log().save(folder, at=AT)
    assert victim.read_text() == "export PATH=/usr/bin\n"  # the target is untouched
    assert not (tmp_path / "would-be-created").exists()
    assert (folder / NAME).is_symlink() and dangling.is_symlink()  # the links stay as they were
    assert saved == folder / NAME.replace(".log", "-3.log")
    assert not saved.is_symlink() and saved.read_text() == _log().render()


def test_an_existing_log_is_never_overwritten(tmp_path: Path) -> None:
    first = _log().save(tmp_path, at=AT)
    second = SessionLog()
    second.record("verify", "", "ok", at=AT)
    again = second.save(tmp_path, at=AT)
    assert first != again
    assert "tag: created" in first.read_text() and "verify: ok" in again.read_text()


def test_a_folder_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "link").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(OSError):
        _log().save(tmp_path / "link", at=AT)
    assert not list(elsewhere.iterdir())


def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, handle: int, *args: object, **kwargs: object) -> None:
            self.file = real_fdopen(handle, *args, **kwargs)  # type: ignore[call-overload]

        def __enter__(self) -> FullDisk:
            return self

        def __exit__(self, *exc: object) -> None:
            self.file.close()

        def write(self, _text: str) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("app.core.session_log.os.fdopen", FullDisk)
    with pytest.raises(OSError):
        _log().save(tmp_path / "logs", at=AT)
    assert not list((tmp_path / "logs").iterdir())  # no empty or half-written log left


async def test_ctrl_o_never_follows_a_planted_link_and_shows_the_full_path(
    classic_engine_client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from textual.message import Message
    from textual.notifications import Notify

    from app.ui.app import DockpushApp
    from app.ui.screens.browser import ImageBrowserScreen
    from tests.ui import wait_for_screen, wait_until

    # Links planted where a log could be written in the next minute: the current folder
    # (where dockpush used to write) and the state folder.
    monkeypatch.chdir(tmp_path)
    victim = tmp_path / "bashrc"
    victim.write_text("export PATH=/usr/bin\n")
    state = tmp_path / "dockpush-state"
    state.mkdir(mode=0o700)
    now = datetime.now()
    for seconds in range(60):
        name = f"dockpush-session-{now + timedelta(seconds=seconds):%Y%m%d-%H%M%S}.log"
        for folder in (tmp_path, state):
            (folder / name).symlink_to(victim)
    app = DockpushApp()

    notes: list[str] = []

    def note_down(message: Message) -> None:
        if isinstance(message, Notify):
            notes.append(message.notification.message)

    def saved_notes() -> list[str]:
        return [note for note in notes if "session log" in note]

    async with app.run_test(size=(120, 40), notifications=True, message_hook=note_down) as pilot:
        await wait_for_screen(pilot, ImageBrowserScreen)
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: bool(saved_notes()))
    assert victim.read_text() == "export PATH=/usr/bin\n"
    (message,) = saved_notes()
    assert message.startswith("Saved the session log to /"), message
    saved = Path(message.removeprefix("Saved the session log to "))
    assert saved.parent == state and not saved.is_symlink()
    assert _mode(saved) == 0o600 and saved.read_text().startswith("# dockpush session log")
