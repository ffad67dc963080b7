"""Multi-platform images of the tests' own on the containerd-store engine, and the registry's view.

Each test loads its own index under a unique name (the shape of the sandbox's seeds: linux/amd64
and linux/arm64/v8 with buildx-style attestations), so parallel runs never share one.
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import docker
import docker.errors

from tests.harness.oci_layout import OCILayout, build_index, layout_tarball
from tests.harness.sandbox import seed_platforms

MISSING_PLATFORM = "linux/arm64/v8"
ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)


@dataclass(frozen=True)
class LoadedIndex:
    """An index loaded into the engine: its name and the blobs it was written from."""

    reference: str  # familiar form, `mp-test/full-<unique>:1.0`
    layout: OCILayout

    @property
    def repository(self) -> str:
        """The reference without its tag."""
        return self.reference.rpartition(":")[0]


@dataclass(frozen=True)
class LoadedIndexes:
    """A complete index and one with arm64's layer and config content left out."""

    full: LoadedIndex
    incomplete: LoadedIndex


def load_indexes(client: docker.DockerClient, unique: str) -> LoadedIndexes:
    """Load both indexes under names no other test uses."""
    loaded = []
    for kind, leave_out in (("full", None), ("incomplete", MISSING_PLATFORM)):
        reference = f"mp-test/{kind}-{unique}:1.0"
        layout = build_index(seed_platforms(), f"{kind}-{unique}")
        # The containerd store takes the layout's image name literally: it must be canonical.
        answer = client.api.load_image(layout_tarball(layout, f"docker.io/{reference}", leave_out))
        for _line in answer or ():
            pass
        loaded.append(LoadedIndex(reference, layout))
    return LoadedIndexes(*loaded)


@contextlib.contextmanager
def loaded_indexes(client: docker.DockerClient, unique: str) -> Iterator[LoadedIndexes]:
    """Both indexes in the engine for the length of a test, removed afterwards."""
    loaded = load_indexes(client, unique)
    try:
        yield loaded
    finally:
        for index in (loaded.full, loaded.incomplete):
            with contextlib.suppress(docker.errors.APIError):
                client.api.remove_image(index.reference, force=True)


def registry_manifest(registry: str, repository: str, tag: str) -> tuple[int, dict, str]:
    """The registry's answer for a tag over plain HTTP: status, manifest JSON, its digest."""
    request = urllib.request.Request(
        f"http://{registry}/v2/{repository}/manifests/{tag}", headers={"Accept": ACCEPT}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.loads(response.read())
            return response.status, body, response.headers.get("Docker-Content-Digest", "")
    except urllib.error.HTTPError as error:
        return error.code, {}, ""
