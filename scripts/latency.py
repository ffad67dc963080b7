"""Key-to-screen latency: the real app in a real terminal, timed as a person sees it.

The app runs on a pseudo-terminal of a fixed size with TERM=xterm-256color. A reader thread
timestamps every chunk the app writes; pyte, a VT/xterm emulator, rebuilds the screen from
those bytes. One measurement is the time from writing a key's bytes to the pty until the
chunk after which the screen first shows the expected state (a count, a highlighted row, a
form). Every wait is bounded and says what it waited for, with the screen, when it gives up.

`benchmarks.py` sets up the engine's images and cleans up; this module only drives
terminals. With DOCKPUSH_LATENCY_PROFILE=FILE the browser scenario launches the app under
cProfile (`--profiled-app` below), profiling its UI thread only while the filter keystrokes
are timed, writes the stats to FILE and a timeline of the UI thread's steps (keys arriving,
table refreshes, layouts, frames) to FILE.trace.jsonl.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import queue
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

SIZE = (160, 45)  # columns, rows: wide enough for the browser's detail pane (>= 100)
WAIT = 30.0  # seconds any one expected screen may take before the run fails
SETTLE = 0.3  # seconds between timed keys, as between a person's keystrokes
PROFILE_ENV = "DOCKPUSH_LATENCY_PROFILE"
CTRL_Q, CTRL_S, ENTER, ESCAPE, BACKSPACE = b"\x11", b"\x13", b"\r", b"\x1b", b"\x7f"
DOWN, UP = b"\x1b[B", b"\x1b[A"
HOME, KILL_LINE, END = b"\x01", b"\x0b", b"\x1b[F"  # Input: to the start, delete to the end
FIRST_ROW = b"\x1b[H"  # the Home key

# The comparison for start-up: a bare Textual app showing a 100-row DataTable.
BARE_APP = """
from textual.app import App
from textual.widgets import DataTable, Footer, Header, Label

class Bare(App):
    def compose(self):
        yield Header()
        yield Label("Loading…", id="count")
        yield DataTable(cursor_type="row")
        yield Footer()

    def on_mount(self):
        table = self.query_one(DataTable)
        table.add_columns("Repository", "Tag", "Image ID", "Created", "Size")
        table.add_rows(
            (f"bare/row-{i:03d}", "1", f"{i:012x}", "2 days ago", "5.2 MB") for i in range(100)
        )
        self.query_one("#count", Label).update("100 tags")

