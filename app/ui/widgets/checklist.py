"""A list of checks with ✓ ✗ • – ? marks, their details and fixes; results per platform."""

from __future__ import annotations

from collections.abc import Iterable

from rich.style import Style
from rich.text import Text

from app.core.checks import Check, Outcome
from app.core.units import human_size
from app.core.verify import ManifestResult
from app.ui.text import Tones, plain

BOLD = Style(bold=True)


def mark(outcome: Outcome, tones: Tones) -> tuple[str, Style]:
    """The mark of an outcome and its theme colour."""
    return {
        Outcome.PASSED: ("✓", tones.good + BOLD),
        Outcome.FAILED: ("✗", tones.bad + BOLD),
        Outcome.INFO: ("•", tones.info + BOLD),
        Outcome.NOT_APPLICABLE: ("–", tones.muted),
        Outcome.UNKNOWN: ("?", tones.warning + BOLD),
    }[outcome]


def checklist_text(checks: Iterable[Check], tones: Tones, width: int = 24) -> Text:
    """One line per check, with what to do under failed, unknown or informational ones."""
    text = Text()
    for check in checks:
        symbol, style = mark(check.outcome, tones)
        text.append(f" {symbol} ", style=style)
        text.append(f"{check.name:<{width}}", style=BOLD)
        # Details and fixes quote engine and registry answers (platforms, messages).
        detail_style = tones.muted if check.outcome is Outcome.NOT_APPLICABLE else ""
        text.append_text(plain(check.detail, style=detail_style, multiline=True))
        text.append("\n")
        if check.fix and check.outcome in (Outcome.FAILED, Outcome.INFO, Outcome.UNKNOWN):
            text.append_text(
                plain(f"   {'':<{width}}fix: {check.fix}", tones.warning, multiline=True)
            )
            text.append("\n")
    return text


def platforms_text(results: Iterable[ManifestResult], tones: Tones) -> Text:
    """One line per manifest of an index (platforms first, then attestations), with each
    problem under it, naming the blob."""
    ordered = sorted(results, key=lambda result: result.attestation)
    width = max((len(result.label) for result in ordered), default=0) + 2
    text = Text()
    for result in ordered:
        symbol, style = mark(Outcome.PASSED if result.ok else Outcome.FAILED, tones)
        text.append(f"   {symbol} ", style=style)
        text.append_text(plain(f"{result.label:<{width}}", BOLD))
        if result.layers is None:
            content = "manifest not read"
        else:
            layers = f"{result.layers} layer{'s' * (result.layers != 1)}"
            content = f"{layers}, {human_size(result.size)}"
        text.append_text(plain(f"{content}  {result.digest[:19]}…"))
        text.append("\n")
        for problem in result.problems:
            text.append_text(plain(f"     {problem}", tones.bad))
            text.append("\n")
    return text
