"""Replay push streams recorded from the real sandbox engines (tests/data/push-*.jsonl).

`push-<name>.jsonl` come from Debian 12's engine 20.10 (classic image store),
`push-containerd-<name>.jsonl` from the containerd-store engine; push-containerd-sizes.jsonl
holds, per containerd recording, the local image's layer sizes as the app reads them and
the layer sizes the pushed manifest states in the registry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from app.core.engine_info import ImageStore
from app.core.progress import PushEvent, PushProgress

DATA = Path(__file__).parent / "data"


def recording(name: str) -> list[tuple[float, dict]]:
    """The recorded lines of one stream: (seconds since start, decoded engine line)."""
    rows = []
    for text in (DATA / f"push-{name}.jsonl").read_text().splitlines():
        seconds, line = json.loads(text)
        rows.append((seconds, line))
    return rows


@dataclass(frozen=True)
class RecordedSizes:
    """A containerd recording's image: its local layer sizes (short id -> bytes, as
    `Engine.layer_sizes` read them) and what the pushed manifest states (digest -> bytes;
    None when the push did not finish)."""

    local: dict[str, int]
    stated: dict[str, int] | None


def recorded_sizes(name: str) -> RecordedSizes:
    """The sizes noted for the containerd recording `name` (e.g. "containerd-first")."""
    for text in (DATA / "push-containerd-sizes.jsonl").read_text().splitlines():
        row = json.loads(text)
        if row["recording"] == name:
            return RecordedSizes(row["local"], row["stated"])
    raise KeyError(name)


def replay(
    name: str,
    expected_sizes: dict[str, int] | None = None,
    store: ImageStore = ImageStore.CLASSIC,
) -> PushProgress:
    """Fold a whole recording into a fresh model."""
    progress = PushProgress(expected_sizes=expected_sizes or {}, store=store)
    for seconds, line in recording(name):
        progress.apply(PushEvent.from_json(line), seconds)
    return progress


def replay_containerd(name: str) -> PushProgress:
    """Fold a containerd recording with the local sizes the app would have read."""
    return replay(
        f"containerd-{name}", recorded_sizes(f"containerd-{name}").local, ImageStore.CONTAINERD
    )
