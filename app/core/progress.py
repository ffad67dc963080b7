"""The push-progress model: a pure fold of the engine's push messages into state.

`PushEvent.from_json` types one decoded line of the engine's push stream;
`PushProgress.apply(event, now)` folds it in. Nothing here does I/O or knows about
Textual, so the same model runs in the UI worker, in the benchmark and in replay tests.

Sizes are the engine's, and their meaning depends on its image store (`ImageStore`): the
classic store names layers by diff id and counts *uncompressed* tar bytes; the containerd
store names them by the compressed blob's digest and counts *compressed* bytes, repeats
its last line every 100 ms even while nothing moves, and may send no total for a layer
that finished within one tick. The fold takes missing sizes from the local image
(`expected_sizes`), counts only byte progress as movement, and never lets the overall
fraction go backwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from app.core.engine_errors import classify_engine_message
from app.core.engine_info import ImageStore
from app.core.errors import DockpushError
from app.core.units import human_size

# The engine tries a layer upload up to 5 times, waiting 5 s x the number of failures
# so far between tries, and counts each wait down once a second without saying why.
MAX_UPLOAD_ATTEMPTS = 5
RETRY_STEP_SECONDS = 5

_RETRY_RE = re.compile(r"Retrying in (\d+) seconds?")
_MOUNTED_PREFIX = "Mounted from "
_DIGEST_LINE_RE = re.compile(
    r"(?P<tag>[^\s:]+): digest: (?P<digest>sha256:[0-9a-f]{64}) size: (?P<size>\d+)"
)
_RATE_WINDOW_SECONDS = 0.25
_RATE_SMOOTHING = 0.3
# A rate means something only once bytes moved recently and for a little while, and
# only when it is fast enough that the time left is worth reading.
RATE_STALE_SECONDS = 3.0
MIN_RATE_SECONDS = 1.0
MIN_MEANINGFUL_RATE = 1024.0
MAX_ETA_SECONDS = 48 * 3600.0


def meaningful_eta(left: float, rate: float) -> float | None:
    """Seconds for `left` bytes at `rate`; None when the rate is too slow to mean anything or
    the answer is beyond any wait worth showing (a stalled rate decays towards 0, and
    dividing by it gave times like 15655205057697548335 hours)."""
    if left <= 0 or rate < MIN_MEANINGFUL_RATE:
        return None
    seconds = left / rate
    return seconds if seconds <= MAX_ETA_SECONDS else None


def _smoothed(rate: float, new_bytes: int, elapsed: float) -> float:
    """An exponentially smoothed rate: the first measurement as is, then blended in."""
    instant = max(0, new_bytes) / elapsed
    return instant if rate == 0 else _RATE_SMOOTHING * instant + (1 - _RATE_SMOOTHING) * rate


class Phase(StrEnum):
    """Where one layer is in the push."""

    PREPARING = "Preparing"
    WAITING = "Waiting"
    PUSHING = "Pushing"
    PUSHED = "Pushed"
    EXISTS = "Already exists"
    MOUNTED = "Mounted"
    RETRYING = "Retrying"
    UNAVAILABLE = "Not available locally"
    FAILED = "Failed"
    OTHER = "Other"

    @property
    def is_done(self) -> bool:
        """Whether the layer needs nothing more."""
        return self in (Phase.PUSHED, Phase.EXISTS, Phase.MOUNTED)

    @property
    def is_skipped(self) -> bool:
        """Whether the registry already had the layer, so nothing was uploaded."""
        return self in (Phase.EXISTS, Phase.MOUNTED)


@dataclass(slots=True)
class PushEvent:
    """One line of the engine's push stream, typed."""

    status: str = ""
    layer_id: str = ""
    current: int | None = None
    total: int | None = None
    error: str | None = None
    aux: dict | None = None

    @classmethod
    def from_json(cls, line: dict) -> PushEvent:
        """Type one decoded JSON line; unknown fields are ignored, unknown statuses kept."""
        detail = line.get("progressDetail") or {}
        error = line.get("error")
        if error is None and line.get("errorDetail"):
            error = line["errorDetail"].get("message", "")
        return cls(
            status=line.get("status") or "",
            layer_id=line.get("id") or "",
            current=detail.get("current"),
            total=detail.get("total"),
            error=error,
            aux=line.get("aux"),
        )

    @property
    def result(self) -> PushResult | None:
        """The push's outcome if this line reports it: Docker's `aux` record, or the
        `TAG: digest: sha256:… size: N` status line (the only form Podman sends)."""
        if self.aux is not None and "Digest" in self.aux:
            aux = self.aux
            return PushResult(str(aux.get("Tag", "")), str(aux["Digest"]), int(aux.get("Size", 0)))
        if self.layer_id or "digest: " not in self.status:
            return None
        found = _DIGEST_LINE_RE.fullmatch(self.status)
        if found is None:
            return None
        return PushResult(found["tag"], found["digest"], int(found["size"]))


