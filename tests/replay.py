"""Replay push streams recorded from the real sandbox engine (tests/data/push-*.jsonl)."""

from __future__ import annotations

import json
from pathlib import Path

from app.core.progress import PushEvent, PushProgress

DATA = Path(__file__).parent / "data"


def recording(name: str) -> list[tuple[float, dict]]:
    """The recorded lines of one stream: (seconds since start, decoded engine line)."""
    rows = []
    for text in (DATA / f"push-{name}.jsonl").read_text().splitlines():
        seconds, line = json.loads(text)
        rows.append((seconds, line))
    return rows


def replay(name: str, expected_sizes: dict[str, int] | None = None) -> PushProgress:
    """Fold a whole recording into a fresh model."""
    progress = PushProgress(expected_sizes=expected_sizes or {})
    for seconds, line in recording(name):
        progress.apply(PushEvent.from_json(line), seconds)
    return progress
