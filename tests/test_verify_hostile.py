"""Verification against a hostile registry: the digest comes from the bytes, an unknown
expectation is never a pass, and no answer crashes the verify screen."""

from __future__ import annotations

import time

import pytest

from app.core.checks import Outcome
from app.core.reference import parse_normalized
from app.core.verify import MAX_LAYERS, Verdict, verify
from app.ui.app import DockpushApp
from app.ui.screens.verify import VerifyScreen
from app.ui.widgets.error_panel import ErrorPanel
from tests.harness.hostile_registry import (
    CONFIG_DIGEST,
    GONE_DIGEST,
    MANIFEST_DIGEST,
    MANY_LAYERS,
    SWAPPED_DIGEST,
    HostileRegistry,
)
from tests.harness.sandbox import SandboxInfo
from tests.ui import wait_for_screen, wait_until


def _check(report, name: str):
    return next(check for check in report.checks if check.name == name)


@pytest.mark.parametrize("repository", ["good/app", "wrongtype/app", "noheader/app"])
def test_an_honest_answer_verifies_against_the_pushed_digest(
    hostile: HostileRegistry, repository: str
) -> None:
    report = verify(parse_normalized(f"{hostile.address}/{repository}:1.0"), None, MANIFEST_DIGEST)
    assert report.verdict is Verdict.VERIFIED, report.checks
    assert report.digest == MANIFEST_DIGEST
    assert report.pinned == f"{hostile.address}/{repository}@{MANIFEST_DIGEST}"
    assert _check(report, "Layer blobs").outcome is Outcome.PASSED


@pytest.mark.parametrize("repository", ["good/app", "noheader/app"])
def test_no_expected_digest_is_unknown_never_passed(
    hostile: HostileRegistry, repository: str
) -> None:
    """Finding 5: with no expected digest the Digest check passed on an empty value."""
    report = verify(parse_normalized(f"{hostile.address}/{repository}:1.0"), None)
    digest = _check(report, "Digest")
    assert digest.outcome is Outcome.UNKNOWN
    assert MANIFEST_DIGEST in digest.detail and "nothing to compare" in digest.detail
    assert report.verdict is Verdict.UNCONFIRMED and not report.passed
    assert report.pinned == f"{hostile.address}/{repository}@{MANIFEST_DIGEST}"


@pytest.mark.parametrize("repository", ["liar/app", "badheader/app"])
def test_a_header_that_is_not_the_body_fails(hostile: HostileRegistry, repository: str) -> None:
    """Finding 5: the old client trusted Docker-Content-Digest and never hashed the body."""
    report = verify(parse_normalized(f"{hostile.address}/{repository}:1.0"), None, MANIFEST_DIGEST)
    digest = _check(report, "Digest")
    assert digest.outcome is Outcome.FAILED
    assert "header says" in digest.detail and MANIFEST_DIGEST[:19] in digest.detail
    assert report.verdict is Verdict.NOT_VERIFIED
    # The pinned reference is the digest of the bytes, never the header's.
    assert report.pinned == f"{hostile.address}/{repository}@{MANIFEST_DIGEST}"


@pytest.mark.parametrize(
    ("repository", "said"),
    [("huge/app", "larger than the 4 MiB"), ("hugelength/app", "larger than the 4 MiB")],
)
def test_a_huge_manifest_fails_the_digest_check(
    hostile: HostileRegistry, repository: str, said: str
) -> None:
    report = verify(parse_normalized(f"{hostile.address}/{repository}:1.0"), None)
    digest = _check(report, "Digest")
    assert digest.outcome is Outcome.FAILED and said in digest.detail
    assert report.pinned is None


HOSTILE_REPOSITORIES = [
    "good/app",
    "wrongtype/app",
    "noheader/app",
    "liar/app",
    "badheader/app",
    "huge/app",
    "hugelength/app",
    "portal/app",
    "shapeless/app",
    "teapot/app",
    "truncated/app",
    "nothing/app",
    "index/app",
]


async def test_no_registry_answer_crashes_the_verify_screen(
    sandbox: SandboxInfo, hostile: HostileRegistry
) -> None:
    """Finding 5: a missing digest header made the pinned reference crash the screen."""
    targets = [parse_normalized(f"{hostile.address}/{repo}:1.0") for repo in HOSTILE_REPOSITORIES]
    app = DockpushApp()
    async with app.run_test(size=(130, 60)) as pilot:
        await pilot.pause(0.3)
        app.start_verify(targets)
        screen = await wait_for_screen(pilot, VerifyScreen)
        await wait_until(pilot, lambda: bool(screen.reports), timeout=60)
        assert app.is_running
        assert not screen.query_one(ErrorPanel).has_class("-visible")
        verdicts = {str(r.target.path): r.verdict for r in screen.reports}
        assert verdicts == {
            "good/app": Verdict.UNCONFIRMED,
            "wrongtype/app": Verdict.UNCONFIRMED,
            "noheader/app": Verdict.UNCONFIRMED,
            **{
                repo.removesuffix(":1.0"): Verdict.NOT_VERIFIED for repo in HOSTILE_REPOSITORIES[3:]
            },
        }
        text = str(screen.query_one("#verify-results").render())
        assert "NOT CONFIRMED" in text and " ? Digest" in text
        assert "✓ Digest" not in text
        await pilot.press("y")  # copies the pinned references: each the hash of bytes
        assert app.clipboard.splitlines()[0] == f"{hostile.address}/good/app@{MANIFEST_DIGEST}"