Bare().run()
"""

DIGEST_LINE = re.compile(r": digest: sha256:[0-9a-f]{64} size: \d+")
COUNT = re.compile(r"\b(?:(\d[\d,]*) of )?(\d[\d,]*) tags?\b")


class ScreenTimeout(TimeoutError):
    """The expected screen did not appear in time (or the app exited first)."""


def _number(text: str) -> int:
    return int(text.replace(",", ""))


@dataclass
class Terminal:
    """A program on a pseudo-terminal, its screen rebuilt by pyte from what it writes."""

    argv: list[str]
    env: dict[str, str]
    size: tuple[int, int] = SIZE
    started: float = 0.0
    process: subprocess.Popen | None = None
    _chunks: queue.Queue = field(default_factory=queue.Queue)
    _closed: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Terminal:
        import pyte

        columns, rows = self.size
        self.screen = pyte.Screen(columns, rows)
        self._stream = pyte.ByteStream(self.screen)
        self._controller, terminal = os.openpty()
        fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        env = {**self.env, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
        for name in ("COLUMNS", "LINES", "TEXTUAL"):
            env.pop(name, None)
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            self.argv,
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
            env=env,
            cwd=Path(__file__).resolve().parents[1],
            start_new_session=True,  # its own process group: killed as one at the end
        )
        os.close(terminal)
        # The reader must take the GIL back at once when bytes arrive, or a chunk's
        # timestamp would include the main thread's parsing of the one before.
        sys.setswitchinterval(0.0002)
        threading.Thread(target=self._read, name="pty-reader", daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _read(self) -> None:
        """Timestamp each chunk the moment it is read; an empty chunk marks the end."""
        while not self._closed.is_set():
            ready, _, _ = select.select([self._controller], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(self._controller, 1 << 16)
            except OSError:  # EIO: the program closed the terminal
                data = b""
            self._chunks.put((time.perf_counter(), data))
            if not data:
                return

    def text(self) -> str:
        """The whole screen as lines of text."""
        return "\n".join(self.screen.display)

    def _pump(self, deadline: float) -> float | None:
        """Feed the next chunk to the emulator; its read time, or None at the deadline."""
        try:
            at, data = self._chunks.get(timeout=max(0.0, deadline - time.perf_counter()))
        except queue.Empty:
            return None
        if not data:
            raise ScreenTimeout(f"the program exited (code {self.process.poll()})\n{self.text()}")
        self._stream.feed(data)
        return at

    def wait_for(
        self, shown: Callable[[Terminal], bool], what: str, timeout: float = WAIT
    ) -> float:
        """The read time of the chunk after which `shown(self)` holds (now if it already does)."""
        if shown(self):
            return time.perf_counter()
        deadline = time.perf_counter() + timeout
        while True:
            at = self._pump(deadline)
            if at is None:
                raise ScreenTimeout(f"no {what} after {timeout:.0f} s; the screen:\n{self.text()}")
            if shown(self):
                return at

    def idle(self, seconds: float = SETTLE) -> None:
        """Keep reading (so the program never blocks on output) for `seconds`."""
        deadline = time.perf_counter() + seconds
        while self._pump(deadline) is not None:
            pass

    def press(self, keys: bytes) -> float:
        """Write the key bytes; the time just before the write."""
        at = time.perf_counter()
        os.write(self._controller, keys)
        return at

    def measure(
        self, keys: bytes, shown: Callable[[Terminal], bool], what: str, timeout: float = WAIT
    ) -> float:
        """Seconds from pressing `keys` until the screen shows `what`."""
        if shown(self):
            raise ScreenTimeout(f"{what} is on screen before the key is pressed:\n{self.text()}")
        pressed = self.press(keys)
        return self.wait_for(shown, what, timeout) - pressed

    def paste(self, text: str) -> None:
        """A bracketed paste, as a terminal sends it."""
        self.press(b"\x1b[200~" + text.encode() + b"\x1b[201~")

    def count(self) -> tuple[int, int] | None:
        """The browser's count line: (shown, total)."""
        match = COUNT.search(self.text())
        if match is None:
            return None
        total = _number(match.group(2))
        return (_number(match.group(1)) if match.group(1) else total), total

    def filter_to(self, text: str, shown: Callable[[Terminal], bool], what: str) -> None:
        """Wait for the browser's table, then paste `text` into its filter until `shown`."""
        self.wait_for(table_populated, "populated table", 120)
        self.idle()
        self.press(b"/")
        self.idle()
        self.paste(text)
        self.wait_for(shown, what, 120)

    def signal(self, number: int) -> None:
        """Send a signal to the program."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(number)

    def close(self) -> None:
        """Quit with ctrl+q; kill the program's process group if it does not go in 10 s."""
        process = self.process
        if process is None:
            return
        with contextlib.suppress(OSError):
            if process.poll() is None:
                os.write(self._controller, CTRL_Q)
                deadline = time.perf_counter() + 10
                with contextlib.suppress(ScreenTimeout):
                    while process.poll() is None and self._pump(deadline) is not None:
                        pass
        for number in (signal.SIGTERM, signal.SIGKILL):
            if process.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, number)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        self._closed.set()
        with contextlib.suppress(OSError):
            os.close(self._controller)
        self.process = None


def app_argv(*args: str, profile: str | None = None) -> list[str]:
    """The installed `dockpush` console script, or this module's profiling wrapper of it."""
    if profile:
        return [sys.executable, __file__, "--profiled-app", profile, *args]
    return [str(Path(sys.executable).with_name("dockpush")), *args]


# -- start-up ----------------------------------------------------------------------------


def table_populated(term: Terminal) -> bool:
    """The count is shown and the line under the table's header holds a row (the count can
    be drawn a frame before the rows)."""
    if term.count() is None or "Loading" in term.text():
        return False
    lines = term.screen.display
    header = next((y for y, line in enumerate(lines) if "Repository" in line), None)
    if header is None or header + 1 >= len(lines):
        return False
    column = lines[header].index("Repository")
    return bool(lines[header + 1][column : column + 10].strip())


def startup(argv: list[str], env: dict[str, str]) -> float:
    """Seconds from starting `argv` until its table is populated on screen."""
    with Terminal(argv, env) as term:
        return term.wait_for(table_populated, "populated table") - term.started


def startup_pairs(env: dict[str, str], runs: int) -> tuple[list[float], list[float]]:
    """dockpush and the bare app, alternating, `runs` times each."""
    app, bare = [], []
    for _ in range(runs):
        app.append(startup(app_argv(), env))
        bare.append(startup([sys.executable, "-c", BARE_APP], env))
    return app, bare


