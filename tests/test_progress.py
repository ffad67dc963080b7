"""The push-progress fold, on streams recorded from both real engines and on edge cases."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.engine_info import ImageStore
from app.core.errors import AuthenticationFailed, AuthenticationRequired, RegistryUnreachable
from app.core.progress import (
    MAX_ETA_SECONDS,
    MAX_UPLOAD_ATTEMPTS,
    Phase,
    PushEvent,
    PushProgress,
    describe_overall,
    describe_units,
    meaningful_eta,
    snapshot,
)
from tests.replay import recorded_sizes, recording, replay, replay_containerd

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
    eta = layer.eta_seconds(5.0)
    assert eta is not None and 4 < eta < 7
    assert progress.eta_seconds(5.0) is not None
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


# -- the containerd image store (tests/data/push-containerd-*.jsonl) -------------------------

CONTAINERD_RECORDINGS = [
    "first",
    "repeat",
    "mount",
    "multiplatform",
    "incomplete",
    "registry-down",
    "stalled",
    "unauthorized",
    "wrong-password",
]


def _fractions(name: str, expected: dict[str, int]) -> list[float]:
    progress = PushProgress(expected_sizes=expected)
    seen = []
    for seconds, line in recording(name):
        progress.apply(PushEvent.from_json(line), seconds)
        seen.append(progress.overall_fraction())
    return seen


def _pushed_without_total(name: str) -> set[str]:
    lines = [line for _, line in recording(name)]
    pushed = {line["id"] for line in lines if line.get("status") == "Pushed"}
    return pushed - {
        line["id"] for line in lines if (line.get("progressDetail") or {}).get("total")
    }


def test_containerd_first_push_totals_match_the_pushed_manifest() -> None:
    sizes = recorded_sizes("containerd-first")
    progress = replay_containerd("first")
    assert progress.succeeded and not progress.unknown_statuses
    assert set(progress.layers) == set(sizes.local)
    assert {layer.phase for layer in progress.layers.values()} == {Phase.PUSHED}
    assert sizes.stated is not None
    stated = sum(sizes.stated.values())
    # Compressed bytes, named by blob digest: they add up to what the registry now states.
    assert progress.bytes_done == progress.bytes_to_upload == stated
    assert progress.overall_total == stated
    progress.record_pushed_layers(sizes.stated)
    assert progress.overall_total == stated
    assert progress.overall_fraction() == 1.0
    text = describe_overall(snapshot(progress))
    assert text.startswith("Pushed 4 layers") and "0 layers already in the registry" in text


def test_containerd_layers_without_a_total_take_the_local_manifest_size() -> None:
    # Small layers finish within one 100 ms tick: the engine then sends no total at all.
    assert _pushed_without_total("containerd-multiplatform")
    sizes = recorded_sizes("containerd-multiplatform")
    assert sizes.stated is not None
    stated = sum(sizes.stated.values())
    bare = replay("containerd-multiplatform", store=ImageStore.CONTAINERD)
    assert bare.bytes_to_upload < stated  # from the stream alone the total comes up short
    progress = replay_containerd("multiplatform")
    assert progress.succeeded and not progress.unknown_statuses
    # Every platform's layers and the attestations' blobs, as the pushed index states them.
    assert set(progress.layers) == set(sizes.local)
    assert progress.bytes_done == progress.bytes_to_upload == stated
    assert all(view.total for view in snapshot(progress).layers)


@pytest.mark.parametrize("name", ["repeat", "mount"])
def test_containerd_skipped_layers_are_counted(name: str) -> None:
    sizes = recorded_sizes(f"containerd-{name}")
    progress = replay_containerd(name)
    assert progress.succeeded
    assert progress.layers_skipped == len(sizes.local) == 4
    assert progress.bytes_skipped == sum(sizes.local.values())
    assert progress.bytes_to_upload == 0
    assert progress.overall_total == sum((sizes.stated or {}).values())
    assert progress.overall_fraction() == 1.0
    text = describe_overall(snapshot(progress))
    assert "4 layers already in the registry" in text and "not sent" in text
    assert "Uploading  in" not in text and text.startswith("Nothing to upload")
    if name == "mount":
        assert all(
            (layer.mounted_from or "").startswith("recorded/layers-")
            for layer in progress.layers.values()
        )


def test_containerd_repeat_without_local_sizes_counts_bytes_after_read_back() -> None:
    # A large image goes without the local export; the pushed manifest fills the sizes in.
    stated = recorded_sizes("containerd-repeat").stated
    assert stated is not None
    progress = replay("containerd-repeat", store=ImageStore.CONTAINERD)
    assert progress.layers_skipped == 4 and progress.bytes_skipped == 0
    progress.record_pushed_layers(stated)
    assert progress.bytes_skipped == progress.overall_total == sum(stated.values())
    assert "not sent" in describe_overall(snapshot(progress))


def test_containerd_incomplete_index_is_a_stall_the_fold_sees() -> None:
    # With one platform's content missing, 28.5.2 repeated "Unavailable" for every layer
    # every 100 ms and never ended the push (the recording stops after 12 s): only byte
    # progress tells that nothing happens, and the log says each layer's state once.
    rows = recording("containerd-incomplete")
    progress = replay_containerd("incomplete")
    end = rows[-1][0]
    assert progress.result is None and progress.error is None and end > 10
    assert not progress.unknown_statuses
    assert {layer.phase for layer in progress.layers.values()} == {Phase.UNAVAILABLE}
    assert all(layer.describe() == "Not available locally" for layer in progress.layers.values())
    assert progress.quiet_seconds(end) > 10
    assert len(progress.log) == len(progress.layers) + 1  # "The push refers to …" + one each


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("unauthorized", AuthenticationRequired),
        ("wrong-password", AuthenticationFailed),
        ("registry-down", RegistryUnreachable),
    ],
)
def test_containerd_failures_are_errors_never_successes(name: str, kind: type) -> None:
    progress = replay_containerd(name)
    assert not progress.succeeded
    assert isinstance(progress.error, kind)
    assert all(layer.phase is Phase.FAILED for layer in progress.layers.values())
    # The engine repeats "Waiting" every tick; the log says it once per layer.
    assert len(progress.log) == len(set(progress.log))


def test_containerd_stall_is_seen_from_bytes_not_from_lines() -> None:
    rows = recording("containerd-stalled")
    counts = [
        (seconds, (line.get("progressDetail") or {}).get("current"))
        for seconds, line in rows
        if line.get("status") == "Pushing"
    ]
    moved = min(seconds for seconds, count in counts if count == counts[-1][1])
    end = rows[-1][0]
    assert end - moved > 10, "the recording holds more than 10 s without new bytes"
    assert end - counts[-1][0] < 0.5, "while the engine kept repeating its line"
    progress = replay_containerd("stalled")
    assert progress.moved_at == pytest.approx(moved)
    assert progress.quiet_seconds(end) > 10
    assert progress.live_rate(end) == 0
    assert progress.eta_seconds(end) is None
    view = snapshot(progress).layers[0]
    assert view.rate == 0 and view.eta_seconds is None


@pytest.mark.parametrize("name", CONTAINERD_RECORDINGS)
def test_containerd_bar_never_goes_back_and_time_left_is_never_absurd(name: str) -> None:
    sizes = recorded_sizes(f"containerd-{name}").local
    progress = PushProgress(expected_sizes=sizes, store=ImageStore.CONTAINERD)
    fractions = []
    for seconds, line in recording(f"containerd-{name}"):
        progress.apply(PushEvent.from_json(line), seconds)
        snap = snapshot(progress)
        fractions.append(snap.fraction)
        etas = [snap.eta_seconds, *(view.eta_seconds for view in snap.layers)]
        assert all(eta is None or 0 <= eta <= MAX_ETA_SECONDS for eta in etas)
    assert fractions == sorted(fractions)


def test_containerd_bar_never_goes_back_without_local_sizes() -> None:
    # The "100 %, then 81.8 %": sizes arriving late must not pull the bar back.
    fractions = _fractions("containerd-first", {})
    assert fractions == sorted(fractions)


def test_decaying_rate_gives_no_absurd_time_left() -> None:
    progress = PushProgress()
    for step in range(1, 5):
        event = PushEvent(status="Pushing", layer_id="a", current=step * 1_000_000, total=9**18)
        progress.apply(event, step * 0.5)
    stuck = PushEvent(status="Pushing", layer_id="a", current=4_000_000, total=9**18)
    for tick in range(600):  # a minute of the same line every 100 ms
        progress.apply(stuck, 2.0 + tick / 10)
        eta = progress.eta_seconds(2.0 + tick / 10)
        assert eta is None or eta <= MAX_ETA_SECONDS
    assert progress.eta_seconds(62.0) is None
    assert meaningful_eta(10**20, 1e-12) is None
    assert meaningful_eta(10_000_000, 1_000_000) == 10


def test_units_are_labelled_per_store_and_stage() -> None:
    containerd = describe_units(snapshot(replay_containerd("first"))).lower()
    assert containerd.startswith("compressed") and "uncompressed" not in containerd
    classic = replay("first")
    assert describe_units(snapshot(classic)).lower().startswith("uncompressed")
    classic.record_pushed_layers({"sha256:a": 1})
    after = describe_units(snapshot(classic)).lower()
    assert "rows: uncompressed" in after and "total: compressed" in after


@pytest.mark.parametrize("store", list(ImageStore))
def test_podman_text_only_on_podman(store: ImageStore) -> None:
    text = describe_overall(snapshot(PushProgress(store=store)))
    assert ("no per-layer progress" in text) is (store is ImageStore.PODMAN)


# -- the fold's overall bar, for any stream ---------------------------------------------------

_LAYER_IDS = st.sampled_from(["a", "b", "c", "d"])
_EVENTS = st.one_of(
    st.builds(
        PushEvent,
        status=st.sampled_from(
            ["Preparing", "Waiting", "Pushed", "Layer already exists", "Mounted from x/y"]
        ),
        layer_id=_LAYER_IDS,
    ),
    st.builds(
        PushEvent,
        status=st.just("Pushing"),
        layer_id=_LAYER_IDS,
        current=st.one_of(st.none(), st.integers(0, 5_000)),
        total=st.one_of(st.none(), st.integers(1, 5_000)),
    ),
    st.builds(
        PushEvent,
        status=st.sampled_from(["Retrying in 5 seconds", "Retrying in 1 second"]),
        layer_id=_LAYER_IDS,
    ),
)


@given(
    events=st.lists(_EVENTS, max_size=60),
    expected=st.dictionaries(_LAYER_IDS, st.integers(0, 5_000), max_size=4),
)
def test_overall_bar_never_goes_backwards(events: list[PushEvent], expected: dict) -> None:
    progress = PushProgress(expected_sizes=expected)
    previous = 0.0
    for tick, event in enumerate(events):
        progress.apply(event, tick * 0.1)
        fraction = snapshot(progress).fraction
        assert 0.0 <= fraction <= 1.0
        assert fraction >= previous
        previous = fraction
