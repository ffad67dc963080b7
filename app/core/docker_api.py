"""docker-py's private calls, in one place, and docker-py imported without paramiko.

docker-py's public methods cannot do three things dockpush needs:
- push with a `platform` (API 1.46) and keep the HTTP response, so that a cancel from another
  thread can close it (`APIClient.push` hands out only a generator);
- export an image as a stream with a query parameter of our own (`platform`, API 1.48);
- post to `/auth` without `login()`, which answers from its cache without asking the engine.
Those go through five private methods of `docker.APIClient`, named in `PRIVATE_METHODS`. Nothing
else in dockpush calls them: tests/test_docker_api.py checks their signatures and makes a real
call through each, so a docker-py release that changes one fails by name, not inside a push.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

# docker-py imports its ssh transport, and with it paramiko (90-170 ms, most of docker-py's
# import time), whether or not an ssh:// engine is used. A None in sys.modules makes that one
# import raise ImportError, which docker-py catches (it treats paramiko as optional); an ssh://
# engine then loads the transport for real through `enable_ssh_transport()`.
_SSH_TRANSPORT = "docker.transport.sshconn"
if "docker" not in sys.modules and _SSH_TRANSPORT not in sys.modules:
    sys.modules[_SSH_TRANSPORT] = None  # type: ignore[assignment]  # blocks this one import
    try:
        import docker
    finally:
        del sys.modules[_SSH_TRANSPORT]

import docker  # noqa: E402  (after the block above, on purpose)
import docker.api.client  # noqa: E402
import docker.transport  # noqa: E402
import requests  # noqa: E402

# The private methods used, with the parameters relied on (checked by tests/test_docker_api.py).
PRIVATE_METHODS: dict[str, tuple[str, ...]] = {
    "_url": ("self", "pathfmt", "*args", "**kwargs"),
    "_get": ("self", "*args", "**kwargs"),
    "_post_json": ("self", "url", "data", "**kwargs"),
    "_raise_for_status": ("self", "response"),
    "_stream_helper": ("self", "response", "decode"),
}


def enable_ssh_transport() -> None:
    """Load docker-py's ssh transport (and paramiko), left out at import; call before creating
    a client for an ssh:// engine. Does nothing when it is loaded already."""
    if getattr(docker.api.client, "SSHHTTPAdapter", None) is not None:
        return
    from docker.transport.sshconn import SSHHTTPAdapter

    # docker-py looks the adapter up in these two modules' globals when it meets ssh://.
    docker.transport.SSHHTTPAdapter = SSHHTTPAdapter
    docker.api.client.SSHHTTPAdapter = SSHHTTPAdapter


def url(api: docker.APIClient, path: str, *args: str) -> str:
    """The endpoint's full URL on this client, with `args` quoted into `path`'s `{0}` fields."""
    return str(api._url(path, *args))


def get_stream(api: docker.APIClient, path: str, params: dict[str, str]) -> requests.Response:
    """GET an endpoint as a stream; an error status raises docker-py's typed `APIError`."""
    response: requests.Response = api._get(url(api, path), params=params, stream=True)
    api._raise_for_status(response)
    return response


def post_json(api: docker.APIClient, endpoint: str, data: Any, **kwargs: Any) -> requests.Response:
    """POST `data` as JSON to a full URL (see `url`); the status is not checked, so that the
    caller holds the response (to close it) before `raise_for_status`."""
    response: requests.Response = api._post_json(endpoint, data, **kwargs)
    return response


def raise_for_status(api: docker.APIClient, response: requests.Response) -> None:
    """Raise docker-py's typed error (`ImageNotFound`, `APIError`) for an error status."""
    api._raise_for_status(response)


def json_lines(api: docker.APIClient, response: requests.Response) -> Iterator[dict]:
    """The decoded JSON objects of a streamed answer (a push's progress lines)."""
    lines: Iterator[dict] = api._stream_helper(response, decode=True)
    return lines
