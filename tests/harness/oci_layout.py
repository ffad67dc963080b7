"""Write OCI image-layout tarballs for `docker load`: multi-platform images without a network.

A buildx build for two platforms with provenance produces an image index that holds one manifest
per platform plus an attestation manifest per platform (platform `unknown/unknown`, annotated
`vnd.docker.reference.type: attestation-manifest`). These tarballs hold the same shape, built
from deterministic random bytes, so the containerd image store loads them as a real
multi-platform image. `leave_out` drops one platform's blobs from the tarball, the way a
`docker pull --platform` leaves an index with content missing for the other platforms.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import tarfile
from dataclasses import dataclass, field

from tests.harness.images import add_file

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
IN_TOTO = "application/vnd.in-toto+json"


@dataclass(frozen=True)
class Platform:
    """One platform of the index and the sizes of its layers (incompressible bytes)."""

    os: str
    architecture: str
    variant: str | None = None
    layer_sizes: tuple[int, ...] = (64 * 1024,)

    @property
    def name(self) -> str:
        """`os/architecture[/variant]`, as docker prints it."""
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    def descriptor_platform(self) -> dict[str, str]:
        """The `platform` object of an index entry."""
        platform = {"os": self.os, "architecture": self.architecture}
        if self.variant:
            platform["variant"] = self.variant
        return platform


@dataclass
class OCILayout:
    """The blobs of an index being written, by digest, and which belong to which platform."""

    blobs: dict[str, bytes] = field(default_factory=dict)
    platform_blobs: dict[str, list[str]] = field(default_factory=dict)
    manifests: dict[str, str] = field(default_factory=dict)  # platform name -> manifest digest
    index_digest: str = ""

    def add(self, data: bytes, owner: str | None = None) -> dict[str, object]:
        """Store a blob and return the size and digest half of its descriptor."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self.blobs[digest] = data
        if owner is not None:
            self.platform_blobs.setdefault(owner, []).append(digest)
        return {"digest": digest, "size": len(data)}


def _canonical(document: dict[str, object]) -> bytes:
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def _layer(rng: random.Random, index: int, size: int) -> tuple[bytes, str]:
    """A gzip layer holding one file; returns the compressed bytes and the diff id."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        add_file(archive, f"data/layer{index}.bin", rng.randbytes(size))
    tar = buffer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(tar).hexdigest()
    return gzip.compress(tar, mtime=0), diff_id


def _platform_manifest(layout: OCILayout, platform: Platform, seed: str) -> dict[str, object]:
    rng = random.Random(f"{seed}/{platform.name}")
    layers, diff_ids = [], []
    for index, size in enumerate(platform.layer_sizes):
        compressed, diff_id = _layer(rng, index, size)
        layers.append({"mediaType": LAYER, **layout.add(compressed, platform.name)})
        diff_ids.append(diff_id)
    config = {
        "architecture": platform.architecture,
        "os": platform.os,
        **({"variant": platform.variant} if platform.variant else {}),
        "created": "2023-11-14T22:13:20Z",
        "config": {"Labels": {"dockpush.seed": seed}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [
            {"created": "2023-11-14T22:13:20Z", "created_by": f"COPY layer{i}.bin /data/"}
            for i in range(len(layers))
        ],
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": {"mediaType": CONFIG, **layout.add(_canonical(config), platform.name)},
        "layers": layers,
    }
    descriptor = layout.add(_canonical(manifest), platform.name)
    layout.manifests[platform.name] = str(descriptor["digest"])
    return {"mediaType": MANIFEST, **descriptor, "platform": platform.descriptor_platform()}


def _attestation_manifest(layout: OCILayout, subject: str, seed: str) -> dict[str, object]:
    """An in-toto provenance attestation for one platform manifest, shaped as buildx writes it."""
    statement = {
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "subject": [{"name": seed, "digest": {"sha256": subject.removeprefix("sha256:")}}],
        "predicate": {"builder": {"id": "dockpush-sandbox"}},
    }
    owner = f"attestation:{subject}"
    config = {
        "architecture": "unknown",
        "os": "unknown",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": []},
    }
    layer = layout.add(_canonical(statement), owner)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": {"mediaType": CONFIG, **layout.add(_canonical(config), owner)},
        "layers": [
            {
                "mediaType": IN_TOTO,
                **layer,
                "annotations": {"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"},
            }
        ],
    }
    return {
        "mediaType": MANIFEST,
        **layout.add(_canonical(manifest), owner),
        "platform": {"architecture": "unknown", "os": "unknown"},
        "annotations": {
            "vnd.docker.reference.digest": subject,
            "vnd.docker.reference.type": "attestation-manifest",
        },
    }


def build_index(platforms: list[Platform], seed: str, attest: bool = True) -> OCILayout:
    """The blobs of a multi-platform image index (with attestations when `attest`)."""
    layout = OCILayout()
    entries = [_platform_manifest(layout, platform, seed) for platform in platforms]
    if attest:
        entries += [_attestation_manifest(layout, str(e["digest"]), seed) for e in list(entries)]
    index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": entries}
    layout.index_digest = str(layout.add(_canonical(index))["digest"])
    return layout


def _full_name(reference: str) -> str:
    """`reference` as containerd stores image names: with registry (and `library/`)."""
    first = reference.split("/", 1)[0]
    if "/" in reference and ("." in first or ":" in first or first == "localhost"):
        return reference
    return f"docker.io/{reference if '/' in reference else 'library/' + reference}"


def layout_tarball(layout: OCILayout, reference: str, leave_out: str | None = None) -> bytes:
    """An OCI layout tarball naming the index `reference`; `leave_out` omits that platform's
    layer and config blobs (its manifest stays, as after a single-platform pull)."""
    omitted = set()
    if leave_out is not None:
        manifest = layout.manifests[leave_out]
        omitted = {d for d in layout.platform_blobs[leave_out] if d != manifest}
    top = {
        "schemaVersion": 2,
        "mediaType": INDEX,
        "manifests": [
            {
                "mediaType": INDEX,
                "digest": layout.index_digest,
                "size": len(layout.blobs[layout.index_digest]),
                "annotations": {
                    # containerd names images in full (docker.io/…); a short name here is
                    # listed twice and is not found by that name.
                    "io.containerd.image.name": _full_name(reference),
                    "org.opencontainers.image.ref.name": reference.rsplit(":", 1)[-1],
                },
            }
        ],
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        add_file(archive, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add_file(archive, "index.json", _canonical(top))
        for digest, data in layout.blobs.items():
            if digest not in omitted:
                add_file(archive, f"blobs/sha256/{digest.removeprefix('sha256:')}", data)
    return buffer.getvalue()
