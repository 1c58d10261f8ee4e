"""Files of the embedded default that only their owner may read: created private, never widened later.

The data directory (`~/.clawbus` or `clawbus up --data-dir`) holds the loopback AWS API's state (every
store, channel tokens included), its credentials, the stages' logs and the stage board. It is made 0700;
the files in it, and the files `clawbus state export` writes, are created 0600 by `os.open` with that
mode, so there is no moment in which a freshly written file is readable by others (a write followed by
a chmod has one). An older file or directory found with wider modes is narrowed when it is opened again.

`unsafe_reason` says why a file must not be trusted: the loopback API's state file is a pickle, and
loading a pickle runs code, so one that another user owns or could have written is refused.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import BinaryIO

from clawbus.bus.errors import ConfigError

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_dir(path: Path) -> Path:
    """Create `path` (and its missing parents) as 0700 directories; narrow `path` to 0700 if it is wider.

    Parents that exist are left as they are. Returns `path`.

    Raises:
        ConfigError: `path` exists but belongs to another user, or every user may write it (`/tmp`):
            another user could put files in it, and narrowing a shared directory would break it.
    """
    make_private_dirs(path)
    info = path.stat()
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid != os.getuid() or mode & (0o002 | stat.S_ISVTX):
        why = "belongs to another user" if info.st_uid != os.getuid() else f"is shared (mode {mode:04o})"
        raise ConfigError(
            f"{path} {why}: clawbus writes private files only into a directory of your own that others "
            "cannot write — choose another, e.g. a new one under your home directory"
        )
    if mode & 0o077:
        os.chmod(path, PRIVATE_DIR)
    return path


def _written_beside(path: Path, data: bytes) -> Path:
    """A new temporary file beside `path`, created 0600 and exclusively (never an existing file or
    link), holding `data` flushed to disk."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def make_private_dirs(path: Path) -> Path:
    """Create `path` and its missing parents as 0700 directories; directories that exist are left as
    they are. Returns `path`."""
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):  # mkdir(parents=True) would give the parents default modes
        directory.mkdir(mode=PRIVATE_DIR, exist_ok=True)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` with `data` at once, as a 0600 file (a crash leaves the old file or the new): the
    data goes to a private temporary file beside `path`, then renamed over it."""
    temp = _written_beside(path, data)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def create_private(path: Path, data: bytes) -> bool:
    """Create `path` holding `data` as a 0600 file unless it exists; whether this call created it.

    Never replaces: of two processes racing to create it, one wins and the other gets False (and
    reads the winner's file). A reader never sees it half written: the data goes to a private temporary
    file first, which is then hard-linked into place.
    """
    temp = _written_beside(path, data)
    try:
        os.link(temp, path)
    except FileExistsError:
        return False
    finally:
        temp.unlink(missing_ok=True)
    return True


def append_private(path: Path) -> BinaryIO:
    """`path` opened for appending (a log), created 0600; an existing file wider than that is narrowed."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
        return os.fdopen(fd, "ab")
    except BaseException:
        os.close(fd)
        raise


def unsafe_reason(info: os.stat_result) -> str | None:
    """Why a file with this `stat` must not be trusted (another owner, writable by group or others)."""
    if info.st_uid != os.getuid():
        return f"it belongs to user id {info.st_uid}, not to you (user id {os.getuid()})"
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o022:
        return f"its mode {mode:04o} lets other users write it"
    return None
