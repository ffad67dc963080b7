"""Build images without running containers: the legacy builder with `FROM scratch` + `COPY`."""

from __future__ import annotations

import io
import random
import tarfile

import docker

# Fixed mtime so the same seed gives the same layer bytes on every machine.
FIXED_MTIME = 1_700_000_000


def add_file(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    """Add one regular file with a fixed mtime, so the same bytes give the same tarball."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = FIXED_MTIME
    archive.addfile(info, io.BytesIO(data))


def build_context(layer_sizes: list[int], seed: str) -> bytes:
    """A build context whose Dockerfile makes one layer per size, each of incompressible bytes."""
    rng = random.Random(seed)
    dockerfile = ["FROM scratch"]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for index, size in enumerate(layer_sizes):
            name = f"layer{index}.bin"
            add_file(archive, name, rng.randbytes(size))
            dockerfile.append(f"COPY {name} /data/{name}")
        dockerfile.append(f'LABEL dockpush.seed="{seed}"')
        add_file(archive, "Dockerfile", ("\n".join(dockerfile) + "\n").encode())
    return buffer.getvalue()


def build_image(client: docker.DockerClient, tag: str, layer_sizes: list[int], seed: str) -> str:
    """Build an image with the legacy builder and return its id.

    Each call with a different seed produces different layer digests, so tests
    can make images the registry has never seen.
    """
    context = build_context(layer_sizes, seed)
    image, _logs = client.images.build(
        fileobj=io.BytesIO(context), custom_context=True, tag=tag, rm=True, forcerm=True
    )
    return image.id


def import_untagged(client: docker.DockerClient, seed: str, size: int = 0) -> str:
    """Import a one-file tarball with no repository name: a dangling image.

    `size` adds that many incompressible bytes. Podman's API, which cannot build from
    `FROM scratch` without a runtime, gets its test images this way.
    """
    buffer = io.BytesIO()
    payload = f"dangling {seed}\n".encode() + random.Random(seed).randbytes(size)
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        add_file(archive, "dangling.txt", payload)
    result = client.api.import_image_from_data(buffer.getvalue())
    # The engine answers a JSON line with {"status": "sha256:..."}.
    for line in str(result).splitlines():
        if "sha256:" in line:
            start = line.index("sha256:")
            return line[start : start + 71]
    raise RuntimeError(f"docker import gave no image id: {result!r}")


def build_labelled(client: docker.DockerClient, tag: str, label: str) -> str:
    """A one-layer image with a `hostile` label: the label's text also shows in its history
    (the LABEL step's CreatedBy), so any string can reach the app through an image."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        add_file(archive, "f.txt", tag.encode())
        dockerfile = f'FROM scratch\nCOPY f.txt /f.txt\nLABEL hostile="{label}"\n'
        add_file(archive, "Dockerfile", dockerfile.encode())
    image, _logs = client.images.build(
        fileobj=io.BytesIO(buffer.getvalue()), custom_context=True, tag=tag, rm=True
    )
    return image.id
