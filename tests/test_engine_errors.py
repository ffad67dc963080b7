"""Every engine error text recorded from the sandbox engines, classified as what it means.

Two kinds of recordings are replayed:
- `tests/data/engine-errors-*.jsonl`: failures provoked on purpose on both Docker engines
  and Podman by `python -m tests.harness.record_engine_errors` (no login, wrong password, a
  closed port, platform content missing, ...), one line each with its case;
- `tests/data/push-*.jsonl`: whole push streams; their error lines are checked here too.
A recording with a line that has no expected kind below fails the test, so new recordings
cannot slip past the classifier.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.engine_errors import classify_engine_message
from app.core.errors import (
    AccessDenied,
    AuthenticationFailed,
    AuthenticationRequired,
    DockpushError,
    ImageNotFound,
    InsecureRegistry,
    NameInvalid,
    PlatformContentMissing,
    RegistryServerError,
    RegistryUnreachable,
    RequestTooLarge,
)
from app.core.progress import PushEvent
from tests.replay import recording

DATA = Path(__file__).parent / "data"

# (recording, case) -> the kind its text must be classified as. A push stream's case is None.
EXPECTED: dict[tuple[str, str | None], type[DockpushError]] = {
    # dockerd 20.10, classic image store
    ("engine-errors-classic", "no-login"): AuthenticationRequired,
    # 20.10 (and Podman) say "unauthorized: authentication required" with no login as with
    # a rejected one; the explanation says so.
    ("engine-errors-classic", "wrong-password"): AuthenticationRequired,
    ("engine-errors-classic", "token-no-login"): AccessDenied,
    ("engine-errors-classic", "token-wrong-password"): AuthenticationFailed,
    ("engine-errors-classic", "registry-down"): RegistryUnreachable,
    ("engine-errors-classic", "login-wrong-password"): AuthenticationFailed,
    ("engine-errors-classic", "token-login-wrong-password"): AuthenticationFailed,
    ("engine-errors-classic", "tag-missing"): ImageNotFound,
    ("engine-errors-classic", "name-uppercase"): NameInvalid,
    ("push-registry-stopped", None): RegistryUnreachable,
    ("push-unauthorized", None): AuthenticationRequired,
    # the containerd-store engine
    ("engine-errors-containerd", "no-login"): AuthenticationRequired,
    ("engine-errors-containerd", "wrong-password"): AuthenticationFailed,
    ("engine-errors-containerd", "token-no-login"): AccessDenied,
    # The sandbox's token issuer answers containerd's POST token request with 501, so this
    # engine never gets as far as sending the password there: a server error, truthfully.
    ("engine-errors-containerd", "token-wrong-password"): RegistryServerError,
    ("engine-errors-containerd", "registry-down"): RegistryUnreachable,
    ("engine-errors-containerd", "registry-down-digest-413"): RegistryUnreachable,
    ("engine-errors-containerd", "login-wrong-password"): AuthenticationFailed,
    ("engine-errors-containerd", "token-login-wrong-password"): AuthenticationFailed,
    ("engine-errors-containerd", "tag-missing"): ImageNotFound,
    ("engine-errors-containerd", "name-uppercase"): NameInvalid,
    ("engine-errors-containerd", "platform-content-missing"): PlatformContentMissing,
    ("engine-errors-containerd", "platform-not-in-index"): PlatformContentMissing,
    ("engine-errors-containerd", "host-platform-missing"): PlatformContentMissing,
    ("engine-errors-containerd", "no-platform-content"): PlatformContentMissing,
    ("push-containerd-registry-down", None): RegistryUnreachable,
    ("push-containerd-registry-stopped", None): RegistryUnreachable,
    ("push-containerd-unauthorized", None): AuthenticationRequired,
    ("push-containerd-wrong-password", None): AuthenticationFailed,
    # Podman 4.3's Docker API (the sandbox marks its registries insecure for pushes; its /auth
    # does not follow that setting and tries HTTPS)
    ("engine-errors-podman", "no-login"): AuthenticationRequired,
    ("engine-errors-podman", "wrong-password"): AuthenticationRequired,
    ("engine-errors-podman", "token-no-login"): AccessDenied,
    ("engine-errors-podman", "token-wrong-password"): AuthenticationFailed,
    ("engine-errors-podman", "registry-down"): RegistryUnreachable,
    ("engine-errors-podman", "login-wrong-password"): InsecureRegistry,
    ("engine-errors-podman", "token-login-wrong-password"): InsecureRegistry,
    ("engine-errors-podman", "tag-missing"): ImageNotFound,
    ("engine-errors-podman", "name-uppercase"): NameInvalid,
}


def recorded_errors() -> list[tuple[str, str | None, str]]:
    """(recording, case, engine text) of every error line in tests/data."""
    found = []
    for path in sorted(DATA.glob("engine-errors-*.jsonl")):
        for text in path.read_text().splitlines():
            record = json.loads(text)
            found.append((path.stem, record["case"], record["message"]))
    for path in sorted(DATA.glob("push-*.jsonl")):
        if not isinstance(json.loads(path.read_text().partition("\n")[0]), list):
            continue  # not a stream (push-containerd-sizes.jsonl notes layer sizes)
        for _seconds, line in recording(path.stem.removeprefix("push-")):
            message = PushEvent.from_json(line).error
            if message:
                found.append((path.stem, None, message))
    return found


RECORDED = recorded_errors()


@pytest.mark.parametrize(
    ("recording", "case", "message"),
    RECORDED,
    ids=[f"{recording}:{case or 'stream'}" for recording, case, _ in RECORDED],
)
def test_recorded_engine_error_is_classified(
    recording: str, case: str | None, message: str
) -> None:
    expected = EXPECTED.get((recording, case))
    assert expected is not None, f"no expected kind for {recording} {case}: {message!r}"
    error = classify_engine_message(message)
    assert type(error) is expected, f"{message!r} -> {type(error).__name__}"
    assert error.detail == message


def test_every_expectation_has_a_recorded_line() -> None:
    recorded = {(recording, case) for recording, case, _ in RECORDED}
    assert set(EXPECTED) <= recorded, set(EXPECTED) - recorded


def test_both_engines_and_the_newer_texts_are_recorded() -> None:
    engines = set()
    for path in DATA.glob("engine-errors-*.jsonl"):
        engines |= {json.loads(text)["engine"] for text in path.read_text().splitlines()}
    assert any(version.startswith("20.10") for version in engines), engines
    assert any(not version.startswith("20.10") for version in engines), engines
    messages = "\n".join(message for _, _, message in RECORDED)
    assert "authorization failed: no basic auth credentials" in messages
    assert re.search(r"/blobs/sha256:[0-9a-f]{64}", messages)
    assert re.search(r"dial tcp 127\.0\.0\.1:\d+: connect: connection refused", messages)
    assert "does not provide the specified platform" in messages


# Docker 26.1.5 (trixie's engine, API 1.45) pushing an incomplete index: the sandbox runs sid's
# newer engine, which refuses earlier with a recorded line; this wording is moby v26's
# daemon/containerd/image_push.go, as 26.1.5 sent it when tried by hand.
DOCKER_26_INCOMPLETE_INDEX = (
    "missing content: content digest sha256:"
    + "5" * 64
    + ": not found\nNote: You're trying to push a manifest list/index which references "
    "multiple platform specific manifests, but not all of them are available locally or "
    "available to the remote repository.\nMake sure you have all the referenced content and "
    "try again."
)


def test_docker_26_incomplete_index_is_platform_content_missing() -> None:
    error = classify_engine_message(DOCKER_26_INCOMPLETE_INDEX)
    assert isinstance(error, PlatformContentMissing), type(error).__name__


# -- anchoring: digits of a digest, a port or a repository never read as a status or a code --

_REFUSED = (
    'failed to do request: Head "https://{host}:{port}/v2/{repo}/x/blobs/sha256:{digest}": '
    "dial tcp {host}:{port}: connect: connection refused"
)


@given(
    digest=st.text("0123456789abcdef", min_size=64, max_size=64),
    port=st.integers(1, 65535),
    repo=st.sampled_from(
        [
            "team",
            "413",
            "forbidden",
            "denied",
            "insufficient_scope",
            "toomanyrequests",
            "name_invalid",
            "manifest_unknown",
            "status/413",
            "unauthorized",
            "eof",
        ]
    ),
)
def test_refused_connection_is_unreachable_whatever_the_digest_port_or_name(
    digest: str, port: int, repo: str
) -> None:
    message = _REFUSED.format(host="127.0.0.1", port=port, repo=repo, digest=digest)
    assert isinstance(classify_engine_message(message), RegistryUnreachable), message


def test_the_reported_digest_and_port_with_413_are_not_a_413() -> None:
    message = _REFUSED.format(host="10.4.13.2", port=41337, repo="a", digest="413" * 21 + "4")
    assert isinstance(classify_engine_message(message), RegistryUnreachable)


@pytest.mark.parametrize(
    "message",
    [
        "unexpected status from PUT request to https://r.example/v2/a/blobs/uploads/x: "
        "413 Request Entity Too Large",
        "received unexpected HTTP status: 413 Request Entity Too Large",
        "error parsing HTTP 413 response body: invalid character '<' looking for beginning of "
        'value: "<html><head><title>413 Request Entity Too Large</title></head></html>"',
        "StatusCode: 413, payload too large",
        "Payload Too Large",
    ],
)
def test_a_real_413_is_request_too_large(message: str) -> None:
    assert isinstance(classify_engine_message(message), RequestTooLarge)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "unexpected status from HEAD request to https://r.example/v2/a: 502 Bad Gateway",
            RegistryServerError,
        ),
        ("received unexpected HTTP status: 500 Internal Server Error", RegistryServerError),
        ("dial tcp 127.0.0.1:5000: connect: connection refused", RegistryUnreachable),
        ('Get "http://127.0.0.1:503/v2/": EOF', RegistryUnreachable),
        ("tag does not exist: r.example/status/500:1", ImageNotFound),
        ("denied: requested access to the resource is denied", AccessDenied),
    ],
)
def test_status_codes_only_count_as_statuses(message: str, expected: type) -> None:
    assert type(classify_engine_message(message)) is expected


# The containerd store's error when the registry stops in the middle of a blob upload
# (28.5.2, registry stopped mid-push; seen with both endings, which depend on timing).
_UPLOAD_CUT = (
    'failed to copy: failed to do request: Put "http://127.0.0.1:47501/v2/rec/closed-x1795976658'
    "/blobs/uploads/905d9a3c-99e6-4412-b947-3dadafb92c83?_state=SIkNZ&digest=sha256%3A6b4778aee"
    '9997ba7b43e7259da9ff0301a0c493014d052b109eee078d61e04f6": readfrom tcp 127.0.0.1:59698->'
    "127.0.0.1:47501: write tcp 127.0.0.1:59698->127.0.0.1:47501: {ending}"
)


@pytest.mark.parametrize(
    "ending", ["write: connection reset by peer", "use of closed network connection"]
)
def test_registry_stopped_mid_upload_is_unreachable(ending: str) -> None:
    message = _UPLOAD_CUT.format(ending=ending)
    assert isinstance(classify_engine_message(message), RegistryUnreachable), message
