"""The pre-flight check before a push: each item passed, failed or informational, with the fix."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from app.core.checks import Check, Outcome
from app.core.credentials import Login
from app.core.engine import Engine
from app.core.engine_errors import PODMAN_NEXT_STEPS
from app.core.engine_info import ImageStore
from app.core.errors import DockpushError, InsecureRegistry
from app.core.local_images import ImageDetails
from app.core.platforms import ImageManifests, ManifestEntry, Platform
from app.core.reference import Reference, registry_key
from app.core.registry import InsecureRegistries, RegistryClient, RegistryProbe, is_loopback
from app.core.remote_tag import (
    LocalContent,
    TagChange,
    TagComparison,
    compare,
    local_content,
    look_up_tag,
)
from app.core.steps import LoginNeed

# The check that says what a push sends: the whole index, or one platform.
PUSHES = "Pushes"
# The check that says what the registry's tag holds now and what the push does to it.
REMOTE_TAG = "Registry tag"


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
    # What the pre-flight found about logging in to the target's registry.
    login: LoginNeed = LoginNeed.UNKNOWN
    # What the registry's tag holds now and what the push does to it (None: not asked).
    tag: TagComparison | None = None

    @property
    def ready(self) -> bool:
        """Whether nothing failed."""
        return all(check.outcome is not Outcome.FAILED for check in self.checks)

    @property
    def moves_tag(self) -> bool:
        """Whether the push would replace what the registry's tag holds (or may: the tag
        exists and could not be compared), so the person is asked first."""
        return self.tag is not None and self.tag.change in (TagChange.MOVES, TagChange.UNKNOWN)

    @property
    def move_key(self) -> str:
        """What a "yes, move it" answer is about: this target, from what it holds now."""
        remote = self.tag.remote if self.tag is not None else None
        return f"{self.target}@{remote.digest if remote else ''}"


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
    if target.is_docker_hub and target.familiar_name != target.path:
        # As `docker push alpine:3` does, the name means Docker Hub's official images.
        detail += " · Docker Hub's official images (library/), which only Docker publishes"
        fix = "Press b to give it a name in your own namespace (your Docker Hub user)."
        return Check("Destination", Outcome.FAILED, detail, fix)
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
            why = details.manifests_unread or (
                f"this engine (API {engine.api_version}) does not list an image's platforms"
            )
            return Check(PUSHES, Outcome.INFO, f"what the store holds under this name; {why}"), ()
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
    engine: Engine,
    login: Login | None,
    probe: RegistryProbe | DockpushError,
    now: datetime,
    problem: DockpushError | None = None,
) -> Check:
    if login is None:
        if isinstance(probe, RegistryProbe) and probe.auth_scheme is None:
            return Check("Login", Outcome.PASSED, "none needed: the registry is open")
        if problem is not None:  # not "no login saved": the place logins come from is broken
            return Check(
                "Login",
                Outcome.FAILED,
                f"no login could be read: {problem.explanation}",
                f"{problem.next_step} Or log in here (l).",
            )
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


def _login_need(login: Login | None, check: Check) -> LoginNeed:
    """The login check's finding, for the stepper."""
    if check.outcome is Outcome.PASSED:
        return LoginNeed.NOT_NEEDED if login is None else LoginNeed.ACCEPTED
    return LoginNeed.MISSING if check.outcome is Outcome.FAILED else LoginNeed.UNKNOWN


def _held(comparison: TagComparison) -> str:
    """What the registry's tag holds: digest, creation time and platforms where known."""
    remote = comparison.remote
    if remote is None:
        return ""
    parts = [remote.digest[:19] + "…"]
    if remote.created is not None:
        parts.append(f"created {remote.created:%Y-%m-%d %H:%M} UTC")
    if remote.platforms:
        parts.append(", ".join(remote.platforms))
    return " · ".join(parts)


