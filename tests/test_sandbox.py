"""The harness itself is real: push a seeded image to each sandbox registry and read it back."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import requests

from tests.harness.sandbox import INCOMPLETE_IMAGE, MULTIPLATFORM_IMAGE, SEED_IMAGES, SandboxInfo

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
# The classic store pushes Docker's schema 2; the containerd store keeps what the build made (OCI).
MANIFEST_TYPES = {"classic": MANIFEST_V2, "containerd": OCI_MANIFEST}


def _push(client: docker.DockerClient, reference: str, auth: dict | None) -> str:
    """Push with docker-py and return the digest from the closing line: an aux message on the
    classic store, only the `TAG: digest: sha256:… size: N` status on the containerd store."""
    digest = ""
    for line in client.api.push(reference, stream=True, decode=True, auth_config=auth):
        assert "error" not in line, line
        digest = line.get("aux", {}).get("Digest", digest)
        if ": digest: sha256:" in line.get("status", ""):
            digest = line["status"].split(": digest: ", 1)[1].split()[0]
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
    engine_client: docker.DockerClient, image_store: str, sandbox: SandboxInfo, unique: str
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
            headers={"Accept": f"{MANIFEST_V2}, {OCI_MANIFEST}"},
            auth=basic,
            timeout=10,
        )
        assert response.status_code == 200
        assert response.headers["Docker-Content-Digest"] == pushed
        assert json.loads(response.content)["mediaType"] == MANIFEST_TYPES[image_store]
        engine_client.api.remove_image(f"{repository}:1.0")


def test_auth_registry_rejects_anonymous(sandbox: SandboxInfo) -> None:
    response = requests.get(f"http://{sandbox.auth_registry}/v2/", timeout=10)
    assert response.status_code == 401
    assert "Basic" in response.headers["WWW-Authenticate"]


def test_containerd_engine_is_the_newest_debian_engine_with_that_store(
    containerd_engine_client: docker.DockerClient, sandbox: SandboxInfo
) -> None:
    """The second engine runs the containerd image store, from the suite `up` reports."""
    got = json.loads((Path(sandbox.state_dir) / "engine-containerd" / "engine.json").read_text())
    assert got["suite"] in {"sid", "trixie"}
    api = containerd_engine_client.version()["ApiVersion"]
    assert api == got["api"]
    assert tuple(int(part) for part in api.split(".")) >= (1, 45)
    status = dict(containerd_engine_client.info()["DriverStatus"])
    assert status.get("driver-type") == "io.containerd.snapshotter.v1"


def test_multiplatform_seeds_on_the_containerd_engine(
    containerd_engine_client: docker.DockerClient,
) -> None:
    """An index with two platforms and their attestations; the incomplete one lacks arm64."""
    listing = containerd_engine_client.api.get(
        containerd_engine_client.api.base_url + "/images/json", params={"manifests": 1}
    ).json()
    by_tag = {tag: image for image in listing for tag in image["RepoTags"] or []}
    for tag, arm64_available in ((MULTIPLATFORM_IMAGE, True), (INCOMPLETE_IMAGE, False)):
        manifests = by_tag[tag]["Manifests"]
        kinds = sorted(m["Kind"] for m in manifests)
        assert kinds == ["attestation", "attestation", "image", "image"]
        available = {
            m["ImageData"]["Platform"]["architecture"]: m["Available"]
            for m in manifests
            if m["Kind"] == "image"
        }
        assert available == {"amd64": True, "arm64": arm64_available}
