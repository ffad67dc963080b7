"""Log in to a registry: checked through the engine, saved only to the system keyring."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static
from textual.worker import Worker, WorkerState

from app.core.credentials import CredentialStore, Login, keyring_problem
from app.core.errors import DockpushError, KeyringUnavailable
from app.core.plaintext import printable
from app.core.reference import registry_key
from app.core.secret import Secret
from app.ui.session import Session
from app.ui.text import plain
from app.ui.widgets.error_panel import error_text
from app.ui.widgets.plain_input import PlainInput


@dataclass(frozen=True)
class LoginOutcome:
    """What the dialog returns: the checked login, and whether it was saved."""

    login: Login
    saved: bool


class LoginDialog(ModalScreen[LoginOutcome | None]):
    """Registry, user, password or token, remember; checked before anything is kept."""

    DEFAULT_CSS = """
    LoginDialog { align: center middle; }
    LoginDialog > Vertical {
        width: 76; height: auto; border: thick $primary; background: $surface; padding: 1 2;
    }
    LoginDialog Label.title { text-style: bold; margin-bottom: 1; }
    LoginDialog Horizontal { height: auto; }
    LoginDialog .login-label { width: 12; padding: 1 1 0 0; text-align: right; }
    LoginDialog Input { width: 1fr; }
    LoginDialog #login-outcome { height: auto; margin: 1 0; }
    LoginDialog #login-buttons Button { margin-right: 2; }
    LoginDialog > .login-dialog--warning { color: $warning; }
    LoginDialog > .login-dialog--error { color: $error; }
    """
    COMPONENT_CLASSES = {"login-dialog--warning", "login-dialog--error"}
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, session: Session, registry: str, username: str = "") -> None:
        super().__init__()
        self.session = session
        self.registry = registry
        self.username = username
        self._keyring_problem: str | None = None

    def compose(self) -> ComposeResult:
        """The fields and buttons."""
        with Vertical():
            yield Label("Log in to a registry", classes="title")
            for field, label, kwargs in (
                # Prefilled from the docker config, which may hold anything: shown printable.
                (
                    "registry",
                    "Registry",
                    {"value": printable(self.registry), "placeholder": "docker.io"},
                ),
                ("username", "User", {"value": printable(self.username)}),
                (
                    "password",
                    "Password",
                    {"password": True, "placeholder": "password or access token"},
                ),
            ):
                with Horizontal():
                    yield Label(label, classes="login-label")
                    yield PlainInput(id=field, **kwargs)
            yield Checkbox("Remember in the system keyring", value=True, id="remember")
            yield Static("", id="login-outcome")
            with Horizontal(id="login-buttons"):
                yield Button("Log in", variant="primary", id="submit")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        """Focus the first empty field; find out whether the keyring can be used."""
        for field in ("registry", "username", "password"):
            box = self.query_one(f"#{field}", Input)
            if not box.value:
                box.focus()
                break
        self.probe_keyring()

    @work(thread=True, group="keyring", exit_on_error=False)
    def probe_keyring(self) -> str | None:
        """Ask the keyring whether it works (it may block while locked)."""
        return keyring_problem()

    @work(thread=True, exclusive=True, group="check", exit_on_error=False)
    def check_and_save(self, login: Login, remember: bool) -> LoginOutcome:
        """Check the login through the engine; save it only when accepted and asked to."""
        self.session.ensure_engine().check_login(login)
        if not remember:
            return LoginOutcome(login, saved=False)
        try:
            CredentialStore().save(login)
        except KeyringUnavailable:
            return LoginOutcome(login, saved=False)
        return LoginOutcome(login, saved=True)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        outcome = self.query_one("#login-outcome", Static)
        if worker.group == "keyring" and event.state is WorkerState.SUCCESS:
            self._keyring_problem = worker.result
            if worker.result:
                remember = self.query_one("#remember", Checkbox)
                remember.value = False
                remember.disabled = True
                outcome.update(
                    plain(
                        f"No system keyring: {worker.result}. This login will last only for this "
                        "run. To keep logins, install and unlock a Secret Service (gnome-keyring, "
                        "KeePassXC) or set PYTHON_KEYRING_BACKEND to a backend such as an "
                        "encrypted file. dockpush never falls back to plain text.",
                        style=self.get_component_rich_style("login-dialog--warning"),
                    )
                )
        elif worker.group == "check" and event.state is WorkerState.SUCCESS:
            self.dismiss(worker.result)
        elif worker.group == "check" and event.state is WorkerState.ERROR:
            self.query_one("#submit", Button).disabled = False
            error = worker.error
            if isinstance(error, DockpushError):
                outcome.update(error_text(error))
            else:
                outcome.update(
                    Text(
                        f"The check failed: {type(error).__name__}",
                        style=self.get_component_rich_style("login-dialog--error"),
                    )
                )

    @on(Input.Submitted)
    @on(Button.Pressed, "#submit")
    def action_submit(self) -> None:
        """Check the login."""
        registry = self.query_one("#registry", Input).value.strip()
        username = self.query_one("#username", Input).value.strip()
        password = self.query_one("#password", Input)
        missing = [
            name
            for name, value in (
                ("registry", registry or "docker.io"),
                ("user", username),
                ("password", password.value),
            )
            if not value
        ]
        if missing:
            self.query_one("#login-outcome", Static).update(
                Text(
                    f"Fill in the {' and '.join(missing)}.",
                    style=self.get_component_rich_style("login-dialog--error"),
                )
            )
            return
        key = registry_key(registry or "docker.io")
        login = Login(key, username, Secret(password.value))
        # The field is cleared at once so the password is not kept on screen or in the widget.
        password.value = ""
        self.query_one("#submit", Button).disabled = True
        self.query_one("#login-outcome", Static).update(plain(f"Checking with {key}…"))
        remember = self.query_one("#remember", Checkbox).value and not self._keyring_problem
        self.check_and_save(login, remember)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without logging in; nothing is saved."""
        self.dismiss(None)
