"""The registry client against a hostile loopback registry: HTTPS unless the engine says
otherwise, no downgrade, no credentials in clear text, bounded reads under one deadline.

`SECURE` is the engine's answer for a host it does not list as insecure; the hostile server
runs on loopback, so each test hands the client the engine's view it stands for.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import time
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.core.contexts import resolve_endpoint
from app.core.credentials import Login
from app.core.engine import Engine
from app.core.errors import (
    DockpushError,
    InsecureRegistry,
    PlainHTTPRefused,
    RegistryAnswerTooLarge,
    RegistryAnswerTooSlow,
    RegistryAnswerUnexpected,
    RegistryServerError,
    RegistryTLSFailed,
)
from app.core.registry import (
    MAX_MANIFEST_BYTES,
    MAX_REDIRECTS,
    InsecureRegistries,
    RegistryClient,
    _origin,
    _Watchdog,
    manifest_problem,
)
from app.core.secret import Secret
from tests.harness.hostile_registry import (
    LAYER,
    LAYER_DIGEST,
    LIAR_DIGEST,
    MANIFEST,
    MANIFEST_DIGEST,
    MANIFEST_V2,
    HostileRegistry,
)
from tests.harness.sandbox import SandboxInfo

SECURE = InsecureRegistries(networks=(), names=frozenset())
PASSWORD = "hunter2-not-for-the-wire"


def _login(registry: str) -> Login:
    return Login(registry, "alice", Secret(PASSWORD))


def _only(address: str) -> InsecureRegistries:
    """The engine lists exactly this host:port under insecure-registries."""
    return InsecureRegistries(networks=(), names=frozenset({address}))


# -- which hosts get plain HTTP ---------------------------------------------------------------


def test_engine_registry_config_decides_plain_http() -> None:
    config = {
        "InsecureRegistryCIDRs": ["10.0.0.0/8", "not-a-network"],
        "IndexConfigs": {
            "docker.io": {"Name": "docker.io", "Secure": True},
            "myregistry:5000": {"Name": "myregistry:5000", "Secure": False},
        },
    }
    insecure = InsecureRegistries.from_registry_config(config)
    assert insecure.allow_plain_http("myregistry:5000")
    assert not insecure.allow_plain_http("myregistry:5001")
    assert insecure.allow_plain_http("10.1.2.3:5000")
    assert insecure.allow_plain_http("127.0.0.1:5000")  # loopback always, as the engine does
    assert insecure.allow_plain_http("localhost:5000")
    assert insecure.allow_plain_http("[::1]:5000")
    assert not insecure.allow_plain_http("192.0.2.7:5000")
    assert not insecure.allow_plain_http("docker.io")
    assert not InsecureRegistries.from_registry_config({}).allow_plain_http("ghcr.io")


@pytest.mark.parametrize("store", ["classic", "containerd"])
def test_engine_reports_its_insecure_registries(sandbox: SandboxInfo, store: str) -> None:
    host = sandbox.containerd_docker_host if store == "containerd" else sandbox.docker_host
    engine = Engine.connect(resolve_endpoint(host))
    try:
        insecure = engine.insecure_registries()
    finally:
        engine.close()
    assert insecure.allow_plain_http(sandbox.open_registry)
    assert not insecure.allow_plain_http("registry.example.com:5000")


def test_plain_http_registry_on_a_secure_host_is_not_downgraded() -> None:
    """Finding 1: the old client fell back to plain HTTP for any host, then sent Basic."""
    with HostileRegistry(auth="basic") as registry:
        client = RegistryClient(registry.address, _login(registry.address), SECURE)
        with pytest.raises(InsecureRegistry) as raised:
            client.check_login()
        client.close()
    assert "plain HTTP" in raised.value.explanation
    assert registry.seen == []  # not one plain-HTTP request, so no password on the wire
    assert PASSWORD not in str(raised.value) + (raised.value.detail or "")


def test_tls_failure_is_explained_never_downgraded() -> None:
    """A reset in the TLS handshake (a middlebox) used to switch the host to plain HTTP."""
    with HostileRegistry(auth="basic", refuse_tls=True) as registry:
        client = RegistryClient(registry.address, _login(registry.address), SECURE)
        with pytest.raises(RegistryTLSFailed) as raised:
            client.check_login()
        # No memory of a fallback either: a second client fails the same way.
        second = RegistryClient(registry.address, _login(registry.address), SECURE)
        with pytest.raises(RegistryTLSFailed):
            second.probe()
        client.close()
        second.close()
    assert "does not fall back to plain HTTP" in raised.value.explanation
    assert registry.seen == []


def test_engine_insecure_host_may_use_plain_http() -> None:
    with HostileRegistry(auth="basic") as registry:
        client = RegistryClient(registry.address, _login(registry.address), _only(registry.address))
        probe = client.probe()
        client.check_login()
        client.close()
    assert probe.plain_http and probe.auth_scheme == "basic"
    assert any(seen.authorization for seen in registry.seen)


# -- token realms and redirects ---------------------------------------------------------------


@pytest.fixture
def elsewhere() -> Iterator[HostileRegistry]:
    """A second server: another host, as far as URLs go."""
    with HostileRegistry() as registry:
        yield registry


@pytest.mark.parametrize(
    ("scheme", "refusal"),
    [
        # Finding 2: Basic credentials went to whatever realm the registry named, in clear.
        pytest.param("http", PlainHTTPRefused, id="plain-http-is-refused"),
        # A realm elsewhere (Docker Hub's is auth.docker.io) is fine, over TLS only; this
        # realm speaks plain HTTP, so TLS to it fails.
        pytest.param("https", InsecureRegistry, id="https-only"),
    ],
)
def test_bearer_realm_on_another_host(
    hostile: HostileRegistry,
    elsewhere: HostileRegistry,
    scheme: str,
    refusal: type[DockpushError],
) -> None:
    """A secure registry's token realm on another host gets no credentials in clear."""
    hostile.auth, hostile.realm = "bearer", f"{scheme}://{elsewhere.address}/token"
    client = RegistryClient(hostile.address, _login(hostile.address), _only(hostile.address))
    with pytest.raises(refusal) as raised:
        client.check_login()
    client.close()
    assert elsewhere.address in raised.value.explanation
    assert elsewhere.seen == []


