"""Typed errors: each carries a plain-language explanation and the next step for the user.

The engine reports most registry failures as free text (inside a push stream, or as the
message of an HTTP 500 from `/auth`). `app.core.engine_errors.classify_engine_message` turns
that text into the right error type, so every screen can explain it the same way.
"""

from __future__ import annotations


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
        "engine's machine (no restart needed) and, for a remote engine, on this one too (dockpush "
        "reads it there), or fix the certificate's name and dates."
    )


class ImageNotFound(DockpushError):
    """No local image has that reference."""

    title = "Image not found"
    next_step = "Pick the image again, or tag it under this name first."


class PlatformContentMissing(DockpushError):
    """A multi-platform image lacks, in the local store, the content of a platform the engine
    was asked to push (the containerd image store keeps an index with only some platforms)."""

    title = "Platform content missing locally"
    next_step = (
        "Fetch the missing platform's layers (`docker pull --platform OS/ARCH` of the image "
        "from where it came), or push one platform that is present."
    )


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


class RegistryTLSFailed(DockpushError):
    """TLS with the registry failed for a reason other than its certificate; never downgraded."""

    title = "TLS with the registry failed"
    next_step = (
        "dockpush talks plain HTTP only to registries the engine treats as insecure (loopback and "
        'its "insecure-registries"). Check the address and the network (a proxy or firewall '
        "may be breaking TLS), then retry."
    )


class PlainHTTPRefused(DockpushError):
    """The registry asked dockpush to continue over plain HTTP to a host the engine treats as
    secure: a token realm or a redirect; credentials would travel in clear text."""

    title = "Refused to continue over plain HTTP"
    next_step = (
        "The registry (or something in front of it) points to a plain-HTTP address. Ask its "
        "operator to serve that address over HTTPS, or, if you trust the network, add the host to "
        'the engine\'s "insecure-registries" and restart the engine.'
    )


class RegistryAnswerTooLarge(DockpushError):
    """An answer was larger than dockpush reads (a manifest over 4 MiB, a huge JSON body)."""

    title = "Answer from the registry too large"
    next_step = (
        "Real registries never send this much for a manifest or a token: check the registry "
        "address, or whether a proxy in front of it answers instead."
    )


class RegistryAnswerTooSlow(DockpushError):
    """An answer did not arrive completely within dockpush's deadline for one request."""

    title = "Answer from the registry too slow"
    next_step = (
        "The registry, or the network to it, sends data too slowly. Retry; if it repeats, "
        "check the link (VPN, proxy) or tell the registry's operator."
    )


class ConfigDigestMismatch(DockpushError):
    """A config blob's bytes do not hash to the digest the manifest names for it."""

    title = "The registry served another config"
    next_step = (
        "The registry, or something between it and dockpush, is not serving the blob it names: "
        "do not trust this image; check the registry address and push again."
    )
