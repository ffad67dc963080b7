"""Layer sizes and manifests read from an image export (OCI archives written here; the engine's
own exports are read in tests/test_multiplatform.py)."""

from __future__ import annotations

import io
import json
import tarfile

from app.core import oci_archive
from app.core.oci_archive import layer_sizes, manifests
from app.core.platforms import ManifestKind
from tests.harness.images import add_file
from tests.harness.oci_layout import MANIFEST, OCILayout, build_index, layout_tarball
from tests.harness.sandbox import seed_platforms


def _stated(layout: OCILayout, digest: str) -> dict[str, int]:
    document = json.loads(layout.blobs[digest])
    sizes = {layer["digest"]: layer["size"] for layer in document.get("layers", [])}
    for child in document.get("manifests", []):
        sizes |= _stated(layout, child["digest"])
    return sizes


def _read(archive: bytes) -> oci_archive.ArchiveContent:
    return oci_archive.read(io.BytesIO(archive))


def test_every_platform_and_attestation_layer_with_its_stated_size() -> None:
    layout = build_index(seed_platforms(), "archive-test")
    expected = _stated(layout, layout.index_digest)
    assert len(expected) == 6  # 2 layers per platform, 1 statement per attestation
    assert layer_sizes(_read(layout_tarball(layout, "example.test/app:1"))) == expected


def test_missing_platform_content_still_lists_what_its_manifest_states() -> None:
    layout = build_index(seed_platforms(), "archive-partial")
    archive = layout_tarball(layout, "example.test/app:1", leave_out="linux/arm64/v8")
    assert layer_sizes(_read(archive)) == _stated(layout, layout.index_digest)


def test_layer_data_is_counted_never_kept() -> None:
    layout = build_index(seed_platforms(), "archive-memory")
    content = _read(layout_tarball(layout, "example.test/app:1"))
    assert content.blob_sizes == {d: len(b) for d, b in layout.blobs.items()}
    kept = set(content.documents)
    layers = set(_stated(layout, layout.index_digest))
    # Only JSON is kept: indexes, manifests, configs and the in-toto statements.
    assert not kept & {d for d in layers if not layout.blobs[d].startswith(b"{")}
    assert layout.index_digest in kept and set(layout.manifests.values()) <= kept


def test_manifests_of_an_index_with_attestations_apart() -> None:
    layout = build_index(seed_platforms(), "archive-index")
    read = manifests(_read(layout_tarball(layout, "example.test/app:1")), layout.index_digest)
    assert read is not None and read.is_index and read.multi_platform
    platforms = {str(e.platform): e for e in read.platforms}
    assert set(platforms) == {"linux/amd64", "linux/arm64/v8"}
    assert platforms["linux/arm64/v8"].digest == layout.manifests["linux/arm64/v8"]
    assert not read.missing
    assert [a.kind for a in read.attestations] == [ManifestKind.ATTESTATION] * 2
    assert {read.platform_of(a.attests) for a in read.attestations} == set(platforms)
    # Content size: each manifest with its config and layers, as the engine counts it.
    amd64 = layout.manifests["linux/amd64"]
    document = json.loads(layout.blobs[amd64])
    children = [document["config"], *document["layers"]]
    expected = len(layout.blobs[amd64]) + sum(child["size"] for child in children)
    assert platforms["linux/amd64"].content_size == expected


def test_manifests_with_a_platform_missing_locally() -> None:
    layout = build_index(seed_platforms(), "archive-missing")
    archive = layout_tarball(layout, "example.test/app:1", leave_out="linux/arm64/v8")
    read = manifests(_read(archive), layout.index_digest)
    assert read is not None
    assert [str(e.platform) for e in read.missing] == ["linux/arm64/v8"]
    missing = read.missing[0]
    # Only its manifest is here; its platform comes from the index entry.
    assert missing.content_size == len(layout.blobs[layout.manifests["linux/arm64/v8"]])
    assert "1 missing locally" in read.summary()


def test_a_single_manifest_image() -> None:
    layout = build_index(seed_platforms()[:1], "archive-single", attest=False)
    manifest = layout.manifests["linux/amd64"]
    top = {"manifests": [{"mediaType": MANIFEST, "digest": manifest}]}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        add_file(archive, "index.json", json.dumps(top).encode())
        for digest, data in layout.blobs.items():
            if digest != layout.index_digest:
                add_file(archive, f"blobs/sha256/{digest.removeprefix('sha256:')}", data)
    read = manifests(_read(buffer.getvalue()), manifest)
    assert read is not None and not read.is_index
    assert read.summary() == "single platform: linux/amd64"


def test_an_export_that_does_not_hold_the_image_gives_no_manifests() -> None:
    layout = build_index(seed_platforms(), "archive-other")
    content = _read(layout_tarball(layout, "example.test/app:1"))
    assert manifests(content, "sha256:" + "0" * 64) is None


def test_an_archive_without_an_index_gives_nothing() -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        add_file(archive, "blobs/sha256/" + "0" * 64, b"not json")
    content = _read(buffer.getvalue())
    assert layer_sizes(content) == {}
    assert manifests(content, "sha256:" + "0" * 64) is None
