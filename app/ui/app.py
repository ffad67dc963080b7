"""The Textual app: screens, global keys, the engine connection and the workflow state."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from textual import on
from textual.app import App
from textual.binding import Binding

from app.core.credentials import CredentialStore, Login, registry_key
from app.core.engine import Engine
from app.core.reference import Reference
from app.ui.messages import EngineConnected
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
    ]

    def __init__(self, host: str | None = None) -> None:
        super().__init__()
        self.host = host
        self.engine: Engine | None = None
        self.workflow = Workflow()
        self._engine_lock = threading.Lock()

    def on_mount(self) -> None:
        """Open the first step."""
        from app.ui.screens.browser import ImageBrowserScreen

        self.push_screen(ImageBrowserScreen())

    def ensure_engine(self) -> Engine:
        """The engine connection, made on first use. Blocking: call from a worker thread."""
        created = False
        with self._engine_lock:
            if self.engine is None:
                self.engine = Engine.connect(self.host)
                created = True
            engine = self.engine
        if created:
            # Posted, not called: a thread must never wait on the UI while holding the lock.
            self.post_message(EngineConnected(engine.host))
        return engine

    @on(EngineConnected)
    def _engine_connected(self, message: EngineConnected) -> None:
        self.sub_title = f"engine {message.host}"

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
                self.workflow.logins[registry_key(outcome.login.registry)] = outcome.login
                where = "saved in the system keyring" if outcome.saved else "for this session"
                self.notify(
                    f"Logged in to {outcome.login.registry} as {outcome.login.username} ({where})."
                )
            if done is not None:
                done(outcome)

        self.push_screen(LoginDialog(registry), finished)

    # -- workflow ----------------------------------------------------------------------------

    def start_tagging(self, sources: list[Source]) -> None:
        """Step 2: the tag form for these images."""
        from app.ui.screens.tag_form import TagFormScreen

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

        self.switch_screen(VerifyScreen(targets))
