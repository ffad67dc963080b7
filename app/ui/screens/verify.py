"""Step 5: prove that the registry holds exactly what was pushed; verify any reference on demand."""

from __future__ import annotations

from typing import cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Header, Input, Label, Static
from textual.worker import Worker, WorkerState

from app.core.checks import Outcome
from app.core.reference import InvalidReference, Reference, parse_docker_ref
from app.core.steps import Step
from app.core.verify import Verdict, VerificationReport, verify
from app.ui.session import Session
from app.ui.text import Tones, notify_plain, plain
from app.ui.widgets.checklist import BOLD, checklist_text, platforms_text
from app.ui.widgets.error_panel import ErrorPanel
from app.ui.widgets.footer import SettledFooter
from app.ui.widgets.plain_input import PlainInput
from app.ui.widgets.stepper import Stepper

UNSETTLED = (Outcome.FAILED, Outcome.UNKNOWN)


class VerifyScreen(Screen[None]):
    """Runs the six checks per reference and shows each passed, failed, unknown or not
    applicable, and for a multi-platform image the result per platform and attestation."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("v", "verify_again", "Verify again"),
        Binding("y", "copy_pinned", "Copy pinned ref"),
        Binding("slash", "focus_reference", "Other reference"),
    ]

    def __init__(self, session: Session, targets: list[Reference]) -> None:
        super().__init__()
        self.session = session
        self.targets = targets
        self.reports: list[VerificationReport] = []

    def compose(self) -> ComposeResult:
        """The reference box, the results, the actions."""
        yield Header()
        yield Stepper(Step.VERIFY, self.session.workflow.steps)
        with VerticalScroll(id="verify-body"):
            with Horizontal(id="verify-input-row"):
                yield Label("Reference", classes="form-label")
                yield PlainInput(
                    placeholder="registry/repository:tag to verify  ( / )", id="verify-reference"
                )
                yield Button("Verify", id="verify-button")
            yield Label("", id="verify-problem", classes="field-problem")
            yield Static("Verifying…", id="verify-results")
            yield ErrorPanel(id="verify-error")
        yield SettledFooter()

    def on_mount(self) -> None:
        """Verify what was just pushed."""
        if self.targets:
            self.query_one("#verify-reference", Input).value = str(self.targets[0])
            self.run_verification(self.targets)
        else:
            self.query_one("#verify-results", Static).update("Type a reference and press enter.")
            self.action_focus_reference()

    @work(thread=True, exclusive=True, group="verify", exit_on_error=False)
    def run_verification(self, targets: list[Reference]) -> list[VerificationReport]:
        """All checks for each reference, with this session's or the saved login."""
        engine = self.session.ensure_engine()
        pushed = self.session.workflow.pushed
        return [
            verify(target, self.session.login_for(target.domain), pushed.get(str(target)), engine)
            for target in targets
        ]

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.SUCCESS:
            self._show(cast(list[VerificationReport], event.worker.result))
        elif event.state is WorkerState.ERROR:
            self.query_one(ErrorPanel).show_error(event.worker.error)

    def _show(self, reports: list[VerificationReport]) -> None:
        self.reports = reports
        for report in reports:
            open_checks = [c.name for c in report.checks if c.outcome in UNSETTLED]
            outcome = report.verdict.value.lower()
            if open_checks:
                outcome += f" ({', '.join(open_checks)})"
            self.session.log.record("verify", "", f"{report.target}: {outcome}")
        tones = Tones.of(self.app)
        verdict_tones = {
            Verdict.VERIFIED: tones.good,
            Verdict.NOT_VERIFIED: tones.bad,
            Verdict.UNCONFIRMED: tones.warning,
        }
        text = Text()
        for report in reports:
            text.append(f"{report.verdict}  ", style=verdict_tones[report.verdict] + BOLD)
            text.append(f"{report.target}\n", style=BOLD)
            text.append_text(checklist_text(report.checks, tones))
            if len(report.platforms) > 1:
                text.append("\n   per platform\n", style=BOLD)
                text.append_text(platforms_text(report.platforms, tones))
            if report.pinned:
                text.append_text(plain(f"\n  pinned: {report.pinned}", style=BOLD, multiline=True))
                text.append("\n")
            if report.hub_url:
                text.append_text(plain(f"  on Docker Hub: {report.hub_url}"))
                text.append("\n")
            text.append("\n")
        text.append(
            "y copies the pinned reference · v verifies again · / another reference", tones.muted
        )
        self.query_one("#verify-results", Static).update(text)
        failed = sum(1 for r in reports if r.verdict is Verdict.NOT_VERIFIED)
        unconfirmed = sum(1 for r in reports if r.verdict is Verdict.UNCONFIRMED)
        if failed:
            notify_plain(self, f"{failed} reference(s) not verified.", severity="error")
        elif unconfirmed:
            notify_plain(
                self,
                f"{unconfirmed} reference(s) not confirmed: nothing to compare the digest with.",
                severity="warning",
            )
        else:
            notify_plain(self, "The registry holds exactly what was pushed.")

    def action_verify_again(self) -> None:
        """Run the checks again."""
        self.query_one("#verify-results", Static).update("Verifying…")
        self.run_verification(self.targets)

    @on(Input.Submitted, "#verify-reference")
    @on(Button.Pressed, "#verify-button")
    def _verify_typed(self) -> None:
        text = self.query_one("#verify-reference", Input).value.strip()
        problem = self.query_one("#verify-problem", Label)
        try:
            target = parse_docker_ref(text)
        except InvalidReference as error:
            problem.update(plain(str(error)))  # it quotes what was typed
            problem.add_class("-visible")
            return
        problem.remove_class("-visible")
        self.targets = [target]
        self.action_verify_again()

    def action_focus_reference(self) -> None:
        """Jump to the reference box."""
        self.query_one("#verify-reference", Input).focus()

    def action_copy_pinned(self) -> None:
        """Put `registry/repo@sha256:…` on the clipboard."""
        pinned = [r.pinned for r in self.reports if r.pinned]
        if pinned:
            self.app.copy_to_clipboard("\n".join(pinned))
            notify_plain(self, f"Copied {pinned[0]}")

    def action_back(self) -> None:
        """Back to the image browser."""
        self.dismiss()
