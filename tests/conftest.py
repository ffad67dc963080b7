"""Test policy: the sandbox gives a real engine, registries and keyring.

Tests that need the engine fail (never skip) under CI=true when it is not reachable.
Every test gets its own empty DOCKER_CONFIG and dockpush config folder, so no test can
read or write the user's ~/.docker or settings.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import keyring.core
import pytest

from tests.harness.hostile_registry import HostileRegistry
from tests.harness.sandbox import SandboxInfo
from tests.multiplatform import LoadedIndexes, loaded_indexes

HOW_TO_START = (
    "the sandbox engine is not reachable; start it with `scripts/sandbox up` and "
    '`eval "$(scripts/sandbox env)"`, or run everything with `scripts/test`'
)


def _sandbox_info() -> SandboxInfo | None:
    state = os.environ.get("DOCKPUSH_SANDBOX_DIR")
    if not state or not (Path(state) / "env.json").exists():
        return None
    return SandboxInfo(**json.loads((Path(state) / "env.json").read_text()))


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: engine tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def sandbox() -> SandboxInfo:
    """The running sandbox; fails under CI when it is not there."""
    found = _sandbox_info()
    if found is None:
        _unavailable(HOW_TO_START)
    assert found is not None
    try:
        docker.DockerClient(base_url=found.docker_host, version="auto", timeout=10).ping()
    except Exception as error:  # any failure means the same thing here
        _unavailable(f"{HOW_TO_START} ({error})")
    return found


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty docker config and dockpush config and state folders for every test."""
    docker_config = tmp_path / "docker-config"
    docker_config.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(docker_config))
    monkeypatch.setenv("DOCKPUSH_CONFIG_DIR", str(tmp_path / "dockpush-config"))
    monkeypatch.setenv("DOCKPUSH_STATE_DIR", str(tmp_path / "dockpush-state"))
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    monkeypatch.delenv("DOCKER_TLS_VERIFY", raising=False)
    monkeypatch.delenv("DOCKER_CERT_PATH", raising=False)
    return docker_config


# The two Docker image stores every workflow test runs on: Debian 12's engine 20.10 (classic
# store) and the newest engine Debian ships with the containerd image store.
IMAGE_STORES = ("classic", "containerd")


def engine_host(sandbox: SandboxInfo, store: str) -> str:
    """The sandbox engine that uses `store`."""
    return sandbox.containerd_docker_host if store == "containerd" else sandbox.docker_host


@pytest.fixture(params=IMAGE_STORES)
def image_store(request: pytest.FixtureRequest) -> str:
    """Which image store the engine under test uses (each test runs once per store)."""
    return str(request.param)


def _client_on(host: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[docker.DockerClient]:
    monkeypatch.setenv("DOCKER_HOST", host)
    client = docker.DockerClient(base_url=host, version="auto", timeout=120)
    yield client
    client.close()


@pytest.fixture
def engine_client(
    sandbox: SandboxInfo, image_store: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[docker.DockerClient]:
    """A docker-py client on the sandbox engine of each image store (DOCKER_HOST points there
    too, so the app under test uses the same engine)."""
    yield from _client_on(engine_host(sandbox, image_store), monkeypatch)


@pytest.fixture
def classic_engine_client(
    sandbox: SandboxInfo, monkeypatch: pytest.MonkeyPatch
) -> Iterator[docker.DockerClient]:
    """The classic-store engine only, for tests about engine choice rather than image stores."""
    yield from _client_on(sandbox.docker_host, monkeypatch)


@pytest.fixture
def containerd_engine_client(
    sandbox: SandboxInfo, monkeypatch: pytest.MonkeyPatch
) -> Iterator[docker.DockerClient]:
    """The containerd-store engine only (multi-platform images live there)."""
    yield from _client_on(sandbox.containerd_docker_host, monkeypatch)


@pytest.fixture
def unique() -> str:
    """A short unique suffix for repository names and image seeds."""
    return uuid.uuid4().hex[:10]


def _removing(client: docker.DockerClient) -> Iterator[list[str]]:
    """A list for the references a test creates in `client`'s engine; each is removed when
    the test ends, whatever happened."""
    created: list[str] = []
    yield created
    for reference in created:
        with contextlib.suppress(docker.errors.APIError):
            client.api.remove_image(reference)


@pytest.fixture
def remove_afterwards(engine_client: docker.DockerClient) -> Iterator[list[str]]:
    """References a test creates in the engine; removed when it ends, whatever happened."""
    yield from _removing(engine_client)


@pytest.fixture
def remove_on_classic(classic_engine_client: docker.DockerClient) -> Iterator[list[str]]:
    """Tags a test makes on the classic-store engine, removed when it ends."""
    yield from _removing(classic_engine_client)


@pytest.fixture
def remove_on_containerd(containerd_engine_client: docker.DockerClient) -> Iterator[list[str]]:
    """Tags a test makes on the containerd-store engine, removed when it ends."""
    yield from _removing(containerd_engine_client)


@pytest.fixture
def indexes(containerd_engine_client: docker.DockerClient, unique: str) -> Iterator[LoadedIndexes]:
    """A complete and an incomplete index of this test's own on the containerd-store engine."""
    with loaded_indexes(containerd_engine_client, unique) as loaded:
        yield loaded


@pytest.fixture
def secret_service(sandbox: SandboxInfo, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """keyring on the sandbox's gnome-keyring (the real Secret Service), re-detected."""
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", sandbox.dbus_address)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.SecretService.Keyring")
    keyring.core.init_backend()
    yield
    keyring.core.init_backend()


@pytest.fixture
def hostile() -> Iterator[HostileRegistry]:
    """A hostile registry on loopback (tests/harness/hostile_registry.py) for this test."""
    with HostileRegistry() as registry:
        yield registry
