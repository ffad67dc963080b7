"""A TCP proxy on loopback that makes a registry slow, or stops it mid-transfer.

It forwards every connection to the registry byte for byte (so HTTP, auth and upload
locations are the registry's own), but limits what goes *to* the registry to `rate`
bytes per second, and while `hold()` is in force forwards nothing at all, as a registry
behind a saturated or broken link would; `cut()` drops everything, as a registry that
went down would (without stopping the shared sandbox registry).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

_CHUNK = 16 * 1024


class SlowProxy:
    """Listens on 127.0.0.1:<port> and forwards to `upstream` ("host:port")."""

    def __init__(self, upstream: str, rate: float | None = None) -> None:
        host, port = upstream.rsplit(":", 1)
        self._upstream = (host, int(port))
        self.rate = rate
        self._flowing = threading.Event()
        self._flowing.set()
        self._stopped = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        # A small receive window, so the engine's progress follows what really went through
        # rather than what the kernel buffered (loopback buffers grow to megabytes).
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> SlowProxy:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.cut()

    def cut(self) -> None:
        """Drop every connection and stop listening, as a registry that went down: what was
        being sent breaks off and new connections are refused."""
        self._stopped.set()
        self._flowing.set()
        self._listener.close()
        for sock in list(self._sockets):
            with contextlib.suppress(OSError):
                sock.close()

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Forward nothing until the block ends."""
        self.pause()
        try:
            yield
        finally:
            self.resume()

    def pause(self) -> None:
        """Forward nothing from now on (connections stay open), until `resume()`."""
        self._flowing.clear()

    def resume(self) -> None:
        """Forward again after `pause()`."""
        self._flowing.set()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
                upstream = socket.create_connection(self._upstream)
            except OSError:
                return
            self._sockets += [client, upstream]
            for source, sink, limited in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(
                    target=self._pump, args=(source, sink, limited), daemon=True
                ).start()

    def _pump(self, source: socket.socket, sink: socket.socket, limited: bool) -> None:
        try:
            while True:
                data = source.recv(_CHUNK)
                if not data:
                    break
                self._flowing.wait()
                if self._stopped.is_set():
                    break
                sink.sendall(data)
                if limited and self.rate:
                    time.sleep(len(data) / self.rate)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)
