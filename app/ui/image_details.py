"""The browser's detail pane text for one image tag, as `Content` with theme colours.

Built on a worker thread (it reads nothing of the app): every line quotes the engine (tags,
platform, history), so each outside string is made printable and never read as markup.
"""

from __future__ import annotations

from collections.abc import Mapping

from textual.content import Content

from app.core.images import ImageRow, pushed_this_session, registry_digests
from app.core.local_images import ImageDetails, LayerInfo, LocalImage
from app.core.plaintext import printable
from app.core.platforms import ImageManifests
from app.core.units import human_size

MUTED = "$foreground-muted"  # not $text-muted: a Content span cannot resolve its "auto"
GOOD = "$success"
BAD = "bold $error"
# An image can carry thousands of tags; the pane names this many and counts the rest.
MAX_TAGS = 20

Part = str | tuple[str, str] | Content


def details_content(
    row: ImageRow,
    image: LocalImage,
    details: ImageDetails,
    history: list[LayerInfo],
    pushed: Mapping[str, str],
) -> Content:
    """Reference, id, creation, size, platforms, tags, digests and layers of `row`, whose
    image is now `image`; `pushed` maps references this session pushed to their digests."""
    parts: list[Part] = [
        (printable(row.reference), "bold"),
        f"\nID        {printable(details.id)}",
        f"\nCreated   {details.created:%Y-%m-%d %H:%M:%S} UTC\n",
        # The same number and label as the list's Size column.
        f"Size      {human_size(image.size)} {image.size_kind}",
        (f": {image.size_kind.explanation}\n", MUTED),
    ]
    # Engines before API 1.47 list no manifests; inspect then reads them from an export.
    manifests = image.manifests or details.manifests
    if manifests is not None and manifests.is_index:
        parts += _platform_lines(manifests)
    else:
        platform = printable(f"{details.os}/{details.architecture}", limit=200)
        parts += [f"Platform  {platform}", ("  (single platform)\n", MUTED)]
    parts.append(("\nTags\n", "bold"))
    tags = image.repo_tags or ("(none)",)
    parts += [f"  {printable(tag)}\n" for tag in tags[:MAX_TAGS]]
    if len(tags) > MAX_TAGS:
        parts.append((f"  … and {len(tags) - MAX_TAGS} more\n", MUTED))
    parts += _digest_lines(image, pushed)
    layers = f"{details.layer_count} layer{'s' * (details.layer_count != 1)}"
    of = f" of {details.os}/{details.architecture}" if manifests else ""
    heading = f"{printable(layers + of)} (oldest first, each layer's unpacked size)"
    parts.append((f"\n{heading}\n", "bold"))
    for step in history:
        command = printable(step.created_by.replace("/bin/sh -c #(nop) ", "").strip(), limit=200)
        size = human_size(step.size) if step.size else "-"
        parts.append((f"  {size:>9}  ", "bold" if step.size else MUTED))
        parts.append((f"{command}\n", "" if step.size else MUTED))
    return Content.assemble(*parts)


def _platform_lines(manifests: ImageManifests) -> list[Part]:
    """The platforms of an index, each present or missing, then its attestations apart."""
    parts: list[Part] = [f"Platforms {printable(manifests.summary())}\n"]
    for entry in manifests.platforms:
        parts.append((printable(f"  {entry.platform or '?'!s:<16}"), "bold"))
        parts.append(f"{human_size(entry.content_size):>9}  ")
        parts.append(("here           ", GOOD) if entry.available else ("missing locally", BAD))
        parts.append((printable(f"  {entry.digest[:19]}…"), MUTED))
        parts.append("\n")
    if manifests.attestations:
        parts.append("Attestations (not platforms)\n")
        for entry in manifests.attestations:
            about = manifests.platform_of(entry.attests) if entry.attests else "?"
            parts.append(printable(f"  for {about:<14}"))
            parts.append(f"{human_size(entry.content_size):>9}  ")
            parts.append((printable(f"{entry.digest[:19]}…"), MUTED))
            parts.append("\n")
    return parts


def _digest_lines(image: LocalImage, pushed: Mapping[str, str]) -> list[Part]:
    """Repo digests that came from a registry, and this session's pushes; never the
    containerd store's per-tag digests, which it records whether anything was pushed."""
    parts: list[Part] = [("\nPushed or pulled as (registry digests)\n", "bold")]
    digests = (*registry_digests(image), *pushed_this_session(image, pushed))
    parts += [f"  {printable(digest)}\n" for digest in dict.fromkeys(digests)]
    if not digests:
        parts.append("  (none recorded by this engine)\n")
    if image.containerd_store:
        parts.append(
            (
                "  This store gives every tag a digest, pushed or not; dockpush's verify step "
                "asks the registry.\n",
                MUTED,
            )
        )
    return parts
