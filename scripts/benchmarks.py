"""dockpush benchmarks: each row a measured figure, a comparison, a ratio and a target.

Run through `scripts/bench [name ...]`. Results go to stdout as a table and to
bench-results/latest.json. Rows that need the engine bring the sandbox up first and
clean up what they create. App measurements run in child processes (`--child NAME`), so
start-up and peak memory are those of a real process.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.progress import PushEvent, PushProgress  # noqa: E402
from tests.replay import recording  # noqa: E402

SCALE_TAGS = 10_000
STARTUP_IMAGES = 100
PUSH_PAIRS = 15
PUSH_LAYERS = [60_000_000, 30_000_000, 15_000_000]  # 105 MB in 3 layers
MEMORY_PUSH_LAYERS = [250_000_000, 150_000_000, 100_000_000]  # 500 MB
VERIFY_LAYERS = [200_000] * 10


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
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """measured / comparison, where there is a comparison."""
        return self.measured / self.comparison if self.comparison else None


# -- helpers -----------------------------------------------------------------------------


def _sandbox() -> object:
    from tests.harness import sandbox

    if not (sandbox.STATE_DIR / "env.json").exists() or not sandbox.all_running():
        sandbox.up()
    info = sandbox.info()
    os.environ.update(info.exports())
    for key in ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        os.environ.pop(key, None)
    return info


def _client() -> object:
    import docker

    return docker.from_env(timeout=600)


def _child(name: str, *args: str, timeout: float = 900) -> dict:
    """Run `benchmarks.py --child NAME ARGS` and return the JSON it prints last."""
    result = subprocess.run(
        [sys.executable, __file__, "--child", name, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"child {name} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _peak_rss_mb() -> float:
    """This process's peak RSS since exec (VmHWM). Not ru_maxrss: on Linux that survives
    fork+exec, so a child would report the peak of the benchmark process that built images."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _memory_row(name: str, peak_mb: float, note: str = "") -> Row:
    return Row(name, peak_mb, "MB", None, "", "<= 150 MB peak RSS", peak_mb <= 150, note=note)


def _wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


# -- progress fold -----------------------------------------------------------------------


def bench_progress_fold() -> list[Row]:
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
    start = time.perf_counter()
    parsed = 0
    while parsed < 300_000:
        progress = PushProgress()
        for line in lines:
            progress.apply(PushEvent.from_json(line), 0.0)
        parsed += len(lines)
    with_parse = parsed / (time.perf_counter() - start)
    return [
        Row(
            "progress fold",
            best,
            "events/s",
            with_parse,
            "events/s incl. JSON typing",
            ">= 200,000 events/s",
            best >= 200_000,
        )
    ]


# -- browser at scale, memory and startup ------------------------------------------------


async def _populate_and_filter(expected: int, queries: list[str]) -> dict:
    from textual.widgets import Input

    from app.ui.app import DockpushApp
    from app.ui.screens.browser import ImageBrowserScreen

    launched = time.perf_counter()
    app = DockpushApp()
    async with app.run_test(size=(120, 40)) as pilot:
        while not (
            isinstance(app.screen, ImageBrowserScreen) and len(app.screen.all_rows) >= expected
        ):
            if time.perf_counter() - launched > 120:
                raise TimeoutError(f"the browser never listed {expected} rows")
            await asyncio.sleep(0.005)
        populated = time.perf_counter() - launched
        screen = app.screen
        box = screen.query_one("#filter", Input)
        latencies = []
        for query in queries:
            start = time.perf_counter()
            box.value = query  # what typing one more character does
            while (
                screen.query_one("#filter", Input).value != query or screen.applied_filter != query
            ):
                await asyncio.sleep(0)
            latencies.append(time.perf_counter() - start)
        await pilot.pause()
    return {"populated": populated, "latencies": latencies, "rss_mb": _peak_rss_mb()}


def child_browser(expected: str) -> dict:
    """Child: launch the app, wait until `expected` rows are listed, type a filter."""
    queries = [
        "b",
        "be",
        "ben",
        "benc",
        "bench",
        "bench/",
        "bench/scale-0",
        "bench/scale-04",
        "bench/scale-042",
        "bench/scale-04",
        "bench/scale-0",
        "",
    ]
    return asyncio.run(_populate_and_filter(int(expected), queries))


