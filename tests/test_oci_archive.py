"""Layer sizes read from an image export (the containerd store's only source of them)."""

from __future__ import annotations

import io
import json
import tarfile

from app.core.oci_archive import layer_sizes
from tests.harness.oci_layout import OCILayout, build_index, layout_tarball
from tests.harness.sandbox import seed_platforms


def _stated(layout: OCILayout, digest: str) -> dict[str, int]:
    document = json.loads(layout.blobs[digest])
    sizes = {layer["digest"]: layer["size"] for layer in document.get("layers", [])}
    for child in document.get("manifests", []):
        sizes |= _stated(layout, child["digest"])
    return sizes


def test_every_platform_and_attestation_layer_with_its_stated_size() -> None:
    layout = build_index(seed_platforms(), "archive-test")
    expected = _stated(layout, layout.index_digest)
    assert len(expected) == 6  # 2 layers per platform, 1 statement per attestation
    assert layer_sizes(io.BytesIO(layout_tarball(layout, "example.test/app:1"))) == expected


def test_missing_platform_content_still_lists_what_its_manifest_states() -> None:
    layout = build_index(seed_platforms(), "archive-partial")
    archive = layout_tarball(layout, "example.test/app:1", leave_out="linux/arm64/v8")
    assert layer_sizes(io.BytesIO(archive)) == _stated(layout, layout.index_digest)


def test_an_archive_without_an_index_gives_nothing() -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        data = b"not json"
        info = tarfile.TarInfo("blobs/sha256/" + "0" * 64)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    assert layer_sizes(buffer) == {}
