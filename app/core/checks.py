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


@dataclass(frozen=True, slots=True)
class Check:
    """One checked item, its detail, and what to do when it failed."""

    name: str
    outcome: Outcome
    detail: str
    fix: str = ""
