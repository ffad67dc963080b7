"""Prove that the registry holds exactly what was pushed: six checks through the registry API.

The registry is not trusted: a manifest's digest is the hash of the bytes it served, compared
with its own header, with the push's report and with the local image; a config blob is hashed
too before its platform is believed. For a multi-platform index every platform's manifest is
fetched by digest, one at a time, and each of its blobs is checked. The work is capped (layers
per manifest, blobs in all, one time budget), so a hostile registry cannot make it endless.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum

from app.core.checks import Check, Outcome
from app.core.credentials import Login
from app.core.engine import Engine
from app.core.errors import DockpushError, ManifestNotFound, RegistryAnswerTooLarge
from app.core.local_images import ImageDetails
from app.core.reference import InvalidReference, Reference
from app.core.registry import INDEX_TYPES, LOOPBACK_ONLY, Manifest, RegistryClient
from app.core.units import human_size

PARALLEL_HEADS = 8
# Shared by every verification: its threads stay for the next one (starting eight threads
# per verification took ~15 ms on a busy machine).
_HEADS = ThreadPoolExecutor(max_workers=PARALLEL_HEADS, thread_name_prefix="registry-heads")
MAX_INDEX_MANIFESTS = 128  # real indexes hold a few dozen; more is a hostile answer
MAX_LAYERS = 1000  # per manifest; the engines refuse images with more than 127 layers
MAX_BLOBS = 4096  # distinct blobs HEADed in one verification
VERIFY_BUDGET = 300.0  # seconds for all of one verification's requests
ATTESTATION = "attestation-manifest"
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")
MANIFEST_NAMES = {
    "application/vnd.oci.image.manifest.v1+json": "OCI image",
    "application/vnd.docker.distribution.manifest.v2+json": "Docker image",
}


class Verdict(StrEnum):
    """What the checks established, as the screen headlines it."""

    VERIFIED = "VERIFIED"
    NOT_VERIFIED = "NOT VERIFIED"
    UNCONFIRMED = "NOT CONFIRMED"  # nothing failed, but something could not be compared


@dataclass(frozen=True, slots=True)
class ManifestResult:
    """One manifest of what the tag points to, checked blob by blob: a platform's image, or
    an attestation (build provenance, SBOM) attached to one."""

    label: str
    attestation: bool
    digest: str
    layers: int | None  # None when the manifest itself could not be read
    size: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Whether the manifest and every blob it references are there as stated."""
        return not self.problems


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """The checks for one reference, what they established, and the result per platform."""

    target: Reference
    checks: tuple[Check, ...]
    digest: str | None
    total_size: int | None
    hub_url: str | None
    platforms: tuple[ManifestResult, ...] = ()

    @property
    def verdict(self) -> Verdict:
        """NOT VERIFIED when a check failed, NOT CONFIRMED when one could not be established."""
        outcomes = {check.outcome for check in self.checks}
        if Outcome.FAILED in outcomes:
            return Verdict.NOT_VERIFIED
        if Outcome.UNKNOWN in outcomes:
            return Verdict.UNCONFIRMED
        return Verdict.VERIFIED

    @property
    def passed(self) -> bool:
        """True when every check passed or informed: nothing failed, nothing unknown."""
        return self.verdict is Verdict.VERIFIED

    @property
    def pinned(self) -> str | None:
        """`registry/repo@sha256:…`, the reference that always means this exact image."""
        if self.digest is None:
            return None
        try:
            return str(self.target.without_tag_and_digest().with_digest(self.digest))
        except InvalidReference:
            return None


def _skip(*names: str) -> list[Check]:
    return [
        Check(name, Outcome.NOT_APPLICABLE, "not checked: an earlier check failed")
        for name in names
    ]


def _platform_field(value: object) -> str:
    """A platform field from the registry as safe, short text (OCI allows no more)."""
    return _UNSAFE.sub("?", str(value))[:32] if value else "?"


