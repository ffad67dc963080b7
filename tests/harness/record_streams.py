"""Record real push streams from the sandbox engines into tests/data/push-*.jsonl.

Each line of a recording is `[seconds since start, decoded engine line]`. With the sandbox
up, `.venv/bin/python -m tests.harness.record_streams containerd` records the containerd
image store's streams (tests/data/push-containerd-*.jsonl); `classic` records Debian 12's
engine 20.10 (tests/data/push-*.jsonl). The replay tests in tests/test_progress.py fold them.

Nothing shared is stopped or held: "registry down" pushes to a closed loopback port, and a
registry that goes away or stalls mid-push is a proxy of this script's own in front of the
open registry (tests/harness/slow_proxy.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import docker

from app.core.contexts import resolve_endpoint
from app.core.engine import Engine
from app.core.pushed_manifest import stated_layer_sizes
from app.core.registry import RegistryClient
from tests.harness import sandbox
from tests.harness.images import build_image
from tests.harness.oci_layout import build_index, layout_tarball
from tests.harness.slow_proxy import SlowProxy

DATA = Path(__file__).resolve().parents[1] / "data"
# A loopback port nothing listens on: a registry that is down.
CLOSED_PORT_REGISTRY = "127.0.0.1:47599"
# How long a stalled push is recorded after the proxy stops forwarding.
STALL_RECORD_SECONDS = 14.0
# How long a push that neither moves nor ends is recorded.
STUCK_SECONDS = 12.0
# No recording runs longer than this (the engine's retries of a dead registry take ~50 s).
MAX_RECORD_SECONDS = 120.0
SEED_IMAGE = "dockpush-demo/layers:2.3.1"
# A fresh image per containerd recording, so its first push really uploads (the seed's
# blobs may already sit in the shared registry); the 2 kB layer finishes within one
# progress tick, so the engine sends no total for it.
FRESH_LAYERS = [2_000, 400_000, 3_000_000, 12_000_000]

StopCheck = Callable[[dict, float], bool]


def record(
    client: docker.DockerClient,
    reference: str,
    auth: dict | None,
    name: str,
    on_line: Callable[[dict], None] | None = None,
    stop: StopCheck | None = None,
) -> list:
    """Push `reference` and write what the engine said, with timestamps; `stop(line, seconds)`
    ends the recording early (the stream is closed, so the engine abandons the push)."""
    api = client.api
    repository, tag = reference.rsplit(":", 1)
    headers = {"X-Registry-Auth": docker.auth.encode_header(auth or {})}
    start = time.monotonic()
    response = api._post_json(
        api._url("/images/{0}/push", repository),
        None,
        headers=headers,
        params={"tag": tag},
        stream=True,
        timeout=MAX_RECORD_SECONDS,
    )
    lines = []
    try:
        for line in api._stream_helper(response, decode=True):
            seconds = round(time.monotonic() - start, 4)
            lines.append([seconds, line])
            if on_line:
                on_line(line)
            if seconds > MAX_RECORD_SECONDS or (stop is not None and stop(line, seconds)):
                break
    finally:
        response.close()
    with open(DATA / f"push-{name}.jsonl", "w") as out:
        for row in lines:
            out.write(json.dumps(row) + "\n")
    print(f"{name}: {len(lines)} lines, {lines[-1][0]:.1f}s")
    return lines


def _tag(client: docker.DockerClient, source: str, reference: str, made: list[str]) -> str:
    repository, tag = reference.rsplit(":", 1)
    client.api.tag(source, repository, tag)
    made.append(reference)
    return reference


def _when_bytes_moved(proxy: SlowProxy, held: dict[str, float]) -> Callable[[dict], None]:
    """Stop the proxy's forwarding once the upload's byte count has moved twice."""
    seen: set[int] = set()

    def on_line(line: dict) -> None:
        current = (line.get("progressDetail") or {}).get("current") or 0
        if line.get("status") == "Pushing" and current > 0:
            seen.add(current)
        if len(seen) >= 2 and "at" not in held:
            held["at"] = time.monotonic()
            proxy.pause()

    return on_line


def _common(
    client: docker.DockerClient, info: sandbox.SandboxInfo, prefix: str, run: str, source: str
) -> tuple[list[str], list]:
    """First push, repeat, cross-repository mount, no login: the same on both stores.
    Returns what was tagged (first the first push's reference) and the first push's lines."""
    made: list[str] = []
    first = _tag(client, source, f"{info.open_registry}/recorded/layers-{run}:2.3.1", made)
    second = _tag(client, source, f"{info.open_registry}/recorded/copy-{run}:2.3.1", made)
    first_lines = record(client, first, None, f"{prefix}first")
    record(client, first, None, f"{prefix}repeat")
    record(client, second, None, f"{prefix}mount")
    denied = _tag(client, source, f"{info.auth_registry}/recorded/layers-{run}:2.3.1", made)
    record(client, denied, None, f"{prefix}unauthorized")
    return made, first_lines


def _record_cut(
    client: docker.DockerClient, info: sandbox.SandboxInfo, name: str, run: str
) -> list[str]:
    """A registry that goes away once the upload started: a proxy of our own, cut."""
    with SlowProxy(info.open_registry, rate=4_000_000) as proxy:
        cut = f"{proxy.address}/recorded/cut-{run}:1"
        build_image(client, cut, [24 * 1024 * 1024, 4 * 1024 * 1024], f"cut-{run}")

        def cut_on_first_upload(line: dict) -> None:
            if (line.get("progressDetail") or {}).get("current"):
                proxy.cut()

        record(client, cut, None, name, on_line=cut_on_first_upload)
    return [cut]


def record_classic(client: docker.DockerClient, info: sandbox.SandboxInfo, run: str) -> list:
    """The 20.10 recordings; the registry "stops" mid-upload as a proxy that is cut."""
    made, _first = _common(client, info, "", run, SEED_IMAGE)
    return made + _record_cut(client, info, "registry-stopped", run)


def _pushed_without_total(lines: list) -> set[str]:
    """Layers a recorded push reported as pushed without ever stating their size."""
    pushed = {line.get("id") for _, line in lines if line.get("status") == "Pushed"}
    return pushed - {
        line.get("id") for _, line in lines if (line.get("progressDetail") or {}).get("total")
    }


def _digest(lines: list) -> str | None:
    """The digest the engine reported at the end of a recorded push, if it did."""
    for _seconds, line in reversed(lines):
        if " digest: sha256:" in line.get("status", ""):
            return line["status"].split(" digest: ")[1].split()[0]
    return None


class SizeBook:
    """What the replay tests compare a recording with: the local image's layer sizes as the
    app reads them, and the layer sizes the pushed manifest states in the registry
    (tests/data/push-containerd-sizes.jsonl, one line per recording)."""

    def __init__(self, host: str, registry: str) -> None:
        self.engine = Engine.connect(resolve_endpoint(host, None))
        self.registry = RegistryClient(registry)
        self.rows: list[dict] = []

    def add(self, names: list[str], local_reference: str, lines: list | None) -> None:
        """Note the sizes for the recordings `names`, which pushed `local_reference` (no
        stated sizes when the push did not finish)."""
        repository = local_reference.split("/", 1)[1].rsplit(":", 1)[0]
        local = self.engine.layer_sizes(local_reference)
        digest = _digest(lines or [])
        stated = stated_layer_sizes(self.registry, repository, digest) if digest else None
        for name in names:
            self.rows.append({"recording": name, "local": local, "stated": stated})

    def write(self) -> None:
        """Write the book next to the recordings."""
        with open(DATA / "push-containerd-sizes.jsonl", "w") as out:
            for row in self.rows:
                out.write(json.dumps(row, sort_keys=True) + "\n")


def record_containerd(client: docker.DockerClient, info: sandbox.SandboxInfo, run: str) -> list:
    """The containerd image store's recordings (tests/data/push-containerd-*.jsonl)."""
    book = SizeBook(info.containerd_docker_host, info.open_registry)
    source = f"recorded/source-{run}:1"
    build_image(client, source, FRESH_LAYERS, f"recorded-{run}")
    made, first_lines = _common(client, info, "containerd-", run, source)
    made.insert(0, source)
    book.add(["containerd-first", "containerd-repeat", "containerd-mount"], made[1], first_lines)
    wrong = {"username": info.user, "password": "not-the-password"}
    wrong["serveraddress"] = info.auth_registry
    record(client, made[-1], wrong, "containerd-wrong-password")
    failed = ["containerd-unauthorized", "containerd-wrong-password", "containerd-registry-down"]
    book.add(failed, source, None)

    for attempt in range(5):
        # Small layers often finish within one progress tick, so the engine sends no total
        # for them; the replay tests need that case, so try a fresh index until it happens.
        layout = build_index(sandbox.seed_platforms(), f"recorded-{run}-{attempt}")
        multi = f"{info.open_registry}/recorded/multi-{run}-{attempt}:1.0"
        client.api.load_image(layout_tarball(layout, multi))
        made.append(multi)
        lines = record(client, multi, None, "containerd-multiplatform")
        if _pushed_without_total(lines):
            break
    book.add(["containerd-multiplatform"], multi, lines)
    partial = build_index(sandbox.seed_platforms(), f"recorded-partial-{run}")
    incomplete = f"{info.open_registry}/recorded/incomplete-{run}:1.0"
    client.api.load_image(layout_tarball(partial, incomplete, leave_out="linux/arm64/v8"))
    made.append(incomplete)
    # The engine either falls back to the one complete platform or repeats "Unavailable"
    # for ever (both seen with 28.5.2): a bounded stretch is recorded.
    lines = record(
        client,
        incomplete,
        None,
        "containerd-incomplete",
        stop=lambda _line, seconds: seconds > STUCK_SECONDS,
    )
    book.add(["containerd-incomplete"], incomplete, lines)

    down = _tag(client, source, f"{CLOSED_PORT_REGISTRY}/recorded/down-{run}:1", made)
    record(client, down, None, "containerd-registry-down")
    # Gone mid-upload: this store fails at once, where 20.10 retries for about 50 s.
    made += _record_cut(client, info, "containerd-registry-stopped", run)
    book.add(["containerd-registry-stopped"], made[-1], None)

    with SlowProxy(info.open_registry, rate=2_000_000) as proxy:
        stalled = f"{proxy.address}/recorded/stall-{run}:1"
        build_image(client, stalled, [12_000_000], f"stall-{run}")
        made.append(stalled)
        held: dict[str, float] = {}
        book.add(["containerd-stalled"], stalled, None)
        record(
            client,
            stalled,
            None,
            "containerd-stalled",
            on_line=_when_bytes_moved(proxy, held),
            stop=lambda _line, _s: (
                "at" in held and time.monotonic() - held["at"] > STALL_RECORD_SECONDS
            ),
        )
    book.write()
    return made


def main() -> None:
    """Record one engine's streams (containerd by default), then remove what was tagged."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", choices=("containerd", "classic"), nargs="?", default="containerd")
    store = parser.parse_args().store
    info = sandbox.info()
    host = info.containerd_docker_host if store == "containerd" else info.docker_host
    client = docker.DockerClient(base_url=host, version="auto", timeout=300)
    run = uuid.uuid4().hex[:6]
    recorder = record_containerd if store == "containerd" else record_classic
    made = recorder(client, info, run)
    for reference in made:
        with contextlib.suppress(docker.errors.APIError):
            client.api.remove_image(reference)


if __name__ == "__main__":
    main()