def _tag_many(client: object, image: str, count: int) -> list[str]:
    tags = [(f"bench/scale-{i % 100:03d}", f"v{i}") for i in range(count)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda t: client.api.tag(image, *t), tags))  # type: ignore[attr-defined]
    return [f"{repo}:{tag}" for repo, tag in tags]


def _remove_many(client: object, references: list[str], prune: bool = True) -> None:
    """Remove the references; with `prune`, their untagged layers go too (else vfs keeps
    every pushed image's layers: 56 GB after a few benchmark runs)."""

    def remove(reference: str) -> None:
        import docker.errors

        with contextlib.suppress(docker.errors.ImageNotFound):  # a build that failed
            client.api.remove_image(reference, noprune=not prune)  # type: ignore[attr-defined]

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(remove, references))


def bench_scale() -> list[Row]:
    """10,000 tags: time to populate the browser, one filter keystroke, peak RSS."""
    _sandbox()
    client = _client()
    existing = sum(len(i.tags) for i in client.images.list())  # type: ignore[attr-defined]
    image = client.images.get("dockpush-demo/tiny:1.0").id  # type: ignore[attr-defined]
    created = _tag_many(client, image, SCALE_TAGS)
    try:
        result = _child("browser", str(existing + SCALE_TAGS))
    finally:
        _remove_many(client, created)
    latency_ms = statistics.median(result["latencies"]) * 1000
    worst_ms = max(result["latencies"]) * 1000
    return [
        Row(
            "browser populate",
            result["populated"],
            "s",
            None,
            "",
            "<= 2 s with 10,000 tags",
            result["populated"] <= 2.0,
        ),
        Row(
            "filter keystroke",
            latency_ms,
            "ms",
            None,
            "",
            "<= 50 ms with 10,000 tags",
            worst_ms <= 50,
            note=f"median; worst {worst_ms:.1f} ms; each (ms): "
            + " ".join(f"{x * 1000:.0f}" for x in result["latencies"]),
        ),
        _memory_row("memory, 10k tags", result["rss_mb"]),
    ]


def _import_tiny(client: object, seed: str) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        data = seed.encode()
        info = tarfile.TarInfo("seed.txt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    client.api.import_image_from_data(
        buffer.getvalue(), repository=f"bench/startup-{seed}", tag="1"
    )  # type: ignore[attr-defined]


def bench_startup() -> list[Row]:
    """Launch until the table is populated, with 100 images, against `docker image ls`."""
    _sandbox()
    client = _client()
    present = len(client.images.list())  # type: ignore[attr-defined]
    run = uuid.uuid4().hex[:6]
    seeds = [f"{run}-{i}" for i in range(max(0, STARTUP_IMAGES - present))]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda s: _import_tiny(client, s), seeds))
    try:
        rows = sum(len(i.tags) for i in client.images.list())  # type: ignore[attr-defined]
        app_times, cli_times = [], []
        for _ in range(5):
            start = time.perf_counter()
            _child("browser", str(rows))
            app_times.append(time.perf_counter() - start)
            cli_times.append(_wall(["docker", "image", "ls"]))
    finally:
        _remove_many(client, [f"bench/startup-{s}:1" for s in seeds])
    app_s, cli_s = statistics.median(app_times), statistics.median(cli_times)
    return [
        Row(
            "startup, 100 images",
            app_s,
            "s",
            cli_s,
            "s docker image ls",
            "<= 1.0 s",
            app_s <= 1.0,
            note="process start until the table is populated",
        )
    ]


# -- push overhead and memory during a push ---------------------------------------------


