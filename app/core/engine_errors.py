"""The catalogue of engine error texts: which words of an engine's message mean which error.

The engines report registry failures as free text: inside a push stream, or as the message
of an HTTP error from `/auth` or `/push`. Docker 20.10 (classic store), newer Docker engines
(containerd store) and Podman word the same failure differently, and the newer ones quote
whole blob URLs (`.../blobs/sha256:<64 hex>`) and addresses (`dial tcp 127.0.0.1:41337`).
So the patterns are anchored: an HTTP status counts only as a status (after "status" or
"HTTP", or as a number standing alone before its reason phrase), never as digits inside a
digest, a port or an upload id; a one-word code (`insufficient_scope`, `forbidden`) counts only
where it is not part of a repository path, which may well be named `forbidden`. Phrases with
spaces cannot come from a URL or a reference. Order matters: the first matching entry wins.

`tests/test_engine_errors.py` replays every error line recorded from the sandbox engines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.core.errors import (
    AccessDenied,
    AuthenticationFailed,
    AuthenticationRequired,
    BlobUploadUnknown,
    CertificateProblem,
    DockpushError,
    ImageNotFound,
    InsecureRegistry,
    ManifestNotFound,
    NameInvalid,
    PlatformContentMissing,
    PushFailed,
    RateLimited,
    RegistryServerError,
    RegistryUnreachable,
    RequestTooLarge,
)

# Not inside a host, port, path, digest or tag: no word character, `.`, `:`, `/` or `-` before.
_ALONE = r"(?<![\w.:/-])"


def standalone(words: str) -> str:
    """A regex for `words` (a regex) standing on their own, not inside a path or reference."""
    return rf"{_ALONE}(?:{words})(?![\w./-])"


def http_status(codes: str) -> str:
    """A regex for an HTTP status among `codes` (a regex such as `413` or `5\\d\\d`), only where
    it stands as a status: after "status", "status code", "StatusCode" or "HTTP", or as a
    number of its own followed by a reason phrase ("413 Request Entity Too Large",
    "501 Unsupported method")."""
    keyword = rf"{_ALONE}(?:status(?:\s*code)?|HTTP(?:/[\d.]+)?)\s*[:=]?\s*(?:{codes})\b"
    phrase = rf"{_ALONE}(?:{codes})\s+[A-Za-z(]"
    return rf"(?:{keyword}|{phrase})"


@dataclass(frozen=True, slots=True)
class EngineErrorKind:
    """One entry of the catalogue: the words that identify a failure, and what it means."""

    pattern: re.Pattern[str]
    error_type: type[DockpushError]
    explanation: str

    def matches(self, message: str) -> bool:
        """True when the engine's message says this."""
        return self.pattern.search(message) is not None


def _kind(pattern: str, error_type: type[DockpushError], explanation: str) -> EngineErrorKind:
    return EngineErrorKind(re.compile(pattern, re.IGNORECASE), error_type, explanation)


CATALOGUE: tuple[EngineErrorKind, ...] = (
    _kind(
        r"server gave HTTP response to HTTPS client",
        InsecureRegistry,
        "The registry speaks plain HTTP, but the engine only talks HTTPS to registries it "
        "does not list as insecure.",
    ),
    _kind(
        standalone(r"x509:|tls:")
        + r"|\bcertificate (?:signed by unknown|is not valid|has expired)",
        CertificateProblem,
        "The engine could not verify the registry's TLS certificate.",
    ),
    # The containerd image store, asked for a platform (or falling back to the host's) whose
    # content is not in the local store.
    _kind(
        r"was found but does not provide (?:the specified|any) platform",
        PlatformContentMissing,
        "The engine does not have the content of the platform it was asked to push: this "
        "multi-platform image is missing that platform's layers locally.",
    ),
    # Engines 24 to 26 (API 1.45 and older) push the whole index, failing on a blob they lack.
    _kind(
        r"references multiple platform specific manifests, but not all of them are available",
        PlatformContentMissing,
        "This multi-platform image lacks some platforms' content locally, so the engine cannot "
        "push the whole index.",
    ),
    _kind(
        r"multiple matching manifests found but no specific platform requested",
        PlatformContentMissing,
        "This multi-platform image lacks this machine's platform locally and holds several "
        "others, so the engine will not choose which one to push.",
    ),
    _kind(
        r"\bno basic auth credentials\b",
        AuthenticationRequired,
        "The registry needs a login for this repository, and none was sent.",
    ),
    # Docker 20.10 and Podman say this both with no login and with a rejected one.
    _kind(
        r"\bunauthorized: authentication required\b",
        AuthenticationRequired,
        "The registry needs a valid login for this repository: none was sent, or the one "
        "sent was not accepted.",
    ),
    # Before the 401s: Podman's anonymous push quotes "denied" and then "HTTP 401 response".
    _kind(
        r"\bpush access denied\b|"
        + standalone("denied:|insufficient_scope|forbidden")
        + "|"
        + http_status("403"),
        AccessDenied,
        "The registry refused access to this repository for this login.",
    ),
    _kind(
        r"\bincorrect username or password\b|\binvalid username/password\b|"
        r"(?:^|: )unauthorized$|" + http_status("401"),
        AuthenticationFailed,
        "The registry rejected the login that was sent.",
    ),
    _kind(
        standalone("toomanyrequests")
        + r"|\btoo many requests\b|\brate limit|"
        + http_status("429"),
        RateLimited,
        "The registry refuses more requests from you for now.",
    ),
    _kind(
        r"\b(?:request entity|payload|content) too large\b|" + http_status("413"),
        RequestTooLarge,
        "Something in front of the registry refused a request as too large (HTTP 413).",
    ),
    _kind(
        r"\bblob upload unknown\b|" + standalone("BLOB_UPLOAD_UNKNOWN"),
        BlobUploadUnknown,
        "The registry no longer knows an upload that was in progress.",
    ),
    _kind(
        r"\b(?:name invalid|invalid reference format|invalid image name)\b|"
        + standalone("NAME_INVALID"),
        NameInvalid,
        "The registry refused the repository name.",
    ),
    _kind(
        r"\b(?:manifest|name) unknown\b|" + standalone("MANIFEST_UNKNOWN|NAME_UNKNOWN"),
        ManifestNotFound,
        "The registry has no such repository or tag.",
    ),
    _kind(
        r"\bAn image does not exist locally\b|\btag does not exist\b|\bNo such image\b|"
        r"\bimage not known\b",
        ImageNotFound,
        "There is no local image with that name and tag.",
    ),
    _kind(
        r"\bconnection refused\b|\bno such host\b|\bi/o timeout\b|\bnetwork is unreachable\b|"
        r"\bconnection reset\b|\bcontext deadline exceeded\b|\bno route to host\b|"
        # containerd's upload to a registry that stopped mid-blob (28.5.2):
        r"\buse of closed network connection\b|" + standalone("EOF") + "$",
        RegistryUnreachable,
        "The registry did not answer.",
    ),
    _kind(
        r"\binternal server error\b|\bbad gateway\b|\bservice unavailable\b|"
        r"\bgateway time-?out\b|" + http_status(r"5\d\d"),
        RegistryServerError,
        "The registry answered with a server error.",
    ),
)


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
    for kind in CATALOGUE:
        if kind.matches(message):
            return kind.error_type(kind.explanation, detail=message)
    return PushFailed("The engine reported an error it did not explain further.", detail=message)