@dataclass(frozen=True, slots=True)
class PushResult:
    """What the engine reported at the end of a successful push."""

    tag: str
    digest: str
    size: int


@dataclass(slots=True)
class LayerProgress:
    """One layer's state during a push."""

    layer_id: str
    phase: Phase = Phase.PREPARING
    status: str = ""
    current: int = 0
    total: int | None = None
    mounted_from: str | None = None
    retry_attempt: int = 0
    retry_seconds: int | None = None
    rate: float = 0.0
    moved_at: float = 0.0
    _window_time: float = 0.0
    _window_bytes: int = 0

    @property
    def fraction(self) -> float:
        """Done fraction in 0..1 (1 for skipped layers)."""
        if self.phase.is_done:
            return 1.0
        if not self.total:
            return 0.0
        return min(1.0, self.current / self.total)

    def eta_seconds(self, now: float) -> float | None:
        """Seconds left at the smoothed rate, while pushing and only when that means something."""
        if self.phase is not Phase.PUSHING or not self.total:
            return None
        return meaningful_eta(self.total - self.current, self.live_rate(now))

    def live_rate(self, now: float) -> float:
        """The smoothed rate, or 0 when no byte moved lately (a stalled layer has no rate)."""
        if self.phase is not Phase.PUSHING or now - self.moved_at >= RATE_STALE_SECONDS:
            return 0.0
        return self.rate

    @property
    def attempts_left(self) -> int:
        """Upload attempts the engine still has for this layer after the current wait."""
        return max(0, MAX_UPLOAD_ATTEMPTS - self.retry_attempt - 1)

    @property
    def longest_wait_left(self) -> int:
        """The longest the engine may still wait before it gives up on this layer (seconds)."""
        if self.phase is not Phase.RETRYING:
            return 0
        later = sum(
            RETRY_STEP_SECONDS * failures
            for failures in range(self.retry_attempt + 1, MAX_UPLOAD_ATTEMPTS)
        )
        return (self.retry_seconds or 0) + later

    def describe(self) -> str:
        """The phase in words, as the screen shows it."""
        if self.phase is Phase.MOUNTED:
            return f"Mounted from {self.mounted_from}"
        if self.phase is Phase.RETRYING:
            return (
                f"Retrying in {self.retry_seconds} s "
                f"(attempt {self.retry_attempt + 1} of {MAX_UPLOAD_ATTEMPTS})"
            )
        if self.phase is Phase.OTHER:
            return self.status
        return self.phase.value


@dataclass(frozen=True, slots=True)
class ByteTotals:
    """A push's byte counts at one moment."""

    to_upload: int
    done: int
    skipped: int
    layers_skipped: int


