"""Registry HTTP API v2: probe, tags, manifests and blobs, with Basic and Bearer auth.

Why a small client on requests rather than a library: oras-py and python-dxf were
weighed. oras-py targets OCI artifacts, pulls in jsonschema and its own auth layer,
and its challenge handling is organised around artifact push/pull rather than
"HEAD this blob, GET that manifest with these Accept types". python-dxf is
close to what we need but wraps requests with its own auth callback and exceptions and
has no notion of the engine's insecure registries. What verification needs
is five endpoints and the two auth schemes of the distribution spec's token flow,
which fit in this module on `requests` (already a dependency through docker-py).

Trust: the registry is not trusted. HTTPS always, except for hosts the engine itself talks
plain HTTP to (`InsecureRegistries`), where, as the engine, TLS accepts any certificate and
plain HTTP is the fallback; elsewhere a TLS failure is explained, never downgraded; token
realms and redirects obey the same rule, judged on the host urllib3 connects to (one URL
parser), and one with user info or a backslash is refused. One deadline per request covers
connecting, status line, headers and body (a watchdog shuts the socket down); bodies are read
in bounded chunks; a manifest's and a config's digest is computed from their bytes.

Secrets: credentials come in as `Login` (whose secret never prints) and are revealed only
inside the `Authorization` header of a request.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import heapq
import ipaddress
import itertools
import json
import re
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import requests
import requests.certs
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util import parse_url

from app.core.credentials import Login
from app.core.errors import (
    AccessDenied,
    AuthenticationFailed,
    CertificateProblem,
    ConfigDigestMismatch,
    DockpushError,
    InsecureRegistry,
    ManifestNotFound,
    PlainHTTPRefused,
    RateLimited,
    RegistryAnswerTooLarge,
    RegistryAnswerTooSlow,
    RegistryAnswerUnexpected,
    RegistryServerError,
    RegistryTLSFailed,
    RegistryUnreachable,
)
from app.core.reference import registry_key

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
# The OCI digest grammar: it also keeps a hostile digest out of URL paths and off the screen.
DIGEST_RE = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
# The whole request, from connecting to the last byte of the body: headers or a body that
# drip a line or a byte every few seconds never trip a per-read timeout.
REQUEST_DEADLINE = 60.0
MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # the distribution registry's own limit
MAX_JSON_BYTES = 8 * 1024 * 1024  # tag lists and config blobs
MAX_TOKEN_BYTES = 1024 * 1024
MAX_ERROR_BYTES = 64 * 1024  # of an error answer, only its start is ever shown
MAX_REDIRECTS = 5
_CHUNK = 64 * 1024


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
    """A manifest as served: the digest of its exact bytes, the digest the registry's
    `Docker-Content-Digest` header claimed (None when it sent none), media type and body."""

    digest: str
    header_digest: str | None
    media_type: str
    body: dict
    size: int


_LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def _host_name(registry: str) -> str:
    """`host`, `host:port`, `[v6]:port` -> the bare, lowercased host name or address."""
    return (urlsplit(f"//{registry}").hostname or registry).lower()


@dataclass(frozen=True, slots=True)
class InsecureRegistries:
    """The registries the engine talks plain HTTP to: loopback, plus its "insecure-registries"
    (`RegistryConfig` in the engine's info). Verification follows the engine there and nowhere
    else; the default, without an engine, is loopback only."""

    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = _LOOPBACK
    names: frozenset[str] = field(default_factory=frozenset)
    # Host name -> its addresses, looked up once per engine view (the engine looks up every
    # name too: `$(hostname):5000` that resolves to 127.0.1.1 is insecure for it).
    _resolved: dict[str, list[Any]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def from_registry_config(cls, config: Mapping[str, Any]) -> InsecureRegistries:
        """From the engine's `RegistryConfig`: `InsecureRegistryCIDRs`, and each entry of
        `IndexConfigs` whose `Secure` is false (the engine keys them by `host[:port]`)."""
        networks = list(_LOOPBACK)
        for cidr in config.get("InsecureRegistryCIDRs") or ():
            try:
                network = ipaddress.ip_network(str(cidr), strict=False)
            except ValueError:
                continue
            if network not in networks:
                networks.append(network)
        indexes = config.get("IndexConfigs") or {}
        names = frozenset(
            str(name).lower()
            for name, index in indexes.items()
            if isinstance(index, Mapping) and index.get("Secure") is False
        )
        return cls(tuple(networks), names)

    def allow_plain_http(self, registry: str) -> bool:
        """Whether the engine would talk plain HTTP to `registry` (`host[:port]`), as the
        engine decides it: its index list by name first, then the host's addresses."""
        if registry.lower() in self.names:
            return True
        host = _host_name(registry)
        try:
            addresses = [ipaddress.ip_address(host)]
        except ValueError:
            addresses = self._resolve(host)
        return any(address in network for address in addresses for network in self.networks)

    def _resolve(self, host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        """The addresses of a name, as the engine's `isSecureIndex` looks them up; none when
        the lookup fails or takes longer than `RESOLVE_TIMEOUT` (the stricter answer)."""
        if host not in self._resolved:
            self._resolved[host] = _lookup(host)
        return self._resolved[host]


RESOLVE_TIMEOUT = 3.0


def _lookup(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """getaddrinfo has no timeout of its own: it runs in a daemon thread, waited on briefly."""
    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []

    def look_up() -> None:
        try:
            infos = socket.getaddrinfo(host, None)
        except (OSError, UnicodeError):
            return
        found.extend(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos)

    thread = threading.Thread(target=look_up, name="dockpush-resolve", daemon=True)
    thread.start()
    thread.join(RESOLVE_TIMEOUT)
    return list(found) if not thread.is_alive() else []


LOOPBACK_ONLY = InsecureRegistries()


def _valid_descriptor(item: object) -> bool:
    return (
        isinstance(item, dict)
        and isinstance(item.get("digest"), str)
        and DIGEST_RE.fullmatch(item["digest"]) is not None
        and isinstance(item.get("size", 0), int)
        and not isinstance(item.get("size", 0), bool)
    )


def manifest_problem(media_type: str, body: object) -> str | None:
    """What is wrong with a manifest's shape, or None when verification can rely on it."""
    if not isinstance(body, dict):
        return "the manifest is not a JSON object"
    if media_type in INDEX_TYPES:
        entries = body.get("manifests")
        if not isinstance(entries, list) or not all(
            _valid_descriptor(m)
            and isinstance(m.get("platform", {}), dict)
            and isinstance(m.get("annotations", {}), dict)
            for m in entries
        ):
            return "the index has no valid list of manifests"
        return None
    layers = body.get("layers")
    if not isinstance(layers, list) or not all(_valid_descriptor(layer) for layer in layers):
        return "the manifest has no valid list of layers"
    if not _valid_descriptor(body.get("config")):
        return "the manifest has no valid config descriptor"
    return None


def content_digest(body: bytes, algorithm: str = "sha256") -> str:
    """`algorithm:hex` of exact bytes, as the registry computes a manifest's digest."""
    return f"{algorithm}:{hashlib.new(algorithm, body).hexdigest()}"


def api_host(registry: str) -> str:
    """The host that serves the API: Docker Hub's is registry-1.docker.io."""
    return DOCKER_HUB_API if registry_key(registry) == "docker.io" else registry


def is_loopback(registry: str) -> bool:
    """Whether the registry is on this machine's loopback (127.0.0.0/8, ::1, localhost)."""
    return LOOPBACK_ONLY.allow_plain_http(registry)


def _answers_plain_http(error: Exception) -> bool:
    """Whether a TLS handshake failed because the server speaks plain HTTP."""
    text = str(error)
    return any(
        sign in text for sign in ("WRONG_VERSION_NUMBER", "wrong version number", "RECORD_LAYER")
    )


def _connection_error(registry: str, error: Exception) -> DockpushError:
    text = str(error)
    if isinstance(error, requests.exceptions.SSLError):
        if "CERTIFICATE_VERIFY_FAILED" in text:
            return CertificateProblem(
                f"The certificate of {registry} is not trusted on this machine.", detail=text
            )
        if _answers_plain_http(error):
            return InsecureRegistry(
                f"{registry} answers over plain HTTP, and the engine does not list it as an "
                "insecure registry: dockpush talks HTTPS to it, as the engine does.",
                detail=text,
            )
        return RegistryTLSFailed(
            f"TLS with {registry} failed; dockpush does not fall back to plain HTTP.",
            detail=text,
        )
    if isinstance(error, requests.exceptions.Timeout):
        return RegistryUnreachable(f"{registry} did not answer in time.", detail=text)
    return RegistryUnreachable(f"{registry} did not answer.", detail=text)


# Insecure hosts (never others) that answered only over plain HTTP in this process: later
# probes try HTTP first and skip an HTTPS attempt that costs ~20 ms against a plain-HTTP server.
_PLAIN_HTTP_HOSTS: set[str] = set()


# Where the engine looks for a registry's own CA certificates: `<folder>/<host[:port]>/*.crt`.
DOCKER_CERTS_D = Path("/etc/docker/certs.d")


def registry_cas(registry: str, certs_d: Path = DOCKER_CERTS_D) -> tuple[Path, ...]:
    """The CA certificates the engine adds for `registry` (`host[:port]`) on this machine."""
    folder = certs_d / registry
    try:
        return tuple(sorted(path for path in folder.iterdir() if path.suffix == ".crt"))
    except OSError:  # no such folder (the usual case), or not readable
        return ()


@functools.lru_cache(maxsize=8)
def _tls_context(extra_cas: tuple[Path, ...] = ()) -> ssl.SSLContext:
    """What the engine trusts: the system's CAs and a registry's certs.d CAs (certifi's
    bundle instead of the system's where Python sees none, as on some macOS builds). Made once
    per set of CAs: loading a bundle takes ~20 ms, and requests would do it per connection."""
    context = ssl.create_default_context()
    if not context.cert_store_stats()["x509_ca"]:
        # requests.certs re-exports certifi's `where` without declaring it (no __all__).
        context.load_verify_locations(cafile=requests.certs.where())  # type: ignore[attr-defined]
    for path in extra_cas:
        try:
            context.load_verify_locations(cafile=str(path))
        except (OSError, ssl.SSLError):
            continue  # a file that holds no certificate adds nothing, for the engine too
    return context


@functools.cache
def _unchecked_tls_context() -> ssl.SSLContext:
    """TLS that accepts any certificate: what the engine does with a registry it treats as
    insecure (moby sets InsecureSkipVerify for such an index, before it tries plain HTTP)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # no CAs to load: none is consulted
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


_WATCHED = threading.local()  # the watchdog of the request this thread is sending


class _DeadlineClock:
    """One daemon thread that fires every watchdog whose deadline has passed. A
    `threading.Timer` per request started a thread each time, ~2 ms apiece on a busy machine:
    a fifth of a verification's time."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._due: list[tuple[float, int, _Watchdog]] = []  # a heap, the earliest first
        self._order = itertools.count()  # breaks ties: watchdogs do not compare
        self._thread: threading.Thread | None = None

    def arm(self, watchdog: _Watchdog, seconds: float) -> None:
        """Fire `watchdog` in `seconds`, unless it is done by then."""
        with self._changed:
            heapq.heappush(self._due, (time.monotonic() + seconds, next(self._order), watchdog))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="registry-deadlines", daemon=True
                )
                self._thread.start()
            self._changed.notify()

    def _run(self) -> None:
        with self._changed:
            while True:
                while self._due and self._due[0][2].done:
                    heapq.heappop(self._due)
                if not self._due:
                    self._changed.wait()
                    continue
                wait = self._due[0][0] - time.monotonic()
                if wait > 0:
                    self._changed.wait(wait)
                    continue
                _, _, watchdog = heapq.heappop(self._due)
                again = watchdog.fire()
                if again is not None:
                    heapq.heappush(
                        self._due, (time.monotonic() + again, next(self._order), watchdog)
                    )


_CLOCK = _DeadlineClock()


class _Watchdog:
    """Shuts a request's socket down when its deadline passes, whatever phase it is in:
    connecting, waiting for the status line, headers that trickle in one per second (read
    timeouts apply to each receive, so they never trip), or the body. Armed around one request
    by `RegistryClient._send`; the connection is the one the pool hands out on this thread."""

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self.done = False
        self._seconds = max(seconds, 0.0)
        self._connection: Any = None

    def __enter__(self) -> _Watchdog:
        _WATCHED.current = self
        _CLOCK.arm(self, self._seconds)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.done = True
        _WATCHED.current = None

    def watch(self, connection: Any) -> None:
        """The connection this request uses (called by the pool)."""
        self._connection = connection

    def fire(self) -> float | None:
        """The deadline passed: shut the socket down. While still connecting (no socket yet;
        bounded by the connect timeout) there is none: seconds until the next try."""
        if self.done:
            return None
        self.fired = True
        sock = getattr(self._connection, "sock", None)
        if sock is None:
            return 0.05
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)
        return None


class _Watched:
    """A connection pool that tells the thread's watchdog which connection a request uses."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        # A mixin: `super()` is the urllib3 pool class this is combined with below.
        connection = super()._get_conn(timeout)  # type: ignore[misc]
        watchdog = getattr(_WATCHED, "current", None)
        if watchdog is not None:
            watchdog.watch(connection)
        return connection


class _WatchedPool(_Watched, HTTPConnectionPool):
    """Plain HTTP connections a watchdog can shut down."""


class _WatchedTLSPool(_Watched, HTTPSConnectionPool):
    """HTTPS connections a watchdog can shut down."""


_WATCHED_POOLS = {"http": _WatchedPool, "https": _WatchedTLSPool}


class _RegistryAdapter(HTTPAdapter):
    """Pools whose connections a `_Watchdog` can shut down, and CAs loaded once per process
    (`_tls_context`): requests reloads its bundle on every new connection, about 20 ms each,
    which made a verification twice as slow as `skopeo inspect`. With
    `check_certificates=False`, for a registry the engine treats as insecure only, TLS accepts
    any certificate, as the engine's does."""

    def __init__(self, *, check_certificates: bool = True, cas: tuple[Path, ...] = ()) -> None:
        # HTTPAdapter's init makes the pools.
        self._check_certificates, self._cas = check_certificates, cas
        if not check_certificates:
            # urllib3 warns on every such request, on stderr: the terminal the app draws on.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = (
            _tls_context(self._cas) if self._check_certificates else _unchecked_tls_context()
        )
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager

    def cert_verify(self, conn: Any, url: str, verify: bool | str, cert: Any) -> None:
        if not self._check_certificates:
            conn.cert_reqs, conn.ca_certs = "CERT_NONE", None
            return
        if verify is True and not cert:
            conn.cert_reqs = "CERT_REQUIRED"  # the shared context already trusts the bundle
            return
        super().cert_verify(conn, url, verify, cert)


