"""The services a screen is handed: the engine connection, logins, the workflow and the log.

Screens receive one `Session` in their constructor and never reach into the App for these;
they post navigation requests upward as messages (app/ui/messages.py), which the App handles.
"""

from __future__ import annotations

import shlex
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from app.core.contexts import DEFAULT_CONTEXT, resolve_endpoint
from app.core.credentials import CredentialStore, Login
from app.core.errors import DockpushError
from app.core.login_check import LoginCheck, LoginState
from app.core.reference import registry_key
from app.core.session_log import SessionLog
from app.ui.workflow import Workflow

if TYPE_CHECKING:
    from app.core.early_listing import EarlyListing
    from app.core.engine import Engine
    from app.core.local_images import LocalImage


class Session:
    """One run of the app: thread-safe engine access plus state that only the UI thread writes.

    `ensure_engine` and `login_for` may block (network, keyring) and are called from worker
    threads; everything else is called on the UI thread."""

    def __init__(
        self,
        host: str | None = None,
        context: str | None = None,
        on_connected: Callable[[Engine], None] | None = None,
        early: EarlyListing | None = None,
    ) -> None:
        self.host = host
        self.context = context
        self._early = early
        self.workflow = Workflow()
        self.login_checks: dict[str, LoginCheck] = {}
        self.log = SessionLog()
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()
        self._on_connected = on_connected
        # Registry key -> why its saved login could not be read (a broken config.json, a
        # failing credential helper), from the last lookup; written by workers, read by them.
        self._login_problems: dict[str, DockpushError] = {}

    @property
    def engine(self) -> Engine | None:
        """The engine in use, if a connection has been made."""
        return self._engine

    def early_images(self, wait: float) -> list[LocalImage] | None:
        """The images listed while the app started, to the first caller only; waits up to
        `wait` seconds for the engine's answer (0 on the UI thread)."""
        early = self._early
        if early is None or not early.answered(wait):
            return None
        return early.take()

    def ensure_engine(self) -> Engine:
        """The engine connection, made on first use. Blocking: call from a worker thread."""
        created = False
        with self._engine_lock:
            if self._engine is None:
                # Imported here: docker-py and requests load in this worker, while the first
                # screen paints, not before it (about a third of start-up's imports).
                from app.core.engine import Engine

                self._engine = Engine.connect(resolve_endpoint(self.host, self.context))
                created = True
            engine = self._engine
        if created and self._on_connected is not None:
            # Called outside the lock: the callback posts a message and must never wait on it.
            self._on_connected(engine)
        return engine

    def use_engine(self, engine: Engine) -> Engine | None:
        """Switch to another connected engine; returns the previous one for the caller to close.

        The workflow starts again (other images), but this session's logins are kept."""
        with self._engine_lock:
            previous, self._engine = self._engine, engine
        self.workflow = Workflow(logins=self.workflow.logins)
        endpoint = engine.endpoint
        self.log.record(
            "switch engine",
            shlex.join(["docker", "--host", endpoint.host])
            if endpoint.context == DEFAULT_CONTEXT
            else shlex.join(["docker", "--context", endpoint.context]),
            engine.product,
        )
        return previous

    def login_for(self, registry: str) -> Login | None:
        """This session's login for a registry, else the saved one. May block: use in workers."""
        key = registry_key(registry)
        if key in self.workflow.logins:
            return self.workflow.logins[key]
        store = CredentialStore()
        found = store.load(registry)
        if found is None and store.problems:
            self._login_problems[key] = store.problems[0].error
        else:
            self._login_problems.pop(key, None)
        return found[0] if found else None

    def login_problem(self, registry: str) -> DockpushError | None:
        """Why no login could be read for a registry at the last `login_for`, if something was
        broken (rather than simply no login saved)."""
        return self._login_problems.get(registry_key(registry))

    def remember_login(self, login: Login, saved: bool) -> str:
        """Keep a checked login for this session; returns where it is kept, for the user."""
        key = registry_key(login.registry)
        self.workflow.logins[key] = login
        self.login_checks[key] = LoginCheck(
            key, LoginState.VALID, f"accepted for {login.username}", datetime.now()
        )
        where = "saved in the system keyring" if saved else "for this session"
        self.log.record("log in", shlex.join(["docker", "login", key, "-u", login.username]), where)
        return where

    def forget_login(self, key: str) -> None:
        """Drop this session's login and its check for a registry (the keyring is separate)."""
        self.workflow.logins.pop(key, None)
        self.login_checks.pop(key, None)
