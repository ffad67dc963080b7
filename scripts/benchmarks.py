"""dockpush benchmarks: each row a measured figure, a comparison, a ratio and a target.

Run through `scripts/bench`. Results go to stdout as a table and to
bench-results/latest.json. Rows that need the engine bring the sandbox up first.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.progress import PushEvent, PushProgress  # noqa: E402
from tests.replay import recording  # noqa: E402


@dataclass
class Row:
    """One benchmark's outcome."""

    name: str
    measured: float
    unit: str
    comparison: float | None
    comparison_label: str
    target: str
    met: bool

    @property
    def ratio(self) -> float | None:
        """measured / comparison, where there is a comparison."""
        return self.measured / self.comparison if self.comparison else None


def bench_progress_fold() -> Row:
    """Events folded per second on recorded streams, replayed many times on one core."""
    lines = [
        line
        for name in ("first", "repeat", "mount", "registry-stopped")
        for _, line in recording(name)
    ]
    events = [PushEvent.from_json(line) for line in lines]
    best = 0.0
    for _ in range(5):
        start = time.perf_counter()
        folded = 0
        while folded < 300_000:
            progress = PushProgress()
            now = 0.0
            for event in events:
                now += 0.001
                progress.apply(event, now)
            folded += len(events)
        best = max(best, folded / (time.perf_counter() - start))
    # Parsing included: the worker types each JSON line before folding it.
    start = time.perf_counter()
    parsed = 0
    while parsed < 300_000:
        progress = PushProgress()
        for line in lines:
            progress.apply(PushEvent.from_json(line), 0.0)
        parsed += len(lines)
    with_parse = parsed / (time.perf_counter() - start)
    return Row(
        name="progress fold",
        measured=best,
        unit="events/s",
        comparison=with_parse,
        comparison_label="events/s incl. JSON typing",
        target=">= 200,000 events/s",
        met=best >= 200_000,
    )


BENCHMARKS: dict[str, Callable[[], Row]] = {
    "progress": bench_progress_fold,
}


def main(names: list[str]) -> int:
    """Run the named benchmarks (all by default), print the table, write JSON."""
    chosen = names or list(BENCHMARKS)
    rows = [BENCHMARKS[name]() for name in chosen]
    print(f"{'benchmark':18} {'measured':>16} {'comparison':>30} {'ratio':>7}  target")
    for row in rows:
        comparison = f"{row.comparison:,.0f} {row.comparison_label}" if row.comparison else "-"
        ratio = f"{row.ratio:.2f}" if row.ratio else "-"
        mark = "met" if row.met else "MISSED"
        print(
            f"{row.name:18} {row.measured:>12,.0f} {row.unit:3} {comparison:>30} {ratio:>7}  "
            f"{row.target} ({mark})"
        )
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    machine = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpus": __import__("os").cpu_count(),
    }
    report = {"machine": machine, "rows": [asdict(row) | {"ratio": row.ratio} for row in rows]}
    (out / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0 if all(row.met for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
