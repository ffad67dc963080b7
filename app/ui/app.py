"""The Textual app: screens, global keys, the engine connection and the workflow state."""

from __future__ import annotations

import shlex
import sys
import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from textual import on
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen

from app.core.contexts import DEFAULT_CONTEXT, resolve_endpoint
from app.core.credentials import CredentialStore, Login, registry_key
from app.core.engine import Engine
from app.core.plaintext import printable
from app.core.reference import Reference
from app.core.session_log import SessionLog, state_dir
from app.ui.crash import crash_report
from app.ui.messages import EngineConnected
from app.ui.screens.logins import LoginCheck
from app.ui.text import notify_plain
from app.ui.workflow import Source, Workflow


def stylesheet_path() -> Path:
    """The app's stylesheet: inside the installed package, or `.textual.css` in a checkout."""
    packaged = Path(__file__).with_name("dockpush.tcss")
    if packaged.exists():
        return packaged
    return Path(__file__).resolve().parents[2] / ".textual.css"


class DockpushApp(App[None]):
    """dockpush: pick an image, tag it, log in, push it, verify it."""

    CSS_PATH = stylesheet_path()
    TITLE = "dockpush"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("ctrl+l", "logins", "Logins"),
        Binding("ctrl+e", "engines", "Engines"),
        Binding("question_mark", "help", "Help"),
        Binding("ctrl+o", "save_log", "Save log", show=False),
    ]

    def __init__(self, host: str | None = None, context: str | None = None) -> None:
        super().__init__()
        self.host = host
        self.context = context
        self.engine: Engine | None = None
        self.workflow = Workflow()
        self.login_checks: dict[str, LoginCheck] = {}
        self.session_log = SessionLog()
        self._engine_lock = threading.Lock()

    def on_mount(self) -> None:
        """Open the first step."""
        self.push_screen(self.first_screen())

    def first_screen(self) -> Screen:
        """The screen the app opens with: the image browser."""
        from app.ui.screens.browser import ImageBrowserScreen

        return ImageBrowserScreen()

    def ensure_engine(self) -> Engine:
        """The engine connection, made on first use. Blocking: call from a worker thread."""
        created = False
        with self._engine_lock:
            if self.engine is None:
                self.engine = Engine.connect(resolve_endpoint(self.host, self.context))
                created = True
            engine = self.engine
        if created:
            # Posted, not called: a thread must never wait on the UI while holding the lock.
            self.post_message(EngineConnected(engine.host))
        return engine

    def use_engine(self, engine: Engine) -> None:
        """Switch to another (connected) engine: back to the image browser, which reloads."""
        from app.ui.screens.browser import ImageBrowserScreen

        with self._engine_lock:
            previous, self.engine = self.engine, engine
        self.workflow = Workflow(logins=self.workflow.logins)
        endpoint = engine.endpoint
        self.session_log.record(
            "switch engine",
            shlex.join(["docker", "--host", endpoint.host])
            if endpoint.context == DEFAULT_CONTEXT
            else shlex.join(["docker", "--context", endpoint.context]),
            engine.product,
        )
        self.show_header()
        # Leaving a push screen cancels its push; the browser then follows the new engine.
        while len(self.screen_stack) > 1 and not isinstance(self.screen, ImageBrowserScreen):
            self.pop_screen()
        if isinstance(self.screen, ImageBrowserScreen):
            self.screen.engine_switched()
        if previous is not None:
            previous.close()
        notify_plain(self, f"Using the engine {engine.endpoint.label} ({engine.product}).")

    @on(EngineConnected)
    def _engine_connected(self, message: EngineConnected) -> None:
        self.show_header()

    def _fatal_error(self) -> None:
        """Exit after an unhandled exception, with a report that shows no local variables.

        Replaces Textual's private App._fatal_error (textual is pinned to 8.2.8), which prints
        every frame's locals; App._handle_exception has set return code 1, and `panic`
        exits and restores the terminal."""
        error = sys.exception() or self._exception
        self.bell()
        if error is None:  # App._handle_exception records it first; never fail on the way out
            self.panic("dockpush stopped after an unexpected error.")
        else:
            self.panic(crash_report(error))

    def format_title(self, title: str, sub_title: str) -> Content:
        """The header's text: the sub-title names engines, registries and users from outside."""
        return super().format_title(printable(title), printable(sub_title))

    def show_header(self, registry: str | None = None, user: str | None = None) -> None:
        """The header's second part: the engine in use and who pushes to the target."""
        parts = [f"engine {self.engine.host}" if self.engine else "engine not connected"]
        if registry:
            parts.append(f"{registry} as {user}" if user else f"{registry} (no login)")
        self.sub_title = " · ".join(parts)

    # -- logins ------------------------------------------------------------------------------

    def login_for(self, registry: str) -> Login | None:
        """This session's login for a registry, else the saved one. May block: use in workers."""
        key = registry_key(registry)
        if key in self.workflow.logins:
            return self.workflow.logins[key]
        found = CredentialStore().load(registry)
        return found[0] if found else None

    def open_login(self, registry: str, done: Callable[[object], None] | None = None) -> None:
        """Open the login dialog; a checked login is kept for this session (and maybe saved)."""
        from app.ui.dialogs.login import LoginDialog, LoginOutcome

        def finished(outcome: LoginOutcome | None) -> None:
            if outcome is not None:
                key = registry_key(outcome.login.registry)
                self.workflow.logins[key] = outcome.login
                self.login_checks[key] = LoginCheck(
                    key, "valid", f"accepted for {outcome.login.username}", datetime.now()
                )
                where = "saved in the system keyring" if outcome.saved else "for this session"
                self.session_log.record(
                    "log in",
                    shlex.join(["docker", "login", key, "-u", outcome.login.username]),
                    where,
                )
                notify_plain(
                    self,
                    f"Logged in to {outcome.login.registry} as {outcome.login.username} ({where}).",
                )
            if done is not None:
                done(outcome)

        self.push_screen(LoginDialog(registry), finished)

    def action_logins(self) -> None:
        """Open the saved logins (from any screen)."""
        from app.ui.screens.logins import SavedLoginsScreen

        if not isinstance(self.screen, SavedLoginsScreen):
            self.push_screen(SavedLoginsScreen())

    def action_engines(self) -> None:
        """List docker contexts and switch engine (from any screen)."""
        from app.ui.screens.engines import EnginesScreen

        if not isinstance(self.screen, EnginesScreen):
            self.push_screen(EnginesScreen())

    def action_help(self) -> None:
        """Keys of the current screen first, then of every other screen."""
        from app.ui.screens.browser import ImageBrowserScreen
        from app.ui.screens.engines import EnginesScreen
        from app.ui.screens.help import HelpScreen
        from app.ui.screens.logins import SavedLoginsScreen
        from app.ui.screens.push import PushScreen
        from app.ui.screens.tag_form import TagFormScreen
        from app.ui.screens.verify import VerifyScreen

        screens = [
            ("1 Select: image browser", ImageBrowserScreen),
            ("2 Tag: tag form", TagFormScreen),
            ("4 Push", PushScreen),
            ("5 Verify", VerifyScreen),
            ("Saved logins", SavedLoginsScreen),
            ("Engines", EnginesScreen),
        ]
        current = [(t, s) for t, s in screens if isinstance(self.screen, s)]
        others = [(t, s) for t, s in screens if not isinstance(self.screen, s)]
        sections = [
            (f"{title} (this screen)" if (title, kind) in current else title, list(kind.BINDINGS))
            for title, kind in current + others
        ]
        sections.append(("Everywhere", [*self.BINDINGS, Binding("ctrl+p", "", "Commands")]))
        self.push_screen(HelpScreen(sections))

    def action_save_log(self) -> None:
        """Save the session log (commands, digests, outcomes; no secrets) to a new private
        file in the state folder, and say where (the full path)."""
        try:
            saved = self.session_log.save()
        except OSError as error:
            where = error.filename or state_dir()
            notify_plain(
                self, f"Could not save the log: {error.strerror} ({where})", severity="error"
            )
            return
        notify_plain(self, f"Saved the session log to {saved}")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The command palette (ctrl+p): Textual's commands plus dockpush's."""
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Saved logins", "List, check and forget registry logins", self.action_logins
        )
        yield SystemCommand(
            "Switch engine",
            "List docker contexts and use another engine (local, TCP+TLS, SSH, Podman)",
            self.action_engines,
        )
        yield SystemCommand("Help: keys", "Keys for every screen", self.action_help)
        yield SystemCommand(
            "Verify a reference",
            "Check what a registry holds for any reference",
            lambda: self.start_verify([]),
        )
        yield SystemCommand(
            "Log in to a registry", "Check and save a login", lambda: self.open_login("")
        )

    # -- workflow ----------------------------------------------------------------------------

    def start_tagging(self, sources: list[Source]) -> None:
        """Step 2: the tag form for these images."""
        from app.ui.screens.tag_form import TagFormScreen

        if [s.reference for s in sources] != [s.reference for s in self.workflow.sources]:
            self.workflow.tag_fields = None  # other images: start from their defaults
        self.workflow.sources = sources
        self.push_screen(TagFormScreen(sources))

    def finish_tagging(self, targets: list[Reference]) -> None:
        """Tags are made: remember the targets and go on to the push step."""
        from app.ui.screens.push import PushScreen

        self.workflow.targets = targets
        self.switch_screen(PushScreen(targets))

    def start_verify(self, targets: list[Reference]) -> None:
        """Step 5: verify what the registry now holds."""
        from app.ui.screens.verify import VerifyScreen

        if targets and not isinstance(self.screen, VerifyScreen):
            self.switch_screen(VerifyScreen(targets))
        else:
            self.push_screen(VerifyScreen(targets))