async def _app_push(reference: str) -> dict:
    from app.core.reference import parse_normalized
    from app.ui.app import DockpushApp
    from app.ui.screens.push import ItemState, PushScreen

    app = DockpushApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        app.finish_tagging([parse_normalized(reference)])
        while not (isinstance(app.screen, PushScreen) and app.screen.reports):
            await asyncio.sleep(0.01)
        screen = app.screen
        # Told when the queue finishes, rather than polling: a 5 ms polling loop cost the
        # measured process 0.02 s of CPU that the app itself does not spend.
        finished = asyncio.Event()
        queue_finished = screen._queue_finished

        def on_queue_finished() -> None:
            queue_finished()
            finished.set()

        screen._queue_finished = on_queue_finished  # type: ignore[method-assign]
        cpu_before = time.process_time()
        start = time.perf_counter()
        screen.action_go()
        await finished.wait()
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu_before
        assert screen.items[0].state is ItemState.DONE, screen.items[0].error
        await pilot.pause()
    return {"seconds": elapsed, "cpu": cpu, "rss_mb": _peak_rss_mb()}


def child_push(reference: str) -> dict:
    """Child: push one reference through the app's push screen, headless."""
    return asyncio.run(_app_push(reference))


@contextlib.contextmanager
def _fresh_images(client: object, references: list[str], layers: list[int]) -> Iterator[None]:
    """Build images the registry has never seen under `references`; remove them afterwards."""
    from tests.harness.images import build_image

    try:
        for reference in references:
            build_image(client, reference, layers, f"{reference}-{random.random()}")  # type: ignore[arg-type]
        yield
    finally:
        _remove_many(client, references)


@contextlib.contextmanager
def _on_engine(store: str) -> Iterator[list[str]]:
    """Point this process, its children and the docker CLI at the sandbox engine of `store`;
    yields the docker CLI to compare with (the containerd-store engine's own release)."""
    info = _sandbox()
    host, cli = info.docker_host, ["docker"]  # type: ignore[attr-defined]
    if store == "containerd":
        engine = json.loads(
            (Path(info.state_dir) / "engine-containerd" / "engine.json").read_text()  # type: ignore[attr-defined]
        )
        host = info.containerd_docker_host  # type: ignore[attr-defined]
        cli = [str(Path(engine["root"]) / "usr" / "bin" / "docker")]
    before = os.environ["DOCKER_HOST"]
    os.environ["DOCKER_HOST"] = host
    try:
        yield cli
    finally:
        os.environ["DOCKER_HOST"] = before


def _bench_push(store: str) -> list[Row]:
    """The app's push path against `docker push`, equal fresh images, alternating."""
    with _on_engine(store) as docker_cli:
        info = _sandbox()
        client = _client()
        run = uuid.uuid4().hex[:6]
        app_times, cli_times, cpu_times = [], [], []
        for pair in range(PUSH_PAIRS):
            app_ref = f"{info.open_registry}/bench/push-app-{run}-{pair}:1"  # type: ignore[attr-defined]
            cli_ref = f"{info.open_registry}/bench/push-cli-{run}-{pair}:1"  # type: ignore[attr-defined]
            order = [("app", app_ref), ("cli", cli_ref)]
            with _fresh_images(client, [app_ref, cli_ref], PUSH_LAYERS):
                for kind, reference in order if pair % 2 == 0 else order[::-1]:
                    # Each push starts with no dirty pages left by the one before (the
                    # registry's blobs, the engine's layers): it narrowed the spread of push
                    # times from 1.5-2.5 s to 1.5-1.9 s.
                    os.sync()
                    if kind == "app":
                        result = _child("push", reference)
                        app_times.append(result["seconds"])
                        cpu_times.append(result["cpu"])
                    else:
                        cli_times.append(_wall([*docker_cli, "push", reference]))
    app_s, cli_s = statistics.median(app_times), statistics.median(cli_times)
    pair_ratio = statistics.median(a / c for a, c in zip(app_times, cli_times, strict=True))
    return [
        Row(
            f"push overhead, {store}",
            app_s,
            "s",
            cli_s,
            f"s docker push (median of {PUSH_PAIRS})",
            "ratio <= 1.05",
            app_s / cli_s <= 1.05,
            note=(
                f"105 MB in 3 layers; median of per-pair ratios {pair_ratio:.3f}; "
                f"app CPU during push {statistics.median(cpu_times):.2f} s; "
                f"pushes ranged {min(app_times + cli_times):.2f}-{max(app_times + cli_times):.2f} s"
            ),
        )
    ]


