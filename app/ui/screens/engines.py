"""Engines: the docker contexts the CLI knows, which one is in use, and switching between them."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, Static
from textual.worker import Worker, WorkerState

from app.core.contexts import EngineEndpoint, list_contexts
from app.core.engine import Engine
from app.ui.text import plain
from app.ui.widgets.error_panel import ErrorPanel


class EnginesScreen(Screen[None]):
    """Lists docker contexts (default first); enter switches this session to one."""

    BINDINGS = [
        Binding("escape", "close", "Back"),
        Binding("enter", "switch", "Use this engine"),
        Binding("r", "reload", "Reload list"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.endpoints: list[EngineEndpoint] = []
        self.problems: list[str] = []

    def compose(self) -> ComposeResult:
        """Title, the context table, what is in use, and any error."""
        yield Header()
        yield Label("Engines (docker contexts)", id="engines-title")
        yield DataTable(cursor_type="row", id="engines")
        yield ErrorPanel(id="engine-switch-error")
        yield Static(id="engines-note")
        yield Footer()

    def on_mount(self) -> None:
        """Load the contexts."""
        self.query_one(DataTable).add_columns("", "Context", "Endpoint", "Connects by", "About")
        self.load()

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load(self) -> tuple[list[EngineEndpoint], list[str]]:
        """Read the CLI's context store (files only; no engine is contacted)."""
        return list_contexts()

    @work(thread=True, exclusive=True, group="connect", exit_on_error=False)
    def connect(self, endpoint: EngineEndpoint) -> Engine:
        """Connect to the chosen engine; the old one stays in use until this succeeds."""
        return Engine.connect(endpoint)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "load" and event.state is WorkerState.SUCCESS:
            self.endpoints, self.problems = worker.result
            self._show()
        elif worker.group == "load" and event.state is WorkerState.ERROR:
            self.query_one(ErrorPanel).show_error(worker.error)
        elif worker.group == "connect" and event.state is WorkerState.ERROR:
            self.query_one(ErrorPanel).show_error(worker.error)
            self.query_one("#engines-title", Label).update("Engines (docker contexts)")
        elif worker.group == "connect" and event.state is WorkerState.SUCCESS:
            self.app.use_engine(worker.result)  # type: ignore[attr-defined]

    def _in_use(self) -> Engine | None:
        """The engine the app uses now (None before the first connection)."""
        return self.app.engine  # type: ignore[attr-defined]

    def _show(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        engine = self._in_use()
        in_use = engine.endpoint if engine else None
        for endpoint in self.endpoints:
            current = in_use is not None and (endpoint.context, endpoint.host) == (
                in_use.context,
                in_use.host,
            )
            table.add_row(
                Text("●", style="green") if current else "",
                plain(endpoint.context),
                plain(endpoint.host),
                plain(endpoint.transport),
                plain(endpoint.description, limit=200),
                key=endpoint.context,
            )
        note = Text()
        if engine is not None:
            note.append("In use: ", style="bold")
            note.append_text(plain(f"{engine.endpoint.label}, {engine.product}"))
            if engine.endpoint.chosen_by:
                note.append_text(plain(f" (chosen by {engine.endpoint.chosen_by})"))
            note.append("\n")
        note.append(
            "Enter switches this session only; `docker context use NAME` changes the default "
            "for the docker CLI and for dockpush. Create contexts with `docker context create`.",
            style="dim",
        )
        for problem in self.problems:
            note.append("\n")
            note.append_text(plain(f"⚠ {problem}", style="yellow", multiline=True))
        self.query_one("#engines-note", Static).update(note)

    @on(DataTable.RowSelected)
    def _row_selected(self, _event: DataTable.RowSelected) -> None:
        # The focused table takes enter before the screen's binding sees it.
        self.action_switch()

    def action_switch(self) -> None:
        """Connect to the highlighted context and, once it answers, use it."""
        table = self.query_one(DataTable)
        if not self.endpoints or table.cursor_row is None:
            return
        endpoint = self.endpoints[table.cursor_row]
        self.query_one(ErrorPanel).show_error(None)
        self.query_one("#engines-title", Label).update(plain(f"Connecting to {endpoint.label}…"))
        self.connect(endpoint)

    def action_reload(self) -> None:
        """Read the context store again (after `docker context create` in another terminal)."""
        self.query_one(ErrorPanel).show_error(None)
        self.load()

    def action_close(self) -> None:
        """Back to where the person was."""
        self.dismiss()