def platform_label(descriptor: dict) -> str:
    """`os/architecture[/variant]` of an index entry, from untrusted JSON."""
    platform = descriptor.get("platform") or {}
    label = "/".join(_platform_field(platform.get(key)) for key in ("os", "architecture"))
    return f"{label}/{_platform_field(platform['variant'])}" if platform.get("variant") else label


def _is_attestation(descriptor: dict) -> bool:
    annotations = descriptor.get("annotations") or {}
    return annotations.get("vnd.docker.reference.type") == ATTESTATION


def _short(digest: str) -> str:
    return f"{digest[:19]}…"


class _Checker:
    """HEADs each blob once, in parallel, however many manifests share it; at most
    `MAX_BLOBS` in all."""

    def __init__(self, client: RegistryClient, repository: str) -> None:
        self.client = client
        self.repository = repository
        self.known: dict[str, int | None] = {}

    def sizes(self, digests: Iterable[str]) -> dict[str, int | None]:
        unique = sorted(set(digests) - self.known.keys())
        if len(self.known) + len(unique) > MAX_BLOBS:
            raise RegistryAnswerTooLarge(
                f"{self.client.registry} lists more than {MAX_BLOBS} blobs for this image; "
                "dockpush checks at most that many."
            )
        sizes = _HEADS.map(lambda d: self.client.blob_size(self.repository, d), unique)
        self.known.update(zip(unique, sizes, strict=True))
        return self.known

    def manifest(self, digest: str) -> Manifest | DockpushError:
        try:
            return self.client.manifest(self.repository, digest)
        except DockpushError as error:
            return error


def _too_many_layers(manifest: Manifest) -> str | None:
    count = len(manifest.body["layers"])
    if count <= MAX_LAYERS:
        return None
    return f"the manifest lists {count} layers; dockpush checks at most {MAX_LAYERS}"


def _blob_problems(manifest: Manifest, sizes: dict[str, int | None]) -> list[str]:
    """Each referenced blob that is missing or has another size than the manifest states."""
    blobs = [("config", manifest.body["config"])] + [
        ("layer", layer) for layer in manifest.body["layers"]
    ]
    problems = []
    for kind, descriptor in blobs:
        digest, stated = descriptor["digest"], descriptor.get("size")
        served = sizes.get(digest)
        if served is None:
            problems.append(f"missing {kind} {digest}")
        elif served != stated:
            problems.append(f"{kind} {digest} has {served} bytes, the manifest states {stated}")
    return problems


def _blob_digests(manifest: Manifest) -> list[str]:
    return [manifest.body["config"]["digest"]] + [
        layer["digest"] for layer in manifest.body["layers"]
    ]


def _layer_size(manifest: Manifest) -> int:
    return sum(int(layer.get("size", 0)) for layer in manifest.body["layers"])


def _check_index(checker: _Checker, index: Manifest) -> tuple[ManifestResult, ...]:
    """Fetch each manifest of the index by digest, one at a time (only its result is kept),
    and check it and all its blobs."""
    entries = index.body["manifests"]
    labels = {
        entry["digest"]: platform_label(entry) for entry in entries if not _is_attestation(entry)
    }
    results = []
    for entry in entries:
        attestation = _is_attestation(entry)
        label = platform_label(entry)
        if attestation:
            subject = (entry.get("annotations") or {}).get("vnd.docker.reference.digest")
            label = f"attestation for {labels.get(subject, 'an unknown platform')}"
        manifest = checker.manifest(entry["digest"])
        problems = _entry_problems(entry, manifest, checker)
        single = manifest if isinstance(manifest, Manifest) else None
        if single is not None and single.media_type in INDEX_TYPES:
            single = None
        results.append(
            ManifestResult(
                label,
                attestation,
                entry["digest"],
                len(single.body["layers"]) if single else None,
                _layer_size(single) if single else 0,
                tuple(problems),
            )
        )
    return tuple(results)