def test_bearer_realm_on_an_insecure_host_may_use_plain_http(
    hostile: HostileRegistry, elsewhere: HostileRegistry
) -> None:
    hostile.auth, hostile.realm = "bearer", f"http://{elsewhere.address}/token"
    client = RegistryClient(hostile.address, _login(hostile.address))  # loopback: insecure
    with pytest.raises(RegistryServerError):  # the realm has no token to give
        client.check_login()
    client.close()
    assert elsewhere.seen and elsewhere.seen[0].path.startswith("/token?")


def test_redirect_to_plain_http_on_a_secure_host_is_refused(
    hostile: HostileRegistry, elsewhere: HostileRegistry
) -> None:
    hostile.redirect_to = f"http://{elsewhere.address}"
    client = RegistryClient(hostile.address, None, _only(hostile.address))
    with pytest.raises(PlainHTTPRefused):
        client.manifest("redirect/good/app", "1.0")
    client.close()
    assert elsewhere.seen == []


def test_redirect_to_another_host_keeps_the_credentials_home(
    hostile: HostileRegistry, elsewhere: HostileRegistry
) -> None:
    hostile.auth, hostile.redirect_to = "basic", f"http://{elsewhere.address}"
    client = RegistryClient(hostile.address, _login(hostile.address))
    manifest = client.manifest("redirect/good/app", "1.0")
    client.close()
    assert manifest.digest == MANIFEST_DIGEST
    assert hostile.seen[-1].authorization and hostile.seen[-1].authorization.startswith("Basic")
    assert [seen.authorization for seen in elsewhere.seen] == [None]


# -- bounded reads ----------------------------------------------------------------------------


def test_huge_chunked_manifest_stops_early_with_bounded_memory(hostile: HostileRegistry) -> None:
    """Finding 6: a 1 GiB chunked manifest took the old client to 4 GiB of memory."""
    client = RegistryClient(hostile.address)
    tracemalloc.start()
    try:
        with pytest.raises(RegistryAnswerTooLarge) as raised:
            client.manifest("huge/app", "1.0")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        client.close()
    assert "4 MiB" in raised.value.explanation
    assert peak < 4 * MAX_MANIFEST_BYTES
    time.sleep(0.2)  # the server notices the hang-up
    assert hostile.sent < 64 * 1024 * 1024  # of the 1 GiB it would have sent


def test_announced_huge_manifest_is_not_read_at_all(hostile: HostileRegistry) -> None:
    client = RegistryClient(hostile.address)
    with pytest.raises(RegistryAnswerTooLarge) as raised:
        client.manifest("hugelength/app", "1.0")
    client.close()
    assert "1073741824" in (raised.value.detail or "")


