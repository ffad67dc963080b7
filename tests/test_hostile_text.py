"""Hostile text from every outside source, through the real app (Pilot, real sandbox engine).

Markup (`[/]`, `[@click=app.quit]`, `[link=…]`), escape sequences, bidi overrides and very
long strings arrive from image history, the docker config, docker contexts, the engine's
push stream and what the person types. Each test asserts the app keeps running, what is on
screen holds no control character, and the literal text is what is shown.
"""

from __future__ import annotations

import ast
import asyncio
import base64
import contextlib
import hashlib
import json
import re
import shlex
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import docker
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from textual import events
from textual.app import App
from textual.command import CommandPalette
from textual.widgets import DataTable, Input

from app.core.plaintext import printable
from app.core.push_queue import Stage
from app.core.reference import (
    InvalidReference,
    parse_docker_ref,
    parse_normalized,
    registry_key,
)
from app.ui.app import DockpushApp
from app.ui.dialogs.login import LoginDialog
from app.ui.screens.browser import ImageBrowserScreen
from app.ui.screens.engines import EnginesScreen
from app.ui.screens.logins import SavedLoginsScreen
from app.ui.screens.tag_form import TagFormScreen
from app.ui.screens.verify import VerifyScreen
from app.ui.text import notify_plain
from app.ui.widgets.error_panel import ErrorPanel
from app.ui.widgets.filter_input import FilterInput
from app.ui.widgets.plain_input import PlainInput
from app.ui.workflow import Source
from tests.harness.engine_tamper import TamperingEngineProxy, chunked_answer, json_lines
from tests.harness.images import build_labelled
from tests.harness.sandbox import SandboxInfo
from tests.ui import log_in, open_push_screen, settle, wait_for_screen, wait_until

MARKUP = ("[/]", "[@click=app.quit]x[/]", "[link=https://evil]ok[/link]")
ESCAPES = ("\x1b]0;pwned\x07", "\x1b[2J", "\u202eevil\u202c", "\u2066iso\u2069", "\x9b31m")
HOSTILE = " ".join(MARKUP + ESCAPES)
# What may never reach the screen: C0/C1 controls, bidi controls, line separators.
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
SIZE = (200, 50)


def screen_text(app: App) -> str:
    """Everything on screen, line by line, after asserting that none of it is live.

    Checks that the app still runs, that no line holds a control character, and that no
    cell carries a link or a click action that came from data.
    """
    assert app.is_running and app.return_code is None
    lines = []
    # Private API, on purpose: no public one gives the composed screen with its styles.
    # export_screenshot() is SVG without links or click metadata, and Screen.get_style_at()
    # is one lookup per cell (10,000 a frame here). Textual is pinned to 8.2.8.
    for strip in app.screen._compositor.render_strips():
        for segment in strip:
            style = segment.style
            if style is not None:
                assert "evil" not in (style.link or "")
                assert "app.quit" not in str(style.meta.get("@click", ""))
        assert not UNSAFE.search(strip.text), repr(strip.text)
        lines.append(strip.text)
    return "\n".join(lines)


def assert_shown(app: App, *parts: str) -> None:
    """Each part is on screen literally (as `printable` shows it), nothing interpreted."""
    text = screen_text(app)
    for part in parts:
        assert printable(part) in text, f"{printable(part)!r} not on screen"


# -- image history ---------------------------------------------------------------------------


async def test_image_history_is_shown_as_text(
    engine_client: docker.DockerClient, unique: str, remove_afterwards: list[str]
) -> None:
    repository = f"hostile-{unique}/history"
    build_labelled(engine_client, f"{repository}:1", HOSTILE)
    remove_afterwards.append(f"{repository}:1")
    app = DockpushApp()
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await wait_for_screen(pilot, ImageBrowserScreen)
        await wait_until(pilot, lambda: bool(screen.all_rows), timeout=20)
        screen.query_one("#filter", Input).value = repository
        detail = screen.query_one("#detail")
        await wait_until(pilot, lambda: "LABEL" in str(detail.render()), timeout=20)
        await pilot.pause()
        assert_shown(app, *MARKUP, *ESCAPES)