def bench_push() -> list[Row]:
    """Push overhead on the classic image store (engine 20.10)."""
    return _bench_push("classic")


def bench_push_containerd() -> list[Row]:
    """Push overhead on the containerd image store (the newest Debian engine)."""
    return _bench_push("containerd")


def bench_push_memory() -> list[Row]:
    """Peak RSS of the app process during a 500 MB push."""
    info = _sandbox()
    client = _client()
    reference = f"{info.open_registry}/bench/memory-{uuid.uuid4().hex[:6]}:1"  # type: ignore[attr-defined]
    with _fresh_images(client, [reference], MEMORY_PUSH_LAYERS):
        result = _child("push", reference)
    return [
        _memory_row("memory, 500 MB push", result["rss_mb"], f"push took {result['seconds']:.1f} s")
    ]


# -- verification ------------------------------------------------------------------------


def bench_verify() -> list[Row]:
    """Full verification of a 10-layer image against `skopeo inspect` of it."""
    from app.core.engine import Engine
    from app.core.progress import PushProgress
    from app.core.reference import parse_normalized
    from app.core.verify import verify

    info = _sandbox()
    client = _client()
    reference = f"{info.open_registry}/bench/verify-{uuid.uuid4().hex[:6]}:1"  # type: ignore[attr-defined]
    with _fresh_images(client, [reference], VERIFY_LAYERS):
        engine = Engine.connect()
        target = parse_normalized(reference)
        progress = PushProgress()
        for index, event in enumerate(engine.push(target, None)):
            progress.apply(event, float(index))
        ours, skopeo = [], []
        for _ in range(5):
            start = time.perf_counter()
            report = verify(target, None, progress.result.digest if progress.result else None)
            ours.append(time.perf_counter() - start)
            assert report.passed, report.checks
            skopeo.append(
                _wall(["skopeo", "inspect", "--tls-verify=false", f"docker://{reference}"])
            )
    ours_s, skopeo_s = statistics.median(ours), statistics.median(skopeo)
    return [
        Row(
            "verification",
            ours_s,
            "s",
            skopeo_s,
            "s skopeo inspect",
            "ratio <= 1.5",
            ours_s / skopeo_s <= 1.5,
            note="6 checks incl. HEAD of 10 blobs",
        )
    ]


BENCHMARKS: dict[str, Callable[[], list[Row]]] = {
    "progress": bench_progress_fold,
    "scale": bench_scale,
    "startup": bench_startup,
    "push": bench_push,
    "push-containerd": bench_push_containerd,
    "push-memory": bench_push_memory,
    "verify": bench_verify,
}
CHILDREN: dict[str, Callable[..., dict]] = {"browser": child_browser, "push": child_push}


def main(argv: list[str]) -> int:
    """Run the named benchmarks (all by default), print the table, write JSON."""
    if argv[:1] == ["--child"]:
        print(json.dumps(CHILDREN[argv[1]](*argv[2:])))
        return 0
    unknown = [name for name in argv if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
        return 2
    rows = [row for name in (argv or list(BENCHMARKS)) for row in BENCHMARKS[name]()]
    print(f"{'benchmark':22} {'measured':>16} {'comparison':>36} {'ratio':>6}  target")
    for row in rows:
        comparison = f"{row.comparison:,.3g} {row.comparison_label}" if row.comparison else "-"
        ratio = f"{row.ratio:.2f}" if row.ratio else "-"
        figure = f"{row.measured:,.0f}" if row.measured >= 1000 else f"{row.measured:.3g}"
        mark = "met" if row.met else "MISSED"
        print(
            f"{row.name:22} {figure:>10} {row.unit:5} {comparison:>36} {ratio:>6}  "
            f"{row.target} ({mark}){'  ' + row.note if row.note else ''}"
        )
    out = ROOT / "bench-results"
    out.mkdir(exist_ok=True)
    machine = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
    }
    report = {"machine": machine, "rows": [asdict(row) | {"ratio": row.ratio} for row in rows]}
    (out / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0 if all(row.met for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
