"""Verification of a multi-platform image (#15): every platform's manifest, config and layers,
attestations checked as attestations, the result per platform, naming what is missing."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import docker
import pytest

from app.core.checks import Outcome
from app.core.contexts import resolve_endpoint
from app.core.engine import Engine
from app.core.progress import PushProgress
from app.core.reference import Reference, parse_normalized
from app.core.registry import RegistryClient
from app.core.verify import Verdict, verify
from app.ui.app import DockpushApp
from app.ui.screens.verify import VerifyScreen
from tests.harness.oci_layout import build_index, layout_tarball
from tests.harness.sandbox import SandboxInfo, seed_platforms
from tests.ui import wait_for_screen, wait_until

PLATFORMS = ["linux/amd64", "linux/arm64/v8"]


@pytest.fixture
def containerd_engine(sandbox: SandboxInfo) -> Iterator[Engine]:
    engine = Engine.connect(resolve_endpoint(sandbox.containerd_docker_host))
    yield engine
    engine.close()


def _push(engine: Engine, target: Reference) -> str:
    progress = PushProgress()
    for index, event in enumerate(engine.push(target, None)):
        progress.apply(event, float(index))
    assert progress.result is not None
    return progress.result.digest


@pytest.fixture
def pushed_index(
    sandbox: SandboxInfo,
    containerd_engine_client: docker.DockerClient,
    containerd_engine: Engine,
    unique: str,
) -> Iterator[tuple[Reference, str]]:
    """A multi-platform image (two platforms, two attestations), loaded from an OCI layout as
    the sandbox seeds it, with its own blobs, then pushed whole to the sandbox registry."""
    target = parse_normalized(f"{sandbox.open_registry}/verify/multi-{unique}:1")
    layout = build_index(seed_platforms(), f"verify-{unique}")
    containerd_engine_client.api.load_image(layout_tarball(layout, str(target)))
    try:
        yield target, _push(containerd_engine, target)
    finally:
        with contextlib.suppress(docker.errors.APIError):
            containerd_engine_client.api.remove_image(str(target))


def test_multi_platform_index_verifies_then_names_a_deleted_arm64_blob(
    sandbox: SandboxInfo,
    containerd_engine: Engine,
    pushed_index: tuple[Reference, str],
    unique: str,
) -> None:
    target, digest = pushed_index
    # The engine pushed the loaded index unchanged: the digest of the layout we wrote.
    assert digest == build_index(seed_platforms(), f"verify-{unique}").index_digest

    report = verify(target, None, digest, containerd_engine)
    assert report.verdict is Verdict.VERIFIED, report.checks
    assert report.digest == digest
    platforms = [r for r in report.platforms if not r.attestation]
    attestations = [r for r in report.platforms if r.attestation]
    assert [r.label for r in platforms] == PLATFORMS
    assert sorted(r.label for r in attestations) == [f"attestation for {p}" for p in PLATFORMS]
    assert all(r.ok and r.layers for r in report.platforms)
    media = next(c for c in report.checks if c.name == "Media type and platform")
    assert media.outcome is Outcome.PASSED  # the local platform is in the index
    assert "index of linux/amd64, linux/arm64/v8 (+2 attestations)" in media.detail
    assert report.total_size == sum(r.size for r in platforms)

    client = RegistryClient(sandbox.open_registry)
    index = client.manifest(target.path, digest)
    arm64 = next(m for m in index.body["manifests"] if m["platform"]["architecture"] == "arm64")
    blob = client.manifest(target.path, arm64["digest"]).body["layers"][1]["digest"]
    client.delete_blob(target.path, blob)
    client.close()

    report = verify(target, None, digest, containerd_engine)
    assert report.verdict is Verdict.NOT_VERIFIED
    blobs = next(c for c in report.checks if c.name == "Layer blobs")
    assert blobs.outcome is Outcome.FAILED
    assert f"linux/arm64/v8: missing layer {blob[:19]}" in blobs.detail
    assert "linux/amd64" not in blobs.detail
    by_label = {r.label: r for r in report.platforms}
    assert by_label["linux/arm64/v8"].problems == (f"missing layer {blob}",)
    assert by_label["linux/amd64"].ok
    assert all(r.ok for r in report.platforms if r.attestation)


def test_index_moved_since_the_push_is_not_verified(
    containerd_engine: Engine, pushed_index: tuple[Reference, str]
) -> None:
    target, _digest = pushed_index
    other = "sha256:" + "1" * 64  # what another push would have reported
    report = verify(target, None, other, containerd_engine)
    digest = next(c for c in report.checks if c.name == "Digest")
    assert digest.outcome is Outcome.FAILED and "the push reported sha256:111111111111" in (
        digest.detail
    )


async def test_verify_screen_shows_each_platform(
    sandbox: SandboxInfo,
    containerd_engine_client: docker.DockerClient,
    pushed_index: tuple[Reference, str],
) -> None:
    target, digest = pushed_index
    client = RegistryClient(sandbox.open_registry)
    amd64 = next(
        m
        for m in client.manifest(target.path, digest).body["manifests"]
        if m["platform"]["architecture"] == "amd64"
    )
    config = client.manifest(target.path, amd64["digest"]).body["config"]["digest"]
    client.delete_blob(target.path, config)
    client.close()
    app = DockpushApp(host=sandbox.containerd_docker_host)
    async with app.run_test(size=(150, 60)) as pilot:
        await pilot.pause(0.3)
        app.session.workflow.pushed[str(target)] = digest
        app.start_verify([target])
        screen = await wait_for_screen(pilot, VerifyScreen)
        await wait_until(pilot, lambda: bool(screen.reports), timeout=30)
        text = str(screen.query_one("#verify-results").render())
    assert "NOT VERIFIED" in text and "per platform" in text
    lines = text.splitlines()
    amd64_line = next(line for line in lines if line.strip().startswith("✗ linux/amd64"))
    assert "2 layers" in amd64_line
    assert any(f"missing config {config}" in line for line in lines)
    assert any(line.strip().startswith("✓ linux/arm64/v8") for line in lines)
    assert any(line.strip().startswith("✓ attestation for linux/arm64/v8") for line in lines)
