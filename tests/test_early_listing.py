"""The listing made over the engine's socket while the app starts: the same images as the
Engine's own listing, nothing at all from an engine it cannot read, and in the app, rows in
the first frame that the regular listing then confirms or corrects."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from app.core.contexts import resolve_endpoint
from app.core.early_listing import EarlyListing, list_over_socket
from app.core.engine import Engine
from app.core.engine_info import ImageStore
from app.core.local_images import LocalImage
from app.ui.app import DockpushApp
from app.ui.screens.browser import ImageBrowserScreen
from tests.harness.sandbox import SandboxInfo
from tests.ui import wait_for_screen, wait_until


def _listed_by_engine(host: str) -> tuple[list, ImageStore]:
    engine = Engine.connect(resolve_endpoint(host))
    try:
        return engine.list_images(), engine.image_store
    finally:
        engine.close()


def _by_id(images: list) -> dict:
    return {image.id: image for image in images}


def _listed(early: EarlyListing) -> list | None:
    assert early.answered(10)
    return early.take()


def test_lists_what_the_engine_lists(engine_client: docker.DockerClient) -> None:
    host = resolve_endpoint().host  # DOCKER_HOST names the engine of each image store
    expected, store = _listed_by_engine(host)
    listed = list_over_socket(host)
    assert listed, "the sandbox engine holds the seeded images"
    assert _by_id(listed) == _by_id(expected)
    assert all(image.containerd_store == (store is ImageStore.CONTAINERD) for image in listed)


def test_lists_what_podman_lists(sandbox: SandboxInfo) -> None:
    expected, store = _listed_by_engine(sandbox.podman_host)
    assert store is ImageStore.PODMAN
    assert _by_id(list_over_socket(sandbox.podman_host)) == _by_id(expected)


def test_the_images_go_to_one_taker(classic_engine_client: docker.DockerClient) -> None:
    early = EarlyListing()  # DOCKER_HOST names the classic engine
    assert early.answered(10)
    images = early.take()
    assert images and _by_id(images) == _by_id(_listed_by_engine(resolve_endpoint().host)[0])
    assert early.take() is None


def test_an_engine_not_on_a_unix_socket_waits_for_docker_py(sandbox: SandboxInfo) -> None:
    assert _listed(EarlyListing(host=sandbox.tls_docker_host)) is None


def test_no_engine_gives_nothing(tmp_path: Path) -> None:
    assert _listed(EarlyListing(host=f"unix://{tmp_path / 'no-engine.sock'}")) is None


def test_an_unknown_context_gives_nothing(sandbox: SandboxInfo) -> None:
    assert _listed(EarlyListing(context="no-such-context")) is None


class _Answer(socketserver.StreamRequestHandler):
    answers: dict[str, bytes] = {}

    def handle(self) -> None:
        while True:
            request = self.rfile.readline()
            if not request:
                return
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            path = request.split()[1].decode()
            body = next((b for prefix, b in self.answers.items() if path.startswith(prefix)), b"")
            status = b"200 OK" if body else b"404 Not Found"
            self.wfile.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )


@pytest.fixture
def hostile_engine(tmp_path: Path) -> Iterator[tuple[str, dict[str, bytes]]]:
    """An engine on a unix socket that answers what the test puts in the dict."""
    answers: dict[str, bytes] = {}
    handler = type("Handler", (_Answer,), {"answers": answers})
    path = tmp_path / "hostile.sock"
    server = socketserver.ThreadingUnixStreamServer(str(path), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"unix://{path}", answers
    finally:
        server.shutdown()
        server.server_close()


VERSION = b'{"ApiVersion": "1.41", "Version": "20.10.24", "Components": [{"Name": "Engine"}]}'


@pytest.mark.parametrize(
    "images_answer",
    [
        b"not json",
        b'{"not": "a list"}',
        b'[{"RepoTags": ["no-id:1"]}]',
        b'[{"Id": "sha256:1", "Created": "yesterday"}]',
        b"",  # an error status
    ],
)
def test_a_malformed_answer_gives_nothing(
    hostile_engine: tuple[str, dict[str, bytes]],
    images_answer: bytes,
    capfd: pytest.CaptureFixture[str],
) -> None:
    host, answers = hostile_engine
    answers.update({"/version": VERSION, "/v1.41/info": b"{}"})
    if images_answer:
        answers["/v1.41/images/json"] = images_answer
    assert _listed(EarlyListing(host=host)) is None
    assert capfd.readouterr().err == ""  # nothing printed over the screen


def test_hostile_text_is_kept_as_data(hostile_engine: tuple[str, dict[str, bytes]]) -> None:
    host, answers = hostile_engine
    answers.update(
        {
            "/version": VERSION,
            "/v1.41/info": b"{}",
            "/v1.41/images/json": (
                b'[{"Id": "sha256:ab", "RepoTags": ["[b]x\\u001b[2J:1"], "Created": 0, "Size": 1}]'
            ),
        }
    )
    images = _listed(EarlyListing(host=host))
    assert images is not None
    assert images[0].repo_tags == ("[b]x\x1b[2J:1",)  # as given; the screens make it printable


async def test_the_regular_listing_follows_the_early_one(
    classic_engine_client: docker.DockerClient, unique: str, remove_on_classic: list[str]
) -> None:
    """An image tagged after the early listing, before the app connects, is shown too."""
    early = EarlyListing()
    assert early.answered(10)
    tag = f"dockpush-early/{unique}"
    # A seeded image with a tag of its own: removing this tag afterwards leaves it in place.
    classic_engine_client.images.get("dockpush-demo/tiny:1.0").tag(tag, "1")
    remove_on_classic.append(f"{tag}:1")

    shown_at_mount: list[LocalImage] = []

    class Browser(ImageBrowserScreen):
        def on_mount(self) -> None:
            super().on_mount()
            shown_at_mount.extend(self.images)

    class App(DockpushApp):
        def first_screen(self) -> ImageBrowserScreen:
            return Browser(self.session)

    app = App(early=early)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await wait_for_screen(pilot, ImageBrowserScreen)
        await wait_until(
            pilot, lambda: any(f"{tag}:1" in image.repo_tags for image in screen.images)
        )
        assert app.session.engine is not None
    assert shown_at_mount, "the early rows are in the screen's first frame"
    assert not any(f"{tag}:1" in image.repo_tags for image in shown_at_mount)
