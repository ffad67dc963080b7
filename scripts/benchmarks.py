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
from typing import Any

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
STORM_LISTED = 5_000
STORM_TAGS = 3_000


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
    launched = time.perf_counter()
    from app.core.early_listing import EarlyListing

    early = EarlyListing()  # as `dockpush` starts it: before the UI loads
    from textual.widgets import Input

    from app.ui.app import DockpushApp
    from app.ui.screens.browser import ImageBrowserScreen

    app = DockpushApp(early=early)
    async with app.run_test(size=(120, 40)) as pilot:
        while not (
            isinstance(app.screen, ImageBrowserScreen) and len(app.screen.all_rows) >= expected
        ):
            if time.perf_counter() - launched > 120:
                raise TimeoutError(f"the browser never listed {expected} rows")
            await asyncio.sleep(0.005)
        populated = time.perf_counter() - launched
        populated_at = time.time()  # the wall clock: the parent compares it with its own
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
    return {
        "populated": populated,
        "populated_at": populated_at,
        "latencies": latencies,
        "rss_mb": _peak_rss_mb(),
    }


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


def _tag_all(client: object, tags: list[tuple[str, str]]) -> None:
    """Tag (image id, repository) as `repository:v1`, then make sure the tags stay.

    The engine is shared: a test fixture that removes every tag created while its test ran
    (tests/test_engine.py's `engine`) removes some of ours too when its test overlapped with
    the tagging. So check again after a quiet while and make the missing tags again."""
    for _ in range(5):
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda t: client.api.tag(t[0], t[1], "v1"), tags))  # type: ignore[attr-defined]
        time.sleep(30)  # let tests that overlapped with the tagging end
        present = {tag for image in client.images.list() for tag in image.tags}  # type: ignore[attr-defined]
        tags = [(image, name) for image, name in tags if f"{name}:v1" not in present]
        if not tags:
            return
        print(f"{len(tags)} tags were removed by someone else; tagging again", file=sys.stderr)
    raise RuntimeError(f"{len(tags)} tags keep being removed, e.g. {tags[0][1]}:v1")


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
            note="from before the UI's imports (the listing starts then) to the rows listed",
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