# -- the end of a push ---------------------------------------------------------------------


def pushed_on_screen(env: dict[str, str], reference: str) -> float:
    """Seconds from enter on a clean pre-flight until "Pushed <reference>" is drawn: the app
    starts on the image browser, is filtered to `reference` and pushes it as it is (p)."""
    with Terminal(app_argv(), env) as term:
        term.filter_to(
            reference, lambda t: (t.count() or (0, 0))[0] == 1, f"only {reference} listed"
        )
        term.press(ENTER)  # to the table, on its one row
        term.idle()
        term.press(b"p")
        term.wait_for(lambda t: "Press enter to push" in t.text(), "the pre-flight's go", 120)
        term.idle()
        return term.measure(
            ENTER, lambda t: f"Pushed {reference}" in t.text(), f"Pushed {reference}", 600
        )


def docker_pushed_on_screen(env: dict[str, str], docker_cli: list[str], reference: str) -> float:
    """Seconds from starting `docker push reference` in the same kind of pty (as enter at a
    shell prompt does) until its closing "digest: sha256:…" line is drawn: the docker CLI
    timed by the same method as `pushed_on_screen`, with its progress bars drawn and parsed."""
    with Terminal([*docker_cli, "push", reference], env) as term:
        return (
            term.wait_for(
                lambda t: DIGEST_LINE.search(t.text()) is not None, "docker push's digest line", 600
            )
            - term.started
        )


# -- the browser at scale ----------------------------------------------------------------


@dataclass
class BrowserTimes:
    """Key-to-screen seconds per action, in the order measured."""

    narrow_pane: list[float] = field(default_factory=list)
    widen_pane: list[float] = field(default_factory=list)
    narrow_no_pane: list[float] = field(default_factory=list)
    widen_no_pane: list[float] = field(default_factory=list)
    cursor: list[float] = field(default_factory=list)
    details: list[float] = field(default_factory=list)
    tag_form: list[float] = field(default_factory=list)
    preflight: list[float] = field(default_factory=list)


def _shows_count(shown: int) -> Callable[[Terminal], bool]:
    def check(term: Terminal) -> bool:
        count = term.count()
        return count is not None and count[0] == shown

    return check


