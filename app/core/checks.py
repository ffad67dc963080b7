"""A named check with its outcome and the fix: shared by the pre-flight and verification."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    """A check's result."""

    PASSED = "passed"
    FAILED = "failed"
    INFO = "info"
    NOT_APPLICABLE = "not applicable"
    UNKNOWN = "unknown"  # could not be established: shown as such, never as passed


@dataclass(frozen=True, slots=True)
class Check:
    """One checked item, its detail, and what to do when it failed."""

    name: str
    outcome: Outcome
    detail: str
    fix: str = ""
