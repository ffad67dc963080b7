"""Prove that the registry holds exactly what was pushed: six checks through the registry API."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from app.core.checks import Check, Outcome
from app.core.credentials import Login
from app.core.engine import Engine, ImageDetails
from app.core.errors import DockpushError
from app.core.reference import Reference
from app.core.registry import INDEX_TYPES, Manifest, RegistryClient
from app.core.units import human_size

PARALLEL_HEADS = 8


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """The checks for one reference, and what they established."""

    target: Reference
    checks: tuple[Check, ...]
    digest: str | None
    total_size: int | None
    hub_url: str | None

    @property
    def passed(self) -> bool:
        """True when no check failed."""
        return all(check.outcome is not Outcome.FAILED for check in self.checks)

    @property
    def pinned(self) -> str | None:
        """`registry/repo@sha256:…`, the reference that always means this exact image."""
        if self.digest is None:
            return None
        return str(self.target.without_tag_and_digest().with_digest(self.digest))


def _skip(*names: str) -> list[Check]:
    return [
        Check(name, Outcome.NOT_APPLICABLE, "not checked: an earlier check failed")
        for name in names
    ]


def _platform_check(
    client: RegistryClient, repository: str, manifest: Manifest, local: ImageDetails | None
) -> tuple[Check, list[dict]]:
    """Media type and platform; returns the layer descriptors to check."""
    if manifest.media_type in INDEX_TYPES:
        platforms = [
            f"{m.get('platform', {}).get('os')}/{m.get('platform', {}).get('architecture')}"
            for m in manifest.body.get("manifests", [])
        ]
        if local is None:
            return Check(
                "Media type and platform", Outcome.INFO, f"index of {', '.join(platforms)}"
            ), []
        wanted = f"{local.os}/{local.architecture}"
        if wanted not in platforms:
            return Check(
                "Media type and platform",
                Outcome.FAILED,
                f"index without {wanted} (has {', '.join(platforms)})",
                "The registry holds a multi-platform index that lacks this platform.",
            ), []
        chosen = next(
            m
            for m in manifest.body["manifests"]
            if f"{m.get('platform', {}).get('os')}/{m.get('platform', {}).get('architecture')}"
            == wanted
        )
        manifest = client.manifest(repository, chosen["digest"])
    # RegistryClient.manifest has checked the shape: a config descriptor and a list of layers.
    layers = list(manifest.body["layers"])
    config = client.config(repository, manifest.body["config"]["digest"])
    remote = f"{config.get('os', '?')}/{config.get('architecture', '?')}"
    kind = (
        manifest.media_type.rsplit(".", 2)[-2]
        if "." in manifest.media_type
        else manifest.media_type
    )
    if local is None:
        return Check("Media type and platform", Outcome.INFO, f"{kind} manifest, {remote}"), layers
    wanted = f"{local.os}/{local.architecture}"
    if remote != wanted:
        return Check(
            "Media type and platform",
            Outcome.FAILED,
            f"the registry's image is {remote}, the local one {wanted}",
            "Someone pushed another platform's image under this tag.",
        ), layers
    return Check(
        "Media type and platform",
        Outcome.PASSED,
        f"{manifest.media_type} for {remote}, as the local image",
    ), layers


def _blobs_check(client: RegistryClient, repository: str, layers: list[dict]) -> Check:
    def head(layer: dict) -> tuple[dict, int | None]:
        return layer, client.blob_size(repository, layer["digest"])

    with ThreadPoolExecutor(max_workers=PARALLEL_HEADS) as pool:
        results = list(pool.map(head, layers))
    missing = [layer["digest"][:19] for layer, size in results if size is None]
    wrong = [
        f"{layer['digest'][:19]} ({size} ≠ {layer.get('size')})"
        for layer, size in results
        if size is not None and size != layer.get("size")
    ]
    if missing or wrong:
        problems = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"wrong size {', '.join(wrong)}"] if wrong else []
        )
        return Check(
            "Layer blobs",
            Outcome.FAILED,
            "; ".join(problems),
            "A blob was deleted or garbage-collected in the registry: push again.",
        )
    return Check(
        "Layer blobs",
        Outcome.PASSED,
        f"all {len(layers)} present with the sizes the manifest states",
    )


def verify(
    target: Reference,
    login: Login | None,
    pushed_digest: str | None = None,
    engine: Engine | None = None,
) -> VerificationReport:
    """Run every check against the registry; blocking. Never raises for a failed check."""
    client = RegistryClient(target.domain, login)
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

        # 2. The tag is listed.
        tags = client.tags(repository)
        if target.tag in tags:
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

        # 3. The manifest's digest.
        try:
            manifest = client.manifest(repository, target.tag or "latest")
        except DockpushError as error:
            checks.append(
                Check(
                    "Digest",
                    Outcome.FAILED,
                    error.explanation,
                    "The manifest was deleted: push again.",
                )
            )
            checks += _skip("Media type and platform", "Layer blobs", "Total size")
            return VerificationReport(target, tuple(checks), None, None, hub_url)
        checks.append(_digest_check(manifest.digest, pushed_digest, local, target))

        # 4. Media type and platform; 5. every layer blob; 6. total size.
        platform_check, layers = _platform_check(client, repository, manifest, local)
        checks.append(platform_check)
        if layers:
            checks.append(_blobs_check(client, repository, layers))
            total = sum(int(layer.get("size", 0)) for layer in layers)
            checks.append(
                Check(
                    "Total size",
                    Outcome.INFO,
                    f"{human_size(total)} compressed in {len(layers)} layers",
                )
            )
        else:
            total = None
            checks += [
                Check("Layer blobs", Outcome.NOT_APPLICABLE, "no single-platform manifest"),
                Check("Total size", Outcome.NOT_APPLICABLE, "-"),
            ]
        return VerificationReport(target, tuple(checks), manifest.digest, total, hub_url)
    except DockpushError as error:
        checks.append(Check("Registry", Outcome.FAILED, error.explanation, error.next_step))
        return VerificationReport(target, tuple(checks), None, None, hub_url)
    finally:
        client.close()


def _digest_check(
    served: str, pushed: str | None, local: ImageDetails | None, target: Reference
) -> Check:
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
            f"the registry serves {served[:19]}…, the push reported {pushed[:19]}…",
            "The tag was moved by someone else after the push, or this is the wrong "
            "registry. Push again, or pin the digest.",
        )
    # The push's own report outranks the local repo digests: Podman re-encodes the manifest
    # on push and keeps its local digest, so they differ even when all is well.
    if pushed is None and local is not None and local_digests and served not in local_digests:
        return Check(
            "Digest",
            Outcome.FAILED,
            f"{served[:19]}… is not among the local image's repo digests",
            "The registry's tag points to a different image than the local one.",
        )
    source = "the push reported" if pushed else "the local image's repo digests hold"
    return Check("Digest", Outcome.PASSED, f"{served} ({source} the same)")
