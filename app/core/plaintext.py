"""Text from outside (engine, registry, config, contexts, typed input, paths) made safe to show.

A terminal acts on some characters instead of printing them: ESC starts sequences that set the
window title, clear the screen or move the cursor; C1 codes (0x9B is a one-byte CSI) do the
same on some terminals; bidi overrides make a string read differently from what it holds, and
other invisible format characters (zero-width space, word joiner, BOM, soft hyphen, tag
characters) make two different strings look the same (`docker.io\\u200b` as `docker.io`). Rich
and Textual pass all of these through to the terminal. `printable` turns each into something
visible and inert: C0 controls become their Unicode "control pictures" (ESC shows as ␛), the
others their escape (`\\x9b`, `\\u202e`). The rest of an escape sequence is then ordinary text.

Markup is a separate matter handled by the UI (app/ui/text.py): this module only deals with
characters, and has no Textual import.
"""

from __future__ import annotations

import unicodedata

# Longer outside strings are cut: a multi-megabyte label or error text only slows rendering.
MAX_CHARS = 4096

# U+2400..U+241F picture the C0 controls; U+2421 pictures DEL.
_CONTROL_PICTURES = {code: chr(0x2400 + code) for code in range(0x20)} | {0x7F: "\u2421"}
# Format characters (category Cf) are invisible: the bidi controls, zero-width space, word
# joiner, BOM, soft hyphen, tag characters... The zero-width joiner stays: it builds emoji
# sequences (👩‍💻) and is harmless on its own. (Variation selectors are category Mn, not Cf,
# and stay as well.)
_ZERO_WIDTH_JOINER = 0x200D
# Line and paragraph separators break lines in some terminals and in Rich's wrapping.
_LINE_SEPARATORS = (0x2028, 0x2029)
# A lone surrogate (JSON allows "\ud800") cannot even be encoded for the terminal.
_SURROGATES = range(0xD800, 0xE000)
# Code points below this are remembered once looked at; above it (rare scripts, emoji) each is
# looked up again, so hostile text cannot grow the tables without bound.
_REMEMBERED_BELOW = 0x10000


def _escape(code: int) -> str | None:
    """How a character outside the control pictures is shown: its escape, or None as it is."""
    if 0x80 <= code < 0xA0:
        return f"\\x{code:02x}"
    if code in _LINE_SEPARATORS or code in _SURROGATES:
        return f"\\u{code:04x}"
    if code != _ZERO_WIDTH_JOINER and unicodedata.category(chr(code)) == "Cf":
        # Python's own escapes: \\u and four digits, or \\U and eight beyond the first plane.
        return ascii(chr(code))[1:-1]
    return None


class _TranslationTable(dict[int, str | int]):
    """A `str.translate` table that classifies each character the first time it is seen.

    Listing every format character up front meant asking unicodedata about 135,000 code points
    at import, a sixth of the app's own start-up; text holds few distinct characters."""

    def __missing__(self, code: int) -> str | int:
        escaped = _escape(code)
        shown: str | int = code if escaped is None else escaped  # an int maps to itself
        if code < _REMEMBERED_BELOW:
            self[code] = shown
        return shown


_SINGLE_LINE = _TranslationTable({**_CONTROL_PICTURES, 0x09: " "})
_MULTI_LINE = _TranslationTable({**_CONTROL_PICTURES, 0x09: " ", 0x0A: "\n"})


def printable(text: str, *, multiline: bool = False, limit: int | None = MAX_CHARS) -> str:
    """`text` with every control character, escape introducer and format character made visible.

    Tabs become spaces; newlines are kept only when `multiline` (a CRLF counts as one).
    Text longer than `limit` characters is cut, with a note of how much was left out.
    """
    if limit is not None and len(text) > limit:
        text = f"{text[:limit]}… ({len(text) - limit} more characters)"
    if multiline:
        return text.replace("\r\n", "\n").translate(_MULTI_LINE)
    return text.translate(_SINGLE_LINE)
