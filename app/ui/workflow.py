"""What the person has chosen so far, shared by the workflow screens."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.core.credentials import Login
from app.core.reference import Reference
from app.core.steps import StepStates
from app.core.tagging import TagFields


@dataclass(frozen=True)
class Source:
    """A local image chosen in the browser: how to name it to the engine, and its id."""

    reference: str
    image_id: str
    repository: str
    tags: tuple[str, ...]


@dataclass
class Workflow:
    """The workflow's state: sources, the targets made from them, the login, the outcomes."""

    sources: list[Source] = field(default_factory=list)
    targets: list[Reference] = field(default_factory=list)
    logins: dict[str, Login] = field(default_factory=dict)
    pushed: dict[str, str] = field(default_factory=dict)
    # What was typed in the tag form, kept when going back and forth between the steps.
    tag_fields: TagFields | None = None
    # What is true of each step, for the stepper (app/core/steps.py).
    steps: StepStates = field(default_factory=StepStates)

    def source_for_targets(self) -> dict[str, str]:
        """Which source reference each target was made from (for the equivalent commands)."""
        if len(self.sources) != 1:
            return {}
        return {str(target): self.sources[0].reference for target in self.targets}
