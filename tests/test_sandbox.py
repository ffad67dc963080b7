"""The harness itself is real: push a seeded image to each sandbox registry and read it back."""

from __future__ import annotations

import json

import docker
import requests

from tests.harness.sandbox import SEED_IMAGES, SandboxInfo

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"


def _push(client: docker.DockerClient, reference: str, auth: dict | None) -> str:
    """Push with docker-py and return the digest from the closing aux message."""
    digest = ""
    for line in client.api.push(reference, stream=True, decode=True, auth_config=auth):
        assert "error" not in line, line
        digest = line.get("aux", {}).get("Digest", digest)
    assert digest.startswith("sha256:")
    return digest


def test_seeded_images_are_present(engine_client: docker.DockerClient) -> None:
    tags = {tag for image in engine_client.images.list() for tag in image.tags}
    assert set(SEED_IMAGES) <= tags
    assert {"dockpush-demo/multi:1.1", "dockpush-demo/multi:latest"} <= tags
    assert engine_client.images.list(filters={"dangling": True})
    layered = engine_client.images.get("dockpush-demo/layers:2.3.1")
    assert len(layered.attrs["RootFS"]["Layers"]) == 4


def test_push_to_each_registry_and_read_back(
    engine_client: docker.DockerClient, sandbox: SandboxInfo, unique: str
) -> None:
    registries = [
        (sandbox.open_registry, None),
        (sandbox.auth_registry, {"username": sandbox.user, "password": sandbox.password}),
    ]
    for registry, auth in registries:
        repository = f"{registry}/harness/tiny-{unique}"
        engine_client.api.tag("dockpush-demo/tiny:1.0", repository, "1.0")
        pushed = _push(engine_client, f"{repository}:1.0", auth)
        basic = (sandbox.user, sandbox.password) if auth else None
        response = requests.get(
            f"http://{registry}/v2/harness/tiny-{unique}/manifests/1.0",
            headers={"Accept": MANIFEST_V2},
            auth=basic,
            timeout=10,
        )
        assert response.status_code == 200
        assert response.headers["Docker-Content-Digest"] == pushed
        assert json.loads(response.content)["mediaType"] == MANIFEST_V2
        engine_client.api.remove_image(f"{repository}:1.0")


def test_auth_registry_rejects_anonymous(sandbox: SandboxInfo) -> None:
    response = requests.get(f"http://{sandbox.auth_registry}/v2/", timeout=10)
    assert response.status_code == 401
    assert "Basic" in response.headers["WWW-Authenticate"]