def _entry_problems(
    entry: dict, manifest: Manifest | DockpushError, checker: _Checker
) -> list[str]:
    digest = entry["digest"]
    if isinstance(manifest, ManifestNotFound):
        return [f"missing manifest {digest}"]
    if isinstance(manifest, DockpushError):
        return [f"manifest {digest}: {manifest.explanation}"]
    if manifest.digest != digest:
        return [f"manifest {digest} was served with other content ({_short(manifest.digest)})"]
    problems = []
    if "size" in entry and manifest.size != entry["size"]:
        problems.append(
            f"manifest {digest} has {manifest.size} bytes, the index states {entry['size']}"
        )
    if manifest.media_type in INDEX_TYPES:
        return [*problems, f"manifest {digest} is itself an index, which is not checked"]
    too_many = _too_many_layers(manifest)
    if too_many is not None:
        return [*problems, too_many]
    return problems + _blob_problems(manifest, checker.sizes(_blob_digests(manifest)))


def _index_checks(
    checker: _Checker, index: Manifest, local: ImageDetails | None
) -> tuple[list[Check], tuple[ManifestResult, ...], int | None]:
    """Media type and platforms, every blob of every manifest, and the total size."""
    entries = index.body["manifests"]
    if len(entries) > MAX_INDEX_MANIFESTS:
        return (
            [
                Check(
                    "Media type and platform",
                    Outcome.FAILED,
                    f"the index lists {len(entries)} manifests; dockpush checks at most "
                    f"{MAX_INDEX_MANIFESTS}",
                    "Check the registry address: no real image has that many platforms.",
                ),
                *_skip("Layer blobs", "Total size"),
            ],
            (),
            None,
        )
    results = _check_index(checker, index)
    platforms = [r for r in results if not r.attestation]
    attestations = len(results) - len(platforms)
    listed = ", ".join(r.label for r in platforms) or "no platform"
    extra = f" (+{attestations} attestation{'s' * (attestations != 1)})" if attestations else ""
    wanted = f"{local.os}/{local.architecture}" if local else None
    if wanted and not any(r.label == wanted or r.label.startswith(f"{wanted}/") for r in platforms):
        media = Check(
            "Media type and platform",
            Outcome.FAILED,
            f"index without {wanted} (has {listed})",
            "The registry holds a multi-platform index that lacks this platform.",
        )
    else:
        outcome = Outcome.PASSED if wanted else Outcome.INFO
        media = Check("Media type and platform", outcome, f"index of {listed}{extra}")
    failed = [r for r in results if not r.ok]
    if failed:
        blobs = Check(
            "Layer blobs",
            Outcome.FAILED,
            "; ".join(f"{r.label}: {_first_problem(r)}" for r in failed),
            "A blob or manifest was deleted or garbage-collected in the registry: push again.",
        )
    else:
        blobs = Check(
            "Layer blobs",
            Outcome.PASSED,
            f"every config and layer of {len(platforms)} platforms and {attestations} "
            "attestations present with the stated sizes",
        )
    total = sum(r.size for r in platforms)
    layers = _count(sum(r.layers or 0 for r in platforms), "layer")
    size = Check(
        "Total size",
        Outcome.INFO,
        f"{human_size(total)} compressed in {layers} over {_count(len(platforms), 'platform')}",
    )
    return [media, blobs, size], results, total


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' * (number != 1)}"


def _first_problem(result: ManifestResult) -> str:
    more = len(result.problems) - 1
    return _shorten(result.problems[0]) + (f" (+{more} more)" if more else "")


def _shorten(problem: str) -> str:
    """A problem with its digests cut to 12 hex digits, for the one-line check detail."""
    return re.sub(r"(sha256:[0-9a-f]{12})[0-9a-f]{52}", r"\1…", problem)