# -- docker config and contexts ----------------------------------------------------------------

CONFIG_USER = "[@click=app.quit]alice[/] \x1b]0;pwned\x07 [/]"
LONG = "[/]\x1b[2J" * 40_000


def _write_context(config: Path, name: str, meta: dict) -> None:
    folder = config / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    folder.mkdir(parents=True)
    (folder / "meta.json").write_text(json.dumps({"Name": name, **meta}))


FOLDER = "docker [@click=app.quit]cfg \x1b]0;dir\x07"


@pytest.fixture
def hostile_config(tmp_path: Path, sandbox: SandboxInfo, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A docker config, in a hostile folder name, whose registry keys, user names and
    contexts are hostile."""
    isolated_config = tmp_path / FOLDER
    isolated_config.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(isolated_config))
    auth = base64.b64encode(f"{CONFIG_USER}:secret".encode()).decode()
    long_auth = base64.b64encode(f"{LONG}:secret".encode()).decode()
    (isolated_config / "config.json").write_text(
        json.dumps({"auths": {HOSTILE: {"auth": auth}, "long.example": {"auth": long_auth}}})
    )
    endpoint = {"docker": {"Host": sandbox.docker_host, "SkipTLSVerify": False}}
    _write_context(
        isolated_config,
        HOSTILE,
        {"Metadata": {"Description": HOSTILE}, "Endpoints": endpoint},
    )
    _write_context(
        isolated_config, "long", {"Metadata": {"Description": LONG}, "Endpoints": endpoint}
    )
    _write_context(isolated_config, "[/]broken\x1b[2J", {"Metadata": {}})  # no endpoint
    return isolated_config


async def test_config_and_contexts_are_shown_as_text(
    sandbox: SandboxInfo, hostile_config: Path
) -> None:
    app = DockpushApp(host=sandbox.docker_host)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_screen(pilot, ImageBrowserScreen)
        await pilot.press("ctrl+l")
        logins = await wait_for_screen(pilot, SavedLoginsScreen)
        await wait_until(pilot, lambda: logins.query_one(DataTable).row_count >= 2, timeout=20)
        await pilot.pause()
        assert_shown(app, *MARKUP, "[@click=app.quit]alice[/]", "\x1b]0;pwned\x07")
        await pilot.press("escape")

        await pilot.press("ctrl+e")
        engines = await wait_for_screen(pilot, EnginesScreen)
        await wait_until(pilot, lambda: len(engines.endpoints) >= 3, timeout=20)
        await pilot.pause()
        # The broken context is explained with its path, which holds the folder's name.
        assert_shown(app, *MARKUP, "\x1b]0;pwned\x07", "[/]broken\x1b[2J", "\x1b]0;dir\x07")
        table = engines.query_one(DataTable)
        table.move_cursor(row=[e.context for e in engines.endpoints].index(HOSTILE))
        await pilot.press("enter")
        # Switching announces the context by name, in a notification and in the session log.
        await wait_for_screen(pilot, ImageBrowserScreen, timeout=20)
        await wait_until(pilot, lambda: bool(app.screen.query("Toast")))
        await pilot.pause()
        assert_shown(app, "[@click=app.quit]x[/]")
        assert app.session.engine is not None and app.session.engine.endpoint.context == HOSTILE
        assert not UNSAFE.search(app.session.log.render().replace("\n", ""))


SHELL_CONTEXT = "ctx $(touch pwned)"
SHELL_USER = "$(touch pwned)'; touch pwned; '"


def _logged_commands(app: DockpushApp) -> list[list[str]]:
    """The session log's docker commands, split as a shell would split them."""
    return [
        shlex.split(line.removeprefix("    $ "))
        for line in app.session.log.render().splitlines()
        if line.startswith("    $ ")
    ]


async def test_logged_docker_commands_quote_outside_values(
    sandbox: SandboxInfo, isolated_config: Path
) -> None:
    # A context name from config.json and a typed user name reach the session log as one
    # quoted word each: pasting a logged command into a shell runs no `$(…)`.
    endpoint = {"docker": {"Host": sandbox.docker_host, "SkipTLSVerify": False}}
    _write_context(isolated_config, SHELL_CONTEXT, {"Metadata": {}, "Endpoints": endpoint})
    app = DockpushApp(host=sandbox.docker_host)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_screen(pilot, ImageBrowserScreen)
        await pilot.press("ctrl+e")
        engines = await wait_for_screen(pilot, EnginesScreen)
        await wait_until(pilot, lambda: SHELL_CONTEXT in [e.context for e in engines.endpoints])
        table = engines.query_one(DataTable)
        table.move_cursor(row=[e.context for e in engines.endpoints].index(SHELL_CONTEXT))
        await pilot.press("enter")
        await wait_for_screen(pilot, ImageBrowserScreen, timeout=20)

        await log_in(pilot, sandbox.open_registry, SHELL_USER, "not-a-secret", remember=False)
        await wait_for_screen(pilot, ImageBrowserScreen, timeout=20)
    commands = _logged_commands(app)
    assert ["docker", "--context", SHELL_CONTEXT] in commands, app.session.log.render()
    login = ["docker", "login", registry_key(sandbox.open_registry), "-u", SHELL_USER]
    assert login in commands, app.session.log.render()


# -- the engine's push stream ------------------------------------------------------------------


@pytest.fixture
def tampered_host(sandbox: SandboxInfo, tmp_path: Path) -> Iterator[TamperingEngineProxy]:
    with TamperingEngineProxy(
        tmp_path / "engine.sock", sandbox.docker_host.removeprefix("unix://")
    ) as proxy:
        yield proxy


async def test_engine_push_messages_are_shown_as_text(
    sandbox: SandboxInfo,
    classic_engine_client: docker.DockerClient,
    tampered_host: TamperingEngineProxy,
    isolated_config: Path,
    unique: str,
) -> None:
    # The docker config's user for the registry shows in the header and the push title.
    auth = base64.b64encode(f"{CONFIG_USER}:secret".encode()).decode()
    config = {"auths": {sandbox.open_registry: {"auth": auth}}}
    (isolated_config / "config.json").write_text(json.dumps(config))
    target = f"{sandbox.open_registry}/hostile-{unique}/push:1"
    classic_engine_client.api.tag("dockpush-demo/tiny:1.0", target.rpartition(":")[0], "1")
    tampered_host.push_answer = chunked_answer(
        json_lines(
            {"status": "Preparing", "progressDetail": {}, "id": "[/]\x1b]0;pwned\x07"},
            {"status": HOSTILE, "progressDetail": {}, "id": "[/]\x1b]0;pwned\x07"},
            {"errorDetail": {"message": HOSTILE}, "error": HOSTILE},
        )
    )
    try:
        app = DockpushApp(host=tampered_host.host)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            screen = await open_push_screen(pilot, [parse_normalized(target)])
            await pilot.press("enter")
            await wait_until(pilot, lambda: screen.stage is Stage.DONE, timeout=30)
            await settle(app, pilot)
            panel = screen.query_one(ErrorPanel)
            assert printable(HOSTILE) in str(panel.render()).replace("\n", " ")
            assert_shown(app, "[/]", "␛]0;pwned␇", "[@click=app.quit]alice[/]")
            header = str(app.screen.query_one("HeaderTitle").render())
            assert f"{sandbox.open_registry} as {printable(CONFIG_USER)}" in header
    finally:
        with contextlib.suppress(docker.errors.APIError):
            classic_engine_client.api.remove_image(target)


# -- what the person types ---------------------------------------------------------------------

# Typed text holds no control characters (a key press cannot make one), but any markup.
PIECES = ["[", "]", "/", "@", "=", "[/]", "[@click=app.quit]", "[link=https://evil]", "[/link]"]
PIECES += ["[b]", "\\", "$x", "é", "中", "a", ":", " ", "x" * 300]
typed_text = st.one_of(
    st.sampled_from(MARKUP),
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=12).map("".join),
    st.text(st.characters(exclude_categories=("Cc", "Cs", "Cf", "Zl", "Zp")), max_size=40),
)