def test_dripping_body_hits_the_deadline_for_the_whole_request(hostile: HostileRegistry) -> None:
    """Finding 6: one byte every few seconds never trips a per-read timeout."""
    client = RegistryClient(hostile.address, deadline=3, read_timeout=2)
    started = time.monotonic()
    with pytest.raises(RegistryAnswerTooSlow) as raised:
        client.manifest("drip/app", "1.0")
    client.close()
    elapsed = time.monotonic() - started
    assert 3 <= elapsed < 6, elapsed
    assert "within 3 s" in raised.value.explanation
    assert 1 <= hostile.sent <= 6


# -- the digest comes from the bytes ----------------------------------------------------------


@pytest.mark.parametrize(
    ("repository", "header"),
    [
        ("good/app", MANIFEST_DIGEST),
        ("noheader/app", None),
        ("liar/app", LIAR_DIGEST),
        ("wrongtype/app", MANIFEST_DIGEST),
    ],
)
def test_manifest_digest_is_the_hash_of_its_bytes(
    hostile: HostileRegistry, repository: str, header: str | None
) -> None:
    client = RegistryClient(hostile.address)
    manifest = client.manifest(repository, "1.0")
    client.close()
    assert manifest.digest == MANIFEST_DIGEST
    assert manifest.header_digest == header
    assert manifest.media_type == MANIFEST_V2  # from the body when the header type is wrong


def test_descriptor_digests_must_be_digests() -> None:
    """A hostile digest would land in a URL path (`/blobs/../../`) and on the screen."""
    layer = {"digest": "sha256:" + "a" * 64, "size": 1}
    config = {"digest": "sha256:" + "b" * 64, "size": 2}
    assert manifest_problem(MANIFEST_V2, {"layers": [layer], "config": config}) is None
    bad = {"digest": "../../v2/other/manifests/latest", "size": 1}
    assert manifest_problem(MANIFEST_V2, {"layers": [bad], "config": config})
    escape = {"digest": "sha256:\x1b]0;pwned\x07", "size": 1}
    assert manifest_problem(MANIFEST_V2, {"layers": [layer], "config": escape})


# -- review of #16: one deadline, one URL parser, bounded token and redirects -----------------


def test_slow_headers_hit_the_deadline_for_the_whole_request(hostile: HostileRegistry) -> None:
    """H1: one header line a second never trips the read timeout; the old client waited
    101 s for a 3 s deadline."""
    client = RegistryClient(hostile.address, deadline=3, read_timeout=2)
    client.probe()
    started = time.monotonic()
    with pytest.raises(RegistryAnswerTooSlow) as raised:
        client.manifest("slowheaders/app", "1.0")
    client.close()
    elapsed = time.monotonic() - started
    assert elapsed < 3.5, elapsed
    assert "within 3 s" in raised.value.explanation


@pytest.fixture
def secure_host() -> Iterator[HostileRegistry]:
    """A plain-HTTP server on 127.0.0.2: "another, secure host" under `_ONLY_127_0_0_1`."""
    with HostileRegistry(host="127.0.0.2") as registry:
        yield registry


# The engine treats 127.0.0.1 as insecure and 127.0.0.2 as secure: both stay on loopback, and
# the two URL parsers' disagreement decides which of them gets the credentials.
_ONLY_127_0_0_1 = InsecureRegistries(networks=(ipaddress.ip_network("127.0.0.1/32"),))


def test_realm_with_a_backslash_cannot_take_credentials_to_a_secure_host(
    hostile: HostileRegistry, secure_host: HostileRegistry
) -> None:
    """H2: urlsplit read `http://SECURE\\@127.0.0.1/` as 127.0.0.1 (plain HTTP allowed) while
    urllib3 connected to SECURE, with the Basic credentials, in clear text."""
    assert not _ONLY_127_0_0_1.allow_plain_http(secure_host.address)
    hostile.auth = "bearer"
    hostile.realm = f"http://{secure_host.address}\\@{hostile.address}/token"
    client = RegistryClient(hostile.address, _login(hostile.address), _ONLY_127_0_0_1)
    with pytest.raises(RegistryAnswerUnexpected) as raised:
        client.check_login()
    client.close()
    assert "user info or a backslash" in raised.value.explanation
    assert secure_host.seen == []


