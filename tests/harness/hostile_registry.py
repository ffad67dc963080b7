"""An HTTP server on loopback that answers registry requests the way broken or hostile setups do.

Real registries never send these; captive portals, misrouted proxies, half-configured
gateways and an attacker who controls a registry do. The first path segment of the
repository picks the behaviour:

- `portal/...`: every API answer is a 200 `text/html` login page;
- `shapeless/...`: valid JSON in the wrong shapes (tags as a string, layers as a string);
- `teapot/...`: HTTP 418 with a plain-text body;
- `truncated/...`: a manifest cut off in the middle of its JSON;
- `good/...`: a consistent tiny image (manifest, config and layer), with a true digest header;
- `wrongtype/...`: the same image served as `application/octet-stream`;
- `noheader/...`: the same image without a `Docker-Content-Digest` header;
- `liar/...`: the same image under a digest header that is not the body's (`LIAR_DIGEST`);
- `huge/...`: a chunked manifest that goes on for 1 GiB (`sent` counts what left);
- `hugelength/...`: a manifest whose Content-Length announces 1 GiB;
- `drip/...`: a manifest whose body comes one byte every `DRIP_SECONDS`;
- `badheader/...`: the same image under a header that is no digest at all (`sha256:short`);
- `index/...`: a multi-platform index whose linux/amd64 manifest is the image above; its
  linux/arm64/v8 entry names `SWAPPED_DIGEST`, served with other bytes; a third platform, with an
  escape sequence in its `os`, names `GONE_DIGEST`, which is missing; and an attestation;
- `redirect/...`: every API answer is a 307 to `redirect_to` + the path without `redirect/`;
- `loop/...`: every API answer is a 307 to itself, for ever;
- `slowheaders/...`: a status line, then one header line every `DRIP_SECONDS`, never a body;
- `badconfig/...`: the image above, but its config blob is served with other bytes
  (`OTHER_CONFIG`, another platform) under the config's digest;
- `escconfig/...`: an image whose config names an `os` with an escape sequence (`ESC_OS`);
- `manylayers/...`: an image of `MANY_LAYERS` layers (all the one layer above).

Two token realms answer without auth: `/hugetoken`, a token body of `HUGE_TOKEN_BYTES`, and
`/slowtoken`, a token after `SLOW_TOKEN_SECONDS`.

`auth="basic"` or `auth="bearer"` make `/v2/` and every API path demand credentials
(Bearer with `realm`); every request's Authorization header is kept in `seen`.
`refuse_tls=True` closes any connection that opens with a TLS handshake, as a middlebox
resetting TLS does, while still serving plain HTTP on the same port.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
_PORTAL = b"<html><body><h1>Sign in to the guest network</h1></body></html>"
HUGE_BYTES = 1024**3
DRIP_SECONDS = 1.0
LIAR_DIGEST = "sha256:" + "0" * 64


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


CONFIG = json.dumps({"os": "linux", "architecture": "amd64", "rootfs": {}}).encode()
OTHER_CONFIG = json.dumps({"os": "linux", "architecture": "arm64", "rootfs": {}}).encode()
ESC_OS = "\x1b]0;pwned\x07linux"
ESC_CONFIG = json.dumps({"os": ESC_OS, "architecture": "amd64", "rootfs": {}}).encode()
LAYER = b"not really a tar, but a blob all the same"
MANY_LAYERS = 1001
HUGE_TOKEN_BYTES = 2 * 1024 * 1024
SLOW_TOKEN_SECONDS = 0.3


def _image_manifest(config: bytes, layers: int = 1) -> bytes:
    layer = {
        "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "digest": _digest(LAYER),
        "size": len(LAYER),
    }
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_V2,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "digest": _digest(config),
                "size": len(config),
            },
            "layers": [layer] * layers,
        },
        indent=3,
    ).encode()


MANIFEST = _image_manifest(CONFIG)
MANIFEST_DIGEST = _digest(MANIFEST)
LAYER_DIGEST = _digest(LAYER)
CONFIG_DIGEST = _digest(CONFIG)
ESC_MANIFEST = _image_manifest(ESC_CONFIG)
MANY_MANIFEST = _image_manifest(CONFIG, MANY_LAYERS)
BLOBS = {_digest(CONFIG): CONFIG, _digest(LAYER): LAYER, _digest(ESC_CONFIG): ESC_CONFIG}
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
SWAPPED_DIGEST = _digest(b"the manifest this digest names")
GONE_DIGEST = _digest(b"a manifest nobody uploaded")
INDEX = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": MANIFEST_V2,
                "digest": MANIFEST_DIGEST,
                "size": len(MANIFEST),
                "platform": {"os": "linux", "architecture": "amd64"},
            },
            {
                "mediaType": MANIFEST_V2,
                "digest": SWAPPED_DIGEST,
                "size": len(MANIFEST),
                "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
            },
            {
                "mediaType": MANIFEST_V2,
                "digest": GONE_DIGEST,
                "size": 500,
                "platform": {"os": "\x1b]0;pwned\x07", "architecture": "s390x"},
            },
            {
                "mediaType": MANIFEST_V2,
                "digest": MANIFEST_DIGEST,
                "size": len(MANIFEST),
                "platform": {"os": "unknown", "architecture": "unknown"},
                "annotations": {
                    "vnd.docker.reference.digest": MANIFEST_DIGEST,
                    "vnd.docker.reference.type": "attestation-manifest",
                },
            },
        ],
    }
).encode()
IMAGE_BEHAVIOURS = {
    "good",
    "wrongtype",
    "noheader",
    "liar",
    "badheader",
    "huge",
    "hugelength",
    "drip",
    "index",
    "slowheaders",
    "badconfig",
    "escconfig",
    "manylayers",
}


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    authorization: str | None


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args: object) -> None:  # keep test output clean
        return

    def _send(self, status: int, content_type: str, body: bytes, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", headers.pop("length", str(len(body))))
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        owner = self.server.owner
        owner.seen.append(Seen(self.command, self.path, self.headers.get("Authorization")))
        path = self.path.split("?", 1)[0]
        if path == "/hugetoken":
            token = b'{"token": "' + b"t" * HUGE_TOKEN_BYTES + b'"}'
            self._send(200, "application/json", token)
            return
        if path == "/slowtoken":
            time.sleep(SLOW_TOKEN_SECONDS)
            self._send(200, "application/json", b'{"token": "slow"}')
            return
        if owner.auth and not self.headers.get("Authorization"):
            challenge = (
                'Basic realm="hostile"'
                if owner.auth == "basic"
                else f'Bearer realm="{owner.realm}",service="hostile"'
            )
            self._send(401, "application/json", b"{}", WWW_Authenticate=challenge)
            return
        if path in ("/v2/", "/v2"):
            self._send(200, "application/json", b"{}")
            return
        behaviour = path.removeprefix("/v2/").split("/", 1)[0]
        if behaviour == "redirect":
            target = self.path.replace("/v2/redirect/", "/v2/", 1)
            self._send(307, "text/plain", b"", Location=f"{owner.redirect_to}{target}")
        elif behaviour == "loop":
            self._send(307, "text/plain", b"", Location=self.path)
        elif behaviour == "slowheaders":
            self._slow_headers()
        elif behaviour == "portal":
            self._send(200, "text/html; charset=utf-8", _PORTAL)
        elif behaviour == "teapot":
            self._send(418, "text/plain", b"I'm a teapot")
        elif behaviour == "shapeless" and path.endswith("/tags/list"):
            self._send(200, "application/json", json.dumps({"tags": "1.0"}).encode())
        elif behaviour == "shapeless":
            self._send(200, MANIFEST_V2, json.dumps({"layers": "many", "config": 7}).encode())
        elif path.endswith("/tags/list"):
            self._send(200, "application/json", json.dumps({"tags": ["1.0"]}).encode())
        elif behaviour == "truncated":
            self._send(200, MANIFEST_V2, b'{"schemaVersion": 2, "layers": [{"digest": "sha')
        elif behaviour in IMAGE_BEHAVIOURS and "/blobs/" in path:
            blob = BLOBS.get(path.rsplit("/", 1)[1])
            if behaviour == "badconfig" and blob == CONFIG:
                blob = OTHER_CONFIG
            if blob is None:
                self._send(404, "application/json", b'{"errors": [{"code": "BLOB_UNKNOWN"}]}')
            else:
                self._send(200, "application/octet-stream", blob)
        elif behaviour in IMAGE_BEHAVIOURS:
            self._manifest(behaviour)
        else:
            self._send(404, "application/json", b'{"errors": [{"code": "NAME_UNKNOWN"}]}')

    def _manifest(self, behaviour: str) -> None:
        reference = self.path.split("?", 1)[0].rsplit("/", 1)[1]
        if behaviour == "index" and reference in (MANIFEST_DIGEST, SWAPPED_DIGEST):
            self._send(200, MANIFEST_V2, MANIFEST)
        elif behaviour == "index" and reference.startswith("sha256:"):
            self._send(404, "application/json", b'{"errors": [{"code": "MANIFEST_UNKNOWN"}]}')
        elif behaviour == "index":
            self._send(200, OCI_INDEX, INDEX, Docker_Content_Digest=_digest(INDEX))
        elif behaviour in ("good", "badconfig"):
            self._send(200, MANIFEST_V2, MANIFEST, Docker_Content_Digest=MANIFEST_DIGEST)
        elif behaviour == "escconfig":
            self._send(200, MANIFEST_V2, ESC_MANIFEST)
        elif behaviour == "manylayers":
            self._send(200, MANIFEST_V2, MANY_MANIFEST)
        elif behaviour == "wrongtype":
            self._send(
                200, "application/octet-stream", MANIFEST, Docker_Content_Digest=MANIFEST_DIGEST
            )
        elif behaviour == "noheader":
            self._send(200, MANIFEST_V2, MANIFEST)
        elif behaviour == "liar":
            self._send(200, MANIFEST_V2, MANIFEST, Docker_Content_Digest=LIAR_DIGEST)
        elif behaviour == "badheader":
            self._send(200, MANIFEST_V2, MANIFEST, Docker_Content_Digest="sha256:short")
        elif behaviour == "hugelength":
            self._send(200, MANIFEST_V2, b"", length=str(HUGE_BYTES))
        elif behaviour == "huge":
            self._huge()
        elif behaviour == "drip":
            self._drip()

    def _huge(self) -> None:
        """1 GiB of JSON whitespace, chunked, for as long as the client keeps reading."""
        self.send_response(200)
        self.send_header("Content-Type", MANIFEST_V2)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b" " * (1024 * 1024)
        framed = b"%x\r\n%s\r\n" % (len(chunk), chunk)
        try:
            while self.server.owner.sent < HUGE_BYTES:
                self.wfile.write(framed)
                self.server.owner.sent += len(chunk)
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            return  # the client hung up: what we want

    def _slow_headers(self) -> None:
        """A status line, then one header line every DRIP_SECONDS, for 100 of them."""
        try:
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            for _ in range(100):
                self.wfile.write(b"X-Slow: yes\r\n")
                self.wfile.flush()
                self.server.owner.sent += 1
                time.sleep(DRIP_SECONDS)
        except OSError:
            return

    def _drip(self) -> None:
        """A 1000-byte manifest announced, then one byte every DRIP_SECONDS."""
        self.send_response(200)
        self.send_header("Content-Type", MANIFEST_V2)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        try:
            for _ in range(1000):
                self.wfile.write(b" ")
                self.wfile.flush()
                self.server.owner.sent += 1
                time.sleep(DRIP_SECONDS)
        except OSError:
            return


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: HostileRegistry, host: str) -> None:
        self.owner = owner
        super().__init__((host, 0), _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        """Quiet: a client hanging up mid-answer is what the deadline tests want."""

    def verify_request(self, request: object, client_address: object) -> bool:
        if not self.owner.refuse_tls:
            return True
        assert isinstance(request, socket.socket)
        request.settimeout(5)
        try:
            first = request.recv(1, socket.MSG_PEEK)
        except OSError:
            return False
        request.settimeout(None)
        return first != b"\x16"  # a TLS handshake: closed without a word


class HostileRegistry:
    """Serves on `host` (a loopback address, 127.0.0.1 unless told) at a free port while in a
    `with` block; `address` is host:port."""

    def __init__(
        self,
        auth: str | None = None,
        realm: str = "",
        redirect_to: str = "",
        refuse_tls: bool = False,
        host: str = "127.0.0.1",
    ) -> None:
        self.auth = auth
        self.realm = realm
        self.redirect_to = redirect_to
        self.refuse_tls = refuse_tls
        self.seen: list[Seen] = []
        self.sent = 0
        self._server = _Server(self, host)
        self.address = f"{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> HostileRegistry:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
