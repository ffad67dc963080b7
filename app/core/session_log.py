"""What was done in this session: actions, equivalent docker commands, digests, outcomes.

Entries are built from references, user names, digests and error titles only; nothing
that holds a secret is ever passed in, so a saved log can be shared as it is.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One thing that happened."""

    at: datetime
    action: str
    command: str
    outcome: str


@dataclass
class SessionLog:
    """The session's entries, in order."""

    entries: list[LogEntry] = field(default_factory=list)

    def record(self, action: str, command: str, outcome: str, at: datetime | None = None) -> None:
        """Add an entry (`command` is the docker CLI equivalent, or "")."""
        self.entries.append(LogEntry(at or datetime.now(), action, command, outcome))

    def render(self) -> str:
        """The log as text: one block per entry."""
        lines = ["# dockpush session log", ""]
        for entry in self.entries:
            lines.append(f"{entry.at:%Y-%m-%d %H:%M:%S}  {entry.action}: {entry.outcome}")
            if entry.command:
                lines.append(f"    $ {entry.command}")
        return "\n".join(lines) + "\n"

    def save(self, path: Path) -> Path:
        """Write atomically: a temporary file in the same folder, then a rename."""
        path = path.expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".dockpush-log-")
        try:
            with os.fdopen(handle, "w") as out:
                out.write(self.render())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return path
