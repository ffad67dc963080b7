"""Saved logins: every registry with a login, where it came from, and whether it still works."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, Static
from textual.worker import Worker, WorkerState

from app.core.credentials import CredentialStore, LoginSource, SavedLogin, registry_key
from app.core.errors import AuthenticationFailed, DockpushError
from app.ui.text import notify_plain, plain


@dataclass(frozen=True)
class LoginCheck:
    """The outcome of checking one saved login against its registry."""

    registry: str
    state: str  # "valid", "rejected", "unreachable", "missing"
    detail: str
    checked_at: datetime

    def mark(self) -> Text:
        """✓ / ✗ / ? with the time, as shown beside the registry."""
        symbol, style = {"valid": ("✓", "green"), "rejected": ("✗", "red")}.get(
            self.state, ("?", "yellow")
        )
        return Text(f"{symbol} {self.state} {self.checked_at:%H:%M:%S}", style=style)


class SavedLoginsScreen(Screen[None]):
    """Lists saved logins from the keyring and the docker CLI's config; check, forget, log in."""

    BINDINGS = [
        Binding("escape", "close", "Back"),
        Binding("c", "check", "Check"),
        Binding("a", "check_all", "Check all"),
        Binding("f", "forget", "Forget"),
        Binding("n", "new_login", "New login"),
        Binding("enter", "login_again", "Log in again"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.saved: list[SavedLogin] = []
        self.problems: list[str] = []

    def compose(self) -> ComposeResult:
        """The table and a note on where logins come from."""
        yield Header()
        yield Label("Saved logins", id="logins-title")
        yield DataTable(cursor_type="row", id="logins")
        yield Static(id="logins-note")
        yield Footer()

    def on_mount(self) -> None:
        """Load the list."""
        self.query_one(DataTable).add_columns("Registry", "User", "From", "Checked")
        self.load()

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load(self) -> tuple[list[SavedLogin], list[str]]:
        """Read the keyring index and the docker config (helpers may be slow)."""
        store = CredentialStore()
        saved = store.list_saved()
        return saved, store.problems

    @work(thread=True, group="check", exit_on_error=False)
    def check(self, registry: str) -> LoginCheck:
        """Check one saved login through the engine now."""
        now = datetime.now
        found = CredentialStore().load(registry)
        if found is None:
            return LoginCheck(registry, "missing", "the saved login could not be read", now())
        try:
            self.app.ensure_engine().check_login(found[0])  # type: ignore[attr-defined]
        except AuthenticationFailed as error:
            return LoginCheck(registry, "rejected", error.explanation, now())
        except DockpushError as error:
            return LoginCheck(registry, "unreachable", error.explanation, now())
        return LoginCheck(registry, "valid", f"accepted for {found[0].username}", now())

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.ERROR:
            notify_plain(self, str(worker.error), severity="error")
        elif event.state is WorkerState.SUCCESS and worker.group == "load":
            self.saved, self.problems = worker.result
            self._show()
        elif event.state is WorkerState.SUCCESS and worker.group == "check":
            result: LoginCheck = worker.result
            self.app.login_checks[result.registry] = result  # type: ignore[attr-defined]
            self._show()
            if result.state != "valid":
                notify_plain(self, f"{result.registry}: {result.detail}", severity="warning")

    def _show(self) -> None:
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        checks = self.app.login_checks  # type: ignore[attr-defined]
        session = self.app.workflow.logins  # type: ignore[attr-defined]
        rows = list(self.saved)
        known = {saved.registry for saved in rows}
        rows += [
            SavedLogin(key, login.username, LoginSource.SESSION)
            for key, login in session.items()
            if key not in known
        ]
        self.rows = rows
        for saved in rows:
            check = checks.get(saved.registry)
            source = saved.source.value + (f" ({saved.detail})" if saved.detail else "")
            table.add_row(
                plain(saved.registry),
                plain(saved.username or "-"),
                plain(source),
                check.mark() if check else Text("not checked", style="dim"),
                key=saved.registry,
            )
        if rows:
            table.move_cursor(row=min(cursor, len(rows) - 1))
        note = Text()
        if not rows:
            note.append("No saved logins. Press n to log in to a registry.\n")
        note.append(
            "dockpush saves logins only in the system keyring. Logins made with `docker login` "
            "are read from the docker config (credential helpers first) and can be forgotten "
            "with `docker logout`.",
            style="dim",
        )
        for problem in self.problems:
            note.append("\n")
            note.append_text(plain(f"⚠ {problem}", style="yellow", multiline=True))
        self.query_one("#logins-note", Static).update(note)

    def _highlighted(self) -> SavedLogin | None:
        table = self.query_one(DataTable)
        rows = getattr(self, "rows", [])
        if not rows or table.cursor_row is None or table.cursor_row >= len(rows):
            return None
        return rows[table.cursor_row]

    def action_check(self) -> None:
        """Check the highlighted login now."""
        saved = self._highlighted()
        if saved is not None:
            self.check(saved.registry)

    def action_check_all(self) -> None:
        """Check every saved login."""
        for saved in getattr(self, "rows", []):
            self.check(saved.registry)

    def action_forget(self) -> None:
        """Remove dockpush's keyring entry for the highlighted registry."""
        saved = self._highlighted()
        if saved is None:
            return
        key = registry_key(saved.registry)
        self.app.workflow.logins.pop(key, None)  # type: ignore[attr-defined]
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

    @on(Worker.StateChanged)
    def _forgotten(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "forget" and event.state is WorkerState.SUCCESS:
            self.app.login_checks.pop(event.worker.result, None)  # type: ignore[attr-defined]
            notify_plain(self, f"Forgot the login for {event.worker.result}.")
            self.app.session_log.record(  # type: ignore[attr-defined]
                "forget login",
                shlex.join(["docker", "logout", event.worker.result]),
                "removed from the keyring",
            )
            self.load()

    def action_new_login(self) -> None:
        """Log in to another registry."""
        self.app.open_login("", lambda _outcome: self.load())  # type: ignore[attr-defined]

    def action_login_again(self) -> None:
        """Log in again to the highlighted registry."""
        saved = self._highlighted()
        if saved is not None:
            self.app.open_login(saved.registry, lambda _outcome: self.load())  # type: ignore[attr-defined]

    def action_close(self) -> None:
        """Back to where the person was."""
        self.dismiss()