class _OwnRedirectsSession(requests.Session):
    """A session that never follows or reads a redirect itself: requests reads a redirect's
    whole body into memory (even with allow_redirects=False), and would follow it to any
    scheme. `RegistryClient._send` follows redirects under the plain-HTTP rule instead."""

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        return None


@dataclass(frozen=True, slots=True)
class Answer:
    """A registry's answer with its body read under the bounds (an error's body cut short)."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return 200 <= self.status < 300

    @property
    def content_type(self) -> str:
        """The media type without parameters, or ''."""
        return self.headers.get("Content-Type", "").split(";")[0].strip()


class RegistryClient:
    """One registry's HTTP API, authenticating as `login` (or anonymously).

    `insecure` names the hosts the engine talks plain HTTP to (default: loopback only);
    `deadline` bounds each whole request, `read_timeout` each wait for data, and `budget`
    (seconds from now, optional) all the client's requests together. TLS trusts what the
    engine trusts on this machine: the system's CAs and `certs_d/<registry>/*.crt`.
    """

    def __init__(
        self,
        registry: str,
        login: Login | None = None,
        insecure: InsecureRegistries = LOOPBACK_ONLY,
        *,
        deadline: float = REQUEST_DEADLINE,
        read_timeout: float = READ_TIMEOUT,
        budget: float | None = None,
        certs_d: Path = DOCKER_CERTS_D,
    ) -> None:
        self.registry = registry
        self.host = api_host(registry)
        self._login = login
        self._insecure = insecure
        self._deadline = deadline
        self._budget = budget
        self._budget_ends = None if budget is None else time.monotonic() + budget
        self._timeout = (CONNECT_TIMEOUT, read_timeout)
        self._session = _OwnRedirectsSession()
        adapter = _RegistryAdapter(cas=registry_cas(registry, certs_d))
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        if insecure.allow_plain_http(registry):
            # The engine pushed over TLS without checking the certificate (a self-signed one,
            # typically); the verification reads the same registry the same way.
            unchecked = _RegistryAdapter(check_certificates=False)
            self._session.mount(f"https://{self.host}/", unchecked)
        self._probe: RegistryProbe | None = None
        self._base_url: str | None = None
        self._challenge: Challenge | None = None
        self._tokens: dict[str, str] = {}
        # Verification shares one client between threads: the first token is fetched once.
        self._auth_lock = threading.RLock()

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    # -- transport -------------------------------------------------------------------------

    def _allows_plain_http(self, url: str) -> bool:
        """HTTPS always; plain HTTP only to a host the engine treats as insecure. The host is
        the one urllib3 connects to (`_origin`), never a second parser's opinion."""
        scheme, netloc = _origin(url)
        if scheme == "https":
            return True
        if scheme != "http":
            return False
        return self._insecure.allow_plain_http(netloc)

    def _send(
        self,
        method: str,
        url: str,
        *,
        limit: int,
        headers: Mapping[str, str] | None = None,
        basic: tuple[str, str] | None = None,
    ) -> Answer:
        """One request with bounded reads and one deadline; follows redirects itself, never to
        plain HTTP on a secure host, and never takes credentials to another host."""
        started = time.monotonic()
        sent_headers = dict(headers or {})
        origin = _origin(url)
        for _ in range(MAX_REDIRECTS + 1):
            if not self._allows_plain_http(url):
                raise PlainHTTPRefused(
                    f"{self.registry} sent dockpush to {_safe_url(url)} over plain HTTP, "
                    "a host the engine treats as secure; dockpush did not go there."
                )
            ends = started + self._deadline
            if self._budget_ends is not None:
                ends = min(ends, self._budget_ends)
            remaining = ends - time.monotonic()
            if remaining <= 0:  # a redirect after the time ran out
                raise self._too_slow(0)
            timeout = (min(self._timeout[0], max(remaining, 0.1)), self._timeout[1])
            with _Watchdog(remaining) as watchdog:
                try:
                    response = self._session.request(
                        method,
                        url,
                        headers=sent_headers,
                        auth=basic,
                        timeout=timeout,
                        stream=True,
                        allow_redirects=False,
                    )
                except requests.exceptions.RequestException as error:
                    if watchdog.fired:
                        raise self._too_slow(0) from None
                    scheme, netloc = _origin(url)
                    home = _origin(f"{scheme}://{self.host}")[1]
                    where = self.registry if netloc == home else netloc
                    raise _connection_error(where, error) from None
                try:
                    if response.is_redirect:
                        url = _checked_url(
                            self.registry, urljoin(url, response.headers["Location"])
                        )
                        if _origin(url) != origin:
                            sent_headers.pop("Authorization", None)
                            basic = None
                        continue
                    body = b"" if method == "HEAD" else self._read(response, limit, watchdog)
                    return Answer(response.status_code, response.headers, body)
                finally:
                    response.close()
        raise RegistryAnswerUnexpected(
            f"{self.registry} redirected more than {MAX_REDIRECTS} times for {method} "
            f"{_safe_url(url)}."
        )

    def _too_slow(self, arrived: int) -> RegistryAnswerTooSlow:
        if self._budget_ends is not None and time.monotonic() >= self._budget_ends:
            return RegistryAnswerTooSlow(
                f"{self.registry} did not answer all of dockpush's requests within "
                f"{self._budget:.0f} s; dockpush stopped asking."
            )
        return RegistryAnswerTooSlow(
            f"{self.registry} did not finish its answer within {self._deadline:.0f} s; "
            f"{arrived} bytes of its body had arrived."
        )

    def _read(self, response: requests.Response, limit: int, watchdog: _Watchdog) -> bytes:
        """The body, a chunk at a time, until the watchdog cuts it off at the deadline. A
        success beyond `limit` is an error; of an error answer only the start is kept."""
        cut_short = not 200 <= response.status_code < 300
        limit = MAX_ERROR_BYTES if cut_short else limit
        declared = response.headers.get("Content-Length", "")
        if not cut_short and declared.isdigit() and int(declared) > limit:
            raise _too_large(self.registry, limit, f"Content-Length {declared}")
        body = bytearray()
        try:
            while True:
                data = response.raw.read1(_CHUNK, decode_content=True)
                if watchdog.fired:  # a socket shut down mid-body may read as a clean end
                    raise self._too_slow(len(body))
                if not data:
                    return bytes(body)
                body += data
                if len(body) > limit:
                    if cut_short:
                        return bytes(body[:limit])
                    raise _too_large(self.registry, limit, f"over {len(body)} bytes sent")
        except urllib3.exceptions.ReadTimeoutError as error:
            if watchdog.fired:
                raise self._too_slow(len(body)) from None
            raise RegistryAnswerTooSlow(
                f"{self.registry} stopped sending in the middle of its answer.", detail=str(error)
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as error:
            if watchdog.fired:
                raise self._too_slow(len(body)) from None
            raise RegistryUnreachable(
                f"{self.registry} broke off in the middle of its answer.", detail=str(error)
            ) from None

    # -- connection and auth ---------------------------------------------------------------

    def probe(self) -> RegistryProbe:
        """GET /v2/ over HTTPS; over plain HTTP only where the engine would use it too."""
        errors: list[Exception] = []
        insecure = self._insecure.allow_plain_http(self.registry)
        if not insecure:
            schemes: tuple[str, ...] = ("https",)
        elif self.host in _PLAIN_HTTP_HOSTS:
            schemes = ("http", "https")
        else:
            schemes = ("https", "http")
        for scheme in schemes:
            try:
                answer = self._send("GET", f"{scheme}://{self.host}/v2/", limit=MAX_JSON_BYTES)
            except (InsecureRegistry, RegistryTLSFailed, RegistryUnreachable) as error:
                errors.append(error)
                continue
            if scheme == "http" and answer.status == 400 and b"HTTPS" in answer.body:
                # A TLS server answering plain HTTP: our memo was stale.
                _PLAIN_HTTP_HOSTS.discard(self.host)
                continue
            if scheme == "http":
                _PLAIN_HTTP_HOSTS.add(self.host)
            self._base_url = f"{scheme}://{self.host}"
            header = answer.headers.get("WWW-Authenticate")
            self._challenge = parse_challenge(header) if header else None
            self._probe = RegistryProbe(
                registry=self.registry,
                base_url=self._base_url,
                plain_http=scheme == "http",
                status=answer.status,
                auth_scheme=self._challenge.scheme if self._challenge else None,
            )
            return self._probe
        raise errors[-1]

    def _basic(self) -> tuple[str, str] | None:
        if self._login is None:
            return None
        return (self._login.username, self._login.secret.reveal())

    def _bearer_token(self, scope: str) -> str:
        with self._auth_lock:
            if scope not in self._tokens:
                self._tokens[scope] = self._fetch_token(scope)
            return self._tokens[scope]

    def _fetch_token(self, scope: str) -> str:
        assert self._challenge is not None
        realm = _checked_url(self.registry, self._challenge.params.get("realm", ""))
        params = {"service": self._challenge.params.get("service", "")}
        if scope:
            params["scope"] = scope
        url = f"{realm}{'&' if '?' in realm else '?'}{urlencode(params)}"
        try:
            answer = self._send("GET", url, limit=MAX_TOKEN_BYTES, basic=self._basic())
        except RegistryUnreachable as error:
            raise RegistryUnreachable(
                f"The token service of {self.registry} did not answer.", detail=error.detail
            ) from None
        if answer.status == 401:
            raise self._rejected()
        if answer.status != 200:
            raise RegistryServerError(
                f"The token service of {self.registry} answered HTTP {answer.status}."
            )
        body = _parse_json(answer.body)
        token = (body.get("token") or body.get("access_token")) if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise RegistryServerError(f"The token service of {self.registry} sent no token.")
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
        self,
        method: str,
        path: str,
        scope: str = "",
        *,
        limit: int = MAX_JSON_BYTES,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """One API request, answering the registry's auth challenge once if it sends one."""
        with self._auth_lock:
            if self._base_url is None:
                self.probe()
        url = f"{self._base_url}{path}"
        sent_headers = dict(headers or {})
        for attempt in range(2):
            basic = None
            if self._challenge is not None and self._challenge.scheme == "bearer":
                sent_headers["Authorization"] = f"Bearer {self._bearer_token(scope)}"
            elif self._challenge is not None and self._challenge.scheme == "basic":
                basic = self._basic()
            answer = self._send(method, url, limit=limit, headers=sent_headers, basic=basic)
            if answer.status == 401 and attempt == 0:
                header = answer.headers.get("WWW-Authenticate")
                if header:
                    challenge = parse_challenge(header)
                    scope = challenge.params.get("scope", scope)
                    with self._auth_lock:
                        if challenge != self._challenge:
                            self._challenge = challenge
                            self._tokens.clear()
                            continue
                raise self._rejected()
            if answer.status == 401:
                raise self._rejected()
            if answer.status == 429:
                raise RateLimited(
                    f"{self.registry} refuses more requests for now.",
                    detail=answer.headers.get("Retry-After"),
                )
            if answer.status >= 500:
                raise RegistryServerError(
                    f"{self.registry} answered HTTP {answer.status} to {method} {path}."
                )
            return answer
        raise AssertionError("unreachable")

    def _expect(self, answer: Answer, what: str) -> None:
        """Raise the typed error for an answer that is not a success."""
        if answer.ok:
            return
        if answer.status == 403:
            raise AccessDenied(f"{self.registry} refused {what} (HTTP 403).")
        raise RegistryAnswerUnexpected(
            f"{self.registry} answered {what} with HTTP {answer.status}.",
            detail=_excerpt(answer),
        )

    def _json(self, answer: Answer, what: str) -> Any:
        """The JSON body of a successful answer, or a clear error naming what came instead."""
        self._expect(answer, what)
        try:
            return json.loads(answer.body)
        except ValueError:
            kind = answer.content_type or "no content type"
            raise RegistryAnswerUnexpected(
                f"{self.registry} answered {what} with {kind} that is not JSON "
                f"({len(answer.body)} bytes).",
                detail=_excerpt(answer),
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
        answer = self._request(
            "GET", f"/v2/{repository}/tags/list", scope=f"repository:{repository}:pull"
        )
        if answer.status == 404:
            return []
        body = self._json(answer, f"the tag list of {repository}")
        tags = body.get("tags") if isinstance(body, dict) else None
        if not isinstance(tags or [], list):
            raise RegistryAnswerUnexpected(
                f"{self.registry} sent a tag list for {repository} that is not a list.",
                detail=_excerpt(answer),
            )
        return [str(tag) for tag in tags or []]

    def manifest(self, repository: str, reference: str) -> Manifest:
        """The manifest the registry serves for a tag or digest, with the digest of its bytes
        (hashed with the requested digest's algorithm; for a tag, the header's when it names
        sha256 or sha512)."""
        answer = self._request(
            "GET",
            f"/v2/{repository}/manifests/{reference}",
            scope=f"repository:{repository}:pull",
            limit=MAX_MANIFEST_BYTES,
            headers={"Accept": MANIFEST_TYPES},
        )
        if answer.status == 404:
            raise ManifestNotFound(f"{self.registry} has no {repository}:{reference}.")
        what = f"the manifest of {repository}:{reference}"
        body = self._json(answer, what)
        media_type = _media_type(answer, body)
        problem = manifest_problem(media_type, body)
        if problem is not None:
            raise RegistryAnswerUnexpected(
                f"{self.registry} answered {what} ({media_type or 'no content type'}), "
                f"but {problem}.",
                detail=_excerpt(answer),
            )
        header = answer.headers.get("Docker-Content-Digest", "").strip() or None
        by_digest = DIGEST_RE.fullmatch(reference) is not None
        algorithm = (reference if by_digest else header or "sha256").partition(":")[0]
        if algorithm not in ("sha256", "sha512"):
            algorithm = "sha256"
        return Manifest(
            digest=content_digest(answer.body, algorithm),
            header_digest=header,
            media_type=media_type,
            body=body,
            size=len(answer.body),
        )

    def config(self, repository: str, digest: str) -> dict:
        """An image's config blob (os, architecture, ...), its bytes checked against `digest`;
        empty when the registry lacks it."""
        answer = self._request(
            "GET", f"/v2/{repository}/blobs/{digest}", scope=f"repository:{repository}:pull"
        )
        if answer.status == 404:
            return {}
        what = f"the config blob {digest[:19]}"
        self._expect(answer, what)
        algorithm = digest.partition(":")[0]
        served = content_digest(answer.body, algorithm) if algorithm in ("sha256", "sha512") else ""
        if served != digest:
            raise ConfigDigestMismatch(
                f"{self.registry} served other bytes for the config blob {digest} than its "
                "digest names; dockpush does not read a platform from them.",
                detail=f"they hash to {served or 'an unsupported algorithm'}",
            )
        body = self._json(answer, what)
        return body if isinstance(body, dict) else {}

    def blob_size(self, repository: str, digest: str) -> int | None:
        """The size of a blob (HEAD), or None when the registry does not have it."""
        answer = self._request(
            "HEAD", f"/v2/{repository}/blobs/{digest}", scope=f"repository:{repository}:pull"
        )
        if answer.status == 404:
            return None
        self._expect(answer, f"HEAD of blob {digest[:19]}")
        try:
            return int(answer.headers.get("Content-Length", "0"))
        except ValueError:
            raise RegistryAnswerUnexpected(
                f"{self.registry} sent no usable size for blob {digest[:19]}."
            ) from None

    def delete_manifest(self, repository: str, digest: str) -> None:
        """Delete a manifest by digest (registries must have delete enabled)."""
        answer = self._request(
            "DELETE",
            f"/v2/{repository}/manifests/{digest}",
            scope=f"repository:{repository}:delete",
        )
        self._expect(answer, "the delete")

    def delete_blob(self, repository: str, digest: str) -> None:
        """Delete a blob by digest (registries must have delete enabled)."""
        answer = self._request(
            "DELETE", f"/v2/{repository}/blobs/{digest}", scope=f"repository:{repository}:delete"
        )
        self._expect(answer, "the delete")


def _too_large(registry: str, limit: int, detail: str) -> RegistryAnswerTooLarge:
    return RegistryAnswerTooLarge(
        f"{registry} sent an answer larger than the {_size_text(limit)} dockpush reads for it; "
        "dockpush stopped reading.",
        detail=detail,
    )


def _size_text(limit: int) -> str:
    return f"{limit // 1024 // 1024} MiB" if limit >= 1024 * 1024 else f"{limit // 1024} KiB"


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _media_type(answer: Answer, body: object) -> str:
    """The manifest's media type: its own `mediaType` field when it names a manifest type (a
    proxy may rewrite the Content-Type header), else the header."""
    stated = body.get("mediaType") if isinstance(body, dict) else None
    if isinstance(stated, str) and stated in MANIFEST_TYPES.split(", "):
        return stated
    return answer.content_type


def _origin(url: str) -> tuple[str, str]:
    """(scheme, host:port) as urllib3, which makes the connection, parses the URL; the one
    parser for the plain-HTTP rule and for "is this another host"."""
    try:
        parts = parse_url(url)
    except urllib3.exceptions.LocationParseError:
        return ("", "")
    scheme = (parts.scheme or "").lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    host = (parts.host or "").lower()
    return (scheme, f"{host}:{port}" if port else host)


def _checked_url(registry: str, url: str) -> str:
    """A token realm or redirect target the registry named, refused when it is not a plain
    http(s) URL: userinfo (`user@`) or a backslash is where URL parsers disagree about the
    host, which once sent Basic credentials in clear text to a host the check never saw."""
    scheme, netloc = _origin(url)
    authority = url.partition("://")[2].split("/", 1)[0]
    if scheme not in ("https", "http") or not netloc or "\\" in url or "@" in authority:
        raise RegistryAnswerUnexpected(
            f"{registry} named a token service or redirect that is not a plain http(s) URL "
            "(user info or a backslash in it); dockpush did not go there.",
            detail=_safe_url(url),
        )
    return url


def _safe_url(url: str) -> str:
    """A URL for an explanation: printable ASCII only, never a query string, cut short."""
    shown = url.split("?", 1)[0].split("#", 1)[0]
    return "".join(c if " " < c < "\x7f" else "?" for c in shown)[:120]


def _excerpt(answer: Answer) -> str:
    """The start of an unexpected answer, for the detail line (never a whole page)."""
    text = " ".join(answer.body[:300].decode("utf-8", "replace").split())
    return f"HTTP {answer.status}: {text}" if text else f"HTTP {answer.status}"
