"""A unix socket in front of the sandbox engine that spoils its answers to pushes.

Every request goes to the real engine (with `Connection: close`, so each connection
carries one request and the proxy sees each request line). The answer to a push is
either replaced by `push_answer` (raw HTTP bytes: what a broken or hostile engine, or a
tunnel that mangles data, would deliver) or cut off after `cut_after` bytes.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from pathlib import Path


def chunked_answer(lines: list[bytes]) -> bytes:
    """An HTTP 200 with a chunked body, one chunk per line, as the engine streams."""
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    body = b"".join(b"%x\r\n%s\r\n" % (len(line), line) for line in lines)
    return head + body + b"0\r\n\r\n"


def json_lines(*events: dict) -> list[bytes]:
    """Engine-style JSON lines."""
    return [json.dumps(event).encode() + b"\r\n" for event in events]


class TamperingEngineProxy:
    """Listens on `path` and forwards to the engine's unix socket at `engine_path`."""

    def __init__(self, path: Path, engine_path: str) -> None:
        self.path = path
        self.host = f"unix://{path}"
        self._engine_path = engine_path
        self.push_answer: bytes | None = None
        self.cut_after: int | None = None
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(path))
        self._listener.listen()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> TamperingEngineProxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._listener.close()
        self.path.unlink(missing_ok=True)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with contextlib.closing(client):
            head = b""
            while b"\r\n\r\n" not in head:
                data = client.recv(65536)
                if not data:
                    return
                head += data
            request_line = head.split(b"\r\n", 1)[0]
            is_push = request_line.startswith(b"POST") and b"/push" in request_line
            if is_push and self.push_answer is not None:
                client.sendall(self.push_answer)
                return
            head = head.replace(b"\r\n", b"\r\nConnection: close\r\n", 1)
            engine = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            engine.connect(self._engine_path)
            with contextlib.closing(engine):
                engine.sendall(head)
                limit = self.cut_after if is_push else None
                upstream = threading.Thread(target=_pump, args=(client, engine, None), daemon=True)
                upstream.start()
                _pump(engine, client, limit)


def _pump(source: socket.socket, sink: socket.socket, limit: int | None) -> None:
    sent = 0
    with contextlib.suppress(OSError):
        while True:
            data = source.recv(65536)
            if not data:
                break
            if limit is not None and sent + len(data) >= limit:
                sink.sendall(data[: limit - sent])
                # Cut off: no terminating chunk, and the connection goes away.
                sink.shutdown(socket.SHUT_RDWR)
                source.shutdown(socket.SHUT_RDWR)
                return
            sink.sendall(data)
            sent += len(data)
        sink.shutdown(socket.SHUT_WR)
