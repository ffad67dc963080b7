"""An HTTP server on loopback that answers registry requests the way broken setups do.

Real registries never send these; captive portals, misrouted proxies and half-configured
gateways do. The first path segment of the repository picks the behaviour:

- `portal/...`: every API answer is a 200 `text/html` login page;
- `shapeless/...`: valid JSON in the wrong shapes (tags as a string, layers as a string);
- `teapot/...`: HTTP 418 with a plain-text body;
- `truncated/...`: a manifest cut off in the middle of its JSON.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
_PORTAL = b"<html><body><h1>Sign in to the guest network</h1></body></html>"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *_args: object) -> None:  # keep test output clean
        return

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path in ("/v2/", "/v2"):
            self._send(200, "application/json", b"{}")
            return
        behaviour = path.removeprefix("/v2/").split("/", 1)[0]
        if behaviour == "portal":
            self._send(200, "text/html; charset=utf-8", _PORTAL)
        elif behaviour == "teapot":
            self._send(418, "text/plain", b"I'm a teapot")
        elif behaviour == "shapeless" and path.endswith("/tags/list"):
            self._send(200, "application/json", json.dumps({"tags": "1.0"}).encode())
        elif behaviour == "shapeless":
            self._send(200, MANIFEST_V2, json.dumps({"layers": "many", "config": 7}).encode())
        elif behaviour == "truncated" and path.endswith("/tags/list"):
            self._send(200, "application/json", json.dumps({"tags": ["1.0"]}).encode())
        elif behaviour == "truncated":
            self._send(200, MANIFEST_V2, b'{"schemaVersion": 2, "layers": [{"digest": "sha')
        else:
            self._send(404, "application/json", b'{"errors": [{"code": "NAME_UNKNOWN"}]}')


class HostileRegistry:
    """Serves on 127.0.0.1 at a free port while in a `with` block; `address` is host:port."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> HostileRegistry:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
