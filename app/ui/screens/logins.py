"""Saved logins: every registry with a login, where it came from, and whether it still works.

A place logins come from that cannot be read (a broken config.json, a failing credential
helper) is listed as broken, with what is wrong and what to do, never as "no logins".
"""

from __future__ import annotations

import shlex
from datetime import datetime
from typing import cast

from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from app.core.credentials import (
    CredentialStore,
    LoginProblem,
    LoginSource,
    SavedLogin,
    SavedLogins,
)
from app.core.errors import AuthenticationFailed, DockpushError
from app.core.login_check import LoginCheck, LoginState
from app.core.reference import registry_key
from app.ui.dialogs.login import LoginOutcome
from app.ui.messages import LoginWanted
from app.ui.screens.list_screen import ListRow, ListScreen
from app.ui.session import Session
from app.ui.text import notify_plain, plain

_TONES = {LoginState.VALID: "good", LoginState.REJECTED: "bad"}


class SavedLoginsScreen(ListScreen[SavedLogins]):
    """Lists saved logins from the keyring and the docker CLI's config; check, forget, log in."""

    LIST_ID = "logins"
    HEADING = "Saved logins"
    COLUMNS = ("Registry", "User", "From", "Checked")
    BINDINGS = [
        Binding("c", "check", "Check"),
        Binding("a", "check_all", "Check all"),
        Binding("f", "forget", "Forget"),
        Binding("n", "new_login", "New login"),
        Binding("enter", "select", "Log in again"),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.saved: list[SavedLogin] = []
        self.problems: list[LoginProblem] = []
        # Row key -> what the row shows: a login, or a source that could not be read.
        self._by_key: dict[str, SavedLogin | LoginProblem] = {}

    def read(self) -> SavedLogins:
        """Read the keyring index and the docker config (helpers may be slow)."""
        return CredentialStore().list_saved()

    def loaded(self, listing: SavedLogins) -> None:
        """Keep the logins and problems just read."""
        self.saved, self.problems = listing.logins, listing.problems

    @work(thread=True, group="check", exit_on_error=False)
    def check(self, registry: str) -> LoginCheck:
        """Check one saved login through the engine now."""
        now = datetime.now
        store = CredentialStore()
        found = store.load(registry)
        if found is None:
            why = store.problems[0].error.explanation if store.problems else ""
            detail = why or "the saved login could not be read"
            return LoginCheck(registry, LoginState.MISSING, detail, now())
        try:
            self.session.ensure_engine().check_login(found[0])
        except AuthenticationFailed as error:
            return LoginCheck(registry, LoginState.REJECTED, error.explanation, now())
        except DockpushError as error:
            return LoginCheck(registry, LoginState.UNREACHABLE, error.explanation, now())
        return LoginCheck(registry, LoginState.VALID, f"accepted for {found[0].username}", now())

    @on(Worker.StateChanged)
    def _worker_done(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group not in ("check", "forget"):
            return  # the listing's worker is handled by ListScreen
        if event.state is WorkerState.ERROR:
            notify_plain(self, str(worker.error), severity="error")
        elif event.state is WorkerState.SUCCESS and worker.group == "check":
            result = cast(LoginCheck, worker.result)  # what `check` returns
            self.session.login_checks[result.registry] = result
            self._show()
            if result.state is not LoginState.VALID:
                notify_plain(self, f"{result.registry}: {result.detail}", severity="warning")
        elif event.state is WorkerState.SUCCESS:
            registry = cast(str, worker.result)  # what `forget` returns
            self.session.login_checks.pop(registry, None)
            notify_plain(self, f"Forgot the login for {registry}.")
            self.session.log.record(
                "forget login",
                shlex.join(["docker", "logout", registry]),
                "removed from the keyring",
            )
            self.load()

    def _all_logins(self) -> list[SavedLogin]:
        """Saved logins, then this session's logins that are saved nowhere."""
        known = {saved.registry for saved in self.saved}
        return self.saved + [
            SavedLogin(key, login.username, LoginSource.SESSION)
            for key, login in self.session.workflow.logins.items()
            if key not in known
        ]

    def _checked_cell(self, check: LoginCheck | None) -> Text:
        if check is None:
            return Text("not checked", style=self.tone("muted"))
        return Text(check.label(), style=self.tone(_TONES.get(check.state, "warning")))

    def rows(self) -> list[ListRow]:
        """One row per login, then one per source that could not be read."""
        checks = self.session.login_checks
        rows = []
        self._by_key = {}
        for saved in self._all_logins():
            key = f"login:{saved.registry}"
            self._by_key[key] = saved
            source = saved.source.value + (f" ({saved.detail})" if saved.detail else "")
            cells = (
                plain(saved.registry),
                plain(saved.username or "-"),
                plain(source),
                self._checked_cell(checks.get(saved.registry)),
            )
            rows.append(ListRow(key, cells))
        for index, problem in enumerate(self.problems):
            key = f"problem:{index}"
            self._by_key[key] = problem
            cells = (
                plain(problem.subject),
                Text("-"),
                plain(problem.where),
                Text("✗ broken", style=self.tone("bad")),
            )
            rows.append(ListRow(key, cells))
        return rows

    def note(self) -> Text:
        """Where logins come from, and what is broken and what to do about it."""
        note = Text()
        if not self.problems and not self._all_logins():
            note.append("No saved logins. Press n to log in to a registry.\n")
        note.append(
            "dockpush saves logins only in the system keyring. Logins made with `docker login` "
            "are read from the docker config (credential helpers first) and can be forgotten "
            "with `docker logout`.",
            style=self.tone("muted"),
        )
        for problem in self.problems:
            error = problem.error
            note.append("\n\n")
            note.append_text(
                plain(f"✗ {error.title}: {error.explanation}", self.tone("bad"), multiline=True)
            )
            note.append("\n  What to do: ", style="bold")
            note.append_text(plain(error.next_step, multiline=True))
        return note

    def _highlighted(self) -> SavedLogin | LoginProblem | None:
        key = self.highlighted_key()
        return self._by_key.get(key) if key is not None else None

    def _explain(self, problem: LoginProblem) -> None:
        """A broken row cannot be checked, forgotten or logged in to: say what to do."""
        notify_plain(
            self,
            f"{problem.subject} is broken: {problem.error.next_step}",
            severity="warning",
        )

    def action_check(self) -> None:
        """Check the highlighted login now."""
        saved = self._highlighted()
        if isinstance(saved, LoginProblem):
            self._explain(saved)
        elif saved is not None:
            self.check(saved.registry)

    def action_check_all(self) -> None:
        """Check every saved login."""
        for saved in self._by_key.values():
            if isinstance(saved, SavedLogin):
                self.check(saved.registry)

    def action_forget(self) -> None:
        """Remove dockpush's keyring entry for the highlighted registry."""
        saved = self._highlighted()
        if isinstance(saved, LoginProblem):
            self._explain(saved)
            return
        if saved is None:
            return
        key = registry_key(saved.registry)
        self.session.workflow.logins.pop(key, None)
        if saved.source is LoginSource.KEYRING:
            self.forget(key)
        elif saved.source is LoginSource.SESSION:
            notify_plain(self, f"Forgot the session login for {key}.")
            self.load()
        else:
            logout = shlex.join(["docker", "logout", key])
            notify_plain(
                self, f"That login belongs to the docker CLI: run {logout}.", severity="warning"
            )

    @work(thread=True, group="forget", exit_on_error=False)
    def forget(self, registry: str) -> str:
        """Delete the keyring entry (may block on a locked keyring)."""
        CredentialStore().forget(registry)
        return registry

    def action_new_login(self) -> None:
        """Log in to another registry."""
        self.post_message(LoginWanted("", self._reload_after_login))

    def action_select(self) -> None:
        """Log in again to the highlighted registry."""
        saved = self._highlighted()
        if isinstance(saved, LoginProblem):
            self._explain(saved)
        elif saved is not None:
            self.post_message(LoginWanted(saved.registry, self._reload_after_login))

    def _reload_after_login(self, _outcome: LoginOutcome | None) -> None:
        self.load()