def test_a_hostile_index_is_checked_per_platform(hostile: HostileRegistry) -> None:
    """#15 against a lying registry: content swapped under a digest, a missing manifest, an
    escape sequence in a platform, an attestation; each named, none crashing."""
    report = verify(parse_normalized(f"{hostile.address}/index/app:1.0"), None)
    assert report.verdict is Verdict.NOT_VERIFIED
    by_label = {r.label: r for r in report.platforms}
    assert set(by_label) == {
        "linux/amd64",
        "linux/arm64/v8",
        "??0?pwned?/s390x",
        "attestation for linux/amd64",
    }
    assert by_label["linux/amd64"].ok and by_label["attestation for linux/amd64"].attestation
    assert by_label["linux/arm64/v8"].problems == (
        f"manifest {SWAPPED_DIGEST} was served with other content ({MANIFEST_DIGEST[:19]}…)",
    )
    assert by_label["??0?pwned?/s390x"].problems == (f"missing manifest {GONE_DIGEST}",)
    blobs = _check(report, "Layer blobs")
    assert blobs.outcome is Outcome.FAILED
    assert "linux/arm64/v8: manifest " in blobs.detail and "\x1b" not in blobs.detail
    media = _check(report, "Media type and platform")
    assert "(+1 attestation)" in media.detail


# -- review of #16: config hashed, work capped, digest references ----------------------------


def test_a_config_served_with_other_bytes_fails_naming_the_blob(hostile: HostileRegistry) -> None:
    """M1: the platform came from whatever bytes the registry sent as the config."""
    report = verify(parse_normalized(f"{hostile.address}/badconfig/app:1.0"), None, MANIFEST_DIGEST)
    media = _check(report, "Media type and platform")
    assert media.outcome is Outcome.FAILED, media
    assert CONFIG_DIGEST in media.detail and "arm64" not in media.detail
    assert report.verdict is Verdict.NOT_VERIFIED


async def test_an_escape_in_the_config_never_reaches_the_screen(
    sandbox: SandboxInfo, hostile: HostileRegistry
) -> None:
    """M1: an escape sequence in the config's `os` shows made printable, never raw."""
    targets = [
        parse_normalized(f"{hostile.address}/{r}/app:1.0") for r in ("escconfig", "badconfig")
    ]
    app = DockpushApp()
    async with app.run_test(size=(130, 60)) as pilot:
        await pilot.pause(0.3)
        app.start_verify(targets)
        screen = await wait_for_screen(pilot, VerifyScreen)
        await wait_until(pilot, lambda: len(screen.reports) == 2, timeout=60)
        text = str(screen.query_one("#verify-results").render())
    assert "\x1b" not in text and "pwned" in text
    assert "??0?pwned?linux/amd64" in text
    assert CONFIG_DIGEST[:19] in text


def test_too_many_layers_fail_without_checking_them(hostile: HostileRegistry) -> None:
    """M2: a manifest of 1001 layers used to be checked in full (HEAD per distinct blob)."""
    report = verify(parse_normalized(f"{hostile.address}/manylayers/app:1.0"), None)
    blobs = _check(report, "Layer blobs")
    assert blobs.outcome is Outcome.FAILED
    assert f"{MANY_LAYERS} layers; dockpush checks at most {MAX_LAYERS}" in blobs.detail
    assert not [seen for seen in hostile.seen if seen.method == "HEAD"]


def test_too_many_blobs_in_all_stop_the_verification(
    hostile: HostileRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """M2: the blob cap, lowered so that the good image (a config and a layer) exceeds it."""
    monkeypatch.setattr("app.core.verify.MAX_BLOBS", 1)
    report = verify(parse_normalized(f"{hostile.address}/good/app:1.0"), None, MANIFEST_DIGEST)
    assert report.verdict is Verdict.NOT_VERIFIED
    assert "more than 1 blobs" in report.checks[-1].detail


def test_the_whole_verification_has_one_time_budget(hostile: HostileRegistry) -> None:
    """M2: each request had a deadline, the verification none."""
    started = time.monotonic()
    report = verify(parse_normalized(f"{hostile.address}/slowheaders/app:1.0"), None, budget=2)
    assert time.monotonic() - started < 3
    assert report.verdict is Verdict.NOT_VERIFIED
    assert "within 2 s" in report.checks[-1].detail


def test_a_digest_reference_is_fetched_by_its_digest(hostile: HostileRegistry) -> None:
    """L8: `repo@sha256:…` checked tag None and fetched the manifest "latest"."""
    target = parse_normalized(f"{hostile.address}/index/app@{MANIFEST_DIGEST}")
    report = verify(target, None)
    assert report.verdict is Verdict.VERIFIED, report.checks
    assert _check(report, "Tag listed").outcome is Outcome.NOT_APPLICABLE
    assert _check(report, "Digest").outcome is Outcome.PASSED
    fetched = [seen.path for seen in hostile.seen if "/manifests/" in seen.path]
    assert fetched == [f"/v2/index/app/manifests/{MANIFEST_DIGEST}"]
