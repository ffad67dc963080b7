"""Multi-platform images in the engine adapter and the browser, on both image stores."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import docker
import pytest
from textual.widgets import Input, Static

from app.core.contexts import resolve_endpoint
from app.core.engine import Engine
from app.core.images import platforms_cell, pushed_this_session, registry_digests
from app.core.platforms import (
    ImageManifests,
    ManifestKind,
    Platform,
    SizeKind,
    api_at_least,
    distinct,
    manifests_from_engine,
    own_layer_sizes,
)
from app.core.preflight import PUSHES, Outcome, run_preflight
from app.core.reference import parse_normalized
from app.core.units import human_size
from app.ui.app import DockpushApp
from app.ui.screens.browser import ImageBrowserScreen
from app.ui.widgets.image_table import ImageTable
from tests.harness.sandbox import INCOMPLETE_IMAGE, MULTIPLATFORM_IMAGE, SandboxInfo
from tests.multiplatform import MISSING_PLATFORM, LoadedIndexes
from tests.ui import settle, wait_for_screen, wait_until

# The sandbox's layered seed: 512 KiB, 3 MiB, 20 MiB and 8 MiB of incompressible bytes.
SEED_LAYERS = [512 * 1024, 3 * 1024 * 1024, 20 * 1024 * 1024, 8 * 1024 * 1024]


@pytest.fixture
def engines_1_45_and_native(
    containerd_engine_client: docker.DockerClient, sandbox: SandboxInfo
) -> Iterator[tuple[Engine, Engine]]:
    """The containerd-store engine spoken to at API 1.45 (Docker 26.1.5, Debian trixie's: no
    platform listing, no push of one platform), and at its own API version."""
    host = sandbox.containerd_docker_host
    pinned = Engine(docker.DockerClient(base_url=host, version="1.45"), resolve_endpoint(host))
    native = Engine.connect(resolve_endpoint(host))
    try:
        yield pinned, native
    finally:
        pinned.close()
        native.close()


def _without_unpacked(manifests: ImageManifests | None) -> ImageManifests | None:
    """The manifests as an export shows them: an export holds no unpacked snapshots."""
    if manifests is None:
        return None
    entries = tuple(dataclasses.replace(e, unpacked_size=0) for e in manifests.entries)
    return ImageManifests(manifests.media_type, entries)


def _image(engine: Engine, reference: str):
    return next(i for i in engine.list_images() if reference in i.repo_tags)


def test_platform_helpers() -> None:
    assert str(Platform.parse("linux/arm64/v8")) == "linux/arm64/v8"
    assert Platform.parse("linux/amd64").to_json() == '{"os":"linux","architecture":"amd64"}'
    with pytest.raises(ValueError):
        Platform.parse("amd64")
    # The native snapshotter's history counts every layer below too.
    assert own_layer_sizes([100, 0, 350, 360, 0]) == [100, 0, 250, 10, 0]
    assert manifests_from_engine({"Id": "sha256:1"}) is None
    # An engine that lists a tag twice (seen after loading an OCI layout) gets one row per tag.
    assert distinct(["a/b:1", "a/b:1", "c:2"]) == ("a/b:1", "c:2")


def test_containerd_engine_lists_platforms_missing_content_and_attestations(
    indexes: LoadedIndexes,
) -> None:
    engine = Engine.connect()
    try:
        assert api_at_least(engine.api_version, (1, 47)) and engine.pushes_one_platform
        full = _image(engine, indexes.full.reference)
        incomplete = _image(engine, indexes.incomplete.reference)
    finally:
        engine.close()
    assert full.manifests is not None and full.manifests.is_index and full.manifests.multi_platform
    platforms = {str(e.platform): e for e in full.manifests.platforms}
    assert set(platforms) == {"linux/amd64", MISSING_PLATFORM}
    assert platforms["linux/amd64"].digest == indexes.full.layout.manifests["linux/amd64"]
    assert not full.manifests.missing
    # Attestations are listed apart, each naming the platform manifest it is about.
    attestations = full.manifests.attestations
    assert len(attestations) == 2
    assert all(a.kind is ManifestKind.ATTESTATION and a.platform is None for a in attestations)
    assert {full.manifests.platform_of(a.attests) for a in attestations} == set(platforms)
    assert platforms_cell(full) == "2"

    assert incomplete.manifests is not None
    assert [str(e.platform) for e in incomplete.manifests.missing] == [MISSING_PLATFORM]
    assert platforms_cell(incomplete) == "2 (1 missing)"
    assert "1 missing locally" in incomplete.manifests.summary()

    # Sizes: one meaning, the content the engine lists (docker image ls --tree's CONTENT SIZE).
    assert full.size_kind is SizeKind.CONTENT
    assert full.size == sum(e.content_size for e in full.manifests.entries)
    assert incomplete.size < full.size
    # This store gives the tag a repo digest though nothing was pushed: not shown as pushed.
    assert full.repo_digests and full.containerd_store
    assert registry_digests(full) == ()
    # What this session pushed is shown, under the tag it pushed (the registry's digest).
    pushed = {f"docker.io/{indexes.full.reference}": "sha256:" + "a" * 64}
    assert pushed_this_session(full, pushed) == (f"{indexes.full.reference}  sha256:{'a' * 64}",)
    assert pushed_this_session(incomplete, pushed) == ()
    assert len(full.repo_tags) == len(set(full.repo_tags))


def test_classic_engine_is_single_platform(classic_engine_client: docker.DockerClient) -> None:
    engine = Engine.connect()
    try:
        assert not engine.pushes_one_platform  # 20.10 speaks API 1.41
        image = _image(engine, "dockpush-demo/layers:2.3.1")
        details = engine.inspect_image("dockpush-demo/layers:2.3.1")
    finally:
        engine.close()
    assert image.manifests is None and details.manifests is None
    assert image.size_kind is SizeKind.UNPACKED and platforms_cell(image) == "1"
    assert (details.os, details.architecture) == ("linux", "amd64")
    assert image.size == details.size  # the list and inspect count the same


def test_layer_sizes_are_each_layers_own(engine_client: docker.DockerClient) -> None:
    engine = Engine.connect()
    try:
        history = engine.image_history("dockpush-demo/layers:2.3.1")
    finally:
        engine.close()
    sizes = [step.size for step in history if step.size]
    assert len(sizes) == len(SEED_LAYERS)
    for size, seeded in zip(sizes, SEED_LAYERS, strict=True):
        # Unpacked sizes round up to file-system blocks; never the layers below added in.
        assert seeded <= size < seeded * 1.05 + 16 * 1024


async def _open_browser(pilot, query: str) -> ImageBrowserScreen:
    await wait_for_screen(pilot, ImageBrowserScreen)
    screen = pilot.app.screen
    await wait_until(pilot, lambda: bool(screen.all_rows), timeout=20)
    await pilot.press("slash", *query, "enter")
    await settle(pilot.app, pilot)
    return screen


def _detail(screen: ImageBrowserScreen) -> str:
    return str(screen.query_one("#detail", Static).render())


def _cell(screen: ImageBrowserScreen, column: str) -> str:
    table = screen.query_one(ImageTable)
    index = [c.key for c in table.columns].index(column)
    return table.row(table.cursor_row)[index]


async def test_browser_shows_platforms_missing_and_attestations_apart(
    indexes: LoadedIndexes,
) -> None:
    app = DockpushApp()
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _open_browser(pilot, indexes.full.repository)
        await wait_until(pilot, lambda: "Platforms" in _detail(screen))
        detail = _detail(screen)
        assert "multi-platform: 2 platforms, 2 attestations" in detail
        platforms_part, _, attestations_part = detail.partition("Attestations (not platforms)")
        assert "linux/amd64" in platforms_part and MISSING_PLATFORM in platforms_part
        assert "missing locally" not in platforms_part
        assert attestations_part.count("for linux/amd64") == 1
        assert attestations_part.count(f"for {MISSING_PLATFORM}") == 1
        assert "unknown/unknown" not in detail
        assert _cell(screen, "platforms") == "2"
        # One size, one meaning, in the list and the pane.
        size_line = next(line for line in detail.splitlines() if line.startswith("Size "))
        assert f"{_cell(screen, 'size')} content size" in size_line
        labels = [c.label for c in screen.query_one(ImageTable).columns]
        assert "Content size" in labels
        assert "(none recorded by this engine)" in detail

        screen.query_one("#filter", Input).value = indexes.incomplete.repository
        await settle(app, pilot)
        await wait_until(pilot, lambda: "1 missing locally" in _detail(screen))
        detail = _detail(screen)
        missing_line = next(line for line in detail.splitlines() if MISSING_PLATFORM in line)
        assert "missing locally" in missing_line
        assert _cell(screen, "platforms") == "2 (1 missing)"


async def test_sizes_agree_between_list_and_pane(engine_client: docker.DockerClient) -> None:
    app = DockpushApp()
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _open_browser(pilot, "dockpush-demo/layers")
        await wait_until(pilot, lambda: "layers" in _detail(screen) and "COPY" in _detail(screen))
        image = screen.shown_rows[0].image
        label = str(image.size_kind).capitalize()
        size = _cell(screen, "size")
        assert size == human_size(image.size)
        assert label in [c.label for c in screen.query_one(ImageTable).columns]
        size_line = next(line for line in _detail(screen).splitlines() if line.startswith("Size "))
        assert f"{size} {image.size_kind}" in size_line
        assert "4 layers" in _detail(screen) and "each layer's unpacked size" in _detail(screen)
        if image.manifests is None:
            assert "(single platform)" in _detail(screen)
        else:
            assert "single platform" in image.manifests.summary()


def test_api_1_45_reads_platforms_from_an_export_as_the_engine_lists_them(
    engines_1_45_and_native: tuple[Engine, Engine], indexes: LoadedIndexes
) -> None:
    pinned, native = engines_1_45_and_native
    assert pinned.api_version == "1.45" and not api_at_least(pinned.api_version, (1, 47))
    references = (
        MULTIPLATFORM_IMAGE,
        INCOMPLETE_IMAGE,
        indexes.full.reference,
        indexes.incomplete.reference,
        "dockpush-demo/tiny:1.0",
    )
    for reference in references:
        exported = pinned.inspect_image(reference)
        listed = native.inspect_image(reference)
        assert exported.manifests is not None, exported.manifests_unread
        assert exported.manifests == _without_unpacked(listed.manifests), reference
        # Layer sizes come from the same single read of an export on both.
        assert pinned.layer_sizes(reference) == native.layer_sizes(reference)
    incomplete = pinned.inspect_image(INCOMPLETE_IMAGE).manifests
    assert incomplete is not None
    assert [str(e.platform) for e in incomplete.missing] == [MISSING_PLATFORM]
    assert len(incomplete.attestations) == 2 and all(a.available for a in incomplete.attestations)
    tiny = pinned.inspect_image("dockpush-demo/tiny:1.0").manifests
    assert tiny is not None and not tiny.is_index
    # The image list of this API names no platforms: the cell says it does not know.
    assert platforms_cell(_image(pinned, MULTIPLATFORM_IMAGE)) == "?"


def test_api_1_45_preflight_names_the_missing_platform(
    engines_1_45_and_native: tuple[Engine, Engine],
    indexes: LoadedIndexes,
    containerd_engine_client: docker.DockerClient,
    sandbox: SandboxInfo,
) -> None:
    pinned, _native = engines_1_45_and_native
    target = parse_normalized(f"{sandbox.open_registry}/{indexes.incomplete.repository}:1")
    containerd_engine_client.api.tag(indexes.incomplete.reference, target.name, target.tag)
    try:
        (report,) = run_preflight(pinned, [target], lambda _domain: None)
    finally:
        containerd_engine_client.api.remove_image(str(target))
    check = next(c for c in report.checks if c.name == PUSHES)
    assert not report.ready and check.outcome is Outcome.FAILED
    assert f"the content of {MISSING_PLATFORM} is not in the local store" in check.detail
    # API 1.45 cannot push one platform, and the pre-flight says why instead of offering it.
    assert "needs API 1.46" in check.fix and report.platforms == ()


async def test_api_1_45_browser_shows_platforms_read_from_an_export(
    indexes: LoadedIndexes, sandbox: SandboxInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = sandbox.containerd_docker_host

    def connect_at_1_45(endpoint=None, timeout: int = 60) -> Engine:
        # The real engine, spoken to as Debian trixie's Docker 26.1.5 would answer.
        client = docker.DockerClient(base_url=host, version="1.45", timeout=timeout)
        return Engine(client, resolve_endpoint(host), "Docker Engine 26.1.5")

    monkeypatch.setattr(Engine, "connect", connect_at_1_45)
    app = DockpushApp()
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _open_browser(pilot, indexes.incomplete.repository)
        await wait_until(pilot, lambda: "1 missing locally" in _detail(screen), timeout=20)
        detail = _detail(screen)
        missing_line = next(line for line in detail.splitlines() if MISSING_PLATFORM in line)
        assert "missing locally" in missing_line
        assert "Attestations (not platforms)" in detail and "unknown/unknown" not in detail
        # This API's image list names no platforms; the list says so rather than guess.
        assert _cell(screen, "platforms") == "?"


def test_api_1_45_says_why_a_large_image_platforms_are_not_read(
    engines_1_45_and_native: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    pinned, _native = engines_1_45_and_native
    # Reading platforms streams the whole image; above the bound, they are left unknown.
    monkeypatch.setattr("app.core.engine.MAX_SIZE_EXPORT_BYTES", 100_000)
    details = pinned.inspect_image(MULTIPLATFORM_IMAGE)
    assert details.manifests is None
    assert "does not list an image's platforms" in details.manifests_unread
    assert "would stream all" in details.manifests_unread
