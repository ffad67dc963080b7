"""Typed errors: each carries a plain-language explanation and the next step for the user.

The engine reports most registry failures as free text (inside a push stream, or as the
message of an HTTP 500 from `/auth`). `classify_engine_message` turns that text into the
right error type, so every screen can explain it the same way.
"""

from __future__ import annotations

import re


class DockpushError(Exception):
    """Base of every error dockpush explains to a person.

    `title` is a short headline, `explanation` says what happened in plain words,
    `next_step` says what to do about it, and `detail` keeps the engine's own text.
    """

    title = "Something went wrong"
    next_step = "Try again; if it keeps failing, run with the same settings in the docker CLI."

    def __init__(
        self, explanation: str, *, next_step: str | None = None, detail: str | None = None
    ) -> None:
        super().__init__(explanation)
        self.explanation = explanation
        if next_step is not None:
            self.next_step = next_step
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.title}: {self.explanation}"


class EngineUnreachable(DockpushError):
    """The Docker engine did not answer at the address tried."""

    title = "Docker engine not reachable"
    next_step = (
        "Start the engine (or Docker Desktop), or point dockpush at a running one with "
        "--host or DOCKER_HOST; then press r to retry."
    )


class EnginePermissionDenied(EngineUnreachable):
    """The engine's socket exists but this user may not open it."""

    title = "No permission to use the Docker engine"
    next_step = (
        "Add your user to the 'docker' group (then log in again), or use a rootless engine "
        "and point DOCKER_HOST at its socket."
    )


class EngineConnectionLost(EngineUnreachable):
    """The engine stopped answering in the middle of an operation."""

    title = "Lost the connection to the Docker engine"


class EngineAnswerMalformed(DockpushError):
    """The engine's answer could not be read: not JSON, or cut off in the middle."""

    title = "Unreadable answer from the engine"
    next_step = (
        "Retry. If it repeats, something between dockpush and the engine (an SSH tunnel, a "
        "socket proxy) is cutting or altering the stream; try `docker push` to compare."
    )


class PushStalled(DockpushError):
    """Nothing moved in a push for longer than dockpush waits."""

    title = "Push stalled"
    next_step = (
        "The registry, or the network to it, stopped accepting data. Check the link (VPN, "
        "proxy, a full disk on the registry), then press R to retry: layers already uploaded "
        "are skipped."
    )


class EngineTLSFailed(EngineUnreachable):
    """The engine answered, but TLS with it failed (certificate not trusted, wrong name, no
    client certificate)."""

    title = "TLS with the Docker engine failed"
    next_step = (
        "Check the TLS files: ca.pem, cert.pem and key.pem in DOCKER_CERT_PATH (or the "
        "context's TLS folder) must come from the engine's CA, and the host name must be in the "
        "engine's certificate; then press r to retry."
    )


class EngineSSHFailed(EngineUnreachable):
    """The SSH connection to a remote engine failed."""

    title = "SSH to the Docker engine failed"
    next_step = (
        "Check that `ssh USER@HOST docker system dial-stdio` works from this machine: sshd "
        "listening, your key accepted (ssh-agent or IdentityFile in ~/.ssh/config), the host "
        "key in ~/.ssh/known_hosts, docker installed on the remote; then press r to retry."
    )


class AuthenticationRequired(DockpushError):
    """The registry wants a login and none (or an anonymous one) was sent."""

    title = "Login required"
    next_step = "Log in to this registry (press l), then retry."


class AuthenticationFailed(DockpushError):
    """The registry rejected the username and password or token."""

    title = "Login rejected"
    next_step = (
        "Check the username and the password or access token; on Docker Hub with two-factor "
        "authentication, use an access token instead of the password."
    )


class AccessDenied(DockpushError):
    """Logged in, but not allowed to push to this repository."""

    title = "Access denied to the repository"
    next_step = (
        "Check the namespace: you can push only to your own user or to an organisation you "
        "belong to, and the repository may need to exist first (or the token needs write scope)."
    )


class RegistryUnreachable(DockpushError):
    """The registry did not answer (refused, unknown host, timeout)."""

    title = "Registry not reachable"
    next_step = "Check the registry address and your network (VPN, proxy), then retry."