def _import_tiny(client: object, seed: str, repository: str | None = None) -> None:
    """A one-file image of its own (distinct from every other) as `repository:1`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        data = seed.encode()
        info = tarfile.TarInfo("seed.txt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    client.api.import_image_from_data(
        buffer.getvalue(), repository=repository or f"bench/startup-{seed}", tag="1"
    )  # type: ignore[attr-defined]


@contextlib.contextmanager
def _startup_images(client: object) -> Iterator[None]:
    """Enough tiny images of their own for the engine to list STARTUP_IMAGES; removed after."""
    present = len(client.images.list())  # type: ignore[attr-defined]
    run = uuid.uuid4().hex[:6]
    seeds = [f"{run}-{i}" for i in range(max(0, STARTUP_IMAGES - present))]
    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda s: _import_tiny(client, s), seeds))
        yield
    finally:
        _remove_many(client, [f"bench/startup-{s}:1" for s in seeds])


def bench_startup() -> list[Row]:
    """Launch until the table is populated, with 100 images, against `docker image ls`."""
    _sandbox()
    client = _client()
    with _startup_images(client):
        rows = sum(len(i.tags) for i in client.images.list())  # type: ignore[attr-defined]
        app_times, cli_times = [], []
        for _ in range(5):
            # Until the rows are listed, not until the child has filtered and exited.
            start = time.time()
            app_times.append(_child("browser", str(rows))["populated_at"] - start)
            cli_times.append(_wall(["docker", "image", "ls"]))
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


# -- key to screen, in a real terminal ----------------------------------------------------


def _spread(seconds: list[float]) -> str:
    """Median, worst and every figure, in ms."""
    figures = " ".join(f"{x * 1000:.0f}" for x in seconds)
    return f"median; worst {max(seconds) * 1000:.0f} ms; n={len(seconds)}; each (ms): {figures}"


def _latency_row(name: str, seconds: list[float], target_ms: float | None) -> Row:
    median_ms = statistics.median(seconds) * 1000
    met = target_ms is None or max(seconds) * 1000 <= target_ms
    target = f"<= {target_ms:.0f} ms each" if target_ms else "figure only"
    return Row(name, median_ms, "ms", None, "", target, met, note=_spread(seconds))


def bench_latency_startup() -> list[Row]:
    """Start-up to the populated table in a pty, against a bare Textual app with a 100-row
    DataTable measured the same way, alternating; the engine lists 100 images."""
    from latency import startup_pairs

    _sandbox()
    client = _client()
    with _startup_images(client):
        app, bare = startup_pairs(dict(os.environ), runs=7)
    app_s, bare_s = statistics.median(app), statistics.median(bare)
    return [
        Row(
            "startup to table, pty",
            app_s,
            "s",
            bare_s,
            "s bare Textual, 100 rows",
            "ratio <= 1.3",
            app_s / bare_s <= 1.3,
            note=(
                f"median of {len(app)}; worst {max(app):.2f} s vs bare {max(bare):.2f} s; "
                f"app: {' '.join(f'{x:.2f}' for x in app)}; "
                f"bare: {' '.join(f'{x:.2f}' for x in bare)}"
            ),
        )
    ]


def bench_latency() -> list[Row]:
    """Key to screen in a pty at 10,000 tags (100 images x 100 tags): filter keystrokes,
    highlight moves with the detail pane, opening the tag form, the pre-flight."""
    from latency import BrowserScenario

    info = _sandbox()
    client = _client()
    scenario = BrowserScenario(
        f"lat-{uuid.uuid4().hex[:6]}",
        SCALE_TAGS,
        lambda i: f"{info.open_registry}/{scenario.prefix}-pf/app:{i}",  # type: ignore[attr-defined]
    )
    bases = [f"{scenario.prefix}/base-{j:02d}" for j in range(100)]
    tags = [scenario.name(i) for i in range(SCALE_TAGS)]
    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda b: _import_tiny(client, b, b), bases))
        ids = [client.images.get(f"{base}:1").id for base in bases]  # type: ignore[attr-defined]
        _tag_all(client, [(ids[i % 100], tag) for i, tag in enumerate(tags)])
        times = scenario.run(dict(os.environ))
    finally:
        # Tags first, while each image keeps its base tag: removing the last two tags of an
        # image at once makes the engine fail one of them ("unrecognized image ID").
        # What the pre-flights tagged, wherever the form put it.
        made = {t for image in client.images.list() for t in image.tags if scenario.prefix in t}  # type: ignore[attr-defined]
        _remove_many(client, sorted(made - {f"{base}:1" for base in bases}), prune=False)
        _remove_many(client, [f"{base}:1" for base in bases])
    return [
        _latency_row("narrow, pane shown", times.narrow_pane, 50),
        _latency_row("widen, pane shown", times.widen_pane, 50),
        _latency_row("narrow, no pane", times.narrow_no_pane, 50),
        _latency_row("widen, no pane", times.widen_no_pane, 50),
        _latency_row("highlight move", times.cursor, 50),
        _latency_row("highlight details", times.details, None),
        _latency_row("open tag form", times.tag_form, None),
        _latency_row("pre-flight drawn", times.preflight, None),
    ]


def bench_latency_storm() -> list[Row]:
    """Key to screen in a pty while another process tags 3,000 images, at 5,000 listed (100
    images x 50 tags): highlight moves with the detail pane, and how long after the storm
    the list is exact."""
    from latency import StormScenario

    _sandbox()
    client = _client()
    prefix = f"storm-{uuid.uuid4().hex[:6]}"
    # Sorted after the rows moved over (nNNNN) and the storm's (zNNNN), out of their way.
    bases = [f"{prefix}/zz-base-{j:02d}" for j in range(100)]
    listed = [f"{prefix}/n{i:04d}" for i in range(STORM_LISTED)]

    def engine_count() -> int:
        images = client.images.list()  # type: ignore[attr-defined]
        return sum(t.startswith(f"{prefix}/") for image in images for t in image.tags)

    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda b: _import_tiny(client, b, b), bases))
        ids = [client.images.get(f"{base}:1").id for base in bases]  # type: ignore[attr-defined]
        _tag_all(client, [(ids[i % 100], tag) for i, tag in enumerate(listed)])
        scenario = StormScenario(
            prefix, STORM_LISTED + len(bases), STORM_TAGS, ids, engine_count
        ).run(dict(os.environ))
    finally:
        made = {t for image in client.images.list() for t in image.tags if prefix in t}  # type: ignore[attr-defined]
        _remove_many(client, sorted(made - {f"{base}:1" for base in bases}), prune=False)
        _remove_many(client, [f"{base}:1" for base in bases])
    rate = STORM_TAGS / scenario.storm_seconds
    row = _latency_row("highlight, event storm", scenario.moves, None)
    median_ms = statistics.median(scenario.moves) * 1000
    row.target, row.met = "<= 100 ms median", median_ms <= 100
    row.note = (
        f"{STORM_TAGS} tags in {scenario.storm_seconds:.0f} s ({rate:.0f} events/s) at "
        f"{STORM_LISTED:,} listed; list exact {scenario.settled:.2f} s after; " + row.note
    )
    return [row]


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
def _on_engine(store: str) -> Iterator[tuple[Any, list[str]]]:
    """Point this process, its children and the docker CLI at the sandbox engine of `store`;
    yields the sandbox and the docker CLI to compare with (the containerd-store engine's own
    release). Call `_sandbox()` before, never inside: it points DOCKER_HOST back."""
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
        yield info, cli
    finally:
        os.environ["DOCKER_HOST"] = before


def _docker_push_wall(docker_cli: list[str], reference: str) -> float:
    """`docker push`'s wall time as a command, its output to a pipe."""
    return _wall([*docker_cli, "push", reference])