@dataclass
class PushProgress:
    """The whole push folded from the engine's events.

    `expected_sizes` maps short layer ids as this engine names them in its push stream (12
    hex of the diff id on the classic store, of the compressed blob's digest on the
    containerd store) to the local image's size of that layer, in the unit the stream
    counts. They stand in for totals the engine does not send, give the bytes of layers
    the registry already had, and let the overall total be known from the start.
    """

    expected_sizes: dict[str, int] = field(default_factory=dict)
    store: ImageStore = ImageStore.CLASSIC
    layers: dict[str, LayerProgress] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    repository: str | None = None
    result: PushResult | None = None
    error: DockpushError | None = None
    unknown_statuses: list[str] = field(default_factory=list)
    events: int = 0
    started_at: float | None = None
    last_event_at: float | None = None
    # When bytes last moved or a layer changed phase; a repeated line is not movement.
    moved_at: float | None = None
    rate: float = 0.0
    # The layer bytes the pushed manifest states (all its platforms), once read back.
    stated_layer_bytes: int | None = None
    _high_water: float = 0.0
    _window_time: float = 0.0
    _window_bytes: int = 0

    # -- folding ---------------------------------------------------------------------------

    def apply(self, event: PushEvent, now: float) -> None:
        """Fold one event in; `now` is a monotonic timestamp in seconds."""
        self.events += 1
        if self.started_at is None:
            self.started_at = self.moved_at = now
            self._window_time = now
        self.last_event_at = now
        if event.error is not None:
            self._fail(event.error)
            self.moved_at = now
        elif event.aux is not None:
            self.result = event.result or self.result
        elif event.layer_id:
            self._apply_layer(event, now)
        elif event.status:
            self._apply_message(event.status)
            self.result = event.result or self.result

    def record_pushed_layers(self, sizes: dict[str, int]) -> None:
        """Take the layer sizes (by blob digest) the pushed manifest states as the final total;
        on the containerd store, whose rows are those blobs, also as sizes the engine and the
        local image left unknown (so layers already in the registry count their bytes)."""
        self.stated_layer_bytes = sum(sizes.values())
        if self.store is ImageStore.CONTAINERD:
            short = {digest.partition(":")[2][:12]: size for digest, size in sizes.items()}
            self.expected_sizes = short | self.expected_sizes

    def _apply_message(self, status: str) -> None:
        self.log.append(status)
        if status.startswith("The push refers to repository ["):
            self.repository = status[len("The push refers to repository [") : -1]

    def _moved(self, layer: LayerProgress, now: float) -> None:
        layer.moved_at = self.moved_at = now

    def _apply_layer(self, event: PushEvent, now: float) -> None:
        layer = self.layers.get(event.layer_id)
        if layer is None:
            layer = self.layers[event.layer_id] = LayerProgress(event.layer_id, _window_time=now)
            self._moved(layer, now)
        status, previous_status, previous_phase = event.status, layer.status, layer.phase
        layer.status = status
        if status == "Pushing":
            self._apply_pushing(layer, event, now)
            return
        if status != previous_status:  # the containerd store repeats lines every 100 ms
            self.log.append(f"{event.layer_id}: {status}")
        if status == "Pushed":
            layer.phase = Phase.PUSHED
            layer.total = layer.total or self.expected_sizes.get(layer.layer_id)
            if layer.total is not None:
                layer.current = layer.total
            layer.rate = 0.0
        elif status in ("Layer already exists", "Already exists"):
            layer.phase = Phase.EXISTS
        elif status.startswith(_MOUNTED_PREFIX):
            layer.phase = Phase.MOUNTED
            layer.mounted_from = status[len(_MOUNTED_PREFIX) :]
        elif status == "Preparing":
            layer.phase = Phase.PREPARING
        elif status == "Waiting":
            layer.phase = Phase.WAITING
        elif status == "Unavailable":
            layer.phase = Phase.UNAVAILABLE
        elif (retry := _RETRY_RE.fullmatch(status)) is not None:
            self._apply_retry(layer, int(retry.group(1)))
        else:
            layer.phase = Phase.OTHER
            if status != previous_status:
                self.unknown_statuses.append(status)
        if layer.phase is not previous_phase:
            self._moved(layer, now)

    def _apply_pushing(self, layer: LayerProgress, event: PushEvent, now: float) -> None:
        if layer.phase is not Phase.PUSHING:
            layer.phase = Phase.PUSHING
            layer._window_time, layer._window_bytes = now, event.current or 0
            self._moved(layer, now)
        layer.total = event.total or layer.total or self.expected_sizes.get(layer.layer_id)
        if event.current is not None:
            # The engine counts tar bytes, which can overshoot the layer size it states.
            current = min(event.current, layer.total) if layer.total else event.current
            if current > layer.current:
                self._moved(layer, now)
            layer.current = current
        elapsed = now - layer._window_time
        if elapsed >= _RATE_WINDOW_SECONDS:
            layer.rate = _smoothed(layer.rate, layer.current - layer._window_bytes, elapsed)
            layer._window_time, layer._window_bytes = now, layer.current
        self._update_overall_rate(now)

    def _apply_retry(self, layer: LayerProgress, seconds: int) -> None:
        # A countdown restarts at 5 x failures; a value above the last one means a new failure.
        if layer.phase is not Phase.RETRYING or seconds > (layer.retry_seconds or 0):
            layer.retry_attempt = max(layer.retry_attempt + 1, seconds // RETRY_STEP_SECONDS)
        layer.phase = Phase.RETRYING
        layer.retry_seconds = seconds
        layer.rate = 0.0

    def _update_overall_rate(self, now: float) -> None:
        elapsed = now - self._window_time
        if elapsed < _RATE_WINDOW_SECONDS:
            return
        done = self.bytes_done
        self.rate = _smoothed(self.rate, done - self._window_bytes, elapsed)
        self._window_time, self._window_bytes = now, done

    def _fail(self, message: str) -> None:
        self.error = classify_engine_message(message)
        self.log.append(f"error: {message}")
        for layer in self.layers.values():
            if not layer.phase.is_done:
                layer.phase = Phase.FAILED
                layer.rate = 0.0

    # -- totals ----------------------------------------------------------------------------

    @property
    def succeeded(self) -> bool:
        """True only when the engine reported a digest and no error arrived."""
        return self.result is not None and self.error is None

    @property
    def finished(self) -> bool:
        """Whether the engine reported the outcome (a digest or an error)."""
        return self.result is not None or self.error is not None

    def _size(self, layer: LayerProgress) -> int:
        known = layer.total or self.expected_sizes.get(layer.layer_id)
        if known is None and layer.phase is Phase.PUSHED:
            return layer.current  # pushed with no size anywhere: what was seen going up
        return known or 0

    def totals(self) -> ByteTotals:
        """The byte counts, in one pass over the layers."""
        to_upload = done = skipped = skipped_layers = 0
        for layer in self.layers.values():
            if layer.phase.is_skipped:
                skipped += self._size(layer)
                skipped_layers += 1
                continue
            size = self._size(layer)
            to_upload += size
            done += size if layer.phase is Phase.PUSHED else layer.current
        if not self.finished:  # local layers the engine has not named yet count from the start
            to_upload += sum(
                size for key, size in self.expected_sizes.items() if key not in self.layers
            )
        return ByteTotals(to_upload, done, skipped, skipped_layers)

    @property
    def bytes_to_upload(self) -> int:
        """Bytes of the layers that go up (all local layers the engine has not skipped)."""
        return self.totals().to_upload

    @property
    def bytes_done(self) -> int:
        """Bytes uploaded so far."""
        return self.totals().done

    @property
    def bytes_skipped(self) -> int:
        """Bytes the registry already had (existing or mounted layers)."""
        return self.totals().skipped

    @property
    def layers_skipped(self) -> int:
        """How many layers the registry already had."""
        return self.totals().layers_skipped

    @property
    def overall_total(self) -> int:
        """All layer bytes of the push: the pushed manifest's once read back, else the
        engine's and the local image's (uploaded plus already in the registry)."""
        if self.stated_layer_bytes is not None:
            return self.stated_layer_bytes
        totals = self.totals()
        return totals.to_upload + totals.skipped

    def overall_fraction(self) -> float:
        """Done fraction of the whole push in 0..1, never less than an earlier answer: a
        layer whose size arrives late must not pull the bar back."""
        if self.succeeded:
            self._high_water = 1.0
        totals = self.totals()
        if whole := totals.to_upload + totals.skipped:
            done = min(1.0, (totals.done + totals.skipped) / whole)
            self._high_water = max(self._high_water, done)
        return self._high_water

    def quiet_seconds(self, now: float) -> float:
        """Seconds since bytes last moved (or a layer changed phase)."""
        return 0.0 if self.moved_at is None else max(0.0, now - self.moved_at)

    def live_rate(self, now: float) -> float:
        """The smoothed overall rate; 0 before it means anything or when bytes stopped."""
        if self.started_at is None or now - self.started_at < MIN_RATE_SECONDS:
            return 0.0
        return 0.0 if self.quiet_seconds(now) >= RATE_STALE_SECONDS else self.rate

    @property
    def elapsed(self) -> float:
        """Seconds from the first event to the last."""
        if self.started_at is None or self.last_event_at is None:
            return 0.0
        return self.last_event_at - self.started_at

    def eta_seconds(self, now: float) -> float | None:
        """Seconds left for the whole push, only when the rate means something."""
        if self.finished:
            return None
        totals = self.totals()
        return meaningful_eta(totals.to_upload - totals.done, self.live_rate(now))


@dataclass(frozen=True, slots=True)
class LayerView:
    """An immutable copy of one layer's state, for the screen."""

    layer_id: str
    phase: Phase
    description: str
    current: int
    total: int | None
    fraction: float
    rate: float
    eta_seconds: float | None
    retry_attempt: int
    attempts_left: int
    longest_wait_left: int


@dataclass(frozen=True, slots=True)
class PushSnapshot:
    """An immutable copy of the whole push, safe to hand from a worker thread to the UI."""

    layers: tuple[LayerView, ...]
    log: tuple[str, ...]
    store: ImageStore
    bytes_to_upload: int
    bytes_done: int
    bytes_skipped: int
    layers_skipped: int
    overall_total: int
    fraction: float
    stated_layer_bytes: int | None
    elapsed: float
    moved_at: float | None
    rate: float
    eta_seconds: float | None
    result: PushResult | None
    error: DockpushError | None
    events: int


def snapshot(progress: PushProgress, now: float | None = None) -> PushSnapshot:
    """Copy what the screen shows out of the (mutable, worker-owned) model; `now` defaults
    to the last event's time."""
    moment = now if now is not None else (progress.last_event_at or 0.0)
    totals = progress.totals()
    return PushSnapshot(
        layers=tuple(
            LayerView(
                layer_id=layer.layer_id,
                phase=layer.phase,
                description=layer.describe(),
                current=layer.current,
                total=layer.total or progress.expected_sizes.get(layer.layer_id),
                fraction=layer.fraction,
                rate=layer.live_rate(moment),
                eta_seconds=layer.eta_seconds(moment),
                retry_attempt=layer.retry_attempt,
                attempts_left=layer.attempts_left,
                longest_wait_left=layer.longest_wait_left,
            )
            for layer in progress.layers.values()
        ),
        log=tuple(progress.log),
        store=progress.store,
        bytes_to_upload=totals.to_upload,
        bytes_done=totals.done,
        bytes_skipped=totals.skipped,
        layers_skipped=totals.layers_skipped,
        overall_total=progress.overall_total,
        fraction=progress.overall_fraction(),
        stated_layer_bytes=progress.stated_layer_bytes,
        elapsed=progress.elapsed,
        moved_at=progress.moved_at,
        rate=progress.live_rate(moment),
        eta_seconds=progress.eta_seconds(moment),
        result=progress.result,
        error=progress.error,
        events=progress.events,
    )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def describe_units(snap: PushSnapshot) -> str:
    """The note under the overall bar: what its sizes are, true for the store and stage."""
    if snap.stated_layer_bytes is not None and snap.store is ImageStore.CLASSIC:
        return "Rows: uncompressed sizes, as this engine counts them; total: compressed, as stored."
    return snap.store.units_note


def describe_overall(snap: PushSnapshot) -> str:
    """The overall line of the push screen, in words true for the engine's store."""
    if not snap.layers:
        if not snap.store.reports_layers:
            return "This engine reports no per-layer progress, only the outcome; waiting for it…"
        return "Starting the push…"
    skipped = f"{_plural(snap.layers_skipped, 'layer')} already in the registry"
    if snap.bytes_skipped:
        skipped += f" ({human_size(snap.bytes_skipped)} not sent)"
    layers = _plural(len(snap.layers), "layer")
    if snap.stated_layer_bytes is not None:
        stored = human_size(snap.stated_layer_bytes)
        return f"Pushed {layers}, {stored} as the registry stores them · {skipped}"
    if snap.bytes_to_upload == 0 and snap.layers_skipped:
        return f"Nothing to upload in {layers} · {skipped}"
    done, total = human_size(snap.bytes_done), human_size(snap.bytes_to_upload)
    return f"Uploading {done} / {total} in {layers} · {skipped}"
