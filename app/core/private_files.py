"""Files only the user can read, in folders only the user can write: session logs, logins.json.

A folder others may write to lets them plant a link where dockpush is about to write (the
write then lands in a file the link names) or swap a file under it; a file others may read
leaks which registries the user logs in to and what they pushed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


@contextlib.contextmanager
def private_folder(folder: Path) -> Iterator[int]:
    """A descriptor of `folder`, created mode 0700 when missing and narrowed to 0700 when it
    is the user's own. Refuses a folder that is a symbolic link or belongs to someone else."""
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        info = os.fstat(descriptor)
        if info.st_uid != os.getuid():
            raise PermissionError(errno.EACCES, "the folder belongs to another user", folder)
        if stat.S_IMODE(info.st_mode) != FOLDER_MODE:
            os.fchmod(descriptor, FOLDER_MODE)
        yield descriptor
    finally:
        os.close(descriptor)


def create_private_file(folder: int, name: str) -> int:
    """A new file `name` in the open `folder`, mode 0600, for writing. Never an existing
    file and never through a symbolic link (FileExistsError instead)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    return os.open(name, flags, FILE_MODE, dir_fd=folder)


def replace_private_file(path: Path, text: str) -> None:
    """Replace `path` with `text` atomically: a temporary file with a unique name (mode 0600)
    in the same private folder, then a rename, so no reader sees half a file and no one can
    predict the temporary name. A link at `path` is replaced, never followed."""
    with private_folder(path.parent):
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
