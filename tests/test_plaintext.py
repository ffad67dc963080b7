"""The sanitiser for outside text, the UI's `plain`, the crash report and the session log."""

from __future__ import annotations

import io
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from app.core import plaintext
from app.core.plaintext import MAX_CHARS, printable
from app.core.session_log import SessionLog
from app.ui.app import DockpushApp
from app.ui.crash import crash_report
from app.ui.text import plain

BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)]
# What a terminal or a line-oriented reader acts on: C0, DEL, C1, bidi, separators, surrogates.
UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]"
)


def test_escape_sequences_become_visible_and_inert() -> None:
    assert printable("a\x1b]0;title\x07b") == "a␛]0;title␇b"
    assert printable("\x1b[2J\x1b[31mred") == "␛[2J␛[31mred"
    assert printable("\x9b2J") == "\\x9b2J"  # the one-byte CSI
    assert printable("\x00\x08\x7f") == "␀␈␡"


def test_bidi_controls_are_shown_as_escapes() -> None:
    for char in BIDI:
        shown = printable(f"a{char}b")
        assert shown == f"a\\u{ord(char):04x}b"


def test_lone_surrogates_can_be_written_to_a_terminal() -> None:
    shown = printable("x\ud800y")
    assert shown == "x\\ud800y"
    shown.encode("utf-8")  # a raw surrogate would raise here


def test_newlines_tabs_and_carriage_returns() -> None:
    assert printable("a\nb") == "a␊b"
    assert printable("a\r\nb\rc", multiline=True) == "a\nb␍c"
    assert printable("a\tb") == "a b"
    assert printable("line\u2028next") == "line\\u2028next"


def test_ordinary_text_is_unchanged() -> None:
    text = "ghcr.io/org/app:1.2 — café 中文 👩‍💻 [not markup here] $var"
    assert printable(text) == text


def test_long_text_is_cut_with_a_note() -> None:
    shown = printable("x" * (MAX_CHARS + 10))
    assert shown == "x" * MAX_CHARS + "… (10 more characters)"
    assert printable("y" * 50, limit=10) == "y" * 10 + "… (40 more characters)"
    assert printable("z" * 50, limit=None) == "z" * 50


@given(st.text(), st.booleans())
def test_nothing_unsafe_survives(text: str, multiline: bool) -> None:
    shown = printable(text, multiline=multiline, limit=None)
    assert not UNSAFE.search(shown.replace("\n", "") if multiline else shown)
    assert printable(shown, multiline=multiline, limit=None) == shown  # idempotent
    shown.encode("utf-8")


@given(st.text(st.characters(exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp")), max_size=50))
def test_text_without_controls_is_kept(text: str) -> None:
    assert printable(text) == text


def test_invisible_format_characters_are_shown_as_escapes() -> None:
    # Each would make two different strings look the same on screen.
    assert printable("docker.io\u200b") == "docker.io\\u200b"  # zero-width space
    assert printable("a\u2060b\ufeffc") == "a\\u2060b\\ufeffc"  # word joiner, BOM
    assert printable("soft\u00adhyphen") == "soft\\xadhyphen"
    assert printable("tag\U000e0041") == "tag\\U000e0041"  # a tag character
    assert printable("\u0600\U0001d173") == "\\u0600\\U0001d173"


def test_emoji_sequences_are_kept() -> None:
    # The zero-width joiner and variation selectors build emoji; on their own they are inert.
    for text in ("👩\u200d💻", "\u2764\ufe0f", "\u263a\ufe0e", "x\U000e0100"):
        assert printable(text) == text


@given(st.text(st.characters(categories=("Cf",))))
def test_no_format_character_survives_but_the_joiner(text: str) -> None:
    shown = printable(text, limit=None)
    assert {unicodedata.category(char) for char in shown.replace("\u200d", "")} <= {
        "Ll",
        "Lu",
        "Nd",
        "Po",
    }


def test_every_format_character_is_escaped_every_time() -> None:
    # Characters are classified when first seen: a second sight must give the same answer,
    # in every plane, and text from beyond the first plane must not be remembered.
    every = "".join(
        chr(code)
        for code in range(0x110000)
        if unicodedata.category(chr(code)) == "Cf" and code != 0x200D
    )
    first, again = printable(every, limit=None), printable(every, limit=None)
    assert first == again == "".join(ascii(char)[1:-1] for char in every)
    remembered = len(plaintext._SINGLE_LINE)
    printable("".join(map(chr, range(0x10000, 0x20000))), limit=None)
    assert len(plaintext._SINGLE_LINE) == remembered


def test_plain_is_never_markup() -> None:
    for markup in ("[/]", "[@click=app.quit]alice[/]", "[link=https://evil]ok[/link]", "[b]x"):
        text = plain(markup, style="bold")
        assert text.plain == markup
        assert [span.style for span in text.spans] == []
        assert str(text.style) == "bold"
    assert plain("\x1b]0;t\x07").plain == "␛]0;t␇"
    assert plain(42).plain == "42"


def _fails_with_a_secret_local() -> None:
    token = "-".join(["hunter2", "secret", "token"])  # noqa: F841 - the report must not print it
    raise RuntimeError("bad answer \x1b]0;pwned\x07 [/]")


def test_crash_report_shows_no_locals_and_no_escapes() -> None:
    try:
        _fails_with_a_secret_local()
    except RuntimeError as error:
        report = crash_report(error)
    out = io.StringIO()
    Console(file=out, width=120, force_terminal=False, color_system=None).print(report)
    text = out.getvalue()
    assert "RuntimeError" in text and "_fails_with_a_secret_local" in text
    assert "bad answer ␛]0;pwned␇ [/]" in text
    assert "hunter2-secret-token" not in text
    assert "\x1b" not in text


def test_crash_report_of_an_exception_group() -> None:
    try:
        raise ExceptionGroup("several", [ValueError("inner \x1b[2J")])
    except ExceptionGroup as error:
        report = crash_report(error)
    out = io.StringIO()
    Console(file=out, width=120, color_system=None).print(report)
    assert "inner ␛[2J" in out.getvalue() and "\x1b" not in out.getvalue()


def test_session_log_shows_control_characters() -> None:
    log = SessionLog()
    log.record("switch engine", "docker --context evil\x1b]0;t\x07", "ok\nforged  log in: ok")
    text = log.render()
    assert "\x1b" not in text and "\x07" not in text
    assert "docker --context evil␛]0;t␇" in text
    assert "ok␊forged" in text  # a newline cannot forge a second entry
    assert len(text.splitlines()) == 4  # title, blank line, entry, command


def test_control_pictures_are_what_they_say() -> None:
    assert unicodedata.name(printable("\x1b")) == "SYMBOL FOR ESCAPE"
    assert unicodedata.name(printable("\x7f")) == "SYMBOL FOR DELETE"


async def test_fatal_error_without_a_recorded_error_still_exits(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # The crash path itself must not fail: with no exception to report it says so plainly.
    app = DockpushApp(host=f"unix://{tmp_path}/no-engine.sock")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app._fatal_error()  # the app's own override (Textual names it privately)
    assert "dockpush stopped after an unexpected error." in capfd.readouterr().err