def _tag_check(target: Reference, comparison: TagComparison) -> Check:
    """What the push does to the registry's tag, in words."""
    name = f"{target.path}:{target.tag}"
    change = comparison.change
    if change is TagChange.NEW:
        return Check(REMOTE_TAG, Outcome.PASSED, f"new: the registry has no {name} yet")
    held = _held(comparison)
    if change is TagChange.SAME and comparison.local.digest is None:
        # Compared by config digest: the same image, though the engine may write its
        # manifest anew (another compression), so the digest may still change.
        return Check(
            REMOTE_TAG,
            Outcome.PASSED,
            f"already holds this same image (same config): {held}; the push leaves the image "
            "as it is, its manifest digest may change",
        )
    if change is TagChange.SAME:
        return Check(
            REMOTE_TAG,
            Outcome.PASSED,
            f"already holds this image: {held}; the push changes nothing",
        )
    if change is TagChange.MOVES:
        return Check(
            REMOTE_TAG,
            Outcome.INFO,
            f"holds another image: {held}; the push moves {name} to this one",
            "enter asks before moving it; to keep it, press b and choose another tag.",
        )
    return Check(
        REMOTE_TAG,
        Outcome.UNKNOWN,
        f"holds {held}; what the push sends cannot be compared with it, so the push may "
        "move the tag",
        "enter asks before replacing it; to keep it, press b and choose another tag.",
    )


def _remote_tag(
    client: RegistryClient,
    probe: RegistryProbe | DockpushError,
    target: Reference,
    local: LocalContent,
) -> tuple[Check, TagComparison | None]:
    """Ask the registry what the tag holds now and compare it with what the push sends."""
    if isinstance(probe, DockpushError):
        detail = "not checked: the registry did not answer"
        return Check(REMOTE_TAG, Outcome.NOT_APPLICABLE, detail), None
    try:
        remote = look_up_tag(client, target)
    except DockpushError as error:
        detail = f"not checked: {error.explanation}"
        return Check(REMOTE_TAG, Outcome.NOT_APPLICABLE, detail, error.next_step), None
    comparison = compare(remote, local)
    return _tag_check(target, comparison), comparison


def run_preflight(
    engine: Engine,
    targets: list[Reference],
    login_for: Callable[[str], Login | None],
    sources: dict[str, str] | None = None,
    platform: Platform | None = None,
    login_problem: Callable[[str], DockpushError | None] = lambda _registry: None,
) -> list[TargetReport]:
    """Check every target; blocking (engine and registry calls). With `platform`, each target
    is checked for pushing only that platform (`docker push --platform`)."""
    insecure = engine.insecure_registries()
    clients: dict[str, RegistryClient] = {}
    probes: dict[str, RegistryProbe | DockpushError] = {}
    logins: dict[str, tuple[Check, LoginNeed]] = {}
    reports = []
    try:
        for target in targets:
            key = registry_key(target.domain)
            login = login_for(target.domain)
            if key not in probes:
                client = clients[key] = RegistryClient(target.domain, login, insecure)
                try:
                    probes[key] = client.probe()
                except DockpushError as error:
                    probes[key] = error
                check = _login(
                    engine, login, probes[key], datetime.now(), login_problem(target.domain)
                )
                logins[key] = (check, _login_need(login, check))
            source = (sources or {}).get(str(target))
            local, details = _local_image(engine, target)
            checks = [_destination(target), local]
            platforms: tuple[Platform, ...] = ()
            comparison = None
            login_check, need = logins[key]
            checks += [login_check, _registry(engine, probes[key], target, insecure)]
            if details is not None:
                content, platforms = _what_is_pushed(
                    engine, details, platform, source or target.familiar
                )
                checks.insert(2, content)
                sent = local_content(engine.image_store, details, target, platform)
                tag_check, comparison = _remote_tag(clients[key], probes[key], target, sent)
                checks.append(tag_check)
            commands = tuple(equivalent_commands(source, target, login, platform))
            reports.append(
                TargetReport(
                    target,
                    tuple(checks),
                    commands,
                    platforms,
                    _choice_note(engine),
                    need,
                    comparison,
                )
            )
    finally:
        for client in clients.values():
            client.close()
    return reports
