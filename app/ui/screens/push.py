"""Step 4: pre-flight check, then push with live per-layer progress; cancel and retry."""

from __future__ import annotations

import contextlib
import functools
import shlex
import time
from dataclasses import dataclass, field
from enum import StrEnum

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import (
    Collapsible,
    DataTable,
    Footer,
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
    PushProgress,
    PushResult,
    PushSnapshot,
    describe_overall,
    describe_units,
    snapshot,
)
from app.core.pushed_manifest import stated_layer_sizes
from app.core.reference import Reference
from app.core.registry import RegistryClient
from app.core.units import human_duration, human_rate
from app.ui.dialogs.confirm import ConfirmDialog
from app.ui.text import notify_plain, plain
from app.ui.widgets.checklist import checklist_text
from app.ui.widgets.error_panel import ErrorPanel, error_text
from app.ui.widgets.layer_row import LayerRow
from app.ui.widgets.stepper import Stepper

# At most 5 screen updates a second, however fast the engine streams: live to the eye, and
# the app's CPU during a push (which competes with the engine's compression on small
# machines) went from 0.19 s at 10 updates a second to 0.12 s for a 105 MB push.
UPDATE_INTERVAL = 0.2
# After this long without new bytes (a repeated progress line is not progress) the screen
# says the push is stalled.
STALL_NOTICE_SECONDS = 10
# Real images have at most 127 layers (overlayfs); an engine that reports thousands gets
# this many rows and a count of the rest, so the screen stays quick.
MAX_LAYER_ROWS = 150
LOGIN_ERRORS = (AuthenticationRequired, AuthenticationFailed, AccessDenied)


class ItemState(StrEnum):
    """Where one reference of the queue is."""

    WAITING = "waiting"
    PUSHING = "pushing"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass
class QueueItem:
    """One reference to push and how it went."""

    target: Reference
    state: ItemState = ItemState.WAITING
    result: PushResult | None = None
    error: DockpushError | None = None
    snapshot: PushSnapshot | None = field(default=None, repr=False)