async def _typed_everywhere(app: DockpushApp, pilot, sandbox: SandboxInfo, typed: str) -> None:
    """The filter, the tag form's four fields, the verify reference, the command palette
    and the login user."""
    browser = await wait_for_screen(pilot, ImageBrowserScreen)
    await wait_until(pilot, lambda: bool(browser.all_rows), timeout=20)
    browser.query_one("#filter", Input).value = typed
    await pilot.pause()
    screen_text(app)

    tiny = next(row for row in browser.all_rows if row.reference == "dockpush-demo/tiny:1.0")
    app.start_tagging([Source(tiny.reference, tiny.image.id, tiny.repository, (tiny.reference,))])
    form = await wait_for_screen(pilot, TagFormScreen)
    for field in ("registry", "namespace", "repository", "tags"):
        form.query_one(f"#{field}", Input).value = typed
        await pilot.pause()
        screen_text(app)
    await settle(app, pilot)
    await pilot.press("escape")

    try:
        parse_docker_ref(typed.strip())
    except InvalidReference as error:
        problem = printable(str(error))
    else:
        problem = None  # a valid reference would be verified against a real registry
    if problem is not None:
        app.start_verify([])
        verify = await wait_for_screen(pilot, VerifyScreen)
        verify.query_one("#verify-reference", Input).value = typed
        await pilot.press("enter")
        label = verify.query_one("#verify-problem")
        await wait_until(pilot, lambda: label.has_class("-visible"))
        assert str(label.render()) == problem
        screen_text(app)
        await pilot.press("escape")

    app.action_command_palette()
    palette = await wait_for_screen(pilot, CommandPalette)
    palette.query_one(Input).value = typed
    await pilot.pause(0.3)  # the palette searches as you type
    screen_text(app)
    await pilot.press("escape")
    await wait_for_screen(pilot, ImageBrowserScreen)

    dialog = await log_in(pilot, sandbox.open_registry, typed, "not-a-secret", remember=False)
    if typed.strip():
        await wait_for_screen(pilot, ImageBrowserScreen, timeout=20)
        toasts = [str(toast.render()) for toast in app.screen.query("Toast")]
        assert any(printable(typed.strip()) in toast for toast in toasts), toasts
        screen_text(app)
    else:
        # A blank user is refused in the dialog, which stays open until cancelled.
        outcome = dialog.query_one("#login-outcome")
        await wait_until(pilot, lambda: "Fill in the user." in str(outcome.render()))
        screen_text(app)
        await pilot.press("escape")
        await wait_for_screen(pilot, ImageBrowserScreen)


