"""Record the error texts both sandbox engines give for failed pushes and logins.

Run against the running sandbox (it stops nothing, so it is safe beside other test runs):

    eval "$(.venv/bin/python -m tests.harness.sandbox env)"
    .venv/bin/python -m tests.harness.record_engine_errors

It writes `tests/data/engine-errors-classic.jsonl` (dockerd 20.10, classic store),
`tests/data/engine-errors-containerd.jsonl` (the containerd-store engine) and
`tests/data/engine-errors-podman.jsonl` (Podman's Docker API): one JSON object per
line with the engine's version, the case, how it was provoked, where the text came from
(`stream`: an error line of a push stream; `api`: the message of an HTTP error answer) and
the engine's text. `tests/test_engine_errors.py` replays every line through the classifier.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import docker
import docker.errors

from tests.harness.images import import_untagged
from tests.harness.oci_layout import OCILayout, Platform, build_index, layout_tarball
from tests.harness.sandbox import SandboxInfo, info

DATA = Path(__file__).resolve().parents[1] / "data"
SOURCE_IMAGE = "dockpush-demo/tiny:1.0"
# A closed loopback port whose digits contain "413": the old classifier read it as HTTP 413.
CLOSED_PORT = 41337


@dataclass(frozen=True)
class Recorded:
    """One error text an engine gave, and how it was provoked."""

    engine: str
    api: str
    case: str
    how: str
    source: str
    message: str


def _closed_port() -> int:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", CLOSED_PORT)) == 0:
            raise SystemExit(f"port {CLOSED_PORT} is open; the registry-down case needs it closed")
    return CLOSED_PORT


def _push_errors(client: docker.DockerClient, repo: str, **params: str) -> Iterator[tuple]:
    """(source, message) of every error a push of `repo:1.0` gives, with raw query params
    (docker-py's push has no `platform`)."""
    api = client.api
    auth = params.pop("auth", "e30=")  # base64 of "{}": no credentials
    response = api._post(
        api._url("/images/{0}/push", repo),
        params={"tag": "1.0", **params},
        headers={"X-Registry-Auth": auth},
        stream=True,
    )
    if response.status_code >= 400:
        yield "api", response.json().get("message", response.text)
        return
    for event in api._stream_helper(response, decode=True):
        if "error" in event or "errorDetail" in event:
            yield "stream", event.get("error") or event["errorDetail"].get("message", "")


def _auth_header(username: str, password: str, registry: str) -> str:
    from docker.auth import encode_header

    return encode_header({"username": username, "password": password, "serveraddress": registry})


class Recorder:
    """Provokes each failure on one engine and collects its texts."""

    def __init__(
        self, client: docker.DockerClient, sandbox: SandboxInfo, source: str = SOURCE_IMAGE
    ) -> None:
        self.client = client
        self.sandbox = sandbox
        self.source = source
        version = client.version()
        self.engine, self.api = str(version["Version"]), str(version["ApiVersion"])
        self.records: list[Recorded] = []

    def _unique_repo(self, registry: str) -> str:
        return f"{registry}/errors-{uuid.uuid4().hex[:8]}/x"

    def _keep(self, case: str, how: str, found: Iterator[tuple]) -> None:
        for source, message in found:
            self.records.append(Recorded(self.engine, self.api, case, how, source, message))

    def push_tagged(self, case: str, how: str, registry: str, **params: str) -> None:
        """Tag the seed image into a fresh repository on `registry`, push it, untag it."""
        repo = self._unique_repo(registry)
        self.client.api.tag(self.source, repo, "1.0")
        try:
            self._keep(case, how, _push_errors(self.client, repo, **params))
        finally:
            self.client.api.remove_image(f"{repo}:1.0")

    def push_loaded(
        self,
        case: str,
        how: str,
        layout: OCILayout,
        leave_out: str | None,
        registry: str,
        **params: str,
    ) -> None:
        """`docker load` an OCI layout under a fresh name, push it, remove it."""
        repo = self._unique_repo(registry)
        self.client.api.load_image(layout_tarball(layout, f"{repo}:1.0", leave_out))
        try:
            self._keep(case, how, _push_errors(self.client, repo, **params))
        finally:
            self.client.api.remove_image(f"{repo}:1.0")

    def login(self, case: str, how: str, registry: str, password: str) -> None:
        """POST /auth, as `Engine.check_login` does."""
        api = self.client.api
        config = {"username": self.sandbox.user, "password": password, "serveraddress": registry}
        try:
            api._raise_for_status(api._post_json(api._url("/auth"), data=config))
        except docker.errors.APIError as error:
            self._keep(case, how, iter([("api", str(error.explanation))]))

    def common_cases(self) -> None:
        """The failures both engines can give."""
        sandbox, wrong = self.sandbox, "wrong-" + uuid.uuid4().hex[:8]
        self.push_tagged(
            "no-login", "push to the basic-auth registry without credentials", sandbox.auth_registry
        )
        self.push_tagged(
            "wrong-password",
            "push to the basic-auth registry with a wrong password",
            sandbox.auth_registry,
            auth=_auth_header(sandbox.user, wrong, sandbox.auth_registry),
        )
        self.push_tagged(
            "token-no-login",
            "push to the token-auth registry without credentials",
            sandbox.token_registry,
        )
        self.push_tagged(
            "token-wrong-password",
            "push to the token-auth registry with a wrong password",
            sandbox.token_registry,
            auth=_auth_header(sandbox.user, wrong, sandbox.token_registry),
        )
        self.push_tagged(
            "registry-down",
            f"push to 127.0.0.1:{CLOSED_PORT}, a closed port",
            f"127.0.0.1:{_closed_port()}",
        )
        self.login(
            "login-wrong-password",
            "POST /auth to the basic-auth registry, wrong password",
            sandbox.auth_registry,
            wrong,
        )
        self.login(
            "token-login-wrong-password",
            "POST /auth to the token-auth registry, wrong password",
            sandbox.token_registry,
            wrong,
        )
        repo = self._unique_repo(sandbox.open_registry)
        self._keep(
            "tag-missing",
            "push of a tag that does not exist locally",
            _push_errors(self.client, repo),
        )
        self._keep(
            "name-uppercase",
            "push of a repository name with capitals",
            _push_errors(self.client, f"{sandbox.open_registry}/Upper/x"),
        )

    def containerd_cases(self) -> None:
        """Indexes with platform content missing, and a blob digest holding "413"."""
        amd64, arm64 = Platform("linux", "amd64"), Platform("linux", "arm64", "v8")
        riscv64 = Platform("linux", "riscv64")
        seed = "errors-" + uuid.uuid4().hex[:8]
        registry = self.sandbox.open_registry
        two = build_index([amd64, arm64], seed)
        self.push_loaded(
            "platform-content-missing",
            "push --platform linux/arm64/v8 of an index whose arm64 blobs are missing locally",
            two,
            "linux/arm64/v8",
            registry,
            platform=json.dumps({"os": "linux", "architecture": "arm64", "variant": "v8"}),
        )
        self.push_loaded(
            "platform-not-in-index",
            "push --platform linux/s390x of an amd64+arm64 index",
            two,
            None,
            registry,
            platform=json.dumps({"os": "linux", "architecture": "s390x"}),
        )
        self.push_loaded(
            "host-platform-missing",
            "push of an amd64+arm64+riscv64 index whose amd64 (host) blobs are missing",
            build_index([amd64, arm64, riscv64], seed + "-3"),
            "linux/amd64",
            registry,
        )
        self.push_loaded(
            "no-platform-content",
            "push of a one-platform index whose blobs are missing",
            build_index([amd64], seed + "-1"),
            "linux/amd64",
            registry,
        )
        self.push_loaded(
            "registry-down-digest-413",
            f"push to 127.0.0.1:{_closed_port()} of an image whose blob digests contain 413",
            _layout_with_digests_containing("413"),
            None,
            f"127.0.0.1:{CLOSED_PORT}",
        )


def _layout_with_digests_containing(digits: str) -> OCILayout:
    """A one-platform index (no attestation) whose config and layer digests both contain
    `digits`, so whichever blob the engine names in its error, the digits are in a digest."""
    for attempt in range(1_000_000):
        layout = build_index(
            [Platform("linux", "amd64", None, (512,))], f"digest-{attempt}", attest=False
        )
        blobs = [
            d for d in layout.platform_blobs["linux/amd64"] if d != layout.manifests["linux/amd64"]
        ]
        if all(digits in d for d in blobs):
            return layout
    raise SystemExit(f"no seed gives digests containing {digits}")


def _write(name: str, records: list[Recorded]) -> None:
    path = DATA / name
    path.write_text("".join(json.dumps(asdict(r), sort_keys=True) + "\n" for r in records))
    print(f"{path}: {len(records)} lines")


def _record(
    host: str, extra: Callable[[Recorder], None] | None = None, podman: bool = False
) -> list[Recorded]:
    client = docker.DockerClient(base_url=host, version="auto", timeout=300)
    source = SOURCE_IMAGE
    if podman:
        # Podman's store has no seeded images: an imported one, tagged so that removing the
        # test tags leaves it in place (Podman deletes an image with its last tag).
        source = f"localhost/engine-errors-{uuid.uuid4().hex[:8]}:1.0"
        image = import_untagged(client, source, size=4096)
        client.api.tag(image, *source.rsplit(":", 1))
    try:
        recorder = Recorder(client, info(), source)
        recorder.common_cases()
        if extra is not None:
            extra(recorder)
        return recorder.records
    finally:
        if podman:
            client.api.remove_image(source, force=True)
        client.close()


def main() -> None:
    """Record the engines' texts into tests/data."""
    sandbox = info()
    _write("engine-errors-classic.jsonl", _record(sandbox.docker_host))
    _write(
        "engine-errors-containerd.jsonl",
        _record(sandbox.containerd_docker_host, Recorder.containerd_cases),
    )
    _write("engine-errors-podman.jsonl", _record(sandbox.podman_host, podman=True))


if __name__ == "__main__":
    main()
