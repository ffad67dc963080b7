"""The pre-flight check before a push: each item passed, failed or informational, with the fix."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from app.core.checks import Check, Outcome
from app.core.credentials import Login, registry_key
from app.core.engine import Engine
from app.core.errors import DockpushError
from app.core.reference import Reference
from app.core.registry import RegistryClient, RegistryProbe, is_loopback


@dataclass(frozen=True, slots=True)
class TargetReport:
    """The checks for one reference to push."""

    target: Reference
    checks: tuple[Check, ...]
    commands: tuple[str, ...]

    @property
    def ready(self) -> bool:
        """Whether nothing failed."""
        return all(check.outcome is not Outcome.FAILED for check in self.checks)


def registry_display(reference: Reference) -> str:
    """`Docker Hub (docker.io)` or the registry host."""
    return "Docker Hub (docker.io)" if reference.is_docker_hub else reference.domain


def equivalent_commands(source: str | None, target: Reference, login: Login | None) -> list[str]:
    """The docker CLI commands that do the same by hand (no secret in them)."""
    commands = []
    if source and source != str(target) and source != target.familiar:
        commands.append(f"docker tag {shlex.quote(source)} {shlex.quote(target.familiar)}")
    if login is not None:
        registry = "" if target.is_docker_hub else f" {shlex.quote(target.domain)}"
        commands.append(f"docker login{registry} -u {shlex.quote(login.username)}")
    commands.append(f"docker push {shlex.quote(target.familiar)}")
    return commands


def _destination(target: Reference) -> Check:
    where = registry_display(target)
    detail = f"registry {where} · repository {target.path} · tag {target.tag}"
    if target.is_docker_hub:
        detail += " · this goes to Docker Hub"
    return Check("Destination", Outcome.INFO, detail)


def _local_image(engine: Engine, target: Reference) -> Check:
    try:
        details = engine.inspect_image(str(target))
    except DockpushError as error:
        return Check(
            "Local image",
            Outcome.FAILED,
            error.explanation,
            "Go back to the tag form (b) and tag the image under this name.",
        )
    return Check(
        "Local image",
        Outcome.PASSED,
        f"{details.id[7:19]}, {details.os}/{details.architecture}, {details.layer_count} layers",
    )


def _registry(probe: RegistryProbe | DockpushError, target: Reference) -> Check:
    if isinstance(probe, DockpushError):
        return Check("Registry", Outcome.FAILED, probe.explanation, probe.next_step)
    if not probe.plain_http:
        return Check("Registry", Outcome.PASSED, "answers over HTTPS with a trusted certificate")
    if is_loopback(target.domain):
        return Check(
            "Registry",
            Outcome.PASSED,
            "answers over plain HTTP; the engine allows that for 127.0.0.0/8",
        )
    return Check(
        "Registry",
        Outcome.INFO,
        "answers over plain HTTP only; the engine pushes there only if it lists it under "
        "insecure-registries",
        'Add it to "insecure-registries" in the engine\'s daemon.json, or serve HTTPS.',
    )


def _login(
    engine: Engine, login: Login | None, probe: RegistryProbe | DockpushError, now: datetime
) -> Check:
    if login is None:
        if isinstance(probe, RegistryProbe) and probe.auth_scheme is None:
            return Check("Login", Outcome.PASSED, "none needed: the registry is open")
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
) -> list[TargetReport]:
    """Check every target; blocking (engine and registry calls)."""
    probes: dict[str, RegistryProbe | DockpushError] = {}
    logins: dict[str, Check] = {}
    reports = []
    for target in targets:
        key = registry_key(target.domain)
        login = login_for(target.domain)
        if key not in probes:
            client = RegistryClient(target.domain, login)
            try:
                probes[key] = client.probe()
            except DockpushError as error:
                probes[key] = error
            finally:
                client.close()
            logins[key] = _login(engine, login, probes[key], datetime.now())
        checks = (
            _destination(target),
            _local_image(engine, target),
            logins[key],
            _registry(probes[key], target),
        )
        source = (sources or {}).get(str(target))
        reports.append(
            TargetReport(target, checks, tuple(equivalent_commands(source, target, login)))
        )
    return reports
