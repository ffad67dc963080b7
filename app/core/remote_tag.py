"""What a registry's tag holds now, and whether a push would leave it, create it or move it.

Overwriting a release tag by mistake is the classic publishing accident: the pre-flight asks the
registry before the push what the tag points at, and compares that with what the push sends.

What the push sends, by image store:
- containerd store: the image's id is the digest of its index (or lone manifest), and the push
  sends those exact bytes; with one platform chosen, that platform's manifest.
- classic store (and Podman): the image's id is its config digest, and the push builds a
  manifest. The manifest digest is known only when the engine recorded one for that repository
  (a repo digest, from an earlier push or pull); else the config digests are compared, which
  tells the same image from another one but not the manifest's bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from app.core.engine_info import ImageStore
from app.core.errors import DockpushError, ManifestNotFound
from app.core.local_images import ImageDetails
from app.core.platforms import INDEX_MEDIA_TYPES, Platform
from app.core.reference import InvalidReference, Reference, parse_normalized
from app.core.registry import DIGEST_RE, RegistryClient
from app.core.verify import ATTESTATION, platform_label

# An index names a few dozen platforms at most; more is a hostile answer, and the screen
# names only this many.
MAX_PLATFORMS_SHOWN = 16


class TagChange(StrEnum):
    """What the push does to the registry's tag."""

    NEW = "new"  # the registry has no such tag: the push creates it
    SAME = "same"  # the tag holds what the push sends: the push changes nothing
    MOVES = "moves"  # the tag holds another image: the push moves it
    UNKNOWN = "unknown"  # the tag exists, and what the push sends cannot be compared with it


@dataclass(frozen=True, slots=True)
class RemoteTag:
    """What a registry's tag points at now."""

    digest: str
    media_type: str
    # The config digest of a single-platform manifest (None for an index).
    config_digest: str | None
    # From the image's config blob, where the registry serves it.
    created: datetime | None
    platforms: tuple[str, ...]

    @property
    def is_index(self) -> bool:
        """Whether the tag holds an index (a multi-platform image, or one with attestations)."""
        return self.media_type in INDEX_MEDIA_TYPES


@dataclass(frozen=True, slots=True)
class LocalContent:
    """What the push would put under the tag, as far as the local store can say."""

    # The digest of the index or manifest the push sends, when it is known before the push.
    digest: str | None
    # The config digest of the single-platform image a classic-store push sends.
    config_digest: str | None


@dataclass(frozen=True, slots=True)
class TagComparison:
    """The registry's tag now, and what the push would do to it."""

    change: TagChange
    remote: RemoteTag | None
    local: LocalContent


def _created(config: dict) -> datetime | None:
    """The config's `created` time (RFC 3339, maybe with nanoseconds); None if unusable."""
    value = config.get("created")
    if not isinstance(value, str) or len(value) > 64:
        return None
    text = value.strip().replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # Python reads at most microseconds
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _config_platform(config: dict) -> tuple[str, ...]:
    label = platform_label({"platform": config})
    return () if label == "?/?" else (label,)


def _index_platforms(body: dict) -> tuple[list[str], str | None]:
    """The platforms an index names (attestations left out), and its first platform manifest."""
    entries = [
        entry
        for entry in body.get("manifests") or ()
        if isinstance(entry, dict)
        and (entry.get("annotations") or {}).get("vnd.docker.reference.type") != ATTESTATION
    ]
    labels = [platform_label(entry) for entry in entries[:MAX_PLATFORMS_SHOWN]]
    first = entries[0].get("digest") if entries else None
    return labels, first if isinstance(first, str) and DIGEST_RE.fullmatch(first) else None


def _config_of(client: RegistryClient, repository: str, manifest_body: dict) -> dict:
    """A single-platform manifest's config blob, or {} when it cannot be read (best effort:
    only the creation time and platform come from it)."""
    digest = (manifest_body.get("config") or {}).get("digest")
    if not isinstance(digest, str) or not DIGEST_RE.fullmatch(digest):
        return {}
    try:
        return client.config(repository, digest)
    except DockpushError:
        return {}


def look_up_tag(client: RegistryClient, target: Reference) -> RemoteTag | None:
    """What `target`'s tag holds in the registry, or None when there is no such tag.

    Blocking (one to three requests). Raises the client's typed errors when the registry
    cannot be asked (unreachable, a login needed or refused).
    """
    if target.tag is None:
        raise ValueError("a tag is needed to look it up")
    try:
        manifest = client.manifest(target.path, target.tag)
    except ManifestNotFound:
        return None
    if manifest.media_type in INDEX_MEDIA_TYPES:
        platforms, first = _index_platforms(manifest.body)
        config: dict = {}
        if first is not None:
            try:
                config = _config_of(client, target.path, client.manifest(target.path, first).body)
            except DockpushError:
                config = {}
        return RemoteTag(
            manifest.digest, manifest.media_type, None, _created(config), tuple(platforms)
        )
    config_digest = (manifest.body.get("config") or {}).get("digest")
    config = _config_of(client, target.path, manifest.body)
    return RemoteTag(
        manifest.digest,
        manifest.media_type,
        config_digest if isinstance(config_digest, str) else None,
        _created(config),
        _config_platform(config),
    )


def _repo_digest(details: ImageDetails, target: Reference) -> str | None:
    """The digest the engine recorded for this image in `target`'s repository, if any."""
    for recorded in details.repo_digests:
        try:
            reference = parse_normalized(recorded)
        except InvalidReference:
            continue
        if (reference.domain, reference.path) == (target.domain, target.path):
            return reference.digest
    return None


def local_content(
    store: ImageStore, details: ImageDetails, target: Reference, platform: Platform | None
) -> LocalContent:
    """What a push of `details` to `target` (of `platform` only, if given) sends."""
    if store is ImageStore.CONTAINERD:
        if platform is None:
            return LocalContent(details.id, None)
        entries = details.manifests.platforms if details.manifests is not None else ()
        chosen = next((e.digest for e in entries if e.platform == platform), None)
        return LocalContent(chosen, None)
    return LocalContent(_repo_digest(details, target), details.id)


def compare(remote: RemoteTag | None, local: LocalContent) -> TagComparison:
    """What the push does to the tag: create it, leave it, move it, or (unknown) may move it."""
    if remote is None:
        change = TagChange.NEW
    elif local.digest is not None:
        change = TagChange.SAME if remote.digest == local.digest else TagChange.MOVES
    elif local.config_digest is not None and remote.config_digest is not None:
        same = remote.config_digest == local.config_digest
        change = TagChange.SAME if same else TagChange.MOVES
    elif local.config_digest is not None and remote.is_index:
        change = TagChange.MOVES  # this store pushes one manifest, never an index
    else:
        change = TagChange.UNKNOWN
    return TagComparison(change, remote, local)
