"""What was done in this session: actions, equivalent docker commands, digests, outcomes.

Entries are built from references, user names, digests and error titles only; nothing
that holds a secret is ever passed in, so a saved log can be shared as it is.
"""

from __future__ import annotations

import contextlib
import errno
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from platformdirs import user_state_dir

from app.core.plaintext import printable
from app.core.private_files import create_private_file, private_folder

# Tries at a free name when the default one is taken (two saves in one second, or a planted
# file or link there: it is left alone and the next name is used).
_NAME_ATTEMPTS = 100


def state_dir() -> Path:
    """dockpush's state folder, where session logs go (DOCKPUSH_STATE_DIR overrides the
    platform default, e.g. ~/.local/state/dockpush)."""
    return Path(os.environ.get("DOCKPUSH_STATE_DIR") or user_state_dir("dockpush"))


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
        """The log as text: one block per entry, control characters made visible.

        Entries quote references, user names and engine answers; shown with `cat`, an escape
        sequence in one would act on the reader's terminal, and a newline could forge an entry.
        """
        lines = ["# dockpush session log", ""]
        for entry in self.entries:
            action, outcome = printable(entry.action), printable(entry.outcome)
            lines.append(f"{entry.at:%Y-%m-%d %H:%M:%S}  {action}: {outcome}")
            if entry.command:
                lines.append(f"    $ {printable(entry.command)}")
        return "\n".join(lines) + "\n"

    def save(self, folder: Path | None = None, at: datetime | None = None) -> Path:
        """Write the log to a new file `dockpush-session-<time>.log` in `folder` (default: the
        state folder; either is made private) and return its full path. The file is created,
        never overwritten and never reached through a link; only the user can read it."""
        folder = (folder or state_dir()).expanduser().absolute()
        stem = f"dockpush-session-{at or datetime.now():%Y%m%d-%H%M%S}"
        text = self.render()
        with private_folder(folder) as directory:
            for attempt in range(_NAME_ATTEMPTS):
                name = f"{stem}.log" if attempt == 0 else f"{stem}-{attempt + 1}.log"
                try:
                    handle = create_private_file(directory, name)
                except FileExistsError:
                    continue
                try:
                    with os.fdopen(handle, "w", encoding="utf-8") as out:
                        out.write(text)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(name, dir_fd=directory)  # no half-written log left behind
                    raise
                return folder / name
        raise FileExistsError(errno.EEXIST, "no free file name for the log", folder / stem)
