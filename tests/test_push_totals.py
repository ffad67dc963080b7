"""Push numbers that are true on both image stores, checked against the registry itself.

After a push, the overall total must equal the sum of the layer sizes the pushed manifest
states; the registry's manifest is fetched here over plain HTTP, independently of the app.
"""

from __future__ import annotations

import docker
import pytest
import requests

from app.core.engine import Engine
from app.core.engine_info import ImageStore
from app.core.platforms import Platform
from app.core.progress import Phase, PushProgress, describe_overall
from app.core.reference import parse_normalized
from app.ui.app import DockpushApp
from app.ui.screens.push import ItemState, PushScreen
from tests.harness import sandbox as sandbox_control
from tests.harness.images import build_image
from tests.harness.oci_layout import build_index, layout_tarball
from tests.harness.sandbox import SandboxInfo
from tests.ui import open_push_screen, push_and_wait

# One layer small enough to finish within the containerd store's 100 ms tick (so the
# engine may send no total for it), one that takes several ticks.
LAYERS = [1_500, 300_000, 6_000_000]
ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)


def registry_layer_bytes(registry: str, repository: str, digest: str) -> int:
    """The sum of the layer sizes the manifest `digest` states (every manifest of an index;
    a blob two manifests share counted once), read straight from the registry."""
    sizes: dict[str, int] = {}
    pending = [digest]
    while pending:
        answer = requests.get(
            f"http://{registry}/v2/{repository}/manifests/{pending.pop()}",
            headers={"Accept": ACCEPT},
            timeout=10,
        )
        answer.raise_for_status()
        body = answer.json()
        sizes |= {layer["digest"]: layer["size"] for layer in body.get("layers", [])}
        pending += [child["digest"] for child in body.get("manifests", [])]
    return sum(sizes.values())


async def test_overall_total_after_push_equals_the_pushed_manifest(
    engine_client: docker.DockerClient,
    image_store: str,
    sandbox: SandboxInfo,
    unique: str,
    remove_afterwards: list[str],
) -> None:
    reference = f"{sandbox.open_registry}/totals/app-{unique}:1"
    build_image(engine_client, reference, LAYERS, f"totals-{unique}")
    second = parse_normalized(f"{sandbox.open_registry}/totals/copy-{unique}:1")
    engine_client.api.tag(reference, second.name, second.tag)
    remove_afterwards += [reference, str(second)]
    first = parse_normalized(reference)
    store = ImageStore.CONTAINERD if image_store == "containerd" else ImageStore.CLASSIC
    seen: list[PushScreen.PushProgressed] = []

    def keep(message: object) -> None:
        if isinstance(message, PushScreen.PushProgressed):
            seen.append(message)

    # First push, the same again (every layer exists), then to a second repository of the
    # same registry (every layer mounted): the same total each time.
    for attempt, target in (("first", first), ("repeat", first), ("mount", second)):
        seen.clear()
        app = DockpushApp()
        async with app.run_test(size=(130, 45), message_hook=keep) as pilot:
            screen = await open_push_screen(pilot, [target])
            await push_and_wait(pilot, screen)
            item = screen.items[0]
            assert item.state is ItemState.DONE and item.result is not None
            stated = registry_layer_bytes(sandbox.open_registry, target.path, item.result.digest)
            snap = item.snapshot
            assert snap is not None and snap.store is store
            assert snap.overall_total == snap.stated_layer_bytes == stated
            assert snap.fraction == 1.0
            label = str(screen.query_one("#overall-label").render())
            assert "as the registry stores them" in label
            note = str(screen.query_one("#size-note").render()).lower()
            if store is ImageStore.CLASSIC:
                assert "rows: uncompressed" in note and "total: compressed" in note
            else:
                assert note.startswith("compressed layer sizes") and "uncompressed" not in note
                # Compressed bytes on this store: the engine's own count adds up too.
                assert snap.bytes_to_upload + snap.bytes_skipped == stated
            # Its text changes with the stage: the longer one is not cut off on screen.
            assert screen.query_one("#size-note").region.width >= len(note)
            if attempt != "first":
                skipped = Phase.EXISTS if attempt == "repeat" else Phase.MOUNTED
                assert {view.phase for view in snap.layers} == {skipped}
                assert snap.layers_skipped == len(LAYERS)
                assert f"{len(LAYERS)} layers already in the registry" in label
                assert snap.bytes_skipped > 0
        fractions = [message.snapshot.fraction for message in seen]
        assert fractions == sorted(fractions), "the overall bar went backwards"
        texts = [describe_overall(message.snapshot) for message in seen]
        assert not any("no per-layer progress" in text for text in texts)
        assert not any("Uploading  in" in text for text in texts)


@pytest.mark.parametrize(
    ("name", "platform"),
    [
        pytest.param("multi", None, id="whole-index"),
        pytest.param("arm", Platform("linux", "arm64", "v8"), id="one-platform"),
    ],
)
def test_push_sizes_match_the_pushed_manifest(
    containerd_engine_client: docker.DockerClient,
    sandbox: SandboxInfo,
    unique: str,
    name: str,
    platform: Platform | None,
) -> None:
    """An index pushed whole: both platforms' layers and the attestations' blobs, every one
    with a size, add up to what the pushed index states. One platform pushed alone: its
    layers add up to that platform's manifest."""
    reference = f"{sandbox.open_registry}/totals/{name}-{unique}:1.0"
    layout = build_index(sandbox_control.seed_platforms(), f"totals-{name}-{unique}")
    containerd_engine_client.api.load_image(layout_tarball(layout, reference))
    engine = Engine.connect()
    try:
        assert engine.image_store is ImageStore.CONTAINERD
        target = parse_normalized(reference)
        progress = PushProgress(expected_sizes=engine.layer_sizes(reference, platform))
        for index, event in enumerate(engine.push(target, None, platform)):
            progress.apply(event, index * 0.1)
        assert progress.succeeded and progress.result is not None
        stated = registry_layer_bytes(sandbox.open_registry, target.path, progress.result.digest)
        assert set(progress.layers) == set(progress.expected_sizes)
        assert progress.bytes_done == progress.bytes_to_upload == stated
    finally:
        engine.close()
        containerd_engine_client.api.remove_image(reference)