@dataclass
class BrowserScenario:
    """Drives the browser over `prefix`/nNNNN:v1, `total` (a power of ten) rows.

    Digits typed after `prefix/n` narrow 10,000 -> 1,000 -> 100 -> 10 -> 1 rows; backspaces
    widen them again. `preflight_target(i)` names a reference the pre-flight checks.
    """

    prefix: str
    total: int
    preflight_target: Callable[[int], str]
    cycles: int = 5
    moves: int = 15
    forms: int = 5
    preflights: int = 4
    times: BrowserTimes = field(default_factory=BrowserTimes)

    @property
    def digits(self) -> int:
        """How many digits number the rows."""
        return len(str(self.total)) - 1

    def name(self, row: int) -> str:
        """The repository of a row."""
        return f"{self.prefix}/n{row:0{self.digits}d}"

    def run(self, env: dict[str, str]) -> BrowserTimes:
        """The whole scenario in one app process."""
        profile = os.environ.get(PROFILE_ENV)
        with Terminal(app_argv(profile=profile), env) as term:
            # A reload may still be under way (the engine's events of the tagging).
            term.filter_to(
                f"{self.prefix}/n", _shows_count(self.total), f"{self.total} rows of {self.prefix}"
            )
            term.idle()
            if profile:
                term.signal(signal.SIGUSR1)
            self._filter_cycles(term, self.times.narrow_pane, self.times.widen_pane)
            if profile:
                term.signal(signal.SIGUSR2)
            term.press(ENTER)  # to the table
            term.idle()
            # To the first row: after widening, the cursor's row can be off screen.
            term.press(FIRST_ROW)
            term.idle()
            self._highlight_moves(term)
            self._tag_forms(term)
            self._preflights(term)
            term.press(b"i")  # hide the detail pane
            term.idle()
            term.press(b"/")
            term.idle()
            term.press(END)  # focus selected the filter's text: a digit would replace it
            term.idle()
            self._filter_cycles(term, self.times.narrow_no_pane, self.times.widen_no_pane)
        return self.times

    def _filter_cycles(self, term: Terminal, narrow: list[float], widen: list[float]) -> None:
        for cycle in range(self.cycles):
            digits = f"{(cycle * 2749 + 427) % self.total:0{self.digits}d}"
            shown = self.total
            for digit in digits:
                shown //= 10
                narrow.append(term.measure(digit.encode(), _shows_count(shown), f"{shown} rows"))
                term.idle()
            for _ in digits:
                shown *= 10
                widen.append(term.measure(BACKSPACE, _shows_count(shown), f"{shown} rows"))
                term.idle()

    def _detail_row(self, term: Terminal) -> int | None:
        """The row the detail pane describes: the topmost full reference on screen."""
        match = re.search(rf"{re.escape(self.prefix)}/n(\d{{{self.digits}}}):v1", term.text())
        return int(match.group(1)) if match else None

    def _cursor_row(self, term: Terminal) -> int | None:
        """The table row drawn with the cursor's background (that of the first cursor seen)."""
        pattern = re.compile(rf"{re.escape(self.prefix)}/n(\d{{{self.digits}}})(?!:)")
        for y, line in enumerate(term.screen.display):
            match = pattern.search(line)
            if match and term.screen.buffer[y][match.start()].bg == self._cursor_bg:
                return int(match.group(1))
        return None

    def _highlight_moves(self, term: Terminal) -> None:
        current = 0  # the run pressed Home: the first row, once its details are drawn
        term.wait_for(lambda t: self._detail_row(t) == current, "details of the first row")
        shown = term.screen.display
        lines = [y for y, text in enumerate(shown) if f"{self.name(current)} " in text]
        if not lines:
            raise ScreenTimeout(f"row {current} is not in the table:\n{term.text()}")
        column = term.screen.display[lines[0]].index(self.name(current))
        self._cursor_bg = term.screen.buffer[lines[0]][column].bg
        for _ in range(self.moves):
            target = current + 1
            pressed = term.press(DOWN)
            cursor_at = term.wait_for(
                lambda t, row=target: self._cursor_row(t) == row, f"cursor on {target}"
            )
            details_at = term.wait_for(
                lambda t, row=target: self._detail_row(t) == row, f"details of row {target}"
            )
            self.times.cursor.append(cursor_at - pressed)
            self.times.details.append(details_at - pressed)
            current = target
            term.idle()

    def _tag_forms(self, term: Terminal) -> None:
        for _ in range(self.forms):
            self.times.tag_form.append(
                term.measure(ENTER, lambda t: "Publish " in t.text(), "the tag form")
            )
            term.idle()
            term.press(ESCAPE)
            term.wait_for(lambda t: "Publish " not in t.text(), "the browser again")
            term.idle()

    def _preflights(self, term: Terminal) -> None:
        for index in range(self.preflights):
            target = self.preflight_target(index)
            term.press(ENTER)
            term.wait_for(lambda t: "Publish " in t.text(), "the tag form")
            term.idle()
            # The form may fill its fields again once it has the engine's images: type the
            # target until the preview shows it and keeps showing it.
            for _ in range(3):
                term.press(HOME + KILL_LINE)
                term.idle(0.1)
                term.paste(target)
                term.wait_for(lambda t, x=target: x in t.text(), f"the preview of {target}")
                term.idle(1.0)
                if target in term.text():
                    break
            else:
                raise ScreenTimeout(f"the form keeps losing {target}:\n{term.text()}")
            self.times.preflight.append(
                term.measure(
                    CTRL_S,
                    lambda t: "to push" in t.text() or "check again" in t.text(),
                    "the pre-flight checks",
                )
            )
            term.idle()
            term.press(ESCAPE)
            term.wait_for(lambda t: t.count() is not None, "the browser again")
            term.idle()


# -- under an event storm ----------------------------------------------------------------


STORM_ROWS_MOVED_OVER = 20  # rows the cursor goes down and up over, all on screen
# Another process makes the storm, on 4 threads as fast as the engine goes: `count` tags
# `prefix`/zNNNN:v1 over the given image ids.
STORM = """
import sys, docker
from concurrent.futures import ThreadPoolExecutor
prefix, count, ids = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
client = docker.from_env(timeout=600)
def tag(i):
    client.api.tag(ids[i % len(ids)], f"{prefix}/z{i:04d}", "v1")
with ThreadPoolExecutor(4) as pool:
    list(pool.map(tag, range(count)))
"""


