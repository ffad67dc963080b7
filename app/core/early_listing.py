"""The local engine's image list, asked over its socket while the app starts.

The regular listing waits for docker-py and requests to load (about 90 ms), then for the
engine's `/version`, `/info`, the event stream and the list: it began after the first frame,
and the table filled a quarter of a second after the screen. This asks `/version`, `/info`
and the list over the engine's unix socket with the standard library, in a thread started
before Textual loads, so the engine answers while the UI is being built. Its rows are shown
first; the regular listing replaces them moments later, with the engine's events followed
from before it, so no change between the two is lost.

Only for an engine on a unix socket: TLS and ssh:// engines wait for docker-py.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
from typing import Any

from app.core.contexts import resolve_endpoint
from app.core.engine_info import ImageStore, image_store_from, product_name
from app.core.local_images import LocalImage, images_from_list
from app.core.platforms import LISTS_MANIFESTS_FROM, api_at_least

ANSWER_SECONDS = 5.0


class UnixSocketConnection(http.client.HTTPConnection):
    """HTTP over a unix socket (the engine's `unix://` endpoint)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(self.timeout)
        try:
            connection.connect(self.socket_path)
        except OSError:
            connection.close()
            raise
        self.sock = connection


def _get_json(connection: http.client.HTTPConnection, path: str) -> Any:
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        raise OSError(f"GET {path}: HTTP {response.status}")
    return json.loads(body)


def list_over_socket(host: str, timeout: float = ANSWER_SECONDS) -> list[LocalImage]:
    """The images of the engine at a `unix://` host, as `Engine.list_images` gives them.

    Raises OSError (no engine, an error status) or ValueError (an answer that is not JSON)."""
    connection = UnixSocketConnection(host.removeprefix("unix://"), timeout)
    try:
        version = _get_json(connection, "/version")
        api = str(version["ApiVersion"])
        product = product_name(version)
        info = None if product.startswith("Podman") else _get_json(connection, f"/v{api}/info")
        store = image_store_from(product, info)
        query = "?manifests=1" if api_at_least(api, LISTS_MANIFESTS_FROM) else ""
        raw = _get_json(connection, f"/v{api}/images/json{query}")
    finally:
        connection.close()
    return images_from_list(raw, store is ImageStore.CONTAINERD)


class EarlyListing:
    """The listing of the engine the app will use, made in a thread from construction on."""

    def __init__(self, host: str | None = None, context: str | None = None) -> None:
        self._images: list[LocalImage] | None = None
        self._done = threading.Event()
        self._lock = threading.Lock()  # the UI thread and a worker may both ask
        thread = threading.Thread(
            target=self._list, args=(host, context), name="early-listing", daemon=True
        )
        thread.start()

    def _list(self, host: str | None, context: str | None) -> None:
        try:
            endpoint = resolve_endpoint(host, context)
            if endpoint.host.startswith("unix://") and endpoint.tls is None:
                self._images = list_over_socket(endpoint.host)
        except Exception:
            # Anything wrong (no engine, a malformed answer) is left to the regular listing,
            # which explains it; an exception here would print over the screen.
            self._images = None
        finally:
            self._done.set()

    def answered(self, timeout: float) -> bool:
        """Whether the listing is over (with images or without), waiting up to `timeout`."""
        return self._done.wait(timeout)

    def take(self) -> list[LocalImage] | None:
        """The images, to the first caller that asks once the listing is over. None before,
        after, or when there are none (another kind of engine, an error)."""
        if not self._done.is_set():
            return None
        with self._lock:
            images, self._images = self._images, None
        return images
