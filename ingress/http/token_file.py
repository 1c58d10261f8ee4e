"""The run's WebChat token, kept in a file of its own in the data dir (`<data-dir>/webchat-token`).

`clawbus up` makes it once per data dir and reuses it across restarts; ingress reads it
(`CLAWBUS_WEBCHAT__TOKEN_FILE`), and so does `clawbus say`. Deleting the file rotates the token: the next
`clawbus up` makes a new one, and every browser and conversation bound to the old one is locked out.

The file is created with mode 0600 from its first byte (`bus/private_files.py`: opened so, with `O_EXCL`),
filled, then hard-linked into place, so no other user ever sees it readable and no reader ever sees it half
written; of two `clawbus up` racing to make it, the second links onto an existing name and reads the
first one's token instead. A token file that another user owns, or that group or others may read, is
refused: whoever could read it holds the owner's conversations.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import stat
from pathlib import Path

from clawbus.bus.errors import ConfigError
from clawbus.bus.private_files import create_private, private_dir

FILE_NAME = "webchat-token"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,256}")


def token_path(data_dir: Path) -> Path:
    """Where a data dir keeps its WebChat token."""
    return data_dir / FILE_NAME


def client_id(token: str) -> str:
    """What a conversation stores about the token that created it: a hash, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def read_token(path: Path) -> str:
    """The token in `path`.

    Raises:
        FileNotFoundError: there is no token file (yet).
        ConfigError: the file is not ours, others may read it, or it does not hold a token.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "r", encoding="ascii", errors="replace") as file:
        info = os.fstat(file.fileno())
        if info.st_uid != os.getuid():
            raise ConfigError(f"WebChat token file {path} belongs to another user (uid {info.st_uid})")
        if info.st_mode & 0o077:
            mode = stat.S_IMODE(info.st_mode)
            raise ConfigError(
                f"WebChat token file {path} may be read by others (mode {mode:04o}): delete it so the next "
                "'clawbus up' makes a new token (the old one may have leaked)"
            )
        text = file.read(1024).strip()
    if not _TOKEN.fullmatch(text):
        raise ConfigError(f"WebChat token file {path} does not hold a token: delete it to make a new one")
    return text


def ensure_token(path: Path) -> tuple[str, bool]:
    """The token in `path`, made (0600, atomically) when there is none; and whether it was made now.

    Raises:
        ConfigError: an existing file is unsafe or unreadable as a token (see `read_token`).
        OSError: the data dir cannot be written.
    """
    try:
        return read_token(path), False
    except FileNotFoundError:
        pass
    private_dir(path.parent)
    token = secrets.token_urlsafe(24)  # 192 bits, 32 characters: the URL fits an 80-column banner
    if not create_private(path, (token + "\n").encode("ascii")):
        return read_token(path), False  # another `clawbus up` made it first: use theirs
    return token, True
