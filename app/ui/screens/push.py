"""Step 4: pre-flight check, then push with live per-layer progress; cancel and retry.

The screen renders a `PushQueue` (app/core/push_queue.py). Its `stage` reactive sets the
classes of #push-stage and .textual.css shows each stage's parts: `-preflight` shows the
checks, without it the push's progress shows; the words of each stage are in the outcome line.

Threads: the workers read from the screen only what does not change while they run (the
references; the platform, changed only between pre-flights) and get the rest as arguments.
They hand back what they learn as their result or as messages (each push message names its
run, so one from a run that is over is dropped) and write no attribute of the screen. The one
object shared across threads is the `PushStream`, handed to the UI thread by
`PushStreamOpened` so that a cancel closes it at once (its `cancel` is safe from any thread).
"""

from __future__ import annotations

import contextlib
import functools
import shlex
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.markup import escape
from textual.message import Message
from textual.reactive import var
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import (
    Collapsible,
    DataTable,
    Header,
    Label,
    ProgressBar,
    RichLog,
    Static,
)
from textual.worker import Worker, WorkerState, get_current_worker

from app.core import engine as engine_module
from app.core.credentials import Login
from app.core.errors import (
    AccessDenied,
    AuthenticationFailed,
    AuthenticationRequired,
    DockpushError,
)
from app.core.platforms import Platform
from app.core.preflight import TargetReport, registry_display, run_preflight
from app.core.progress import (
    Phase,
    PushProgress,
    PushResult,
    PushSnapshot,
    describe_overall,
    describe_units,
    snapshot,
)
from app.core.push_queue import ItemState, PushQueue, QueueItem, Stage
from app.core.pushed_manifest import stated_layer_sizes
from app.core.reference import Reference
from app.core.registry import RegistryClient
from app.core.remote_tag import TagChange
from app.core.steps import Step
from app.core.units import human_duration, human_rate
from app.ui.dialogs.confirm import ConfirmDialog
from app.ui.dialogs.login import LoginOutcome
from app.ui.messages import LoginWanted, TargetShown, VerifyWanted
from app.ui.session import Session
from app.ui.text import Tones, notify_plain, plain
from app.ui.widgets.checklist import checklist_text
from app.ui.widgets.drawn_static import DrawnStatic
from app.ui.widgets.error_panel import ErrorPanel, error_text
from app.ui.widgets.footer import SettledFooter
from app.ui.widgets.layer_row import LayerRow
from app.ui.widgets.stepper import Stepper

# At most 5 screen updates a second, however fast the engine streams: live to the eye, and
# the app's CPU during a push (which competes with the engine's compression on small
# machines) went from 0.19 s at 10 updates a second to 0.12 s for a 105 MB push.
UPDATE_INTERVAL = 0.2
# After this long without new bytes (a repeated progress line is not progress) the screen
# says the push is stalled.
STALL_NOTICE_SECONDS = 10
# How long a finished push's worker waits for its outcome to be drawn before reading back.
OUTCOME_DRAWN_SECONDS = 0.5
# Real images have at most 127 layers (overlayfs); an engine that reports thousands gets
# this many rows and a count of the rest, so the screen stays quick.
MAX_LAYER_ROWS = 150
LOGIN_ERRORS = (AuthenticationRequired, AuthenticationFailed, AccessDenied)


def _expected_sizes(
    engine: engine_module.Engine,
    target: Reference,
    platform: Platform | None,
    known: dict[str, dict[str, int]],
) -> dict[str, int]:
    """The local image's layer sizes (from the pre-flight's `known` when the whole image is
    pushed), of the one platform pushed if one was chosen. Best effort: the push reports its
    own totals."""
    if platform is None and str(target) in known:
        return known[str(target)]
    with contextlib.suppress(DockpushError):
        return engine.layer_sizes(str(target), platform)
    return {}


