"""The Textual app: the screen stack, global keys, and the workflow's navigation.

The services screens use (engine, logins, workflow, log) live in the `Session`
(app/ui/session.py), handed to each screen; screens post what they did as messages
(app/ui/messages.py) and the App decides which screen comes next."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events, on
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Input

from app.core.plaintext import printable
from app.core.reference import Reference
from app.core.session_log import state_dir
from app.ui.crash import crash_report
from app.ui.idle_collection import IdleCollector
from app.ui.messages import (
    EngineChosen,
    EngineConnected,
    ImagesChosen,
    ImagesChosenAsIs,
    LoginWanted,
    TagsCreated,
    TargetShown,
    VerifyWanted,
)
from app.ui.session import Session
from app.ui.text import notify_plain
from app.ui.widgets.plain_input import PlainInput, refused
from app.ui.workflow import Source

if TYPE_CHECKING:
    from app.core.early_listing import EarlyListing
    from app.core.engine import Engine
    from app.ui.dialogs.login import LoginOutcome


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

    def __init__(
        self,
        host: str | None = None,
        context: str | None = None,
        early: EarlyListing | None = None,
    ) -> None:
        super().__init__()
        self.session = Session(
            host, context, on_connected=self._engine_connected_elsewhere, early=early
        )
        self.collector = IdleCollector()

    def _engine_connected_elsewhere(self, engine: Engine) -> None:
        # Posted, not handled here: `ensure_engine` runs in a worker thread.
        self.post_message(EngineConnected(engine.host))

    def on_mount(self) -> None:
        """Collect garbage while the user is idle (the first step is the default screen)."""
        self.collector.install()
        self.set_interval(self.collector.quiet / 4, self.collector.collect_if_due)

    def get_default_screen(self) -> Screen:
        """The first step, at the bottom of the screen stack: composed with the App itself,
        its first frame is the App's first (a screen pushed on mount came a frame later)."""
        return self.first_screen()

    def on_unmount(self) -> None:
        self.collector.uninstall()

    async def on_event(self, event: events.Event) -> None:
        """Input arrives here first: the garbage collector waits while the user is active, and
        a paste into a text box of Textual's own (the command palette's) is held to the same
        rule as dockpush's PlainInput."""
        if isinstance(event, (events.InputEvent, events.Paste)):
            self.collector.input_seen()
        if (
            isinstance(event, events.Paste)
            and isinstance(self.focused, Input)
            and not isinstance(self.focused, PlainInput)
            # The first line is what Input inserts.
            and refused((event.text.splitlines() or [""])[0], self.focused)
        ):
            return
        await super().on_event(event)

    def first_screen(self) -> Screen:
        """The screen the app opens with: the image browser."""
        from app.ui.screens.browser import ImageBrowserScreen

        return ImageBrowserScreen(self.session)

    def use_engine(self, engine: Engine) -> None:
        """Switch to another (connected) engine: back to the image browser, which reloads."""
        from app.ui.screens.browser import ImageBrowserScreen

        previous = self.session.use_engine(engine)
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
        engine = self.session.engine
        parts = [f"engine {engine.host}" if engine else "engine not connected"]
        if registry:
            parts.append(f"{registry} as {user}" if user else f"{registry} (no login)")
        self.sub_title = " · ".join(parts)

    # -- logins ------------------------------------------------------------------------------

    def open_login(
        self, registry: str, done: Callable[[LoginOutcome | None], None] | None = None
    ) -> None:
        """Open the login dialog; a checked login is kept for this session (and maybe saved)."""
        from app.ui.dialogs.login import LoginDialog

        def finished(outcome: LoginOutcome | None) -> None:
            if outcome is not None:
                where = self.session.remember_login(outcome.login, outcome.saved)
                notify_plain(
                    self,
                    f"Logged in to {outcome.login.registry} as {outcome.login.username} ({where}).",
                )
            if done is not None:
                done(outcome)

        self.push_screen(LoginDialog(self.session, registry), finished)

    def action_logins(self) -> None:
        """Open the saved logins (from any screen)."""
        from app.ui.screens.logins import SavedLoginsScreen

        if not isinstance(self.screen, SavedLoginsScreen):
            self.push_screen(SavedLoginsScreen(self.session))

    def action_engines(self) -> None:
        """List docker contexts and switch engine (from any screen)."""
        from app.ui.screens.engines import EnginesScreen

        if not isinstance(self.screen, EnginesScreen):
            self.push_screen(EnginesScreen(self.session))

    def action_help(self) -> None:
        """Keys of the current screen first, then of every other screen."""
        from app.ui.screens.browser import ImageBrowserScreen
        from app.ui.screens.engines import EnginesScreen
        from app.ui.screens.help import HelpScreen
        from app.ui.screens.logins import SavedLoginsScreen
        from app.ui.screens.push import PushScreen
        from app.ui.screens.tag_form import TagFormScreen
        from app.ui.screens.verify import VerifyScreen

        screens: list[tuple[str, type[Screen[Any]]]] = [
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
            saved = self.session.log.save()
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

    # -- workflow: screens post what they did; the App owns the screen stack -------------------

    def start_tagging(self, sources: list[Source]) -> None:
        """Step 2: the tag form for these images."""
        from app.ui.screens.tag_form import TagFormScreen

        workflow = self.session.workflow
        if [s.reference for s in sources] != [s.reference for s in workflow.sources]:
            workflow.tag_fields = None  # other images: start from their defaults
        workflow.sources = sources
        workflow.steps = workflow.steps.selected()
        self.push_screen(TagFormScreen(self.session, sources))

    def finish_tagging(self, targets: list[Reference]) -> None:
        """Tags are made: remember the targets and go on to the push step."""
        from app.ui.screens.push import PushScreen

        workflow = self.session.workflow
        workflow.targets = targets
        workflow.steps = workflow.steps.tagged()
        self._replace_top(PushScreen(self.session, targets))

    def _replace_top(self, screen: Screen) -> None:
        """The next step in place of the one on top; never in place of the image browser,
        the bottom of the stack."""
        if len(self.screen_stack) > 1:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def push_as_is(self, sources: list[Source]) -> None:
        """Push the images under their own names, as `docker push NAME` does: no tag step."""
        from app.core.as_is import own_target
        from app.ui.screens.push import PushScreen

        workflow = self.session.workflow
        if [s.reference for s in sources] != [s.reference for s in workflow.sources]:
            workflow.tag_fields = None  # b (back to tags) starts from these names
        workflow.sources = sources
        workflow.targets = [own_target(source.reference) for source in sources]
        workflow.steps = workflow.steps.selected().tag_skipped()
        # Pushed, not switched: escape goes back to the browser.
        self.push_screen(PushScreen(self.session, workflow.targets))

    def start_verify(self, targets: list[Reference]) -> None:
        """Step 5: verify what the registry now holds."""
        from app.ui.screens.verify import VerifyScreen

        workflow = self.session.workflow
        if targets and all(str(target) in workflow.pushed for target in targets):
            workflow.steps = workflow.steps.pushed()
        if targets and not isinstance(self.screen, VerifyScreen):
            self._replace_top(VerifyScreen(self.session, targets))
        else:
            self.push_screen(VerifyScreen(self.session, targets))

    @on(ImagesChosen)
    def _images_chosen(self, message: ImagesChosen) -> None:
        self.start_tagging(message.sources)

    @on(ImagesChosenAsIs)
    def _images_chosen_as_is(self, message: ImagesChosenAsIs) -> None:
        self.push_as_is(message.sources)

    @on(TagsCreated)
    def _tags_created(self, message: TagsCreated) -> None:
        self.finish_tagging(message.targets)

    @on(VerifyWanted)
    def _verify_wanted(self, message: VerifyWanted) -> None:
        self.start_verify(message.targets)

    @on(LoginWanted)
    def _login_wanted(self, message: LoginWanted) -> None:
        self.open_login(message.registry, message.done)

    @on(EngineChosen)
    def _engine_chosen(self, message: EngineChosen) -> None:
        self.use_engine(message.engine)

    @on(TargetShown)
    def _target_shown(self, message: TargetShown) -> None:
        self.show_header(message.registry, message.user)
