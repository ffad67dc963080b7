"""The push-progress model: a pure fold of the engine's push messages into state.

`PushEvent.from_json` types one decoded line of the engine's push stream;
`PushProgress.apply(event, now)` folds it in. Nothing here does I/O or knows about
Textual, so the same model runs in the UI worker, in the benchmark and in replay tests.

Sizes are the engine's: its progress bars count *uncompressed* layer bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from app.core.errors import DockpushError, classify_engine_message

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

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at the smoothed rate, while pushing."""
        if self.phase is not Phase.PUSHING or not self.total or self.rate <= 0:
            return None
        return max(0.0, (self.total - self.current) / self.rate)

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


@dataclass
class PushProgress:
    """The whole push folded from the engine's events.

    `expected_sizes` maps short layer ids (12 hex of the layer's diff id, as the engine
    names them) to uncompressed sizes, so skipped layers can count as bytes saved.
    """

    expected_sizes: dict[str, int] = field(default_factory=dict)
    layers: dict[str, LayerProgress] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    repository: str | None = None
    result: PushResult | None = None
    error: DockpushError | None = None
    unknown_statuses: list[str] = field(default_factory=list)
    events: int = 0
    started_at: float | None = None
    last_event_at: float | None = None
    rate: float = 0.0
    _window_time: float = 0.0
    _window_bytes: int = 0

    # -- folding ---------------------------------------------------------------------------

    def apply(self, event: PushEvent, now: float) -> None:
        """Fold one event in; `now` is a monotonic timestamp in seconds."""
        self.events += 1
        if self.started_at is None:
            self.started_at = now
            self._window_time = now
        self.last_event_at = now
        if event.error is not None:
            self._fail(event.error)
        elif event.aux is not None:
            self.result = event.result or self.result
        elif event.layer_id:
            self._apply_layer(event, now)
        elif event.status:
            self._apply_message(event.status)
            self.result = event.result or self.result

    def _apply_message(self, status: str) -> None:
        self.log.append(status)
        if status.startswith("The push refers to repository ["):
            self.repository = status[len("The push refers to repository [") : -1]

    def _apply_layer(self, event: PushEvent, now: float) -> None:
        layer = self.layers.get(event.layer_id)
        if layer is None:
            layer = self.layers[event.layer_id] = LayerProgress(event.layer_id, _window_time=now)
        status = event.status
        layer.status = status
        if status == "Pushing":
            self._apply_pushing(layer, event, now)
            return
        self.log.append(f"{event.layer_id}: {status}")
        if status == "Pushed":
            layer.phase = Phase.PUSHED
            if layer.total is not None:
                layer.current = layer.total
            layer.rate = 0.0
        elif status == "Layer already exists":
            layer.phase = Phase.EXISTS
        elif status.startswith(_MOUNTED_PREFIX):
            layer.phase = Phase.MOUNTED
            layer.mounted_from = status[len(_MOUNTED_PREFIX) :]
        elif status == "Preparing":
            layer.phase = Phase.PREPARING
        elif status == "Waiting":
            layer.phase = Phase.WAITING
        elif (retry := _RETRY_RE.fullmatch(status)) is not None:
            self._apply_retry(layer, int(retry.group(1)))
        else:
            layer.phase = Phase.OTHER
            self.unknown_statuses.append(status)

    def _apply_pushing(self, layer: LayerProgress, event: PushEvent, now: float) -> None:
        if layer.phase is not Phase.PUSHING:
            layer.phase = Phase.PUSHING
            layer._window_time, layer._window_bytes = now, event.current or 0
        if event.total:
            layer.total = event.total
        if event.current is not None:
            # The engine counts tar bytes, which can overshoot the layer size it states.
            layer.current = min(event.current, layer.total) if layer.total else event.current
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
    def bytes_to_upload(self) -> int:
        """Uncompressed bytes of the layers that really go up."""
        return sum(
            layer.total or self.expected_sizes.get(layer.layer_id, 0)
            for layer in self.layers.values()
            if not layer.phase.is_skipped
        )

    @property
    def bytes_done(self) -> int:
        """Uncompressed bytes uploaded so far."""
        total = 0
        for layer in self.layers.values():
            if layer.phase is Phase.PUSHED:
                total += layer.total or self.expected_sizes.get(layer.layer_id, 0)
            elif not layer.phase.is_skipped:
                total += layer.current
        return total

    @property
    def bytes_skipped(self) -> int:
        """Uncompressed bytes the registry already had (existing or mounted layers)."""
        return sum(
            self.expected_sizes.get(layer.layer_id, 0)
            for layer in self.layers.values()
            if layer.phase.is_skipped
        )

    @property
    def layers_skipped(self) -> int:
        """How many layers the registry already had."""
        return sum(1 for layer in self.layers.values() if layer.phase.is_skipped)

    @property
    def elapsed(self) -> float:
        """Seconds from the first event to the last."""
        if self.started_at is None or self.last_event_at is None:
            return 0.0
        return self.last_event_at - self.started_at

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left for the whole push at the smoothed rate."""
        left = self.bytes_to_upload - self.bytes_done
        if self.rate <= 0 or left <= 0 or self.result is not None:
            return None
        return left / self.rate


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
    bytes_to_upload: int
    bytes_done: int
    bytes_skipped: int
    layers_skipped: int
    elapsed: float
    rate: float
    eta_seconds: float | None
    result: PushResult | None
    error: DockpushError | None
    events: int


def snapshot(progress: PushProgress) -> PushSnapshot:
    """Copy what the screen shows out of the (mutable, worker-owned) model."""
    return PushSnapshot(
        layers=tuple(
            LayerView(
                layer_id=layer.layer_id,
                phase=layer.phase,
                description=layer.describe(),
                current=layer.current,
                total=layer.total or progress.expected_sizes.get(layer.layer_id),
                fraction=layer.fraction,
                rate=layer.rate,
                eta_seconds=layer.eta_seconds,
                retry_attempt=layer.retry_attempt,
                attempts_left=layer.attempts_left,
                longest_wait_left=layer.longest_wait_left,
            )
            for layer in progress.layers.values()
        ),
        log=tuple(progress.log),
        bytes_to_upload=progress.bytes_to_upload,
        bytes_done=progress.bytes_done,
        bytes_skipped=progress.bytes_skipped,
        layers_skipped=progress.layers_skipped,
        elapsed=progress.elapsed,
        rate=progress.rate,
        eta_seconds=progress.eta_seconds,
        result=progress.result,
        error=progress.error,
        events=progress.events,
    )