# Each example starts the app once and types up to 3 strings, each through every entry point
# (about 15 s a string on an idle sandbox): a blank user plus 3 examples take about
# 2.5 minutes. One example may take at most EXAMPLE_SECONDS: a hard asyncio bound, so nothing
# can hang, and hypothesis's deadline. Shrinking is off: it replays a failing example again
# and again for up to five minutes, past the test timeout; the failing example is printed
# and stored in .hypothesis as found.
EXAMPLE_SECONDS = 120


@settings(
    max_examples=3,
    deadline=timedelta(seconds=EXAMPLE_SECONDS),
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(typed=st.lists(typed_text, min_size=1, max_size=3))
@example(typed=[""])  # a blank user keeps the login dialog open (found by hypothesis)
async def test_typed_text_is_shown_as_text(
    sandbox: SandboxInfo, classic_engine_client: docker.DockerClient, typed: list[str]
) -> None:
    app = DockpushApp(host=sandbox.docker_host)
    async with (
        asyncio.timeout(EXAMPLE_SECONDS),
        app.run_test(size=SIZE, notifications=True) as pilot,
    ):
        for text in typed:
            await _typed_everywhere(app, pilot, sandbox, text)


async def test_our_notifications_are_plain_text_and_textuals_own_keep_their_markup(
    tmp_path: Path,
) -> None:
    # Ours quote outside data and never parse it; Textual's own toasts (ctrl+c, a
    # screenshot) are its markup, rendered as styles, not shown as tags.
    app = DockpushApp(host=f"unix://{tmp_path}/no-engine.sock")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_screen(pilot, ImageBrowserScreen)
        notify_plain(app.screen, HOSTILE, title=HOSTILE)
        await pilot.press("ctrl+c")
        app.action_screenshot("shot.svg", str(tmp_path))
        await wait_until(pilot, lambda: len(app.screen.query("Toast")) == 3)
        await pilot.pause()
        text = screen_text(app)
        assert "Press ctrl+q to quit the app" in text, text
        assert "Saved screenshot to" in text and "shot.svg'" in text, text
        assert "[b]" not in text and "[$text-success]" not in text
        assert_shown(app, *MARKUP)


async def test_pasted_control_characters_are_refused_with_a_reason(tmp_path: Path) -> None:
    # A key press cannot make a control character, a paste can; Textual's Input would show
    # it raw (tests/test_terminal.py shows it reaching the terminal).
    app = DockpushApp(host=f"unix://{tmp_path}/no-engine.sock")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_screen(pilot, ImageBrowserScreen)
        app.open_login("")
        dialog = await wait_for_screen(pilot, LoginDialog)
        box = dialog.query_one("#username", Input)
        box.focus()
        box.post_message(events.Paste("a\x9b2Jb\u202ec\x0ed\u200b"))
        await wait_until(pilot, lambda: bool(app.screen.query("Toast")))
        assert box.value == ""
        (toast,) = [str(toast.render()) for toast in app.screen.query("Toast")]
        assert toast.startswith("Paste refused")
        assert "(U+009B, U+202E, U+000E, U+200B)" in toast, toast
        screen_text(app)
        box.post_message(events.Paste("ok [b]👩\u200d💻"))  # markup and emoji are text
        await wait_until(pilot, lambda: box.value == "ok [b]👩\u200d💻")
        await pilot.pause()
        assert_shown(app, "ok [b]👩")


async def test_a_paste_into_the_command_palette_is_held_to_the_same_rule(tmp_path: Path) -> None:
    """The palette's text box is Textual's own Input: the app refuses the paste before it
    gets there (sent to the app, as the terminal's driver sends it)."""
    app = DockpushApp(host=f"unix://{tmp_path}/no-engine.sock")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for_screen(pilot, ImageBrowserScreen)
        app.action_command_palette()
        palette = await wait_for_screen(pilot, CommandPalette)
        box = palette.query_one(Input)
        await wait_until(pilot, lambda: app.focused is box)
        app.post_message(events.Paste("quit\x1b]0;owned\x07"))
        await wait_until(pilot, lambda: bool(app.screen.query("Toast")))
        assert box.value == ""
        (toast,) = [str(toast.render()) for toast in app.screen.query("Toast")]
        assert toast.startswith("Paste refused") and "(U+001B, U+0007)" in toast, toast
        app.post_message(events.Paste("qu\u00efte [b]\nsecond line"))  # the first line only
        await wait_until(pilot, lambda: box.value == "qu\u00efte [b]")


def test_every_notification_goes_through_notify_plain() -> None:
    # A `.notify(` call anywhere else in the app would read its message as markup.
    app_folder = Path(__file__).resolve().parents[1] / "app"
    helper = app_folder / "ui" / "text.py"
    direct = []
    for path in sorted(app_folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "notify"
                and (node.args or node.keywords)  # not a threading.Condition's notify()
                and path != helper
            ):
                direct.append(f"{path.relative_to(app_folder.parent)}:{node.lineno}")
    assert direct == []
    assert "notify_plain(" in (app_folder / "ui" / "app.py").read_text()  # the scan sees calls


def test_every_text_box_refuses_control_characters() -> None:
    # The app's text boxes are PlainInput; a plain Input would take a pasted escape.
    app_folder = Path(__file__).resolve().parents[1] / "app"
    plain_inputs, inputs = 0, []
    for path in sorted(app_folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id == "Input":
                    inputs.append(f"{path.relative_to(app_folder.parent)}:{node.lineno}")
                plain_inputs += node.func.id in ("PlainInput", "FilterInput")
    assert inputs == []
    assert plain_inputs >= 4  # filter, tag form, verify reference, login fields
    assert issubclass(FilterInput, PlainInput)  # the filter box refuses them the same way
