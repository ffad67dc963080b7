"""The push-progress fold, on streams recorded from the real engine and on edge cases."""

from __future__ import annotations

from app.core.errors import AuthenticationRequired, RegistryUnreachable
from app.core.progress import MAX_UPLOAD_ATTEMPTS, Phase, PushEvent, PushProgress
from tests.replay import recording, replay

# Short diff ids of dockpush-demo/layers:2.3.1, as the recorded streams name its layers.
LAYER_IDS = ["686b6714cee3", "e00b73a01e80", "f085f92b31df", "395fc7320048"]


def test_first_push_every_layer_pushed_and_bytes_add_up() -> None:
    progress = replay("first")
    assert progress.succeeded
    assert progress.result is not None and progress.result.digest.startswith("sha256:")
    assert progress.result.tag == "2.3.1"
    assert len(progress.layers) == 4
    assert all(layer.phase is Phase.PUSHED for layer in progress.layers.values())
    totals = [layer.total for layer in progress.layers.values()]
    assert all(totals)
    assert progress.bytes_done == progress.bytes_to_upload == sum(totals)
    assert progress.repository and progress.repository.startswith("127.0.0.1:47501/")
    assert not progress.unknown_statuses


def test_repeat_push_every_layer_exists() -> None:
    sizes = {layer_id: 1000 * (i + 1) for i, layer_id in enumerate(LAYER_IDS)}
    progress = replay("repeat", expected_sizes=sizes)
    assert progress.succeeded
    assert {layer.phase for layer in progress.layers.values()} == {Phase.EXISTS}
    assert progress.layers_skipped == 4
    assert progress.bytes_skipped == sum(sizes.values())
    assert progress.bytes_to_upload == 0


def test_second_repository_mounts() -> None:
    progress = replay("mount")
    assert progress.succeeded
    for layer in progress.layers.values():
        assert layer.phase is Phase.MOUNTED
        assert layer.mounted_from and layer.mounted_from.startswith("recorded/layers-")
        assert layer.describe().startswith("Mounted from recorded/layers-")


def test_unauthorized_push_is_an_error_never_a_success() -> None:
    progress = replay("unauthorized")
    assert not progress.succeeded
    assert isinstance(progress.error, AuthenticationRequired)
    assert progress.error.detail == "no basic auth credentials"
    assert all(layer.phase is Phase.FAILED for layer in progress.layers.values())


def test_registry_stopped_counts_retries_then_fails() -> None:
    progress = PushProgress()
    attempts_seen = set()
    longest_waits = []
    for seconds, line in recording("registry-stopped"):
        progress.apply(PushEvent.from_json(line), seconds)
        for layer in progress.layers.values():
            if layer.phase is Phase.RETRYING:
                attempts_seen.add(layer.retry_attempt)
                longest_waits.append(layer.longest_wait_left)
                assert layer.attempts_left == MAX_UPLOAD_ATTEMPTS - layer.retry_attempt - 1
    # The engine waited 5, 10, 15 and 20 s: four failures before giving up.
    assert attempts_seen == {1, 2, 3, 4}
    assert max(longest_waits) == 5 + 10 + 15 + 20
    assert min(longest_waits) == 1
    assert isinstance(progress.error, RegistryUnreachable)
    assert "connection refused" in (progress.error.detail or "")
    assert not progress.succeeded
    assert any(layer.phase is Phase.FAILED for layer in progress.layers.values())


def test_rate_and_eta_while_pushing() -> None:
    progress = PushProgress()
    progress.apply(PushEvent(status="Preparing", layer_id="a"), 0.0)
    for step in range(1, 11):
        progress.apply(
            PushEvent(status="Pushing", layer_id="a", current=step * 1_000_000, total=20_000_000),
            step * 0.5,
        )
    layer = progress.layers["a"]
    assert 1_500_000 < layer.rate < 2_500_000  # 1 MB per 0.5 s
    assert layer.eta_seconds is not None and 4 < layer.eta_seconds < 7
    assert progress.eta_seconds is not None
    assert 0.45 < layer.fraction < 0.55


def test_unknown_statuses_are_kept_and_shown() -> None:
    progress = PushProgress()
    progress.apply(PushEvent(status="Frobnicating", layer_id="a"), 0.0)
    progress.apply(PushEvent(status="Something new from a future engine"), 0.1)
    assert progress.layers["a"].phase is Phase.OTHER
    assert progress.layers["a"].describe() == "Frobnicating"
    assert progress.unknown_statuses == ["Frobnicating"]
    assert "Something new from a future engine" in progress.log


def test_stream_without_digest_is_not_a_success() -> None:
    progress = PushProgress()
    for seconds, line in recording("first")[:-2]:
        progress.apply(PushEvent.from_json(line), seconds)
    assert not progress.succeeded


def test_from_json_tolerates_odd_lines() -> None:
    assert PushEvent.from_json({}).status == ""
    assert PushEvent.from_json({"errorDetail": {"message": "boom"}}).error == "boom"
    event = PushEvent.from_json({"status": "Pushing", "progressDetail": None, "id": "x"})
    assert event.current is None