@dataclass(frozen=True)
class PreflightFindings:
    """What the pre-flight worker found, handed to the UI thread as the worker's result."""

    reports: list[TargetReport]
    login_user: str | None
    # Layer sizes per reference, so the push can start at once.
    layer_sizes: dict[str, dict[str, int]]


class PushScreen(Screen[None]):
    """Pushes one or more references, one after another, with a row per layer."""

    # The screen's own words in theme colours (rules in .textual.css).
    COMPONENT_CLASSES = {"push--success", "push--error", "push--warning", "push--muted"}

    BINDINGS = [
        Binding("enter", "go", "Push / next", priority=True),
        Binding("escape", "cancel", "Cancel / back"),
        Binding("ctrl+c", "interrupt", "Cancel", show=False),
        Binding("R", "retry", "Retry"),
        Binding("l", "login", "Log in"),
        Binding("c", "copy_commands", "Copy commands"),
        Binding("g", "toggle_log", "Engine log"),
        Binding("b", "back_to_tags", "Back to tags"),
        Binding("p", "choose_platform", "Platform to push", show=False),  # the pre-flight says so
    ]

    # Every push message names the run (`PushQueue.run`) of the worker that sent it.

    @dataclass
    class PushStarted(Message):
        """A reference of the queue started pushing."""

        run: int
        index: int

    @dataclass
    class PushStreamOpened(Message):
        """The worker opened the engine's push stream; the UI thread keeps it to close it
        at once on cancel (without waiting for the next line from the engine)."""

        run: int
        stream: engine_module.PushStream

    @dataclass
    class PushProgressed(Message):
        """A new snapshot of a push (a backlog collapses to the newest)."""

        run: int
        index: int
        snapshot: PushSnapshot

        def can_replace(self, message: Message) -> bool:
            """An older snapshot of the same push is superseded by this one."""
            return (
                isinstance(message, PushScreen.PushProgressed)
                and message.run == self.run
                and message.index == self.index
            )

    @dataclass
    class PushFinished(Message):
        """A reference of the queue finished: its last progress, and a result or the error
        that stopped it (one message, so both are drawn in one frame)."""

        run: int
        index: int
        snapshot: PushSnapshot
        result: PushResult | None
        error: DockpushError | None

    @dataclass
    class PushRunEnded(Message):
        """The worker stopped: after its last reference, after a cancel, or because it
        could not go on (`error`, which the references it left unpushed failed with)."""

        run: int
        error: DockpushError | None

    # The queue's stage; its watcher sets the classes of #push-stage (composed with the first).
    stage: var[Stage] = var(Stage.PREFLIGHT, init=False)

    def __init__(self, session: Session, targets: list[Reference]) -> None:
        super().__init__()
        self.session = session
        self.queue = PushQueue(targets)
        self.reports: list[TargetReport] = []
        # One platform to push alone (`docker push --platform`); None pushes the whole image.
        self.platform: Platform | None = None
        # Owned by the UI thread; see PushStreamOpened.
        self._stream: engine_module.PushStream | None = None
        self._log_written = 0
        self._login_user: str | None = None
        # Layer sizes per reference, fetched during the pre-flight so the push starts at once.
        self._layer_sizes: dict[str, dict[str, int]] = {}
        self._outcome_drawn = threading.Event()  # set on the UI thread, waited for by a worker
        self._last_progress_at = 0.0
        self._layer_rows: dict[str, LayerRow] = {}
        self._size_note = ""
        self._stall_timer: Timer | None = None
        # Registry tags the person agreed to move, each as `target@digest it held` (#18).
        self.confirmed_moves: set[str] = set()

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """Pre-flight panel, queue, overall bar, layer rows, engine log."""
        yield Header()
        yield Stepper(Step.PUSH, self.session.workflow.steps)
        with VerticalScroll(id="push-body"):
            yield Static(id="push-title")
            # The parts the stage shows or hides, under the one node whose classes it sets.
            stage_classes = "-preflight -several" if len(self.items) > 1 else "-preflight"
            with Vertical(id="push-stage", classes=stage_classes):
                yield Static("Checking before the push…", id="preflight")
                yield DataTable(cursor_type="row", id="queue")
                with Vertical(id="push-progress"):
                    yield Label("", id="overall-label")
                    yield ProgressBar(total=100, show_eta=False, id="overall")
                    yield Label("", id="overall-stats")
                    yield Static(id="stall-notice")
                    yield Label("", id="size-note")
                    yield Vertical(id="layers")
                    yield Label(id="more-layers")
            yield ErrorPanel(id="push-error")
            yield DrawnStatic("", id="push-outcome")
            with Collapsible(title="Engine log", collapsed=True, id="log-box"):
                yield RichLog(id="engine-log", max_lines=2000, wrap=True)
        yield SettledFooter()

    @property
    def items(self) -> list[QueueItem]:
        """The references of the queue and how each one went."""
        return self.queue.items

    def on_mount(self) -> None:
        """Show the queue and start the pre-flight check."""
        queue = self.query_one("#queue", DataTable)
        queue.add_columns("Reference", "State", "Digest / why")
        for index, item in enumerate(self.items):
            queue.add_row(plain(item.target), item.state.value, "", key=str(index))
        self._show_title()
        self.run_preflight_check()

    def watch_stage(self, stage: Stage) -> None:
        """The stage's class on #push-stage; the stylesheet does the rest. A class change
        restyles every widget under its node: on the screen (53 widgets) that took 50-120 ms
        on a busy 2-core machine, delaying the push's start and its last frame, so the class
        sits on the small container of the parts it shows, and the stages of a run (pushing,
        cancelling, done) share one look; their words are in the outcome line."""
        self.query_one("#push-stage").set_class(stage is Stage.PREFLIGHT, "-preflight")

    def _follow_queue(self) -> None:
        """Show the queue's stage after a transition; a run that just ended is summed up."""
        ended = self.stage is not Stage.DONE and self.queue.stage is Stage.DONE
        self.stage = self.queue.stage
        if ended:
            self._queue_finished()

    def _style(self, name: str) -> Style:
        """The colour (and weight) of one of the screen's component classes."""
        themed = self.get_component_rich_style(name)
        return Style(color=themed.color, bold=themed.bold)

    def _show_title(self) -> None:
        item = self.queue.shown
        # Known once the pre-flight worker looked the login up (a keyring can block the UI).
        user = f" as {self._login_user}" if self._login_user else ""
        position = (self.queue.current or 0) + 1
        count = f" ({position} of {len(self.items)} references)" if len(self.items) > 1 else ""
        self.post_message(TargetShown(registry_display(item.target), self._login_user))
        text = Text()
        text.append(f"Push {item.target}", style="bold")
        text.append_text(plain(f"  to {registry_display(item.target)}{user}{count}"))
        self.query_one("#push-title", Static).update(text)

    # -- pre-flight ------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="preflight", exit_on_error=False)
    def run_preflight_check(self) -> PreflightFindings:
        """Check destination, local image, login and registry for every reference."""
        engine = self.session.ensure_engine()
        sources = self.session.workflow.source_for_targets()
        # One lookup per registry (keyring, docker config, maybe a helper process) for all checks.
        login_for = functools.cache(self.session.login_for)
        login = login_for(self.items[0].target.domain)
        layer_sizes: dict[str, dict[str, int]] = {}
        for item in self.items:
            with contextlib.suppress(DockpushError):  # a missing image is a pre-flight item
                layer_sizes[str(item.target)] = engine.layer_sizes(str(item.target))
        targets = [i.target for i in self.items]
        reports = run_preflight(
            engine, targets, login_for, sources, self.platform, self.session.login_problem
        )
        return PreflightFindings(reports, login.username if login else None, layer_sizes)

    def _preflight_found(self, findings: PreflightFindings) -> None:
        self._login_user = findings.login_user
        self._layer_sizes = findings.layer_sizes
        self._show_preflight(findings.reports)

    def _show_preflight(self, reports: list[TargetReport]) -> None:
        self.reports = reports
        workflow = self.session.workflow
        workflow.steps = workflow.steps.login_checked(report.login for report in reports)
        self.query_one(Stepper).show(workflow.steps)
        self._show_title()
        text = Text()
        for report in reports:
            if len(reports) > 1:
                text.append(f"{report.target}\n", style="bold")
            text.append_text(checklist_text(report.checks, Tones.of(self.app), width=14))
        text.append("\nBy hand this would be:\n", style="bold")
        for command in dict.fromkeys(c for r in reports for c in r.commands):
            text.append_text(plain(f"  $ {command}", style=self._style("push--muted")))
            text.append("\n")
        if all(report.ready for report in reports):
            text.append("\nPress enter to push.", style=self._style("push--success"))
        else:
            text.append(
                "\nFix what failed, then press enter to check again.",
                style=self._style("push--error"),
            )
        self.query_one("#preflight", Static).update(text)

    # -- pushing ---------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="push", exit_on_error=False)
    def run_queue(
        self,
        run: int,
        jobs: list[tuple[int, Reference]],
        platform: Platform | None,
        layer_sizes: dict[str, dict[str, int]],
    ) -> None:
        """Push each (index, reference) in turn, posting messages tagged with `run`; stop
        before the next reference once cancelled."""
        failure: DockpushError | None = None
        try:
            engine = self.session.ensure_engine()
            worker = get_current_worker()
            for index, target in jobs:
                if worker.is_cancelled:
                    break
                self._push_one(engine, run, index, target, platform, layer_sizes)
        except DockpushError as error:  # no engine: what is left fails with this
            failure = error
        finally:
            self.post_message(self.PushRunEnded(run, failure))

    def _push_one(
        self,
        engine: engine_module.Engine,
        run: int,
        index: int,
        target: Reference,
        platform: Platform | None,
        layer_sizes: dict[str, dict[str, int]],
    ) -> None:
        """Push one reference (in the worker's thread). Progress is throttled; its end (a
        digest, an error, a cancel) is posted at once."""
        worker = get_current_worker()
        self.post_message(self.PushStarted(run, index))
        progress = PushProgress(store=engine.image_store)
        progress.expected_sizes = _expected_sizes(engine, target, platform, layer_sizes)
        self.post_message(self.PushProgressed(run, index, snapshot(progress)))
        error: DockpushError | None = None
        login: Login | None = None
        try:
            login = self.session.login_for(target.domain)
            stream = engine.push(target, login, platform)
            self.post_message(self.PushStreamOpened(run, stream))
            last_post = 0.0
            for event in stream:
                now = time.monotonic()
                progress.apply(event, now)
                if worker.is_cancelled:
                    stream.cancel()
                elif progress.quiet_seconds(now) >= engine_module.PUSH_STALL_SECONDS:
                    stream.stop_stalled()  # lines keep coming, bytes do not
                # Not at the digest line: the stream ends right after it, and a snapshot
                # drawn then would hold up the final one (measured: ~100 ms on 2 busy cores).
                if now - last_post >= UPDATE_INTERVAL and not progress.finished:
                    self.post_message(self.PushProgressed(run, index, snapshot(progress)))
                    last_post = now
        except DockpushError as failure:
            error = failure
        result = progress.result if error is None else None
        self._outcome_drawn.clear()
        self.post_message(self.PushFinished(run, index, snapshot(progress), result, error))
        if result is not None:
            # Once the outcome is on the screen (the read-back's ~25 ms of CPU held that frame
            # back), the registry's own sizes refine the totals.
            self._outcome_drawn.wait(OUTCOME_DRAWN_SECONDS)
            self._read_back_layers(engine, target, login, progress)
            self.post_message(self.PushProgressed(run, index, snapshot(progress)))

    @staticmethod
    def _read_back_layers(
        engine: engine_module.Engine, target: Reference, login: Login | None, progress: PushProgress
    ) -> None:
        """Take the pushed manifest's layer sizes as the final total (best effort: the push
        succeeded whatever this finds; verification checks the registry properly)."""
        if progress.result is None:
            return
        client = RegistryClient(target.domain, login, engine.insecure_registries())
        try:
            progress.record_pushed_layers(
                stated_layer_sizes(client, target.path, progress.result.digest)
            )
        except DockpushError:
            pass
        finally:
            client.close()

    @on(PushStarted)
    def _push_started(self, message: PushStarted) -> None:
        if not self.queue.in_progress(message.run):
            return
        self._follow_queue()
        self.queue.item_started(message.index)
        item = self.items[message.index]
        self._set_queue_row(message.index)
        self._show_title()
        self.query_one("#layers").remove_children()
        self._layer_rows.clear()
        self.query_one(RichLog).write(plain(f"— push {item.target} —", style="bold"))
        self._log_written = 0
        self.query_one(ErrorPanel).show_error(None)
        self.query_one("#push-outcome", Static).update("")
        self.query_one("#size-note", Label).update("")
        self._size_note = ""
        self._last_progress_at = time.monotonic()
        if self._stall_timer is None:
            self._stall_timer = self.set_interval(1.0, self._check_stall)

    @on(DrawnStatic.Drawn, "#push-outcome")
    def _outcome_shown(self, _message: DrawnStatic.Drawn) -> None:
        self._outcome_drawn.set()

    @on(PushStreamOpened)
    def _stream_opened(self, message: PushStreamOpened) -> None:
        if self.queue.in_progress(message.run) and self.queue.stage is Stage.PUSHING:
            self._stream = message.stream
        else:  # cancel was asked for (or the run is over) before the stream arrived
            message.stream.cancel()

    def _check_stall(self) -> None:
        """Say so when nothing has moved for a while, and how long dockpush will wait."""
        notice = self.query_one("#stall-notice", Static)
        quiet = time.monotonic() - self._last_progress_at
        pushing = self.queue.stage is Stage.PUSHING and self.queue.pushing is not None
        stalled = pushing and quiet >= STALL_NOTICE_SECONDS
        notice.set_class(stalled, "-visible")
        if not stalled:
            return
        limit = engine_module.PUSH_STALL_SECONDS
        notice.update(
            Text(
                f"Nothing has moved for {quiet:.0f} s. The registry, or the network to it, is "
                f"slow or stalled; the engine keeps waiting, dockpush stops the push after "
                f"{limit} s without progress ({max(0, limit - quiet):.0f} s left). "
                "esc cancels now.",
                style=self._style("push--warning"),
            )
        )

    @on(PushProgressed)
    def _push_progressed(self, message: PushProgressed) -> None:
        if message.run != self.queue.run:
            return  # from a run that is over: a retry replaced it
        with self.app.batch_update():
            self._take_snapshot(message.index, message.snapshot)

    def _take_snapshot(self, index: int, snap: PushSnapshot) -> None:
        """Keep a reference's newest snapshot (also once it finished: the registry's sizes
        arrive after its outcome) and draw it if it is the one shown."""
        self.items[index].snapshot = snap
        if index != self.queue.current:
            return
        # Movement means new bytes or a layer's next phase, not another repeated line.
        if snap.moved_at is not None:
            self._last_progress_at = snap.moved_at
        self._show_snapshot(snap)

    def _show_snapshot(self, snap: PushSnapshot) -> None:
        layers = self.query_one("#layers")
        hidden = len(snap.layers) - MAX_LAYER_ROWS
        more = self.query_one("#more-layers", Label)
        more.set_class(hidden > 0, "-visible")
        if hidden > 0:
            more.update(f"… and {hidden} more layers, counted in the totals above")
        for view in snap.layers[:MAX_LAYER_ROWS]:
            row = self._layer_rows.get(view.layer_id)
            if row is None:
                # Kept by id: a DOM query per layer per update costs more as layers grow.
                row = self._layer_rows[view.layer_id] = LayerRow(view.layer_id)
                layers.mount(row)
            row.show(view)
        total = max(snap.overall_total, 1)
        bar = self.query_one("#overall", ProgressBar)
        bar.update(total=total, progress=round(snap.fraction * total))
        self.query_one("#overall-label", Label).update(describe_overall(snap), layout=False)
        note = describe_units(snap)
        if note != self._size_note:  # rare, and its length changes: laid out again
            self._size_note = note
            self.query_one("#size-note", Label).update(note)
        rate = human_rate(snap.rate) if snap.rate else "-"
        self.query_one("#overall-stats", Label).update(
            f"elapsed {human_duration(snap.elapsed)} · {rate} · "
            f"left {human_duration(snap.eta_seconds)}",
            layout=False,
        )
        log = self.query_one(RichLog)
        for line in snap.log[self._log_written :]:
            log.write(plain(line))  # the engine's own words
        self._log_written = len(snap.log)
        retrying = [v for v in snap.layers if v.phase is Phase.RETRYING]
        if retrying:
            worst = max(v.longest_wait_left for v in retrying)
            left = min(v.attempts_left for v in retrying)
            self.query_one("#push-outcome", Static).update(
                Text(
                    f"The engine is retrying {len(retrying)} layer(s). It gives no reason until it "
                    f"gives up: {left} attempt(s) left, at most {human_duration(worst)} more.",
                    style=self._style("push--warning"),
                )
            )

    @on(PushFinished)
    def _push_finished(self, message: PushFinished) -> None:
        if not self.queue.in_progress(message.run):
            return
        with self.app.batch_update():
            self._finish_item(message)

    def _finish_item(self, message: PushFinished) -> None:
        self._take_snapshot(message.index, message.snapshot)
        self._stream = None
        self.queue.item_finished(message.index, message.result, message.error)
        item = self.items[message.index]
        if item.result is not None:
            self.session.workflow.pushed[str(item.target)] = item.result.digest
        self._set_queue_row(message.index)
        self._show_item_outcome(item)
        outcome = (
            f"digest {item.result.digest}"
            if item.result
            else item.error.title
            if item.error
            else item.state.value
        )
        self.session.log.record(
            "push", shlex.join(["docker", "push", item.target.familiar]), outcome
        )
        self._follow_queue()

    @on(PushRunEnded)
    def _run_ended(self, message: PushRunEnded) -> None:
        if message.run != self.queue.run:
            return
        self._stream = None
        unfinished = [i for i, item in enumerate(self.items) if item.state.is_pending]
        self.queue.run_ended(message.error)
        for index in unfinished:  # cancelled before they started, or left by a failed worker
            self._set_queue_row(index)
        if unfinished:
            self._show_item_outcome(self.items[unfinished[0]])
        self._follow_queue()

    def _show_item_outcome(self, item: QueueItem) -> None:
        outcome = self.query_one("#push-outcome", Static)
        if item.state is ItemState.DONE and item.result is not None:
            text = plain(
                f"Pushed {item.target}\ndigest {item.result.digest}\n"
                f"manifest size {item.result.size} bytes",
                style=self._style("push--success"),
                multiline=True,
            )
            if self.queue.all_pushed:
                verify = Text("\nPress enter to verify what the registry now holds.", style="bold")
                text = Text.assemble(text, verify)
            outcome.update(text)
        elif item.state is ItemState.CANCELLED:
            outcome.update(
                Text(
                    "Cancelled. Nothing claims success; press R to push again.",
                    style=self._style("push--warning") + Style(bold=True),
                )
            )
        elif item.error is not None:
            self.query_one(ErrorPanel).show_error(item.error)
            hint = "Press R to retry."
            if isinstance(item.error, LOGIN_ERRORS):
                hint = "Press l to log in; the push retries after a successful login."
            outcome.update(Text(hint, style="bold"))

    def _queue_finished(self) -> None:
        """The run ended (the queue is DONE): say how it went; a login problem opens the
        login dialog, which retries after a successful login."""
        self._check_stall()
        failed = [i for i in self.items if i.state.can_retry]
        if self.queue.all_pushed:
            done = len(self.items)
            notify_plain(self.app, f"Pushed {done} reference{'s' if done != 1 else ''}.")
        else:
            notify_plain(
                self.app,
                f"{len(failed)} of {len(self.items)} pushes did not finish.",
                severity="error",
            )
        if failed and all(isinstance(i.error, LOGIN_ERRORS) for i in failed):
            self.action_login()

    def _set_queue_row(self, index: int) -> None:
        item = self.items[index]
        queue = self.query_one("#queue", DataTable)
        queue.update_cell(str(index), queue.ordered_columns[1].key, item.state.value)
        why = item.result.digest if item.result else (item.error.title if item.error else "")
        queue.update_cell(str(index), queue.ordered_columns[2].key, plain(why))

    # -- worker routing --------------------------------------------------------------------

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.SUCCESS and isinstance(worker.result, PreflightFindings):
            self._preflight_found(worker.result)
        elif event.state is WorkerState.ERROR and worker.error is not None:
            # A push worker's unexpected error: its PushRunEnded already failed the queue.
            self.query_one(ErrorPanel).show_error(worker.error)
            if worker.group == "preflight":
                self.query_one("#preflight", Static).update(
                    Text.assemble(error_text(worker.error), "\nPress enter to check again.")
                )

    # -- actions ---------------------------------------------------------------------------

    def _busy(self, group: str) -> bool:
        return any(w.group == group and w.is_running for w in self.workers)

    def action_go(self) -> None:
        """Enter: push after a clean pre-flight, re-check after a failed one, verify once
        every reference is pushed."""
        if self.queue.stage is Stage.DONE:
            if self.queue.all_pushed:
                self.post_message(VerifyWanted([item.target for item in self.items]))
            return
        if self.queue.stage is not Stage.PREFLIGHT or self._busy("preflight"):
            return
        if not self.reports or not all(report.ready for report in self.reports):
            self.query_one("#preflight", Static).update("Checking before the push…")
            self.run_preflight_check()
            return
        if self._ask_before_moving_a_tag():
            return
        self._start()

    def _ask_before_moving_a_tag(self) -> bool:
        """Before a push moves a registry tag to another image, ask; one target at a time, each
        answer remembered for that target only. True while a question is open."""
        report = next(
            (r for r in self.reports if r.moves_tag and r.move_key not in self.confirmed_moves),
            None,
        )
        if report is None or report.tag is None or report.tag.remote is None:
            return False
        key = report.move_key

        def answered(yes: bool | None) -> None:
            if yes:
                self.confirmed_moves.add(key)
                self.action_go()  # the next target's question, or the push
            else:
                notify_plain(self, f"Not pushed: {report.target} keeps what it holds.")

        remote = report.tag.remote
        created = f", created {remote.created:%Y-%m-%d %H:%M} UTC" if remote.created else ""
        what = (
            "another image"
            if report.tag.change is TagChange.MOVES
            else "an image dockpush could not compare with this one"
        )
        question = (
            f"The registry's {report.target} holds {what} now ({remote.digest[:19]}…"
            f"{created}). Push, and move the tag to this image?"
        )
        self.app.push_screen(
            ConfirmDialog(escape(question), yes="Move the tag", no="Keep it"), answered
        )
        return True

    def action_choose_platform(self) -> None:
        """p: cycle between the whole index and each platform that could be pushed alone."""
        if self.queue.stage is not Stage.PREFLIGHT or self._busy("preflight") or not self.reports:
            return
        choices = [None, *dict.fromkeys(p for r in self.reports for p in r.platforms)]
        if len(choices) == 1:
            why = self.reports[0].platform_note or "every image here has a single platform"
            notify_plain(self, f"Pushing one platform is not offered: {why}.")
            return
        position = choices.index(self.platform) if self.platform in choices else 0
        self.platform = choices[(position + 1) % len(choices)]
        self.query_one("#preflight", Static).update("Checking before the push…")
        self.run_preflight_check()

    def _start(self) -> None:
        """Push every reference of the queue."""
        self._run(self.queue.start(), range(len(self.items)))

    def _run(self, run: int, indexes: Iterable[int]) -> None:
        """Start the new run's worker, with copies of what it needs. The screen shows the run
        when the worker says it started: restyling it for the new stage first (~10 ms on this
        thread) held the worker's start, and so the push, back by as much."""
        jobs = [(index, self.items[index].target) for index in indexes]
        # `_layer_sizes` is replaced by each pre-flight, never changed in place.
        self.run_queue(run, jobs, self.platform, self._layer_sizes)

    def action_retry(self) -> None:
        """Push again what failed or was cancelled (once the run is over)."""
        again = self.queue.retryable
        if again:
            self._run(self.queue.retry(again), again)

    def action_cancel(self) -> None:
        """Escape: ask, then cancel a running push; otherwise go back."""
        if self.queue.stage is Stage.CANCELLING:
            return  # already stopping; the screen says so
        if self.queue.stage is not Stage.PUSHING:
            self.dismiss()
            return

        def answered(yes: bool | None) -> None:
            if yes and self.queue.stage is Stage.PUSHING:
                self.queue.request_cancel()
                self._follow_queue()
                self.query_one("#push-outcome", Static).update(
                    Text(
                        "Cancelling: waiting for the engine to stop the push…",
                        style=self._style("push--warning"),
                    )
                )
                if self._stream is not None:
                    self._stream.cancel()
                for worker in self.workers:
                    if worker.group == "push":
                        worker.cancel()

        self.app.push_screen(
            ConfirmDialog(
                "Cancel the push? Layers already uploaded stay in "
                "the registry; the tag is not created.",
                yes="Cancel push",
                no="Keep pushing",
            ),
            answered,
        )

    def action_interrupt(self) -> None:
        """Ctrl+C: during a push, ask to cancel it (as esc does); otherwise say how to quit."""
        if self.queue.running:
            self.action_cancel()
        else:
            self.app.action_help_quit()

    def on_unmount(self) -> None:
        """Leaving (or quitting) mid-push closes the stream, so the engine stops the push
        (Textual cancels the worker, so it starts no other reference)."""
        if self._stream is not None:
            self._stream.cancel()

    def action_login(self) -> None:
        """Open the login dialog for the shown target's registry; after a login, check
        again (before the push) or push again what failed (after it)."""
        target = self.queue.shown.target

        def logged_in(result: LoginOutcome | None) -> None:
            if result is None:
                return
            self._show_title()
            if self.queue.stage is Stage.DONE:
                self.action_retry()
            elif self.queue.stage is Stage.PREFLIGHT:
                self.query_one("#preflight", Static).update("Checking before the push…")
                self.run_preflight_check()

        self.post_message(LoginWanted(target.domain, logged_in))

    def action_copy_commands(self) -> None:
        """Copy the equivalent docker CLI commands."""
        commands = list(dict.fromkeys(c for r in self.reports for c in r.commands))
        if commands:
            self.app.copy_to_clipboard("\n".join(commands))
            notify_plain(self, "Copied the docker commands.")

    def action_back_to_tags(self) -> None:
        """Back to the tag form, with what was typed there (not while pushing)."""
        if self.queue.running:
            notify_plain(self, "Cancel the push first (esc).", severity="warning")
            return
        sources = self.session.workflow.sources
        if not sources:
            notify_plain(self, "These references were not tagged here; nothing to go back to.")
            return
        from app.ui.screens.tag_form import TagFormScreen

        self.app.switch_screen(TagFormScreen(self.session, sources))

    def action_toggle_log(self) -> None:
        """Show or hide the engine's status lines."""
        box = self.query_one(Collapsible)
        box.collapsed = not box.collapsed
