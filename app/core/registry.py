"""Registry HTTP API v2: probe, tags, manifests and blobs, with Basic and Bearer auth.

Why a small client on requests rather than a library: oras-py and python-dxf were
weighed. oras-py targets OCI artifacts, pulls in jsonschema and its own auth layer,
and its challenge handling is organised around artifact push/pull rather than
"HEAD this blob, GET that manifest with these Accept types". python-dxf is
close to what we need but wraps requests with its own auth callback and exceptions and
has no notion of a plain-HTTP fallback for loopback registries. What verification needs
is five endpoints and the two auth schemes of the distribution spec's token flow,
which fit in this module on `requests` (already a dependency through docker-py).

Secrets: credentials come in as `Login` (whose secret never prints) and are revealed only
inside the `Authorization` header of a request.
"""

from __future__ import annotations

import functools
import re
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests
import requests.certs
from requests.adapters import HTTPAdapter

from app.core.credentials import Login, registry_key
from app.core.errors import (
    AccessDenied,
    AuthenticationFailed,
    CertificateProblem,
    DockpushError,
    ManifestNotFound,
    RateLimited,
    RegistryAnswerUnexpected,
    RegistryServerError,
    RegistryUnreachable,
)

DOCKER_HUB_API = "registry-1.docker.io"
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}
_CHALLENGE_PARAM_RE = re.compile(r'(\w+)="([^"]*)"')
TIMEOUT = (5, 30)


@dataclass(frozen=True, slots=True)
class Challenge:
    """A parsed `WWW-Authenticate` header."""

    scheme: str
    params: dict[str, str]


def parse_challenge(header: str) -> Challenge:
    """`Bearer realm="…",service="…"` -> Challenge("bearer", {...})."""
    scheme, _, rest = header.strip().partition(" ")
    return Challenge(scheme.lower(), dict(_CHALLENGE_PARAM_RE.findall(rest)))


@dataclass(frozen=True, slots=True)
class RegistryProbe:
    """How a registry answered `/v2/`."""

    registry: str
    base_url: str
    plain_http: bool
    status: int
    auth_scheme: str | None


@dataclass(frozen=True, slots=True)
class Manifest:
    """A manifest as served: its digest, media type and parsed body."""

    digest: str
    media_type: str
    body: dict
    size: int


def _valid_descriptor(item: object) -> bool:
    return (
        isinstance(item, dict)
        and isinstance(item.get("digest"), str)
        and isinstance(item.get("size", 0), int)
    )


def manifest_problem(media_type: str, body: object) -> str | None:
    """What is wrong with a manifest's shape, or None when verification can rely on it."""
    if not isinstance(body, dict):
        return "the manifest is not a JSON object"
    if media_type in INDEX_TYPES:
        entries = body.get("manifests")
        if not isinstance(entries, list) or not all(
            _valid_descriptor(m) and isinstance(m.get("platform", {}), dict) for m in entries
        ):
            return "the index has no valid list of manifests"
        return None
    layers = body.get("layers")
    if not isinstance(layers, list) or not all(_valid_descriptor(layer) for layer in layers):
        return "the manifest has no valid list of layers"
    if not _valid_descriptor(body.get("config")):
        return "the manifest has no valid config descriptor"
    return None


def api_host(registry: str) -> str:
    """The host that serves the API: Docker Hub's is registry-1.docker.io."""
    return DOCKER_HUB_API if registry_key(registry) == "docker.io" else registry


def is_loopback(registry: str) -> bool:
    """Whether the engine treats this registry as insecure by default (127.0.0.0/8)."""
    host = registry.rsplit(":", 1)[0] if registry.count(":") == 1 else registry
    return host.startswith("127.") or host in {"localhost", "[::1]"}


def _connection_error(registry: str, error: Exception) -> DockpushError:
    text = str(error)
    if isinstance(error, requests.exceptions.SSLError) and "CERTIFICATE_VERIFY_FAILED" in text:
        return CertificateProblem(
            f"The certificate of {registry} is not trusted on this machine.", detail=text
        )
    return RegistryUnreachable(f"{registry} did not answer.", detail=text)


# Hosts that answered only over plain HTTP in this process: later probes try HTTP first
# and skip an HTTPS attempt that costs ~20 ms against a plain-HTTP server.
_PLAIN_HTTP_HOSTS: set[str] = set()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=requests.certs.where())


