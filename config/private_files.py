"""Owner-only files and directories. The data directory holds password hashes, token digests, the session secret
and personal data (in the database, Prefect's run parameters and the mailbox), so what the tracker creates there
is 0700 (directories) and 0600 (files), whatever the umask, and a file it reopens is tightened to 0600 if needed."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` and any missing parents as owner-only directories. Existing directories keep their mode (the
    operator chose it); what goes inside is owner-only anyway."""
    missing = []
    for candidate in (path, *path.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(directory, DIR_MODE)  # mkdir's mode passes through the umask; a umask never widens 0700
    return path


def private_file(path: Path) -> Path:
    """Make sure `path` exists, readable and writable by its owner only. Creating it before SQLite opens it is what
    makes a database private: SQLite gives its -wal and -shm files the mode of the database file."""
    private_dir(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    restrict(path)
    return path


def restrict(path: Path) -> None:
    """Take group and other permissions away from an existing file we own (one made by an older version)."""
    try:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            os.chmod(path, mode & 0o700)
    except (FileNotFoundError, PermissionError):
        pass


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text`, owner-only, atomically (written aside, then renamed into place)."""
    private_dir(path.parent)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    draft.unlink(missing_ok=True)
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.replace(draft, path)
