"""The engine adapter: one class over docker-py, raising only typed `app.core.errors`.

Every call here blocks; the UI runs them in worker threads. Three docker-py traps are
handled here so no caller can fall into them:
- a push error arrives as an `error` line inside a successful HTTP stream, so every
  line is checked and a push that carried one raises instead of returning;
- `client.login()` answers from its cache and keeps the password in the client, so the
  login check posts to the engine's `/auth` endpoint itself;
- credentials are handed to each push explicitly, never read from the docker CLI config.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import json
import tarfile
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

# Before docker-py itself: docker_api imports it without its ssh transport (paramiko).
from app.core import docker_api  # isort: skip
import docker
import docker.constants
import docker.errors
import docker.tls
import requests
import urllib3.exceptions

from app.core import oci_archive
from app.core.contexts import EngineEndpoint, TLSMaterial, resolve_endpoint
from app.core.credentials import Login
from app.core.engine_errors import PODMAN_NEXT_STEPS, classify_engine_message
from app.core.engine_info import ImageStore, image_store_from, product_name
from app.core.errors import (
    AuthenticationFailed,
    DockpushError,
    EngineAnswerMalformed,
    EngineConnectionLost,
    EnginePermissionDenied,
    EngineSSHFailed,
    EngineTLSFailed,
    EngineUnreachable,
    ImageNotFound,
    PushCancelled,
    PushIncomplete,
    PushStalled,
)
from app.core.local_images import (
    ImageDetails,
    ImageEvent,
    LayerInfo,
    LocalImage,
    engine_time,
    images_from_list,
)
from app.core.platforms import (
    INSPECTS_MANIFESTS_FROM,
    LISTS_MANIFESTS_FROM,
    PUSHES_PLATFORM_FROM,
    ImageManifests,
    Platform,
    api_at_least,
    distinct,
    manifests_from_engine,
    own_layer_sizes,
)
from app.core.progress import PushEvent
from app.core.reference import Reference
from app.core.registry import InsecureRegistries
from app.core.units import human_size

DEFAULT_TIMEOUT = 60
# A push whose stream is silent this long is stopped: the engine never gives up on a
# registry that stops reading, and a busy upload reports progress many times a second.
PUSH_STALL_SECONDS = 120
# The containerd store's layer sizes come from an export of the image, which streams all its
# content (about 1 s for 33 MB on the 2-core sandbox): above this much content the push
# goes without them, and its final numbers come from the pushed manifest.
MAX_SIZE_EXPORT_BYTES = 128 * 1000 * 1000


@dataclass(frozen=True, slots=True)
class RemoteDescriptor:
    """The registry's view of a reference, as the engine's distribution inspect reports it."""

    digest: str
    media_type: str
    size: int
    platforms: tuple[str, ...]


def _explain_connection_error(error: BaseException, endpoint: EngineEndpoint) -> EngineUnreachable:
    text = f"{error.__class__.__name__}: {error}"
    where = endpoint.label
    if isinstance(error, requests.exceptions.SSLError) or "SSL" in text or "TLS" in text:
        return EngineTLSFailed(
            f"The engine at {where} answered, but TLS with it failed.", detail=text
        )
    if "HTTP request to an HTTPS server" in text:
        return EngineTLSFailed(
            f"The engine at {where} accepts only TLS connections, and none was asked for.",
            next_step="Set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to the folder with ca.pem, "
            "cert.pem and key.pem (or use a context with TLS material); then press r to retry.",
            detail=text,
        )
    if endpoint.transport == "ssh":
        return _explain_ssh_error(error, endpoint)
    if "Permission denied" in text or isinstance(error, PermissionError):
        return EnginePermissionDenied(
            f"The engine's socket at {where} exists, but this user may not open it.",
            detail=text,
        )
    return EngineUnreachable(f"Nothing answered at {where}.", detail=text)


def _explain_ssh_error(error: BaseException, endpoint: EngineEndpoint) -> EngineSSHFailed:
    import paramiko

    text = f"{error.__class__.__name__}: {error}"
    if isinstance(error, paramiko.AuthenticationException):
        reason = "the SSH server refused every key offered"
    elif isinstance(error, paramiko.BadHostKeyException):
        reason = "the SSH server's host key differs from the one in known_hosts"
    elif isinstance(error, paramiko.SSHException) and "known_hosts" in str(error):
        reason = "the SSH server's host key is not in ~/.ssh/known_hosts"
    elif isinstance(error, OSError | paramiko.ssh_exception.NoValidConnectionsError):
        reason = "nothing accepted an SSH connection there"
    else:
        reason = "the remote side did not start `docker system dial-stdio`"
    return EngineSSHFailed(
        f"Could not reach the engine at {endpoint.label}: {reason}.", detail=text
    )


def _tls_config(material: TLSMaterial) -> docker.tls.TLSConfig:
    client_cert = (
        (str(material.cert), str(material.key)) if material.cert and material.key else None
    )
    return docker.tls.TLSConfig(
        client_cert=client_cert,
        ca_cert=str(material.ca) if material.ca and material.verify else None,
        verify=material.verify,
    )


def _tls_client(host: str, timeout: int, tls: docker.tls.TLSConfig) -> docker.DockerClient:
    """A TLS client that uses the engine's CA even where REQUESTS_CA_BUNDLE is set.

    requests lets that variable (set system-wide on many machines) override a session's CA
    on every request (psf/requests#3829), so the session must not trust the environment,
    and `version="auto"` would ask the engine before that could be switched off: the API
    version is read first with the oldest one, which every engine understands.
    """
    probe = docker.DockerClient(
        base_url=host, version=docker.constants.MINIMUM_DOCKER_API_VERSION, timeout=timeout, tls=tls
    )
    probe.api.trust_env = False
    try:
        api_version = probe.api.version(api_version=False)["ApiVersion"]
    finally:
        probe.close()
    client = docker.DockerClient(base_url=host, version=api_version, timeout=timeout, tls=tls)
    client.api.trust_env = False
    return client


def _client_for(endpoint: EngineEndpoint, timeout: int) -> docker.DockerClient:
    host = endpoint.host
    if endpoint.tls is not None and host.startswith("tcp://"):
        return _tls_client(host, timeout, _tls_config(endpoint.tls))
    # ssh:// goes through paramiko (docker-py's default), which reads ~/.ssh/config,
    # known_hosts and the ssh-agent like the ssh command does.
    if endpoint.transport == "ssh":
        docker_api.enable_ssh_transport()
    return docker.DockerClient(base_url=host, version="auto", timeout=timeout)


class Engine:
    """The Docker engine, through docker-py. Create with `Engine.connect()`."""

    def __init__(
        self, client: docker.DockerClient, endpoint: EngineEndpoint, product: str = ""
    ) -> None:
        self._client = client
        self.endpoint = endpoint
        self.host = endpoint.label
        self.product = product

    @classmethod
    def connect(
        cls, endpoint: EngineEndpoint | None = None, timeout: int = DEFAULT_TIMEOUT
    ) -> Engine:
        """Connect to an endpoint (default: the one the docker CLI would use) and ping."""
        endpoint = endpoint or resolve_endpoint()
        try:
            client = _client_for(endpoint, timeout)
            product = product_name(client.version())
        except docker.errors.DockerException as error:
            raise _explain_connection_error(error, endpoint) from None
        except (requests.exceptions.RequestException, OSError) as error:
            raise _explain_connection_error(error, endpoint) from None
        except Exception as error:
            # paramiko's exceptions have no common base with the above.
            if endpoint.transport != "ssh":
                raise
            raise _explain_ssh_error(error, endpoint) from None
        return cls(client, endpoint, product)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def classify(self, message: str) -> DockpushError:
        """The typed error for an engine message, with the next step for this kind of engine."""
        error = classify_engine_message(message)
        if self.product.startswith("Podman"):
            error.next_step = PODMAN_NEXT_STEPS.get(type(error), error.next_step)
        return error

    def _call(self, what: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one docker-py call and turn its failures into typed errors."""
        try:
            return function(*args, **kwargs)
        except docker.errors.ImageNotFound as error:
            raise ImageNotFound(
                f"There is no local image {what}.", detail=str(error.explanation)
            ) from None
        except docker.errors.APIError as error:
            raise self.classify(str(error.explanation or error)) from None
        except requests.exceptions.ConnectionError as error:
            raise EngineConnectionLost(
                f"The engine at {self.host} stopped answering.", detail=str(error)
            ) from None
        except requests.exceptions.RequestException as error:
            raise EngineConnectionLost(
                f"The request to the engine at {self.host} failed.", detail=str(error)
            ) from None

    # -- reading ---------------------------------------------------------------------------

    def answers(self) -> bool:
        """Whether the engine answers a ping now (quick; for telling faults apart)."""
        try:
            return bool(self._client.ping())
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError):
            return False

    def version(self) -> dict:
        """The engine's version information."""
        version: dict = self._call("version", self._client.version)
        return version

    def insecure_registries(self) -> InsecureRegistries:
        """The registries this engine talks plain HTTP to (loopback and its
        "insecure-registries"), from `RegistryConfig` in its info; loopback only when the
        engine cannot tell, which is the stricter answer."""
        try:
            info = self._call("info", self._client.info)
        except DockpushError:
            return InsecureRegistries()
        return InsecureRegistries.from_registry_config(info.get("RegistryConfig") or {})

    @property
    def api_version(self) -> str:
        """The Engine API version this connection speaks (`1.51`)."""
        return str(self._client.api.api_version)

    @property
    def pushes_one_platform(self) -> bool:
        """Whether the engine can push one platform of an index (API 1.46 and later)."""
        return api_at_least(self.api_version, PUSHES_PLATFORM_FROM)

    def _get_json(self, path: str, params: dict[str, str]) -> Any:
        """GET an endpoint with query parameters that docker-py's methods do not pass, through
        requests' public API on docker-py's own session (same transport, TLS and timeout)."""
        api = self._client.api
        url = f"{api.base_url}/v{api.api_version}{path}"
        response = api.get(url, params=params, timeout=api.timeout)
        try:
            response.raise_for_status()
        except requests.exceptions.HTTPError as error:
            docker.errors.create_api_error_from_http_exception(error)  # raises the typed error
        return response.json()

    def list_images(self, include_dangling: bool = True) -> list[LocalImage]:
        """Every image in the store (one summary per image, with all its tags), with its
        platforms and attestations where the engine lists them."""
        if api_at_least(self.api_version, LISTS_MANIFESTS_FROM):
            raw = self._call("list", self._get_json, "/images/json", {"manifests": "1"})
        else:
            raw = self._call("list", self._client.api.images, all=False)
        return images_from_list(raw, self.image_store is ImageStore.CONTAINERD, include_dangling)

    def inspect_image(self, reference: str) -> ImageDetails:
        """Details of one image, by id or reference, with its manifests: from the engine from
        API 1.48, from an export of the image before that on the containerd store."""
        unread = ""
        if api_at_least(self.api_version, INSPECTS_MANIFESTS_FROM):
            path = f"/images/{urllib.parse.quote(reference, safe='/:@')}/json"
            raw: dict = self._call(reference, self._get_json, path, {"manifests": "1"})
            manifests = manifests_from_engine(raw)
        else:
            raw = self._call(reference, self._client.api.inspect_image, reference)
            manifests, unread = self._exported_manifests(reference, raw)
        return ImageDetails(
            id=raw["Id"],
            repo_tags=distinct(raw.get("RepoTags") or ()),
            repo_digests=distinct(raw.get("RepoDigests") or ()),
            architecture=raw.get("Architecture", ""),
            os=raw.get("Os", ""),
            size=int(raw.get("Size") or 0),
            created=engine_time(raw.get("Created")),
            diff_ids=tuple((raw.get("RootFS") or {}).get("Layers") or ()),
            manifests=manifests,
            manifests_unread=unread,
        )

    def _exported_manifests(
        self, reference: str, inspected: dict
    ) -> tuple[ImageManifests | None, str]:
        """The containerd store's manifests of an image, on an engine that does not list them
        (API before 1.48), read from an export as `docker image ls --tree` would show them;
        or None and why not. The export streams all the image's content, so a large image is
        not read. An index with a platform's content missing exports fine (Docker 26.1.5 and
        28.5.2 tried): the engine leaves out what it lacks, which is how it shows as missing."""
        if self.image_store is not ImageStore.CONTAINERD:
            return None, ""  # one platform per image: inspect's Os and Architecture
        unlisted = f"this engine (API {self.api_version}) does not list an image's platforms"
        size = int(inspected.get("Size") or 0)
        if size > MAX_SIZE_EXPORT_BYTES:
            # Size counts this machine's platform; the export holds every platform present.
            why = f"reading them from an export would stream all {human_size(size)} or more"
            return None, f"{unlisted}, and {why}"
        try:
            content = self._export(reference)
        except ImageNotFound:
            raise
        except DockpushError as error:
            return None, f"{unlisted}, and its export of the image failed: {error.explanation}"
        manifests = oci_archive.manifests(content, str(inspected.get("Id") or ""))
        if manifests is None:
            return None, f"{unlisted}, and its export did not hold the image as stored"
        return manifests, ""

    def _export(
        self, reference: str, platform: Platform | None = None
    ) -> oci_archive.ArchiveContent:
        """One streamed read of the engine's export of an image (of one platform of it, from
        API 1.48): its JSON documents and blob sizes, never its layer data. Raises a typed
        error when the engine refuses the export or the stream breaks off."""
        params = {"names": reference}
        if platform is not None and api_at_least(self.api_version, INSPECTS_MANIFESTS_FROM):
            params["platform"] = platform.to_json()  # older engines export every platform
        api = self._client.api
        response = self._call(reference, docker_api.get_stream, api, "/images/get", params)
        try:
            response.raw.decode_content = True
            return oci_archive.read(response.raw)
        except (
            tarfile.TarError,
            OSError,
            requests.RequestException,
            urllib3.exceptions.HTTPError,
        ) as error:
            raise EngineAnswerMalformed(
                f"The engine's export of {reference} broke off or is not a tar archive.",
                detail=f"{error.__class__.__name__}: {error}",
            ) from None
        finally:
            response.close()

    def image_history(self, reference: str) -> list[LayerInfo]:
        """The image's history, oldest step first, each step with the size of its own layer."""
        raw = self._call(reference, self._client.api.history, reference)
        steps = [
            LayerInfo(
                id=item.get("Id", ""),
                created_by=item.get("CreatedBy", ""),
                size=int(item.get("Size") or 0),
                created=engine_time(item.get("Created")),
            )
            for item in reversed(raw)
        ]
        if not self._snapshots_copy_parents:
            return steps
        own = own_layer_sizes([step.size for step in steps])
        return [dataclasses.replace(step, size=size) for step, size in zip(steps, own, strict=True)]

    @functools.cached_property
    def _snapshots_copy_parents(self) -> bool:
        """Whether history sizes count every layer below too: the containerd store reports
        each step's snapshot usage, and the `native` snapshotter copies the parent into it."""
        if self.image_store is not ImageStore.CONTAINERD:
            return False
        try:
            info = self._call("info", self._client.info)
        except DockpushError:
            return False
        return bool(info.get("Driver") == "native")

    @functools.cached_property
    def image_store(self) -> ImageStore:
        """Which image store pushes here (blocking the first time: asks the engine's info)."""
        if self.product.startswith("Podman"):
            return ImageStore.PODMAN
        try:
            info = self._call("info", self._client.info)
        except DockpushError:
            info = None
        return image_store_from(self.product, info)

    def layer_sizes(self, reference: str, platform: Platform | None = None) -> dict[str, int]:
        """Size per short layer id as this engine's push names layers: on the classic store
        12 hex of the diff id and the uncompressed size, on the containerd store 12 hex of
        the blob digest and the compressed size its manifest states (of every platform of an
        index, or of `platform` only, as a push of one platform sends)."""
        if self.image_store is ImageStore.CONTAINERD:
            return self._stored_layer_sizes(reference, platform)
        details = self.inspect_image(reference)
        sizes = [step.size for step in self.image_history(reference) if step.size > 0]
        # Empty layers (size 0) also have a diff id; history lists them with size 0.
        if len(sizes) != len(details.diff_ids):
            sizes = [0] * (len(details.diff_ids) - len(sizes)) + sizes
        return {
            diff_id.removeprefix("sha256:")[:12]: size
            for diff_id, size in zip(details.diff_ids, sizes, strict=True)
        }

    def _stored_layer_sizes(self, reference: str, platform: Platform | None) -> dict[str, int]:
        """The containerd store's layer descriptors, read from an export of the image (the
        API states them nowhere else). The export streams every blob, so this costs about a
        read of the image's compressed content; sizes are best effort: a large image or an
        export that fails gives none (the push then shows the engine's own totals)."""
        api = self._client.api
        content = self._call(reference, api.inspect_image, reference).get("Size") or 0
        if int(content) > MAX_SIZE_EXPORT_BYTES:  # the store's image size is its content size
            return {}
        try:
            sizes = oci_archive.layer_sizes(self._export(reference, platform))
        except EngineAnswerMalformed:
            return {}
        return {digest.partition(":")[2][:12]: size for digest, size in sizes.items()}

    def image_events(self) -> EventStream:
        """The engine's image events (tag, untag, delete, import, ...) until closed."""
        stream = self._call("events", self._client.events, decode=True, filters={"type": "image"})
        return EventStream(stream, self.host)

    def image_names(self, image_id: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The tags and repo digests of one image now: an inspect without the manifests."""
        raw = self._call(image_id, self._client.api.inspect_image, image_id)
        tags = distinct(t for t in (raw.get("RepoTags") or ()) if t != "<none>:<none>")
        digests = distinct(d for d in (raw.get("RepoDigests") or ()) if not d.startswith("<none>"))
        return tags, digests

    # -- changing --------------------------------------------------------------------------

    def tag(self, source: str, target: Reference) -> None:
        """Point `target` (which must carry a tag) at the image `source`."""
        if target.tag is None:
            raise ValueError("a tag target needs a tag")
        self._call(source, self._client.api.tag, source, target.name, target.tag)

    def untag(self, target: Reference) -> None:
        """Remove one tag; an image left with no tag is deleted, as `docker rmi` does."""
        self._call(str(target), self._client.api.remove_image, str(target))

    # -- registries ------------------------------------------------------------------------

    def check_login(self, login: Login) -> str:
        """Ask the engine to log in to the registry now; return the engine's status text.

        Posts to `/auth` directly: docker-py's `login()` would answer from its cache and
        keep the password in the client.
        """
        api = self._client.api
        try:
            response = docker_api.post_json(api, docker_api.url(api, "/auth"), login.auth_config())
            docker_api.raise_for_status(api, response)
            return str(response.json().get("Status", "Login Succeeded"))
        except docker.errors.APIError as error:
            # The engine relays a registry's 401 as its own 401 or 500, with the text inside.
            failure = classify_engine_message(str(error.explanation or error))
            if isinstance(failure, AuthenticationFailed) or error.status_code == 401:
                raise AuthenticationFailed(
                    f"{login.registry} rejected the username {login.username!r} and its password.",
                    detail=failure.detail,
                ) from None
            raise failure from None
        except requests.exceptions.RequestException as error:
            raise EngineConnectionLost(
                f"The engine at {self.host} stopped answering.", detail=str(error)
            ) from None

    def distribution_inspect(self, reference: Reference, login: Login | None) -> RemoteDescriptor:
        """What the registry serves for `reference`, asked through the engine."""
        auth = login.auth_config() if login else None
        raw: dict = self._call(
            str(reference), self._client.api.inspect_distribution, str(reference), auth_config=auth
        )
        descriptor = raw.get("Descriptor") or {}
        platforms = tuple(
            f"{p.get('os', '?')}/{p.get('architecture', '?')}"
            + (f"/{p['variant']}" if p.get("variant") else "")
            for p in raw.get("Platforms") or ()
        )
        if not platforms and descriptor.get("digest"):
            platforms = self._local_platform_of(str(reference), str(descriptor["digest"]))
        return RemoteDescriptor(
            digest=descriptor.get("digest", ""),
            media_type=descriptor.get("mediaType", ""),
            size=int(descriptor.get("size") or 0),
            platforms=platforms,
        )

    def _local_platform_of(self, reference: str, digest: str) -> tuple[str, ...]:
        """The platform of a registry manifest the engine names none for (it describes an OCI
        image manifest without one, which is what the containerd store pushes), when the
        local image is that very manifest: same digest, same bytes, same config."""
        try:
            raw: dict = self._call(reference, self._client.api.inspect_image, reference)
        except DockpushError:
            return ()
        local = (raw.get("Descriptor") or {}).get("digest")  # the containerd store's manifest
        same = (
            local == digest
            if local
            else any(d.endswith(f"@{digest}") for d in raw.get("RepoDigests") or ())
        )
        platform = Platform.from_json(
            {
                "os": raw.get("Os"),
                "architecture": raw.get("Architecture"),
                "variant": raw.get("Variant"),
            }
        )
        return (str(platform),) if same and platform is not None else ()

    def push(
        self, reference: Reference, login: Login | None, platform: Platform | None = None
    ) -> PushStream:
        """Start pushing `reference` (which must carry a tag); iterate the result for events.

        With `platform`, only that platform's manifest is pushed, as a single-platform image
        (`docker push --platform`): the index and its attestations are not. That needs API
        1.46; an older engine would ignore the parameter and push everything.
        """
        if reference.tag is None:
            raise ValueError("push needs a tagged reference")
        if platform is not None and not self.pushes_one_platform:
            raise ValueError(f"API {self.api_version} cannot push one platform (needs 1.46)")
        return PushStream(self, reference, login, platform)


class EventStream:
    """Engine image events as an iterator; `close()` ends it from another thread."""

    def __init__(self, stream: Any, host: str) -> None:
        self._stream = stream
        self._host = host

    def close(self) -> None:
        """Stop the stream (the iterating thread then ends)."""
        self._stream.close()

    def __iter__(self) -> Iterator[ImageEvent]:
        try:
            for event in self._stream:
                actor = event.get("Actor") or {}
                yield ImageEvent(
                    action=str(event.get("Action") or event.get("status") or ""),
                    image_id=str(actor.get("ID") or event.get("id") or ""),
                    name=str((actor.get("Attributes") or {}).get("name") or ""),
                )
        except (requests.exceptions.RequestException, AttributeError, OSError) as error:
            raise EngineConnectionLost(
                f"The engine at {self._host} stopped sending events.", detail=str(error)
            ) from None


def _encode_auth(login: Login | None) -> str:
    # An empty object is an anonymous push; the engine then never reads the CLI's config.
    payload = json.dumps(login.auth_config() if login else {}).encode()
    return base64.urlsafe_b64encode(payload).decode()


class PushStream:
    """An engine push as an iterator of `PushEvent`s, cancellable from another thread.

    Iteration raises the typed error after yielding the event that carried it, and
    raises `PushIncomplete` when the stream ends without the engine's digest, so a
    failed or cut-off push can never look like a success.
    """

    def __init__(
        self,
        engine: Engine,
        reference: Reference,
        login: Login | None,
        platform: Platform | None = None,
    ) -> None:
        self.engine = engine
        self.reference = reference
        self.platform = platform
        self._login = login
        self._response: requests.Response | None = None
        self._cancelled = False
        self._stalled = False

    def _params(self) -> dict[str, str]:
        params = {"tag": str(self.reference.tag)}
        if self.platform is not None:
            # The endpoint takes the OCI platform object, JSON-encoded (API 1.46).
            params["platform"] = self.platform.to_json()
        return params

    def cancel(self) -> None:
        """Close the HTTP stream; the engine stops the push when its client goes away."""
        self._cancelled = True
        if self._response is not None:
            self._response.close()

    def stop_stalled(self) -> None:
        """Stop a push whose bytes stopped moving; iteration then raises `PushStalled`. The
        containerd store repeats its last line while stalled, so no read ever times out."""
        self._stalled = True
        self.cancel()

    def _stopped_error(self, detail: str | None = None) -> DockpushError:
        if self._stalled:
            return PushStalled(
                f"Nothing moved for {PUSH_STALL_SECONDS} s, so dockpush stopped the push "
                "(the engine itself would wait for ever).",
                detail=detail,
            )
        return PushCancelled("The push was cancelled before it finished.")

    def _explain_broken_stream(self, error: Exception) -> DockpushError:
        detail = f"{error.__class__.__name__}: {error}"
        if isinstance(
            error, urllib3.exceptions.ReadTimeoutError | requests.exceptions.ReadTimeout
        ) or "Read timed out" in str(error):
            return PushStalled(
                f"Nothing moved for {PUSH_STALL_SECONDS} s, so dockpush stopped the push "
                "(the engine itself would wait for ever).",
                detail=detail,
            )
        if isinstance(error, ValueError | docker.errors.StreamParseError):
            return EngineAnswerMalformed(
                "The engine's push stream held something that is not JSON.", detail=detail
            )
        if isinstance(error, urllib3.exceptions.ProtocolError) and self.engine.answers():
            return EngineAnswerMalformed(
                "The engine's push stream broke off in the middle, though the engine still "
                "answers.",
                detail=detail,
            )
        return EngineConnectionLost(
            f"The engine at {self.engine.host} stopped answering during the push.", detail=detail
        )

    def __iter__(self) -> Iterator[PushEvent]:
        api = self.engine._client.api
        headers = {"X-Registry-Auth": _encode_auth(self._login)}
        url = docker_api.url(api, "/images/{0}/push", self.reference.name)
        failure: DockpushError | None = None
        confirmed = False
        try:
            # docker-py's push() does not expose the response, which we need to close on cancel.
            response = docker_api.post_json(
                api,
                url,
                None,
                headers=headers,
                stream=True,
                params=self._params(),
                timeout=(DEFAULT_TIMEOUT, PUSH_STALL_SECONDS),
            )
            self._response = response
            docker_api.raise_for_status(api, response)
            for line in docker_api.json_lines(api, response):
                event = PushEvent.from_json(line)
                if event.error is not None and failure is None:
                    failure = self.engine.classify(event.error)
                if event.result is not None:
                    confirmed = True
                yield event
        except docker.errors.APIError as error:
            raise self.engine.classify(str(error.explanation or error)) from None
        except (
            requests.exceptions.RequestException,
            urllib3.exceptions.HTTPError,
            docker.errors.StreamParseError,
            AttributeError,
            ValueError,
        ) as error:
            if self._cancelled:
                # A response closed by cancel() surfaces as any of these while reading.
                raise self._stopped_error() from None
            raise self._explain_broken_stream(error) from None
        finally:
            if self._response is not None:
                self._response.close()
        if self._cancelled:
            raise self._stopped_error()
        if failure is not None:
            raise failure
        if not confirmed:
            raise PushIncomplete(
                "The engine ended the push without reporting a digest, so it may not be complete."
            )