class _CachedTLSAdapter(HTTPAdapter):
    """Loads the CA bundle once per process: requests reloads it on every new connection,
    about 20 ms each, which made a verification twice as slow as `skopeo inspect`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = _tls_context()
        super().init_poolmanager(*args, **kwargs)

    def cert_verify(self, conn: Any, url: str, verify: bool | str, cert: Any) -> None:
        if verify is True and not cert:
            conn.cert_reqs = "CERT_REQUIRED"  # the shared context already trusts the bundle
            return
        super().cert_verify(conn, url, verify, cert)


class RegistryClient:
    """One registry's HTTP API, authenticating as `login` (or anonymously)."""

    def __init__(self, registry: str, login: Login | None = None) -> None:
        self.registry = registry
        self.host = api_host(registry)
        self._login = login
        self._session = requests.Session()
        self._session.mount("https://", _CachedTLSAdapter())
        self._probe: RegistryProbe | None = None
        self._base_url: str | None = None
        self._challenge: Challenge | None = None
        self._tokens: dict[str, str] = {}

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    # -- connection and auth ---------------------------------------------------------------

    def probe(self) -> RegistryProbe:
        """GET /v2/ over HTTPS, falling back to plain HTTP as the engine does for loopback."""
        errors: list[Exception] = []
        schemes = ("http", "https") if self.host in _PLAIN_HTTP_HOSTS else ("https", "http")
        for scheme in schemes:
            url = f"{scheme}://{self.host}/v2/"
            try:
                response = self._session.get(url, timeout=TIMEOUT)
            except requests.exceptions.SSLError as error:
                errors.append(error)
                if "CERTIFICATE_VERIFY_FAILED" in str(error):
                    raise _connection_error(self.registry, error) from None
                continue
            except requests.exceptions.RequestException as error:
                errors.append(error)
                continue
            if scheme == "http" and response.status_code == 400 and "HTTPS" in response.text:
                # A TLS server answering plain HTTP: our memo was stale.
                _PLAIN_HTTP_HOSTS.discard(self.host)
                continue
            if scheme == "http":
                _PLAIN_HTTP_HOSTS.add(self.host)
            self._base_url = f"{scheme}://{self.host}"
            header = response.headers.get("WWW-Authenticate")
            self._challenge = parse_challenge(header) if header else None
            self._probe = RegistryProbe(
                registry=self.registry,
                base_url=self._base_url,
                plain_http=scheme == "http",
                status=response.status_code,
                auth_scheme=self._challenge.scheme if self._challenge else None,
            )
            return self._probe
        raise _connection_error(self.registry, errors[-1])

    def _basic(self) -> tuple[str, str] | None:
        if self._login is None:
            return None
        return (self._login.username, self._login.secret.reveal())

    def _bearer_token(self, scope: str) -> str:
        if scope in self._tokens:
            return self._tokens[scope]
        assert self._challenge is not None
        params = {"service": self._challenge.params.get("service", "")}
        if scope:
            params["scope"] = scope
        url = f"{self._challenge.params['realm']}?{urlencode(params)}"
        try:
            response = self._session.get(url, auth=self._basic(), timeout=TIMEOUT)
        except requests.exceptions.RequestException as error:
            raise RegistryUnreachable(
                f"The token service of {self.registry} did not answer.", detail=str(error)
            ) from None
        if response.status_code == 401:
            raise self._rejected()
        if response.status_code != 200:
            raise RegistryServerError(
                f"The token service of {self.registry} answered HTTP {response.status_code}."
            )
        body = response.json()
        token = body.get("token") or body.get("access_token")
        if not token:
            raise RegistryServerError(f"The token service of {self.registry} sent no token.")
        self._tokens[scope] = token
        return token

    def _rejected(self) -> AuthenticationFailed:
        if self._login is None:
            return AuthenticationFailed(
                f"{self.registry} needs a login for this, and none is saved.",
                next_step="Log in to this registry (press l), then check again.",
            )
        return AuthenticationFailed(
            f"{self.registry} rejected the login of {self._login.username!r}."
        )

    def _request(
        self, method: str, path: str, scope: str = "", **kwargs: object
    ) -> requests.Response:
        """One API request, answering the registry's auth challenge once if it sends one."""
        if self._base_url is None:
            self.probe()
        url = f"{self._base_url}{path}"
        headers = dict(kwargs.pop("headers", None) or {})  # type: ignore[call-overload]
        for attempt in range(2):
            auth = None
            if self._challenge is not None and self._challenge.scheme == "bearer":
                headers["Authorization"] = f"Bearer {self._bearer_token(scope)}"
            elif self._challenge is not None and self._challenge.scheme == "basic":
                auth = self._basic()
            try:
                response = self._session.request(
                    method, url, headers=headers, auth=auth, timeout=TIMEOUT, **kwargs
                )
            except requests.exceptions.RequestException as error:
                raise _connection_error(self.registry, error) from None
            if response.status_code == 401 and attempt == 0:
                header = response.headers.get("WWW-Authenticate")
                if header:
                    challenge = parse_challenge(header)
                    scope = challenge.params.get("scope", scope)
                    if challenge != self._challenge:
                        self._challenge = challenge
                        self._tokens.clear()
                        continue
                raise self._rejected()
            if response.status_code == 401:
                raise self._rejected()
            if response.status_code == 429:
                raise RateLimited(
                    f"{self.registry} refuses more requests for now.",
                    detail=response.headers.get("Retry-After"),
                )
            if response.status_code >= 500:
                raise RegistryServerError(
                    f"{self.registry} answered HTTP {response.status_code} to {method} {path}."
                )
            return response
        raise AssertionError("unreachable")

    def _expect(self, response: requests.Response, what: str) -> None:
        """Raise the typed error for an answer that is not a success."""
        if response.ok:
            return
        if response.status_code == 403:
            raise AccessDenied(f"{self.registry} refused {what} (HTTP 403).")
        raise RegistryAnswerUnexpected(
            f"{self.registry} answered {what} with HTTP {response.status_code}.",
            detail=_excerpt(response),
        )

    def _json(self, response: requests.Response, what: str) -> Any:
        """The JSON body of a successful answer, or a clear error naming what came instead."""
        self._expect(response, what)
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "no content type").split(";")[0]
            raise RegistryAnswerUnexpected(
                f"{self.registry} answered {what} with {kind} that is not JSON "
                f"({len(response.content)} bytes).",
                detail=_excerpt(response),
            ) from None

    def check_login(self) -> None:
        """Authenticate now (raises AuthenticationFailed when rejected)."""
        probe = self._probe or self.probe()
        if probe.auth_scheme is None:
            return
        self._request("GET", "/v2/")

    # -- content ---------------------------------------------------------------------------

    def tags(self, repository: str) -> list[str]:
        """The repository's tags (empty when the repository does not exist)."""
        response = self._request(
            "GET", f"/v2/{repository}/tags/list", scope=f"repository:{repository}:pull"
        )
        if response.status_code == 404:
            return []
        body = self._json(response, f"the tag list of {repository}")
        tags = body.get("tags") if isinstance(body, dict) else None
        if not isinstance(tags or [], list):
            raise RegistryAnswerUnexpected(
                f"{self.registry} sent a tag list for {repository} that is not a list.",
                detail=_excerpt(response),
            )
        return [str(tag) for tag in tags or []]

    def manifest(self, repository: str, reference: str) -> Manifest:
        """The manifest the registry serves for a tag or digest."""
        response = self._request(
            "GET",
            f"/v2/{repository}/manifests/{reference}",
            scope=f"repository:{repository}:pull",
            headers={"Accept": MANIFEST_TYPES},
        )
        if response.status_code == 404:
            raise ManifestNotFound(f"{self.registry} has no {repository}:{reference}.")
        what = f"the manifest of {repository}:{reference}"
        body = self._json(response, what)
        media_type = response.headers.get("Content-Type", "").split(";")[0]
        problem = manifest_problem(media_type, body)
        if problem is not None:
            raise RegistryAnswerUnexpected(
                f"{self.registry} answered {what} ({media_type or 'no content type'}), "
                f"but {problem}.",
                detail=_excerpt(response),
            )
        return Manifest(
            digest=response.headers.get("Docker-Content-Digest", ""),
            media_type=media_type,
            body=body,
            size=len(response.content),
        )

    def config(self, repository: str, digest: str) -> dict:
        """An image's config blob (os, architecture, ...); empty when the registry lacks it."""
        response = self._request(
            "GET", f"/v2/{repository}/blobs/{digest}", scope=f"repository:{repository}:pull"
        )
        if response.status_code == 404:
            return {}
        body = self._json(response, f"the config blob {digest[:19]}")
        return body if isinstance(body, dict) else {}

    def blob_size(self, repository: str, digest: str) -> int | None:
        """The size of a blob (HEAD), or None when the registry does not have it."""
        response = self._request(
            "HEAD",
            f"/v2/{repository}/blobs/{digest}",
            scope=f"repository:{repository}:pull",
            allow_redirects=True,
        )
        if response.status_code == 404:
            return None
        self._expect(response, f"HEAD of blob {digest[:19]}")
        try:
            return int(response.headers.get("Content-Length", "0"))
        except ValueError:
            raise RegistryAnswerUnexpected(
                f"{self.registry} sent no usable size for blob {digest[:19]}."
            ) from None

    def delete_manifest(self, repository: str, digest: str) -> None:
        """Delete a manifest by digest (registries must have delete enabled)."""
        response = self._request(
            "DELETE",
            f"/v2/{repository}/manifests/{digest}",
            scope=f"repository:{repository}:delete",
        )
        self._expect(response, "the delete")

    def delete_blob(self, repository: str, digest: str) -> None:
        """Delete a blob by digest (registries must have delete enabled)."""
        response = self._request(
            "DELETE", f"/v2/{repository}/blobs/{digest}", scope=f"repository:{repository}:delete"
        )
        self._expect(response, "the delete")


def _excerpt(response: requests.Response) -> str:
    """The start of an unexpected answer, for the detail line (never a whole page)."""
    text = " ".join(response.text[:300].split())
    return f"HTTP {response.status_code}: {text}" if text else f"HTTP {response.status_code}"