class PushScreen(Screen[None]):
    """Pushes one or more references, one after another, with a row per layer."""

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

    @dataclass
    class PushStarted(Message):
        """A reference of the queue started pushing."""

        index: int

    @dataclass
    class PushProgressed(Message):
        """A new snapshot of the running push (a backlog collapses to the newest)."""

        index: int
        snapshot: PushSnapshot

        def can_replace(self, message: Message) -> bool:
            """An older snapshot of the same push is superseded by this one."""
            return isinstance(message, PushScreen.PushProgressed) and message.index == self.index

    @dataclass
    class PushFinished(Message):
        """A reference of the queue finished: a result, or the error that stopped it."""

        index: int
        result: PushResult | None
        error: DockpushError | None

    def __init__(self, targets: list[Reference]) -> None:
        super().__init__()
        self.items = [QueueItem(target) for target in targets]
        self.reports: list[TargetReport] = []
        # One platform to push alone (`docker push --platform`); None pushes the whole image.
        self.platform: Platform | None = None
        self.phase = "preflight"
        self.current: int | None = None
        self._stream = None
        self._cancelling = False
        self._log_written = 0
        self._login_user: str | None = None
        # Layer sizes per reference, fetched during the pre-flight so the push starts at once.
        self._layer_sizes: dict[str, dict[str, int]] = {}
        self._last_progress_at = 0.0
        self._layer_rows: dict[str, LayerRow] = {}
        self._stall_timer: Timer | None = None

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """Pre-flight panel, queue, overall bar, layer rows, engine log."""
        yield Header()
        yield Stepper(3)
        with VerticalScroll(id="push-body"):
            yield Static(id="push-title")
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
            yield Static("", id="push-outcome")
            with Collapsible(title="Engine log", collapsed=True, id="log-box"):
                yield RichLog(id="engine-log", max_lines=2000, wrap=True)
        yield Footer()

    def on_mount(self) -> None:
        """Show the queue and start the pre-flight check."""
        queue = self.query_one("#queue", DataTable)
        queue.add_columns("Reference", "State", "Digest / why")
        for index, item in enumerate(self.items):
            queue.add_row(plain(item.target), item.state.value, "", key=str(index))
        queue.display = len(self.items) > 1
        self.query_one("#push-progress").display = False
        self._show_title()
        self.run_preflight_check()

    def _show_title(self) -> None:
        item = self.items[self.current or 0]
        # Known once the pre-flight worker looked the login up (a keyring can block the UI).
        user = f" as {self._login_user}" if self._login_user else ""
        count = f" (1 of {len(self.items)} references)" if len(self.items) > 1 else ""
        self.app.show_header(registry_display(item.target), self._login_user)  # type: ignore[attr-defined]
        text = Text()
        text.append(f"Push {item.target}", style="bold")
        text.append_text(plain(f"  to {registry_display(item.target)}{user}{count}"))
        self.query_one("#push-title", Static).update(text)

    # -- pre-flight ------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="preflight", exit_on_error=False)
    def run_preflight_check(self) -> list[TargetReport]:
        """Check destination, local image, login and registry for every reference."""
        engine = self.app.ensure_engine()  # type: ignore[attr-defined]
        sources = self.app.workflow.source_for_targets()  # type: ignore[attr-defined]
        # One lookup per registry (keyring, docker config, maybe a helper process) for all checks.
        login_for = functools.cache(self.app.login_for)  # type: ignore[attr-defined]
        login = login_for(self.items[0].target.domain)
        self._login_user = login.username if login else None
        for item in self.items:
            with contextlib.suppress(DockpushError):  # a missing image is a pre-flight item
                self._layer_sizes[str(item.target)] = engine.layer_sizes(str(item.target))
        targets = [i.target for i in self.items]
        return run_preflight(engine, targets, login_for, sources, self.platform)

    def _show_preflight(self, reports: list[TargetReport]) -> None:
        self.reports = reports
        self._show_title()
        text = Text()
        for report in reports:
            if len(reports) > 1:
                text.append(f"{report.target}\n", style="bold")
            text.append_text(checklist_text(report.checks, width=14))
        text.append("\nBy hand this would be:\n", style="bold")
        for command in dict.fromkeys(c for r in reports for c in r.commands):
            text.append_text(plain(f"  $ {command}", style="dim"))
            text.append("\n")
        if all(report.ready for report in reports):
            text.append("\nPress enter to push.", style="bold green")
        else:
            text.append("\nFix what failed, then press enter to check again.", style="bold red")
        self.query_one("#preflight", Static).update(text)

    # -- pushing ---------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="push", exit_on_error=False)
    def run_queue(self, indexes: list[int]) -> None:
        """Push each reference in turn, posting throttled snapshots."""
        engine = self.app.ensure_engine()  # type: ignore[attr-defined]
        worker = get_current_worker()
        for index in indexes:
            if worker.is_cancelled or self._cancelling:
                break
            target = self.items[index].target
            self.post_message(self.PushStarted(index))
            progress = PushProgress(store=engine.image_store)
            self.post_message(self.PushProgressed(index, snapshot(progress)))
            error: DockpushError | None = None
            login: Login | None = None
            try:
                progress.expected_sizes = self._expected_sizes(engine, target)
                login = self.app.login_for(target.domain)  # type: ignore[attr-defined]
                stream = engine.push(target, login, self.platform)
                self._stream = stream
                last_post = 0.0
                for event in stream:
                    now = time.monotonic()
                    progress.apply(event, now)
                    if worker.is_cancelled:
                        stream.cancel()
                    elif progress.quiet_seconds(now) >= engine_module.PUSH_STALL_SECONDS:
                        stream.stop_stalled()  # lines keep coming, bytes do not
                    if now - last_post >= UPDATE_INTERVAL:
                        self.post_message(self.PushProgressed(index, snapshot(progress)))
                        last_post = now
            except DockpushError as failure:
                error = failure
            finally:
                self._stream = None
            if error is None and progress.result is not None:
                self._read_back_layers(engine, target, login, progress)
            self.post_message(self.PushProgressed(index, snapshot(progress)))
            self.post_message(
                self.PushFinished(index, progress.result if error is None else None, error)
            )

    def _expected_sizes(self, engine: engine_module.Engine, target: Reference) -> dict[str, int]:
        """The local image's layer sizes, of the one platform pushed if one was chosen (best
        effort: the push reports its own totals)."""
        if self.platform is None and str(target) in self._layer_sizes:
            return self._layer_sizes[str(target)]
        with contextlib.suppress(DockpushError):
            return engine.layer_sizes(str(target), self.platform)
        return {}

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
        self.current = message.index
        item = self.items[message.index]
        item.state, item.error, item.result = ItemState.PUSHING, None, None
        self._set_queue_row(message.index)
        self._show_title()
        self.query_one("#layers").remove_children()
        self._layer_rows.clear()
        self.query_one(RichLog).write(plain(f"— push {item.target} —", style="bold"))
        self._log_written = 0
        self.query_one(ErrorPanel).show_error(None)
        self.query_one("#push-outcome", Static).update("")
        self.query_one("#size-note", Label).update("")
        self._last_progress_at = time.monotonic()
        if self._stall_timer is None:
            self._stall_timer = self.set_interval(1.0, self._check_stall)

    def _check_stall(self) -> None:
        """Say so when nothing has moved for a while, and how long dockpush will wait."""
        notice = self.query_one("#stall-notice", Static)
        quiet = time.monotonic() - self._last_progress_at
        pushing = any(item.state is ItemState.PUSHING for item in self.items)
        notice.display = pushing and quiet >= STALL_NOTICE_SECONDS
        if not notice.display:
            return
        limit = engine_module.PUSH_STALL_SECONDS
        notice.update(
            Text(
                f"Nothing has moved for {quiet:.0f} s. The registry, or the network to it, is "
                f"slow or stalled; the engine keeps waiting, dockpush stops the push after "
                f"{limit} s without progress ({max(0, limit - quiet):.0f} s left). "
                "esc cancels now.",
                style="yellow",
            )
        )

    @on(PushProgressed)
    def _push_progressed(self, message: PushProgressed) -> None:
        # Movement means new bytes or a layer's next phase, not another repeated line.
        if message.snapshot.moved_at is not None:
            self._last_progress_at = message.snapshot.moved_at
        self.items[message.index].snapshot = message.snapshot
        with self.app.batch_update():
            self._show_snapshot(message.snapshot)

    def _show_snapshot(self, snap: PushSnapshot) -> None:
        layers = self.query_one("#layers")
        hidden = len(snap.layers) - MAX_LAYER_ROWS
        more = self.query_one("#more-layers", Label)
        more.display = hidden > 0
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
        self.query_one("#size-note", Label).update(describe_units(snap), layout=False)
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
        retrying = [v for v in snap.layers if v.phase.value == "Retrying"]
        if retrying:
            worst = max(v.longest_wait_left for v in retrying)
            left = min(v.attempts_left for v in retrying)
            self.query_one("#push-outcome", Static).update(
                Text(
                    f"The engine is retrying {len(retrying)} layer(s). It gives no reason until it "
                    f"gives up: {left} attempt(s) left, at most {human_duration(worst)} more.",
                    style="yellow",
                )
            )

    @on(PushFinished)
    def _push_finished(self, message: PushFinished) -> None:
        item = self.items[message.index]
        item.result, item.error = message.result, message.error
        if message.error is None and message.result is not None:
            item.state = ItemState.DONE
            self.app.workflow.pushed[str(item.target)] = message.result.digest  # type: ignore[attr-defined]
        elif message.error is not None and message.error.title == "Push cancelled":
            item.state = ItemState.CANCELLED
        else:
            item.state = ItemState.FAILED
        self._set_queue_row(message.index)
        self._show_item_outcome(item)
        outcome = (
            f"digest {item.result.digest}"
            if item.result
            else item.error.title
            if item.error
            else item.state.value
        )
        self.app.session_log.record(  # type: ignore[attr-defined]
            "push", shlex.join(["docker", "push", item.target.familiar]), outcome
        )
        if all(i.state is not ItemState.PUSHING for i in self.items) and (
            self.current == len(self.items) - 1
            or self._cancelling
            or item.state is ItemState.CANCELLED
        ):
            self._queue_finished()

    def _show_item_outcome(self, item: QueueItem) -> None:
        outcome = self.query_one("#push-outcome", Static)
        if item.state is ItemState.DONE and item.result is not None:
            outcome.update(
                plain(
                    f"Pushed {item.target}\ndigest {item.result.digest}\n"
                    f"manifest size {item.result.size} bytes",
                    style="bold green",
                    multiline=True,
                )
            )
        elif item.state is ItemState.CANCELLED:
            outcome.update(
                Text(
                    "Cancelled. Nothing claims success; press R to push again.", style="bold yellow"
                )
            )
        elif item.error is not None:
            self.query_one(ErrorPanel).show_error(item.error)
            hint = "Press R to retry."
            if isinstance(item.error, LOGIN_ERRORS):
                hint = "Press l to log in; the push retries after a successful login."
            outcome.update(Text(hint, style="bold"))

    def _queue_finished(self) -> None:
        self.phase = "done"
        self._check_stall()
        self._cancelling = False
        done = [i for i in self.items if i.state is ItemState.DONE]
        failed = [i for i in self.items if i.state in (ItemState.FAILED, ItemState.CANCELLED)]
        if done and not failed:
            notify_plain(self.app, f"Pushed {len(done)} reference{'s' if len(done) != 1 else ''}.")
            hint = Text("\nPress enter to verify what the registry now holds.", style="bold")
            outcome = self.query_one("#push-outcome", Static)
            outcome.update(Text.assemble(Text(str(outcome.render())), hint))  # type: ignore[arg-type]
        elif failed:
            notify_plain(
                self.app,
                f"{len(failed)} of {len(self.items)} pushes did not finish.",
                severity="error",
            )
        failed_login = [i for i in failed if isinstance(i.error, LOGIN_ERRORS)]
        if failed_login and len(failed_login) == len(failed):
            self.action_login(retry=True)

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
        if event.state is WorkerState.SUCCESS and worker.group == "preflight":
            self._show_preflight(worker.result)
        elif event.state is WorkerState.ERROR:
            self.query_one(ErrorPanel).show_error(worker.error)
            if worker.group == "preflight":
                self.query_one("#preflight", Static).update(
                    Text.assemble(error_text(worker.error), "\nPress enter to check again.")
                )

    # -- actions ---------------------------------------------------------------------------

    def _busy(self, group: str) -> bool:
        return any(w.group == group and w.is_running for w in self.workers)

    def action_go(self) -> None:
        """Enter: push after a clean pre-flight, re-check after a failed one, verify when done."""
        if self._busy("preflight") or self._busy("push"):
            return
        if self.phase == "done":
            pushed = [i.target for i in self.items if i.state is ItemState.DONE]
            if pushed and all(i.state is ItemState.DONE for i in self.items):
                self.app.start_verify(pushed)  # type: ignore[attr-defined]
            return
        if not self.reports or not all(report.ready for report in self.reports):
            self.query_one("#preflight", Static).update("Checking before the push…")
            self.run_preflight_check()
            return
        self._start([index for index in range(len(self.items))])

    def action_choose_platform(self) -> None:
        """p: cycle between the whole index and each platform that could be pushed alone."""
        if self.phase != "preflight" or self._busy("preflight") or not self.reports:
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

    def _start(self, indexes: list[int]) -> None:
        self.phase = "pushing"
        self._cancelling = False
        self.query_one("#preflight").display = False
        self.query_one("#push-progress").display = True
        self.run_queue(indexes)

    def action_retry(self) -> None:
        """Push again what failed or was cancelled."""
        if self._busy("push"):
            return
        again = [
            i
            for i, item in enumerate(self.items)
            if item.state in (ItemState.FAILED, ItemState.CANCELLED)
        ]
        if again:
            self._start(again)

    def action_cancel(self) -> None:
        """Escape: ask, then cancel a running push; otherwise go back."""
        if not self._busy("push"):
            self.dismiss()
            return

        def answered(yes: bool | None) -> None:
            if yes and self._busy("push"):
                self._cancelling = True
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
        if self._busy("push"):
            self.action_cancel()
        else:
            self.app.action_help_quit()

    def on_unmount(self) -> None:
        """Leaving (or quitting) mid-push closes the stream, so the engine stops the push."""
        if self._stream is not None:
            self._cancelling = True
            self._stream.cancel()

    def action_login(self, retry: bool = False) -> None:
        """Open the login dialog for the current target's registry."""
        target = self.items[self.current or 0].target

        def logged_in(result: object) -> None:
            if result is None:
                return
            self._show_title()
            if retry or self.phase == "done":
                self.action_retry()
            else:
                self.query_one("#preflight", Static).update("Checking before the push…")
                self.run_preflight_check()

        self.app.open_login(target.domain, logged_in)  # type: ignore[attr-defined]

    def action_copy_commands(self) -> None:
        """Copy the equivalent docker CLI commands."""
        commands = list(dict.fromkeys(c for r in self.reports for c in r.commands))
        if commands:
            self.app.copy_to_clipboard("\n".join(commands))
            notify_plain(self, "Copied the docker commands.")

    def action_back_to_tags(self) -> None:
        """Back to the tag form, with what was typed there (not while pushing)."""
        if self._busy("push"):
            notify_plain(self, "Cancel the push first (esc).", severity="warning")
            return
        sources = self.app.workflow.sources  # type: ignore[attr-defined]
        if not sources:
            notify_plain(self, "These references were not tagged here; nothing to go back to.")
            return
        from app.ui.screens.tag_form import TagFormScreen

        self.app.switch_screen(TagFormScreen(sources))

    def action_toggle_log(self) -> None:
        """Show or hide the engine's status lines."""
        box = self.query_one(Collapsible)
        box.collapsed = not box.collapsed