@dataclass
class StormScenario:
    """Highlight moves (detail pane shown) over the rows `prefix`/nNNNN:v1 while another
    process tags `count` more images `prefix`/zNNNN:v1; then how long the list takes to be
    exact: the count of `prefix`/ rows on screen equal to the engine's."""

    prefix: str
    listed: int
    count: int
    image_ids: list[str]
    engine_count: Callable[[], int]
    max_moves: int = 400
    moves: list[float] = field(default_factory=list)
    storm_seconds: float = 0.0
    settled: float = 0.0

    def run(self, env: dict[str, str]) -> StormScenario:
        """The whole scenario in one app process."""
        rows = BrowserScenario(self.prefix, 10_000, lambda _: "")  # reads rows nNNNN
        with Terminal(app_argv(), env) as term:
            term.filter_to(
                f"{self.prefix}/", _shows_count(self.listed), f"{self.listed} rows of {self.prefix}"
            )
            term.press(ENTER)
            term.idle()
            term.press(FIRST_ROW)
            term.idle()
            rows.moves = 0
            rows._highlight_moves(term)  # the first row's details, and the cursor's colour
            storm = subprocess.Popen(
                [sys.executable, "-c", STORM, self.prefix, str(self.count), *self.image_ids],
                env=env,
                stderr=subprocess.PIPE,
            )
            started = time.perf_counter()
            try:
                self._moves(term, rows, storm)
                storm.wait(timeout=600)
            finally:
                if storm.poll() is None:
                    storm.kill()
            ended = time.perf_counter()
            self.storm_seconds = ended - started
            if storm.returncode:
                raise RuntimeError(f"the storm failed: {storm.stderr.read().decode()[-2000:]}")
            expected = self.engine_count()
            self.settled = term.wait_for(_shows_count(expected), f"{expected} rows", 60) - ended
        return self

    def _moves(self, term: Terminal, rows: BrowserScenario, storm: subprocess.Popen) -> None:
        """Down and up again over the first rows (on screen) until the storm ends."""
        current, step = 0, 1
        while storm.poll() is None and len(self.moves) < self.max_moves:
            if not 0 <= current + step < STORM_ROWS_MOVED_OVER:
                step = -step
            target = current + step
            pressed = term.press(DOWN if step > 0 else UP)
            self.moves.append(
                term.wait_for(
                    lambda t, row=target: rows._cursor_row(t) == row, f"cursor on {target}"
                )
                - pressed
            )
            term.wait_for(lambda t, row=target: rows._detail_row(t) == row, f"details of {target}")
            current = target
            term.idle(0.1)


# -- profiling wrapper -------------------------------------------------------------------


def _trace(output: str) -> None:
    """Log when keys arrive and how long the UI thread's steps take, one JSON line each.

    Timestamps are time.perf_counter() (CLOCK_MONOTONIC on Linux): the harness's clock too."""
    import atexit
    import json

    from textual.app import App
    from textual.driver import Driver
    from textual.screen import Screen

    from app.ui.screens.browser import ImageBrowserScreen

    log: list[tuple[float, str, float]] = []

    def timed(owner: type, name: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args: object, **kwargs: object) -> object:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                log.append((start, name, time.perf_counter() - start))

        setattr(owner, name, wrapper)

    process_message = Driver.process_message

    def arrived(self: Driver, message: object) -> None:
        what = getattr(message, "key", type(message).__name__)
        log.append((time.perf_counter(), f"input {what}", 0))
        process_message(self, message)

    Driver.process_message = arrived  # type: ignore[method-assign]
    timed(App, "_display")
    timed(Screen, "_on_timer_update")
    timed(Screen, "_refresh_layout")
    timed(ImageBrowserScreen, "_refresh_table")
    timed(ImageBrowserScreen, "_show_details")

    def dump() -> None:
        Path(output).write_text("".join(json.dumps(entry) + "\n" for entry in log))

    atexit.register(dump)


def profiled_app(profile: str, args: list[str]) -> int:
    """Run dockpush with cProfile on its UI thread between SIGUSR1 and SIGUSR2, and a
    timeline of its UI steps written to PROFILE.trace.jsonl at exit."""
    import cProfile

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from app.__main__ import main

    _trace(f"{profile}.trace.jsonl")
    profiler = cProfile.Profile()

    def start(*_: object) -> None:
        profiler.enable()

    def stop(*_: object) -> None:
        profiler.disable()
        profiler.dump_stats(profile)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    return main(args)


@contextlib.contextmanager
def cleanup_on_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP unwind like Ctrl+C, so every `finally` removes what it made."""

    def interrupted(number: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {number}")

    previous = {n: signal.signal(n, interrupted) for n in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--profiled-app"]:
        sys.exit(profiled_app(sys.argv[2], sys.argv[3:]))
    sys.exit("usage: latency.py --profiled-app OUTPUT [dockpush arguments]")