class InsecureRegistry(DockpushError):
    """The registry speaks plain HTTP but the engine talks HTTPS to it."""

    title = "Registry answers over plain HTTP"
    next_step = (
        'Either serve the registry over HTTPS, or add it to the engine\'s "insecure-registries" '
        "list in /etc/docker/daemon.json (Docker Desktop: Settings > Docker Engine) and restart "
        "the engine. 127.0.0.0/8 is already allowed."
    )


class CertificateProblem(DockpushError):
    """TLS to the registry failed: unknown authority, wrong name, expired."""

    title = "Registry certificate not trusted"
    next_step = (
        "Put the registry's CA certificate in /etc/docker/certs.d/<registry[:port]>/ca.crt on the "
        "engine's machine (no restart needed), or fix the certificate's name and dates."
    )


class ImageNotFound(DockpushError):
    """No local image has that reference."""

    title = "Image not found"
    next_step = "Pick the image again, or tag it under this name first."


class ManifestNotFound(DockpushError):
    """The registry has no such repository or tag."""

    title = "Not in the registry"
    next_step = "Check the repository and tag; push it first if it was never pushed."


class RateLimited(DockpushError):
    """The registry refuses more requests for now."""

    title = "Rate limited by the registry"
    next_step = (
        "Wait and retry (Docker Hub limits reset within hours); logging in raises the limit."
    )


class NameInvalid(DockpushError):
    """The registry refused the repository name."""

    title = "Repository name refused"
    next_step = "Use lowercase letters, digits and separators (. _ -), and a namespace you own."


class RequestTooLarge(DockpushError):
    """HTTP 413: a proxy or load balancer in front of the registry limits request bodies."""

    title = "Request too large for a proxy in front of the registry"
    next_step = (
        "A proxy in front of the registry limits the body size (for nginx: "
        "client_max_body_size 0;). Ask its operator to raise it, or push through another route."
    )


class RegistryAnswerUnexpected(DockpushError):
    """The registry (or something in front of it) answered outside the registry API."""

    title = "Unexpected answer from the registry"
    next_step = (
        "Check the registry address: a login page, a proxy's error page or another service "
        "answered instead of the registry API. Try `curl -i https://REGISTRY/v2/`, then retry."
    )


class RegistryServerError(DockpushError):
    """The registry failed on its own side (5xx)."""

    title = "The registry failed"
    next_step = "This is the registry's fault, not yours: retry later, or tell its operator."


class BlobUploadUnknown(DockpushError):
    """The registry lost an upload session part-way (restart, or a load balancer switched node)."""

    title = "The registry lost the upload"
    next_step = (
        "Retry. If it keeps happening, the registry's nodes do not share storage or its "
        "upload sessions expire too fast (tell its operator)."
    )


class PushFailed(DockpushError):
    """A push failed for a reason dockpush does not recognise; the engine's text is shown."""

    title = "Push failed"
    next_step = "Read the engine's message below; retry after fixing what it names."


class PushIncomplete(DockpushError):
    """The stream ended without the engine confirming the push."""

    title = "Push not confirmed"
    next_step = "Retry the push; nothing claims success until the engine reports a digest."


class PushCancelled(DockpushError):
    """The user cancelled the push."""

    title = "Push cancelled"
    next_step = "Press enter to push again; layers already uploaded will be skipped."


class KeyringUnavailable(DockpushError):
    """No usable system keyring backend."""

    title = "No system keyring"
    next_step = (
        "Install and unlock a Secret Service (gnome-keyring or KeePassXC), or configure a "
        "keyring backend (PYTHON_KEYRING_BACKEND). Meanwhile a login lasts only for this run."
    )


class DockerConfigBroken(DockpushError):
    """The docker CLI's config.json or a credential helper could not be used."""

    title = "Docker configuration unusable"
    next_step = "Fix or move the file named; logins saved by dockpush keep working."


