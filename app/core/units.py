"""Sizes, rates and times in words a person reads at a glance (decimal units, as docker prints)."""

from __future__ import annotations

from datetime import UTC, datetime

_UNITS = ("B", "kB", "MB", "GB", "TB")


def human_size(size: float) -> str:
    """`1234567` -> `1.23 MB` (decimal units, like `docker images`)."""
    value = float(size)
    for unit in _UNITS:
        if abs(value) < 1000 or unit == _UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.3g} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def human_rate(bytes_per_second: float) -> str:
    """`2500000` -> `2.5 MB/s`."""
    return f"{human_size(bytes_per_second)}/s"


def human_duration(seconds: float | None) -> str:
    """`75` -> `1m15s`; None -> `-`."""
    if seconds is None:
        return "-"
    total = round(seconds)
    if total < 60:
        return f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def relative_time(moment: datetime, now: datetime | None = None) -> str:
    """`3 hours ago`, like `docker images` shows CREATED."""
    now = now or datetime.now(UTC)
    seconds = max(0, int((now - moment).total_seconds()))
    for size, name in (
        (365 * 86400, "year"),
        (30 * 86400, "month"),
        (7 * 86400, "week"),
        (86400, "day"),
        (3600, "hour"),
        (60, "minute"),
    ):
        if seconds >= size:
            count = seconds // size
            return f"{count} {name}{'s' if count != 1 else ''} ago"
    return "just now"
