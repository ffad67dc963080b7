"""The session log: what was done, as docker commands, saved atomically."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from app.core.session_log import SessionLog


def test_render_and_atomic_save(tmp_path: Path) -> None:
    log = SessionLog()
    log.record(
        "tag",
        "docker tag app:1 registry.example.com/team/app:1",
        "created",
        at=datetime(2026, 1, 2, 3, 4, 5),
    )
    log.record("push", "docker push registry.example.com/team/app:1", "digest sha256:abc")
    text = log.render()
    assert "2026-01-02 03:04:05  tag: created" in text
    assert "    $ docker push registry.example.com/team/app:1" in text
    saved = log.save(tmp_path / "logs" / "session.log")
    assert saved.read_text() == text
    assert [p.name for p in saved.parent.iterdir()] == ["session.log"]  # no temporary left


def test_failed_save_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = SessionLog()
    log.record("push", "docker push a:1", "done")
    target = tmp_path / "session.log"
    target.write_text("previous content\n")

    def broken_replace(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("app.core.session_log.os.replace", broken_replace)
    with pytest.raises(OSError):
        log.save(target)
    assert target.read_text() == "previous content\n"
    assert not list(tmp_path.glob(".dockpush-log-*"))  # no temporary left behind
