"""The outcome of checking a saved login against its registry, kept for the session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class LoginState(StrEnum):
    """What a check of a login found; the value is the word shown beside the registry."""

    VALID = "valid"
    REJECTED = "rejected"
    UNREACHABLE = "unreachable"
    MISSING = "missing"

    @property
    def symbol(self) -> str:
        """✓ for accepted, ✗ for rejected, ? when the registry could not say."""
        return {LoginState.VALID: "✓", LoginState.REJECTED: "✗"}.get(self, "?")


@dataclass(frozen=True)
class LoginCheck:
    """One check of one registry's login: its state, the detail, and when it was made."""

    registry: str
    state: LoginState
    detail: str
    checked_at: datetime

    def label(self) -> str:
        """`✓ valid 14:02:11`: the mark shown beside the registry."""
        return f"{self.state.symbol} {self.state} {self.checked_at:%H:%M:%S}"
