"""The pre-flight check before a push: each item passed, failed or informational, with the fix."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from app.core.checks import Check, Outcome
from app.core.credentials import Login, registry_key
from app.core.engine import Engine, ImageDetails
from app.core.engine_errors import PODMAN_NEXT_STEPS
from app.core.errors import DockpushError, InsecureRegistry
from app.core.platforms import ImageManifests, ManifestEntry, Platform
from app.core.progress import ImageStore
from app.core.reference import Reference
from app.core.registry import InsecureRegistries, RegistryClient, RegistryProbe, is_loopback

# The check that says what a push sends: the whole index, or one platform.
PUSHES = "Pushes"


@dataclass(frozen=True, slots=True)
class TargetReport:
    """The checks for one reference to push."""

    target: Reference
    checks: tuple[Check, ...]
    commands: tuple[str, ...]
    # The platforms that could be pushed alone (empty when the choice is not offered), and why
    # the choice is not offered when it is not.
    platforms: tuple[Platform, ...] = ()
    platform_note: str = ""

    @property
    def ready(self) -> bool:
        """Whether nothing failed."""
        return all(check.outcome is not Outcome.FAILED for check in self.checks)


def registry_display(reference: Reference) -> str:
    """`Docker Hub (docker.io)` or the registry host."""
    return "Docker Hub (docker.io)" if reference.is_docker_hub else reference.domain


def equivalent_commands(
    source: str | None, target: Reference, login: Login | None, platform: Platform | None = None
) -> list[str]:
    """The docker CLI commands that do the same by hand (no secret in them)."""
    commands = []
    if source and source != str(target) and source != target.familiar:
        commands.append(f"docker tag {shlex.quote(source)} {shlex.quote(target.familiar)}")
    if login is not None:
        registry = "" if target.is_docker_hub else f" {shlex.quote(target.domain)}"
        commands.append(f"docker login{registry} -u {shlex.quote(login.username)}")
    only = f"--platform {shlex.quote(str(platform))} " if platform else ""
    commands.append(f"docker push {only}{shlex.quote(target.familiar)}")
    return commands


def _destination(target: Reference) -> Check:
    where = registry_display(target)
    detail = f"registry {where} · repository {target.path} · tag {target.tag}"
    if target.is_docker_hub:
        detail += " · this goes to Docker Hub"
    return Check("Destination", Outcome.INFO, detail)


def _local_image(engine: Engine, target: Reference) -> tuple[Check, ImageDetails | None]:
    try:
        details = engine.inspect_image(str(target))
    except DockpushError as error:
        check = Check(
            "Local image",
            Outcome.FAILED,
            error.explanation,
            "Go back to the tag form (b) and tag the image under this name.",
        )
        return check, None
    if details.manifests is not None and details.manifests.is_index:
        shape = details.manifests.summary()
    else:
        shape = f"{details.os}/{details.architecture}, {details.layer_count} layers"
    return Check("Local image", Outcome.PASSED, f"{details.id[7:19]}, {shape}"), details


def _names(entries: tuple[ManifestEntry, ...]) -> str:
    return ", ".join(str(e.platform) for e in entries if e.platform is not None)


def _missing_fix(source: str, missing: tuple[ManifestEntry, ...], here: str) -> str:
    pulls = " and ".join(
        f"docker pull --platform {shlex.quote(str(e.platform))} {shlex.quote(source)}"
        for e in missing
    )
    fix = (
        f"Fetch the missing content from the registry the image came from ({pulls}; "
        "docker pull has no option for all platforms, so one pull per platform), "
        "then check again"
    )
    if here:
        fix += f"; or push only a platform that is here ({here}): press p to choose it"
    return fix + "."


def _choice_note(engine: Engine) -> str:
    """Why pushing one platform is not offered on this engine ("" when it is)."""
    if engine.pushes_one_platform:
        return ""
    return (
        f"this engine speaks API {engine.api_version}, and pushing one platform of an index "
        "needs API 1.46 (Docker Engine 27) or later"
    )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' * (count != 1)}"


def _what_is_pushed(
    engine: Engine, details: ImageDetails, platform: Platform | None, source: str
) -> tuple[Check, tuple[Platform, ...]]:
    """What the push sends: the whole index with its platforms and attestations, or one
    platform. Fails when a platform's content is not in the local store (the engine cannot
    push an index without it). Returns the check and the platforms that could go alone."""
    note = _choice_note(engine)
    manifests = details.manifests
    if manifests is None or not manifests.is_index:
        one = f"{details.os}/{details.architecture}"
        if manifests is None and engine.image_store is ImageStore.CONTAINERD:
            detail = (
                f"what the store holds under this name; this engine (API {engine.api_version}) "
                "does not list an image's platforms (that needs API 1.48)"
            )
            return Check(PUSHES, Outcome.INFO, detail), ()
        detail = f"one platform: {one}, a single-platform image"
        if note:
            detail += f"; choosing a platform is not offered: {note}"
        return Check(PUSHES, Outcome.PASSED, detail), ()
    here = tuple(e.platform for e in manifests.platforms if e.available and e.platform)
    choices = () if note else here
    if platform is not None:
        return _one_platform(manifests, platform), choices
    summary = (
        f"the whole index: {_plural(len(manifests.platforms), 'platform')} "
        f"({_names(manifests.platforms)}) and {_plural(len(manifests.attestations), 'attestation')}"
    )
    if manifests.missing:
        detail = (
            f"{summary}, but the content of {_names(manifests.missing)} is not in the local "
            "store, so the engine cannot push the index"
        )
        fix = _missing_fix(source, manifests.missing, ", ".join(map(str, choices)))
        if note:
            fix += f" Pushing one platform is not offered: {note}."
        return Check(PUSHES, Outcome.FAILED, detail, fix), choices
    hint = (
        f"Pushing one platform is not offered: {note}." if note else "p pushes one platform only."
    )
    return Check(PUSHES, Outcome.INFO, f"{summary}, digest {details.id[7:19]}", hint), choices


def _one_platform(manifests: ImageManifests, platform: Platform) -> Check:
    """The check for pushing only `platform` of an index, as `docker push --platform` does."""
    entry = next((e for e in manifests.platforms if e.platform == platform), None)
    if entry is None or not entry.available:
        why = "has no such platform" if entry is None else "lacks its content locally"
        fix = f"Press p to choose another platform ({_names(manifests.platforms)})."
        return Check(PUSHES, Outcome.FAILED, f"{platform}: the local image {why}", fix)
    detail = (
        f"only {platform}, as a single-platform image (manifest {entry.digest[7:19]}); the "
        f"index, its {_plural(len(manifests.platforms) - 1, 'other platform')} and its "
        f"{_plural(len(manifests.attestations), 'attestation')} are not pushed"
    )
    return Check(PUSHES, Outcome.INFO, detail, "Press p to push the whole index instead.")


def _registry(
    engine: Engine,
    probe: RegistryProbe | DockpushError,
    target: Reference,
    insecure: InsecureRegistries,
) -> Check:
    """How the registry answered. The client spoke plain HTTP only because the engine's
    `insecure` view allows it (loopback always), so a plain-HTTP answer is one the push can use."""
    if isinstance(probe, DockpushError):
        fix = probe.next_step
        if engine.product.startswith("Podman"):
            fix = PODMAN_NEXT_STEPS.get(type(probe), fix)
        return Check("Registry", Outcome.FAILED, probe.explanation, fix)
    if not probe.plain_http:
        return Check("Registry", Outcome.PASSED, "answers over HTTPS with a trusted certificate")
    if is_loopback(target.domain) and target.domain.lower() not in insecure.names:
        return Check(
            "Registry",
            Outcome.PASSED,
            "answers over plain HTTP; the engine allows that for 127.0.0.0/8",
        )
    return Check(
        "Registry", Outcome.PASSED, "answers over plain HTTP; the engine lists it as insecure"
    )


def _login(
    engine: Engine, login: Login | None, probe: RegistryProbe | DockpushError, now: datetime
) -> Check:
    if login is None:
        if isinstance(probe, RegistryProbe) and probe.auth_scheme is None:
            return Check("Login", Outcome.PASSED, "none needed: the registry is open")
        if isinstance(probe, DockpushError):
            how = " over HTTPS" if isinstance(probe, InsecureRegistry) else ""
            return Check(
                "Login",
                Outcome.NOT_APPLICABLE,
                f"not checked: the registry did not answer{how}",
            )
        return Check(
            "Login",
            Outcome.FAILED,
            "no login saved for this registry",
            "Log in (l); the push needs one.",
        )
    try:
        engine.check_login(login)
    except DockpushError as error:
        return Check("Login", Outcome.FAILED, error.explanation, "Log in again (l).")
    return Check(
        "Login", Outcome.PASSED, f"{login.username}, accepted by the registry at {now:%H:%M:%S}"
    )


def run_preflight(
    engine: Engine,
    targets: list[Reference],
    login_for: Callable[[str], Login | None],
    sources: dict[str, str] | None = None,
    platform: Platform | None = None,
) -> list[TargetReport]:
    """Check every target; blocking (engine and registry calls). With `platform`, each target
    is checked for pushing only that platform (`docker push --platform`)."""
    insecure = engine.insecure_registries()
    probes: dict[str, RegistryProbe | DockpushError] = {}
    logins: dict[str, Check] = {}
    reports = []
    for target in targets:
        key = registry_key(target.domain)
        login = login_for(target.domain)
        if key not in probes:
            client = RegistryClient(target.domain, login, insecure)
            try:
                probes[key] = client.probe()
            except DockpushError as error:
                probes[key] = error
            finally:
                client.close()
            logins[key] = _login(engine, login, probes[key], datetime.now())
        source = (sources or {}).get(str(target))
        local, details = _local_image(engine, target)
        checks = [_destination(target), local]
        platforms: tuple[Platform, ...] = ()
        if details is not None:
            content, platforms = _what_is_pushed(
                engine, details, platform, source or target.familiar
            )
            checks.append(content)
        checks += [logins[key], _registry(engine, probes[key], target, insecure)]
        commands = tuple(equivalent_commands(source, target, login, platform))
        reports.append(
            TargetReport(target, tuple(checks), commands, platforms, _choice_note(engine))
        )
    return reports