def _single_checks(
    checker: _Checker, manifest: Manifest, local: ImageDetails | None
) -> tuple[list[Check], tuple[ManifestResult, ...], int]:
    """Media type and platform, the config and every layer blob, and the total size."""
    client, repository = checker.client, checker.repository
    config_error: DockpushError | None = None
    try:
        config = client.config(repository, manifest.body["config"]["digest"])
    except DockpushError as error:
        config, config_error = {}, error
    remote = "/".join(_platform_field(config.get(key)) for key in ("os", "architecture"))
    kind = MANIFEST_NAMES.get(manifest.media_type, "unknown kind of")
    wanted = f"{local.os}/{local.architecture}" if local else None
    if config_error is not None:
        media = Check(
            "Media type and platform",
            Outcome.FAILED,
            config_error.explanation,
            config_error.next_step,
        )
    elif wanted is None:
        media = Check("Media type and platform", Outcome.INFO, f"{kind} manifest, {remote}")
    elif remote != wanted:
        media = Check(
            "Media type and platform",
            Outcome.FAILED,
            f"the registry's image is {remote}, the local one {wanted}",
            "Someone pushed another platform's image under this tag.",
        )
    else:
        media = Check(
            "Media type and platform",
            Outcome.PASSED,
            f"{manifest.media_type} for {remote}, as the local image",
        )
    too_many = _too_many_layers(manifest)
    if too_many is not None:
        problems = [too_many]
    else:
        problems = _blob_problems(manifest, checker.sizes(_blob_digests(manifest)))
    layers = len(manifest.body["layers"])
    if problems:
        blobs = Check(
            "Layer blobs",
            Outcome.FAILED,
            "; ".join(_shorten(p) for p in problems),
            "A blob was deleted or garbage-collected in the registry: push again.",
        )
    else:
        blobs = Check(
            "Layer blobs",
            Outcome.PASSED,
            f"all {layers} present with the sizes the manifest states, and the config",
        )
    total = _layer_size(manifest)
    size = Check(
        "Total size", Outcome.INFO, f"{human_size(total)} compressed in {_count(layers, 'layer')}"
    )
    result = ManifestResult(remote, False, manifest.digest, layers, total, tuple(problems))
    return [media, blobs, size], (result,), total


def verify(
    target: Reference,
    login: Login | None,
    pushed_digest: str | None = None,
    engine: Engine | None = None,
    *,
    budget: float = VERIFY_BUDGET,
) -> VerificationReport:
    """Run every check against the registry; blocking, at most `budget` seconds of registry
    requests. Never raises for a failed check. A digest reference is fetched by its digest."""
    insecure = engine.insecure_registries() if engine is not None else LOOPBACK_ONLY
    client = RegistryClient(target.domain, login, insecure, budget=budget)
    repository = target.path
    checks: list[Check] = []
    local: ImageDetails | None = None
    if engine is not None:
        try:
            local = engine.inspect_image(str(target))
        except DockpushError:
            local = None
    hub_url = None
    if target.is_docker_hub:
        path = target.path.removeprefix("library/")
        hub_url = (
            f"https://hub.docker.com/_/{path}"
            if target.path.startswith("library/")
            else f"https://hub.docker.com/r/{path}"
        )
    try:
        # 1. The API answers and accepts our credentials.
        try:
            probe = client.probe()
            client.check_login()
        except DockpushError as error:
            checks.append(
                Check("Registry API and login", Outcome.FAILED, error.explanation, error.next_step)
            )
            checks += _skip(
                "Tag listed", "Digest", "Media type and platform", "Layer blobs", "Total size"
            )
            return VerificationReport(target, tuple(checks), None, None, hub_url)
        how = "plain HTTP" if probe.plain_http else "HTTPS"
        who = f"as {login.username}" if login else "anonymously"
        auth = f"{probe.auth_scheme} auth" if probe.auth_scheme else "no auth"
        checks.append(Check("Registry API and login", Outcome.PASSED, f"{how}, {auth}, {who}"))

        # 2. The tag is listed (a reference by digest alone names no tag).
        tags = client.tags(repository) if target.tag else []
        if target.tag is None:
            checks.append(
                Check(
                    "Tag listed", Outcome.NOT_APPLICABLE, "not checked: the reference is a digest"
                )
            )
        elif target.tag in tags:
            checks.append(
                Check("Tag listed", Outcome.PASSED, f"{target.tag} is among {len(tags)} tags")
            )
        else:
            checks.append(
                Check(
                    "Tag listed",
                    Outcome.FAILED,
                    f"{target.tag} is not in the repository's tag list",
                    "The tag was deleted, or this is the wrong registry or repository.",
                )
            )

        # 3. The manifest's digest, from its bytes.
        try:
            manifest = client.manifest(repository, target.digest or target.tag or "latest")
        except DockpushError as error:
            fix = (
                "The manifest was deleted: push again."
                if isinstance(error, ManifestNotFound)
                else error.next_step
            )
            checks.append(Check("Digest", Outcome.FAILED, error.explanation, fix))
            checks += _skip("Media type and platform", "Layer blobs", "Total size")
            return VerificationReport(target, tuple(checks), None, None, hub_url)
        checks.append(_digest_check(manifest, pushed_digest, local, target))

        # 4. Media type and platform; 5. every blob; 6. total size.
        checker = _Checker(client, repository)
        if manifest.media_type in INDEX_TYPES:
            more, platforms, total = _index_checks(checker, manifest, local)
        else:
            more, platforms, total = _single_checks(checker, manifest, local)
        checks += more
        return VerificationReport(target, tuple(checks), manifest.digest, total, hub_url, platforms)
    except DockpushError as error:
        checks.append(Check("Registry", Outcome.FAILED, error.explanation, error.next_step))
        return VerificationReport(target, tuple(checks), None, None, hub_url)
    finally:
        client.close()


