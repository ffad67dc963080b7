"""A list of checks with ✓ ✗ • – marks, their details and fixes."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text

from app.core.checks import Check, Outcome

MARKS = {
    Outcome.PASSED: ("✓", "bold green"),
    Outcome.FAILED: ("✗", "bold red"),
    Outcome.INFO: ("•", "bold cyan"),
    Outcome.NOT_APPLICABLE: ("–", "dim"),
}


def checklist_text(checks: Iterable[Check], width: int = 24) -> Text:
    """One line per check, with the fix under failed or informational ones."""
    text = Text()
    for check in checks:
        mark, style = MARKS[check.outcome]
        text.append(f" {mark} ", style=style)
        text.append(f"{check.name:<{width}}", style="bold")
        text.append(
            f"{check.detail}\n", style="dim" if check.outcome is Outcome.NOT_APPLICABLE else ""
        )
        if check.fix and check.outcome in (Outcome.FAILED, Outcome.INFO):
            text.append(f"   {'':<{width}}fix: {check.fix}\n", style="yellow")
    return text
