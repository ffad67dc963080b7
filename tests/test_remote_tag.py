"""Comparing what a registry's tag holds with what a push sends (pure; the registry-facing
cases run against the sandbox in tests/test_preflight.py and tests/test_ui_push_as_is.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.core.remote_tag import LocalContent, RemoteTag, TagChange, _created, compare

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
A, B, CONFIG_A, CONFIG_B = (f"sha256:{c * 64}" for c in "abcd")


def _remote(digest: str = A, media_type: str = MANIFEST, config: str | None = CONFIG_A):
    return RemoteTag(digest, media_type, config, None, ())


@pytest.mark.parametrize(
    ("remote", "local", "change"),
    [
        (None, LocalContent(A, None), TagChange.NEW),
        (_remote(), LocalContent(A, None), TagChange.SAME),  # containerd: by digest
        (_remote(B), LocalContent(A, None), TagChange.MOVES),
        (_remote(), LocalContent(A, CONFIG_B), TagChange.SAME),  # a recorded digest decides
        (_remote(), LocalContent(None, CONFIG_A), TagChange.SAME),  # classic: by config
        (_remote(), LocalContent(None, CONFIG_B), TagChange.MOVES),
        (_remote(B, INDEX, None), LocalContent(None, CONFIG_A), TagChange.MOVES),
        (_remote(B, INDEX, None), LocalContent(None, None), TagChange.UNKNOWN),
        (_remote(config=None), LocalContent(None, CONFIG_A), TagChange.UNKNOWN),
    ],
)
def test_compare(remote, local: LocalContent, change: TagChange) -> None:
    assert compare(remote, local).change is change


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-14T15:09:26.123456789Z", datetime(2026, 3, 14, 15, 9, 26, 123456, UTC)),
        ("2026-03-14T15:09:26Z", datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)),
        ("2026-03-14T16:09:26.5+01:00", datetime(2026, 3, 14, 15, 9, 26, 500000, UTC)),
        ("yesterday", None),
        (1_700_000_000, None),  # not the config's format: not guessed
        ("9" * 100, None),
    ],
)
def test_creation_time_from_untrusted_config(value: object, expected: datetime | None) -> None:
    assert _created({"created": value}) == expected