_REGISTRY_PATTERNS: list[tuple[re.Pattern[str], type[DockpushError], str]] = [
    (
        re.compile(r"server gave HTTP response to HTTPS client", re.I),
        InsecureRegistry,
        "The registry speaks plain HTTP, but the engine only talks HTTPS to registries it "
        "does not list as insecure.",
    ),
    (
        re.compile(r"x509:|certificate (signed by unknown|is not valid|has expired)|tls:", re.I),
        CertificateProblem,
        "The engine could not verify the registry's TLS certificate.",
    ),
    (
        re.compile(r"incorrect username or password|status: 401|401 unauthorized", re.I),
        AuthenticationFailed,
        "The registry rejected the username and password.",
    ),
    (
        re.compile(r"unauthorized: authentication required|no basic auth credentials", re.I),
        AuthenticationRequired,
        "The registry needs a login for this repository, and none was sent.",
    ),
    (
        re.compile(r"denied|insufficient_scope|forbidden", re.I),
        AccessDenied,
        "The registry refused access to this repository for this login.",
    ),
    (
        re.compile(r"toomanyrequests|too many requests|rate limit", re.I),
        RateLimited,
        "The registry refuses more requests from you for now.",
    ),
    (
        re.compile(r"413|request entity too large", re.I),
        RequestTooLarge,
        "Something in front of the registry refused a request as too large (HTTP 413).",
    ),
    (
        re.compile(r"blob upload unknown|BLOB_UPLOAD_UNKNOWN", re.I),
        BlobUploadUnknown,
        "The registry no longer knows an upload that was in progress.",
    ),
    (
        re.compile(r"name invalid|NAME_INVALID|invalid reference format", re.I),
        NameInvalid,
        "The registry refused the repository name.",
    ),
    (
        re.compile(r"manifest unknown|MANIFEST_UNKNOWN|name unknown|NAME_UNKNOWN", re.I),
        ManifestNotFound,
        "The registry has no such repository or tag.",
    ),
    (
        re.compile(r"An image does not exist locally|tag does not exist|No such image", re.I),
        ImageNotFound,
        "There is no local image with that name and tag.",
    ),
    (
        re.compile(
            r"connection refused|no such host|i/o timeout|network is unreachable|"
            r"connection reset|EOF$|context deadline exceeded|no route to host",
            re.I,
        ),
        RegistryUnreachable,
        "The registry did not answer.",
    ),
    (
        re.compile(r"\b5\d\d\b|internal server error|bad gateway|service unavailable", re.I),
        RegistryServerError,
        "The registry answered with a server error.",
    ),
]


# Podman reads registry settings from registries.conf and certificates from
# /etc/containers/certs.d, not from the Docker engine's places.
PODMAN_NEXT_STEPS: dict[type[DockpushError], str] = {
    InsecureRegistry: (
        "Either serve the registry over HTTPS, or mark it insecure for Podman: add "
        '[[registry]] location = "HOST:PORT" insecure = true to /etc/containers/registries.conf '
        "(rootless: ~/.config/containers/registries.conf), then restart `podman system service`."
    ),
    CertificateProblem: (
        "Put the registry's CA certificate in /etc/containers/certs.d/<registry[:port]>/ca.crt "
        "(rootless: ~/.config/containers/certs.d/...), or fix the certificate's name and dates."
    ),
}


def classify_engine_message(message: str) -> DockpushError:
    """Turn an engine or registry error text into the typed error that explains it."""
    for pattern, error_type, explanation in _REGISTRY_PATTERNS:
        if pattern.search(message):
            return error_type(explanation, detail=message)
    return PushFailed("The engine reported an error it did not explain further.", detail=message)


class ContextNotFound(DockpushError):
    """A docker context named by an option, DOCKER_CONTEXT or config.json does not exist."""

    title = "No such docker context"
    next_step = (
        "List the contexts with `docker context ls` (or ctrl+e here), then pick one that exists, "
        "unset DOCKER_CONTEXT, or fix currentContext in config.json."
    )


class ContextUnreadable(DockpushError):
    """A docker context's metadata file is broken."""

    title = "Docker context unreadable"
    next_step = "Recreate it: `docker context rm NAME` then `docker context create NAME ...`."
