"""Record real push streams from the sandbox engine into tests/data/push-*.jsonl.

Each line of a recording is `[seconds since start, decoded engine line]`. Run with the
sandbox up: `scripts/sandbox up && .venv/bin/python -m tests.harness.record_streams`.
The replay tests in tests/test_progress.py fold these recordings.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import docker

from tests.harness import sandbox

DATA = Path(__file__).resolve().parents[1] / "data"


def record(
    client: docker.DockerClient,
    reference: str,
    auth: dict | None,
    name: str,
    on_line: Callable[[dict], None] | None = None,
) -> list:
    """Push `reference` and write what the engine said, with timestamps."""
    start = time.monotonic()
    lines = []
    for line in client.api.push(reference, stream=True, decode=True, auth_config=auth or {}):
        lines.append([round(time.monotonic() - start, 4), line])
        if on_line:
            on_line(line)
    with open(DATA / f"push-{name}.jsonl", "w") as out:
        for row in lines:
            out.write(json.dumps(row) + "\n")
    print(f"{name}: {len(lines)} lines, {lines[-1][0]:.1f}s")
    return lines


def main() -> None:
    """Record the five streams the replay tests use."""
    info = sandbox.info()
    client = docker.DockerClient(base_url=info.docker_host, version="auto", timeout=300)
    run = uuid.uuid4().hex[:6]
    first = f"{info.open_registry}/recorded/layers-{run}"
    second = f"{info.open_registry}/recorded/copy-{run}"
    for repository in (first, second):
        client.api.tag("dockpush-demo/layers:2.3.1", repository, "2.3.1")
    record(client, f"{first}:2.3.1", None, "first")
    record(client, f"{first}:2.3.1", None, "repeat")
    record(client, f"{second}:2.3.1", None, "mount")

    denied = f"{info.auth_registry}/recorded/layers-{run}"
    client.api.tag("dockpush-demo/layers:2.3.1", denied, "2.3.1")
    record(client, f"{denied}:2.3.1", None, "unauthorized")

    # Cut off: stop the open registry as soon as a layer starts uploading.
    from tests.harness.images import build_image

    cut = f"{info.open_registry}/recorded/cut-{run}"
    build_image(client, f"{cut}:1", [24 * 1024 * 1024, 4 * 1024 * 1024], f"cut-{run}")
    stopped = threading.Event()

    def stop_on_first_upload(line: dict) -> None:
        if line.get("status") == "Pushing" and not stopped.is_set():
            stopped.set()
            sandbox.stop_process("registry-open")

    try:
        record(client, f"{cut}:1", None, "registry-stopped", on_line=stop_on_first_upload)
    finally:
        sandbox.start_registry("open")
    for reference in (f"{first}:2.3.1", f"{second}:2.3.1", f"{denied}:2.3.1", f"{cut}:1"):
        client.api.remove_image(reference)


if __name__ == "__main__":
    main()
