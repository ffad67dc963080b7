"""A list of checks with ✓ ✗ • – ? marks, their details and fixes; results per platform."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text

from app.core.checks import Check, Outcome
from app.core.units import human_size
from app.core.verify import ManifestResult
from app.ui.text import plain

MARKS = {
    Outcome.PASSED: ("✓", "bold green"),
    Outcome.FAILED: ("✗", "bold red"),
    Outcome.INFO: ("•", "bold cyan"),
    Outcome.NOT_APPLICABLE: ("–", "dim"),
    Outcome.UNKNOWN: ("?", "bold yellow"),
}


def checklist_text(checks: Iterable[Check], width: int = 24) -> Text:
    """One line per check, with the fix under failed or informational ones."""
    text = Text()
    for check in checks:
        mark, style = MARKS[check.outcome]
        text.append(f" {mark} ", style=style)
        text.append(f"{check.name:<{width}}", style="bold")
        # Details and fixes quote engine and registry answers (platforms, messages).
        detail_style = "dim" if check.outcome is Outcome.NOT_APPLICABLE else ""
        text.append_text(plain(check.detail, style=detail_style, multiline=True))
        text.append("\n")
        if check.fix and check.outcome in (Outcome.FAILED, Outcome.INFO, Outcome.UNKNOWN):
            text.append_text(plain(f"   {'':<{width}}fix: {check.fix}", "yellow", multiline=True))
            text.append("\n")
    return text


def platforms_text(results: Iterable[ManifestResult]) -> Text:
    """One line per manifest of an index (platforms first, then attestations), with each
    problem under it, naming the blob."""
    ordered = sorted(results, key=lambda result: result.attestation)
    width = max((len(result.label) for result in ordered), default=0) + 2
    text = Text()
    for result in ordered:
        mark, style = MARKS[Outcome.PASSED if result.ok else Outcome.FAILED]
        text.append(f"   {mark} ", style=style)
        text.append_text(plain(f"{result.label:<{width}}", "bold"))
        if result.layers is None:
            content = "manifest not read"
        else:
            layers = f"{result.layers} layer{'s' * (result.layers != 1)}"
            content = f"{layers}, {human_size(result.size)}"
        text.append_text(plain(f"{content}  {result.digest[:19]}…"))
        text.append("\n")
        for problem in result.problems:
            text.append_text(plain(f"     {problem}", "red"))
            text.append("\n")
    return text