def _digest_check(
    manifest: Manifest, pushed: str | None, local: ImageDetails | None, target: Reference
) -> Check:
    """The digest of the served bytes against the registry's header, the push's report and
    the local image's repo digests; unknown when there is nothing to compare it with."""
    served = manifest.digest
    if target.digest is not None and served != target.digest:
        return Check(
            "Digest",
            Outcome.FAILED,
            f"asked for {_short(target.digest)}, the registry sent a manifest that hashes to "
            f"{_short(served)}",
            "The registry is not serving the manifest that digest names: do not trust it.",
        )
    if manifest.header_digest is not None and manifest.header_digest != served:
        return Check(
            "Digest",
            Outcome.FAILED,
            f"the registry's header says {_short(_plain_digest(manifest.header_digest))}, "
            f"the manifest it sent hashes to {_short(served)}",
            "The registry, or something between it and dockpush, is not serving the manifest "
            "it names: do not trust this tag; check the registry address and push again.",
        )
    if pushed is None and target.digest is not None:
        return Check("Digest", Outcome.PASSED, f"{served} (the digest the reference names)")
    repository = target.name
    local_digests = {
        d.partition("@")[2]
        for d in (local.repo_digests if local else ())
        if d.partition("@")[0] in (repository, target.familiar_name)
    }
    if pushed is not None and served != pushed:
        return Check(
            "Digest",
            Outcome.FAILED,
            f"the registry serves {_short(served)}, the push reported {_short(pushed)}",
            "The tag was moved by someone else after the push, or this is the wrong "
            "registry. Push again, or pin the digest.",
        )
    # The push's own report outranks the local repo digests: Podman re-encodes the manifest
    # on push and keeps its local digest, so they differ even when all is well.
    if pushed is None and local_digests and served not in local_digests:
        return Check(
            "Digest",
            Outcome.FAILED,
            f"{_short(served)} is not among the local image's repo digests",
            "The registry's tag points to a different image than the local one.",
        )
    if pushed is None and not local_digests:
        return Check(
            "Digest",
            Outcome.UNKNOWN,
            f"{served} (from the manifest's bytes); nothing to compare it with: no push of "
            "it in this session, and no local image with a repo digest",
            "Compare it with the digest you expect, for example from the CI log.",
        )
    source = "the push reported" if pushed else "the local image's repo digests hold"
    return Check("Digest", Outcome.PASSED, f"{served} ({source} the same)")


def _plain_digest(digest: str) -> str:
    """A digest from a header as safe text."""
    return re.sub(r"[^A-Za-z0-9:=_+.-]", "?", digest)[:80]