def _push_pairs(
    store: str,
    label: str,
    measure_app: Callable[[str], float],
    measure_cli: Callable[[list[str], str], float] = _docker_push_wall,
) -> tuple[list[float], list[float]]:
    """Push equal fresh images PUSH_PAIRS times with the app and with `docker push`,
    alternating which goes first; `measure_app(reference)` pushes with the app and gives its
    seconds, `measure_cli(docker_cli, reference)` the docker CLI's (by default the command's
    wall time, its output to a pipe). Returns the app's seconds and `docker push`'s, pair by
    pair."""
    with _on_engine(store) as (info, docker_cli):
        client = _client()
        run = uuid.uuid4().hex[:6]
        app_times, cli_times = [], []
        for pair in range(PUSH_PAIRS):
            app_ref = f"{info.open_registry}/bench/{label}-app-{run}-{pair}:1"  # type: ignore[attr-defined]
            cli_ref = f"{info.open_registry}/bench/{label}-cli-{run}-{pair}:1"  # type: ignore[attr-defined]
            order = [("app", app_ref), ("cli", cli_ref)]
            with _fresh_images(client, [app_ref, cli_ref], PUSH_LAYERS):
                for kind, reference in order if pair % 2 == 0 else order[::-1]:
                    # Each push starts with no dirty pages left by the one before (the
                    # registry's blobs, the engine's layers): it narrowed the spread of push
                    # times from 1.5-2.5 s to 1.5-1.9 s.
                    os.sync()
                    if kind == "app":
                        app_times.append(measure_app(reference))
                    else:
                        cli_times.append(measure_cli(docker_cli, reference))
    return app_times, cli_times


def _push_row(
    name: str, app_times: list[float], cli_times: list[float], what: str, detail: str
) -> Row:
    """The row comparing the app's median push with `docker push`'s; the note reads
    `what; median of per-pair ratios; detail`."""
    app_s, cli_s = statistics.median(app_times), statistics.median(cli_times)
    pair_ratio = statistics.median(a / c for a, c in zip(app_times, cli_times, strict=True))
    return Row(
        name,
        app_s,
        "s",
        cli_s,
        f"s docker push (median of {PUSH_PAIRS})",
        "ratio <= 1.05",
        app_s / cli_s <= 1.05,
        note=f"{what}; median of per-pair ratios {pair_ratio:.3f}; {detail}",
    )


def _bench_push(store: str) -> list[Row]:
    """The app's push path against `docker push`, equal fresh images, alternating."""
    cpu_times: list[float] = []

    def push_in_child(reference: str) -> float:
        result = _child("push", reference)
        cpu_times.append(result["cpu"])
        return result["seconds"]

    app_times, cli_times = _push_pairs(store, "push", push_in_child)
    pushes = app_times + cli_times
    return [
        _push_row(
            f"push overhead, {store}",
            app_times,
            cli_times,
            "105 MB in 3 layers",
            f"app CPU during push {statistics.median(cpu_times):.2f} s; "
            f"pushes ranged {min(pushes):.2f}-{max(pushes):.2f} s",
        )
    ]


def bench_push() -> list[Row]:
    """Push overhead on the classic image store (engine 20.10)."""
    return _bench_push("classic")


def bench_push_containerd() -> list[Row]:
    """Push overhead on the containerd image store (the newest Debian engine)."""
    return _bench_push("containerd")


def _bench_push_on_screen(store: str) -> list[Row]:
    """The push as the person sees it, in a pty: from enter on the pre-flight to "Pushed" drawn,
    against `docker push` started in the same kind of pty until its digest line is drawn;
    equal fresh images, alternating."""
    from latency import docker_pushed_on_screen, pushed_on_screen

    app_times, cli_times = _push_pairs(
        store,
        "screen",
        lambda reference: pushed_on_screen(dict(os.environ), reference),
        lambda docker_cli, reference: docker_pushed_on_screen(
            dict(os.environ), docker_cli, reference
        ),
    )
    return [
        _push_row(
            f"push, key to screen, {store}",
            app_times,
            cli_times,
            "105 MB in 3 layers; enter to 'Pushed' drawn, docker push to its digest line "
            "drawn, both in a pty",
            f"worst app {max(app_times):.2f} s, docker push {max(cli_times):.2f} s",
        )
    ]


