"""The engine adapter against the real sandbox engine and registries."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import docker
import pytest
import requests

from app.core.contexts import resolve_endpoint
from app.core.credentials import Login
from app.core.engine import Engine
from app.core.errors import (
    AuthenticationFailed,
    AuthenticationRequired,
    EngineUnreachable,
    ImageNotFound,
    ManifestNotFound,
    PushCancelled,
    RegistryUnreachable,
)
from app.core.platforms import SizeKind
from app.core.progress import Phase, PushProgress
from app.core.reference import parse_normalized
from app.core.secret import Secret
from tests.harness.images import build_image
from tests.harness.sandbox import SandboxInfo

LAYERS = "dockpush-demo/layers:2.3.1"


@pytest.fixture
def engine(engine_client: docker.DockerClient, unique: str) -> Iterator[Engine]:
    """The adapter on the sandbox engine. Tags this test made (every name it makes carries its
    `unique` suffix) are removed when it ends; tests running in parallel keep theirs."""
    connected = Engine.connect()
    yield connected
    connected.close()
    for image in engine_client.images.list():
        for tag in image.tags:
            if unique in tag:
                with contextlib.suppress(docker.errors.APIError):
                    engine_client.api.remove_image(tag, noprune=True)


def _login(sandbox: SandboxInfo, password: str | None = None) -> Login:
    return Login(sandbox.auth_registry, sandbox.user, Secret(password or sandbox.password))


def _fold(stream) -> PushProgress:
    progress = PushProgress()
    for index, event in enumerate(stream):
        progress.apply(event, float(index))
    return progress


def test_connect_follows_docker_host(engine: Engine, sandbox: SandboxInfo) -> None:
    # engine_client pointed DOCKER_HOST at the engine of the store under test.
    assert engine.host == os.environ["DOCKER_HOST"]
    assert engine.host in {sandbox.docker_host, sandbox.containerd_docker_host}
    assert engine.version()["ApiVersion"]


def test_connect_to_nothing_explains(tmp_path) -> None:
    host = f"unix://{tmp_path}/missing.sock"
    with pytest.raises(EngineUnreachable) as raised:
        Engine.connect(resolve_endpoint(host))
    assert host in raised.value.explanation
    assert "DOCKER_HOST" in raised.value.next_step


def test_list_inspect_and_history(engine: Engine) -> None:
    images = engine.list_images()
    tagged = {tag: image for image in images for tag in image.repo_tags}
    assert LAYERS in tagged
    assert any(image.dangling for image in images)
    assert not any(image.dangling for image in engine.list_images(include_dangling=False))
    multi = tagged["dockpush-demo/multi:1.0"]
    assert set(multi.repo_tags) >= {"dockpush-demo/multi:1.1", "dockpush-demo/multi:latest"}
    details = engine.inspect_image(LAYERS)
    assert details.layer_count == 4
    assert details.os == "linux"
    history = engine.image_history(LAYERS)
    assert any("COPY" in step.created_by for step in history)
    layers = tagged[LAYERS]
    own_sizes = sum(step.size for step in history)
    if layers.size_kind is SizeKind.UNPACKED:
        assert own_sizes == layers.size == details.size
    else:
        # The containerd store lists content (compressed) sizes; history gives each layer's
        # unpacked size, never the layers below added in. The seed's bytes do not compress.
        assert layers.size_kind is SizeKind.CONTENT
        assert abs(own_sizes - layers.size) < layers.size * 0.05


def test_missing_image_is_typed(engine: Engine) -> None:
    with pytest.raises(ImageNotFound):
        engine.inspect_image("dockpush-demo/never-built:1")


def test_tag_and_untag(engine: Engine, unique: str) -> None:
    target = parse_normalized(f"example.test/team/tiny-{unique}:1.0")
    engine.tag("dockpush-demo/tiny:1.0", target)
    assert str(target) in engine.inspect_image(str(target)).repo_tags
    engine.untag(target)
    with pytest.raises(ImageNotFound):
        engine.inspect_image(str(target))


def test_login_check(engine: Engine, sandbox: SandboxInfo) -> None:
    assert "Succeeded" in engine.check_login(_login(sandbox))
    with pytest.raises(AuthenticationFailed) as raised:
        engine.check_login(_login(sandbox, "wrong-password"))
    assert "dockpush" in raised.value.explanation
    assert "wrong-password" not in str(raised.value) + str(raised.value.detail)


def test_login_check_unreachable_registry(engine: Engine, sandbox: SandboxInfo) -> None:
    with pytest.raises(RegistryUnreachable):
        engine.check_login(Login("127.0.0.1:1", "someone", Secret("x")))


def test_push_with_layer_sizes_matching_stream_ids(
    engine: Engine, engine_client: docker.DockerClient, sandbox: SandboxInfo, unique: str
) -> None:
    target = parse_normalized(f"{sandbox.auth_registry}/engine/push-{unique}:1")
    build_image(engine_client, str(target), [300_000, 2_000_000], f"engine-{unique}")
    sizes = engine.layer_sizes(str(target))
    progress = PushProgress(expected_sizes=sizes)
    for index, event in enumerate(engine.push(target, _login(sandbox))):
        progress.apply(event, float(index))
    assert progress.succeeded
    assert set(progress.layers) == set(sizes)
    assert progress.bytes_done == progress.bytes_to_upload
    remote = engine.distribution_inspect(target, _login(sandbox))
    assert progress.result is not None and remote.digest == progress.result.digest
    assert "linux/amd64" in remote.platforms or remote.platforms
    again = PushProgress(expected_sizes=sizes)
    for index, event in enumerate(engine.push(target, _login(sandbox))):
        again.apply(event, float(index))
    assert {layer.phase for layer in again.layers.values()} == {Phase.EXISTS}
    assert again.bytes_skipped == sum(sizes.values())


def test_push_without_login_raises_even_though_http_succeeded(
    engine: Engine, engine_client: docker.DockerClient, sandbox: SandboxInfo, unique: str
) -> None:
    target = parse_normalized(f"{sandbox.auth_registry}/engine/anon-{unique}:1")
    engine.tag("dockpush-demo/tiny:1.0", target)
    seen = PushProgress()
    with pytest.raises(AuthenticationRequired):
        for index, event in enumerate(engine.push(target, None)):
            seen.apply(event, float(index))
    assert seen.error is not None and not seen.succeeded


def test_push_of_missing_image(engine: Engine, sandbox: SandboxInfo, unique: str) -> None:
    target = parse_normalized(f"{sandbox.open_registry}/engine/missing-{unique}:1")
    with pytest.raises(ImageNotFound):
        _fold(engine.push(target, None))


def test_push_to_unreachable_registry(engine: Engine, unique: str) -> None:
    target = parse_normalized(f"127.0.0.1:1/engine/nowhere-{unique}:1")
    engine.tag("dockpush-demo/tiny:1.0", target)
    with pytest.raises(RegistryUnreachable):
        _fold(engine.push(target, None))


def test_distribution_inspect_of_unknown_tag(engine: Engine, sandbox: SandboxInfo) -> None:
    target = parse_normalized(f"{sandbox.open_registry}/engine/never-pushed:1")
    with pytest.raises(ManifestNotFound):
        engine.distribution_inspect(target, None)


def test_cancel_closes_the_stream(
    engine: Engine, engine_client: docker.DockerClient, sandbox: SandboxInfo, unique: str
) -> None:
    target = parse_normalized(f"{sandbox.open_registry}/engine/cancel-{unique}:1")
    build_image(engine_client, str(target), [40_000_000], f"cancel-{unique}")
    stream = engine.push(target, None)
    with pytest.raises(PushCancelled):
        for event in stream:
            if event.status == "Pushing":
                stream.cancel()
    tags = requests.get(
        f"http://{sandbox.open_registry}/v2/engine/cancel-{unique}/tags/list", timeout=10
    )
    assert tags.status_code == 404 or "1" not in (tags.json().get("tags") or [])
