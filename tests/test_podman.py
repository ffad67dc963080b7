"""Podman's Docker-compatible API: listing, tagging, pushing and verifying through it.

The sandbox runs `podman system service` twice on one store: "podman" marks the sandbox
registries insecure (CONTAINERS_REGISTRIES_CONF), "podman-strict" does not, so a push
there meets Podman's real plain-HTTP error.
"""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

from app.core.contexts import resolve_endpoint
from app.core.engine import Engine
from app.core.errors import InsecureRegistry
from app.core.progress import PushProgress
from app.core.reference import parse_normalized
from app.core.verify import verify
from tests.harness.images import import_untagged
from tests.harness.sandbox import SandboxInfo


@pytest.fixture
def podman(sandbox: SandboxInfo) -> Iterator[Engine]:
    engine = Engine.connect(resolve_endpoint(sandbox.podman_host))
    yield engine
    engine.close()


@pytest.fixture
def podman_image(sandbox: SandboxInfo, unique: str) -> Iterator[str]:
    """A fresh image in Podman's store (its id), removed afterwards."""
    client = docker.DockerClient(base_url=sandbox.podman_host, version="auto")
    image_id = import_untagged(client, f"podman-{unique}", size=200_000)
    yield image_id
    client.api.remove_image(image_id, force=True)
    client.close()


def test_podman_lists_tags_pushes_and_verifies(
    podman: Engine, podman_image: str, sandbox: SandboxInfo, unique: str
) -> None:
    assert podman.product.startswith("Podman Engine")
    target = parse_normalized(f"{sandbox.open_registry}/podman/app-{unique}:1.0")
    podman.tag(podman_image, target)
    listed = {tag for image in podman.list_images() for tag in image.repo_tags}
    assert str(target) in listed

    progress = PushProgress()
    for index, event in enumerate(podman.push(target, None)):
        progress.apply(event, float(index))
    # Podman reports no layer lines, only "TAG: digest: … size: …", which must count.
    assert progress.succeeded and progress.result is not None
    assert progress.result.digest.startswith("sha256:")

    report = verify(target, None, progress.result.digest, engine=podman)
    assert report.passed, [(c.name, c.outcome, c.detail) for c in report.checks]


def test_podman_without_insecure_registry_gives_its_real_error(
    sandbox: SandboxInfo, podman_image: str, unique: str
) -> None:
    strict = Engine.connect(resolve_endpoint(sandbox.podman_strict_host))
    try:
        target = parse_normalized(f"{sandbox.open_registry}/podman/strict-{unique}:1.0")
        strict.tag(podman_image, target)
        with pytest.raises(InsecureRegistry) as raised:
            for _event in strict.push(target, None):
                pass
        assert "server gave HTTP response to HTTPS client" in (raised.value.detail or "")
        # Podman's own setting, not the Docker engine's daemon.json.
        assert "registries.conf" in raised.value.next_step
    finally:
        strict.close()


async def test_push_screen_through_podman(
    sandbox: SandboxInfo, podman: Engine, podman_image: str, unique: str
) -> None:
    from app.ui.app import DockpushApp
    from app.ui.screens.browser import ImageBrowserScreen
    from app.ui.screens.push import ItemState
    from tests.ui import open_push_screen, push_and_wait, wait_for_screen, wait_until

    target = parse_normalized(f"{sandbox.open_registry}/podman/ui-{unique}:2.0")
    podman.tag(podman_image, target)
    app = DockpushApp(host=sandbox.podman_host)
    async with app.run_test(size=(130, 45)) as pilot:
        browser = await wait_for_screen(pilot, ImageBrowserScreen)
        # Podman names every image in full: the browser lists them as they are.
        await wait_until(
            pilot, lambda: any(row.reference == str(target) for row in browser.all_rows)
        )
        screen = await open_push_screen(pilot, [target])
        assert all(report.ready for report in screen.reports)
        await push_and_wait(pilot, screen)
        item = screen.items[0]
        assert item.state is ItemState.DONE and item.result is not None
        assert "no per-layer progress" in str(screen.query_one("#overall-label").render())