def test_redirect_with_user_info_is_refused(
    hostile: HostileRegistry, secure_host: HostileRegistry
) -> None:
    """H2 for redirects: `http://SECURE@...` and `http://x@SECURE` are refused outright."""
    hostile.auth = "basic"
    hostile.redirect_to = f"http://user@{secure_host.address}"
    client = RegistryClient(hostile.address, _login(hostile.address), _ONLY_127_0_0_1)
    with pytest.raises(RegistryAnswerUnexpected):
        client.manifest("redirect/good/app", "1.0")
    client.close()
    assert secure_host.seen == []


def test_origin_is_the_host_urllib3_connects_to() -> None:
    assert _origin("http://127.0.0.2:5000\\@127.0.0.1/token") == ("http", "127.0.0.2:5000")
    assert _origin("HTTPS://Registry.Example") == ("https", "registry.example:443")
    assert _origin("http://[::1]:5000/v2/") == ("http", "[::1]:5000")


def test_a_huge_token_answer_is_not_read(hostile: HostileRegistry) -> None:
    hostile.auth, hostile.realm = "bearer", f"http://{hostile.address}/hugetoken"
    client = RegistryClient(hostile.address, _login(hostile.address))
    with pytest.raises(RegistryAnswerTooLarge) as raised:
        client.check_login()
    client.close()
    assert "1 MiB" in raised.value.explanation


def test_a_redirect_loop_stops(hostile: HostileRegistry) -> None:
    client = RegistryClient(hostile.address)
    with pytest.raises(RegistryAnswerUnexpected) as raised:
        client.manifest("loop/app", "1.0")
    client.close()
    assert f"more than {MAX_REDIRECTS} times" in raised.value.explanation
    assert len([seen for seen in hostile.seen if "/loop/" in seen.path]) == MAX_REDIRECTS + 1


def test_names_are_resolved_as_the_engine_does() -> None:
    """M4: the engine looks every name up (`isSecureIndex`); `$(hostname):5000` that
    resolves to loopback is insecure for it even with no insecure-registries."""
    assert InsecureRegistries().allow_plain_http("localhost:5000")
    hostname = socket.gethostname()
    addresses = {info[4][0] for info in socket.getaddrinfo(hostname, None)}
    if not all(ipaddress.ip_address(a).is_loopback for a in addresses):
        pytest.skip(f"{hostname} does not resolve to loopback here ({addresses})")
    assert InsecureRegistries().allow_plain_http(f"{hostname}:5000")
    assert not SECURE.allow_plain_http(f"{hostname}:5000")


def test_a_manifest_by_digest_is_hashed_with_that_digest_algorithm(
    hostile: HostileRegistry,
) -> None:
    """L5: the algorithm came from the registry's header, not from the digest asked for."""
    wanted = "sha512:" + hashlib.sha512(MANIFEST).hexdigest()
    client = RegistryClient(hostile.address)
    manifest = client.manifest("good/app", wanted)
    client.close()
    assert manifest.digest == wanted


def test_threads_sharing_a_client_fetch_the_first_token_once(hostile: HostileRegistry) -> None:
    """L6: verification HEADs blobs from 8 threads; each fetched its own first token."""
    hostile.auth, hostile.realm = "bearer", f"http://{hostile.address}/slowtoken"
    client = RegistryClient(hostile.address, _login(hostile.address))
    client.probe()
    with ThreadPoolExecutor(max_workers=8) as pool:
        sizes = list(pool.map(lambda _: client.blob_size("good/app", LAYER_DIGEST), range(8)))
    client.close()
    assert sizes == [len(LAYER)] * 8
    tokens = [seen for seen in hostile.seen if seen.path.startswith("/slowtoken")]
    assert len(tokens) == 1, tokens


def test_one_clock_thread_fires_each_deadline_and_retries_a_connection_still_opening() -> None:
    """Watchdogs share one thread: a request done before its deadline is never fired; one
    whose connection has no socket yet (still connecting) is fired and retried until it has
    one, which is then shut down."""

    class Opening:
        sock: socket.socket | None = None

    ours, theirs = socket.socketpair()
    connection = Opening()
    finished = _Watchdog(0.02)
    with finished:
        pass
    late = _Watchdog(0.02)
    with late:
        late.watch(connection)
        time.sleep(0.2)
        assert late.fired  # the deadline passed while there was no socket
        connection.sock = ours
        theirs.settimeout(2)
        assert theirs.recv(1) == b""  # shut down by the retry: the peer reads the end
    time.sleep(0.05)
    assert not finished.fired
    ours.close()
    theirs.close()
