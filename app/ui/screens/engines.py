"""Engines: the docker contexts the CLI knows, which one is in use, and switching between them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Label
from textual.worker import Worker, WorkerState

from app.core.contexts import EngineEndpoint, list_contexts
from app.core.engine import Engine
from app.ui.messages import EngineChosen
from app.ui.screens.list_screen import ListRow, ListScreen
from app.ui.session import Session
from app.ui.text import plain
from app.ui.widgets.error_panel import ErrorPanel

Contexts = tuple[list[EngineEndpoint], list[str]]


class EnginesScreen(ListScreen[Contexts]):
    """Lists docker contexts (default first); enter switches this session to one."""

    LIST_ID = "engines"
    HEADING = "Engines (docker contexts)"
    COLUMNS = ("", "Context", "Endpoint", "Connects by", "About")
    BINDINGS = [
        Binding("enter", "select", "Use this engine"),
        Binding("r", "reload", "Reload list"),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.endpoints: list[EngineEndpoint] = []
        self.problems: list[str] = []

    def compose_extra(self) -> Iterable[Widget]:
        """Why the last switch failed, under the table."""
        yield ErrorPanel(id="engine-switch-error")

    def read(self) -> Contexts:
        """Read the CLI's context store (files only; no engine is contacted)."""
        return list_contexts()

    def loaded(self, listing: Contexts) -> None:
        """Keep the contexts and why any could not be read."""
        self.endpoints, self.problems = listing

    def load_failed(self, error: BaseException) -> None:
        """Explain why the context store could not be read."""
        self.query_one(ErrorPanel).show_error(error)

    @work(thread=True, exclusive=True, group="connect", exit_on_error=False)
    def connect(self, endpoint: EngineEndpoint) -> Engine:
        """Connect to the chosen engine; the old one stays in use until this succeeds."""
        return Engine.connect(endpoint)

    @on(Worker.StateChanged)
    def _connect_done(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != "connect":
            return  # the listing's worker is handled by ListScreen
        if event.state is WorkerState.ERROR:
            self.query_one(ErrorPanel).show_error(worker.error)
            self.query_one("#engines-title", Label).update(self.HEADING)
        elif event.state is WorkerState.SUCCESS:
            self.post_message(EngineChosen(cast(Engine, worker.result)))

    def _in_use(self) -> Engine | None:
        """The engine the app uses now (None before the first connection)."""
        return self.session.engine

    def rows(self) -> list[ListRow]:
        """One row per context; ● marks the one in use."""
        engine = self._in_use()
        in_use = (engine.endpoint.context, engine.endpoint.host) if engine else None
        return [
            ListRow(
                endpoint.context,
                (
                    Text("●", style=self.tone("good"))
                    if (endpoint.context, endpoint.host) == in_use
                    else Text(""),
                    plain(endpoint.context),
                    plain(endpoint.host),
                    plain(endpoint.transport),
                    plain(endpoint.description, limit=200),
                ),
            )
            for endpoint in self.endpoints
        ]

    def note(self) -> Text:
        """What is in use and how contexts are made, then any unreadable context."""
        note = Text()
        engine = self._in_use()
        if engine is not None:
            note.append("In use: ", style="bold")
            note.append_text(plain(f"{engine.endpoint.label}, {engine.product}"))
            if engine.endpoint.chosen_by:
                note.append_text(plain(f" (chosen by {engine.endpoint.chosen_by})"))
            note.append("\n")
        note.append(
            "Enter switches this session only; `docker context use NAME` changes the default "
            "for the docker CLI and for dockpush. Create contexts with `docker context create`.",
            style=self.tone("muted"),
        )
        for problem in self.problems:
            note.append("\n")
            note.append_text(plain(f"⚠ {problem}", self.tone("warning"), multiline=True))
        return note

    def action_select(self) -> None:
        """Connect to the highlighted context and, once it answers, use it."""
        key = self.highlighted_key()
        endpoint = next((e for e in self.endpoints if e.context == key), None)
        if endpoint is None:
            return
        self.query_one(ErrorPanel).show_error(None)
        self.query_one("#engines-title", Label).update(plain(f"Connecting to {endpoint.label}…"))
        self.connect(endpoint)

    def action_reload(self) -> None:
        """Read the context store again (after `docker context create` in another terminal)."""
        self.query_one(ErrorPanel).show_error(None)
        self.load()