def bench_push_screen() -> list[Row]:
    """The push, key to screen, on the classic image store."""
    return _bench_push_on_screen("classic")


def bench_push_screen_containerd() -> list[Row]:
    """The push, key to screen, on the containerd image store."""
    return _bench_push_on_screen("containerd")


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


def _skopeo_and_heads(reference: str, registry: str, repository: str) -> float:
    """What the same check takes by hand: `skopeo inspect --raw` of the index and of each
    manifest it lists, then one HEAD per config and layer blob (one curl, one connection)."""
    start = time.perf_counter()
    raw = ["skopeo", "inspect", "--raw", "--tls-verify=false"]
    index = json.loads(
        subprocess.run([*raw, f"docker://{reference}"], check=True, capture_output=True).stdout
    )
    blobs = []
    for entry in index["manifests"]:
        manifest = json.loads(
            subprocess.run(
                [*raw, f"docker://{registry}/{repository}@{entry['digest']}"],
                check=True,
                capture_output=True,
            ).stdout
        )
        blobs += [manifest["config"]["digest"], *(layer["digest"] for layer in manifest["layers"])]
    urls = [f"http://{registry}/v2/{repository}/blobs/{digest}" for digest in blobs]
    subprocess.run(["curl", "-sfI", *urls], check=True, capture_output=True)
    return time.perf_counter() - start


def bench_verify_index() -> list[Row]:
    """Verification of a two-platform index with attestations (containerd store) against
    skopeo inspect --raw of every manifest plus one HEAD per blob."""
    from app.core.engine import Engine
    from app.core.reference import parse_normalized
    from app.core.verify import verify
    from tests.harness.oci_layout import build_index, layout_tarball
    from tests.harness.sandbox import seed_platforms

    with _on_engine("containerd") as (info, _cli):
        client = _client()
        repository = f"bench/verify-index-{uuid.uuid4().hex[:6]}"
        reference = f"{info.open_registry}/{repository}:1"  # type: ignore[attr-defined]
        layout = build_index(seed_platforms(), reference)
        # The load's answer is a stream: read it to the end, or the push may start first.
        list(client.api.load_image(layout_tarball(layout, reference)))  # type: ignore[attr-defined]
        try:
            engine = Engine.connect()
            target = parse_normalized(reference)
            pushed = client.api.push(  # type: ignore[attr-defined]
                reference.removesuffix(":1"), tag="1", stream=True, decode=True
            )
            for line in pushed:
                assert "error" not in line, line
            ours, by_hand = [], []
            for _ in range(5):
                start = time.perf_counter()
                report = verify(target, None, layout.index_digest, engine)
                ours.append(time.perf_counter() - start)
                assert report.passed, report.checks
                by_hand.append(
                    _skopeo_and_heads(reference, info.open_registry, repository)  # type: ignore[attr-defined]
                )
        finally:
            _remove_many(client, [reference])
    ours_s, by_hand_s = statistics.median(ours), statistics.median(by_hand)
    blobs = sum(1 + len(p.layer_sizes) for p in seed_platforms()) + 4  # 2 attestations
    return [
        Row(
            "verification, index",
            ours_s,
            "s",
            by_hand_s,
            "s skopeo --raw x5 + HEADs",
            "ratio <= 1.5",
            ours_s / by_hand_s <= 1.5,
            note=f"2 platforms + 2 attestations, {blobs} blobs; median of 5",
        )
    ]


BENCHMARKS: dict[str, Callable[[], list[Row]]] = {
    "progress": bench_progress_fold,
    "scale": bench_scale,
    "startup": bench_startup,
    "latency-startup": bench_latency_startup,
    "latency": bench_latency,
    "latency-storm": bench_latency_storm,
    "push": bench_push,
    "push-containerd": bench_push_containerd,
    "push-screen": bench_push_screen,
    "push-screen-containerd": bench_push_screen_containerd,
    "push-memory": bench_push_memory,
    "verify": bench_verify,
    "verify-index": bench_verify_index,
}
CHILDREN: dict[str, Callable[..., dict]] = {"browser": child_browser, "push": child_push}


def _compile_app() -> None:
    """Compile the app's modules to bytecode first, as `pip install` does. A checkout run with
    PYTHONDONTWRITEBYTECODE set (or from a read-only tree) compiles each module again at every
    start, about 100 ms that no installed copy pays; the bare Textual app is compiled."""
    import compileall

    compileall.compile_dir(ROOT / "app", quiet=1)


def main(argv: list[str]) -> int:
    """Run the named benchmarks (all by default), print the table, write JSON."""
    if argv[:1] == ["--child"]:
        print(json.dumps(CHILDREN[argv[1]](*argv[2:])))
        return 0
    unknown = [name for name in argv if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
        return 2
    from latency import cleanup_on_signals

    _compile_app()
    with cleanup_on_signals():
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
