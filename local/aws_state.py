"""The loopback AWS API's state on disk: a snapshot of moto's backends, taken and put back.

moto keeps every service in memory, in one `BackendDict` per service (account → region → backend
object). The embedded default keeps its data across restarts by pickling the backends of the services
clawbus uses and installing them again before the next start serves a request. That is faithful to
every store at once, queues included: an SQS message in flight keeps its wall-clock visibility
deadline, FIFO deduplication ids and group order come back as they were.

A snapshot file is a header line (this format's magic and version), a JSON line (`SnapshotHeader`:
the moto version that wrote it, when, which services), then the pickle. A file from another moto
version, another format or that does not unpickle is refused with `SnapshotUnusable`: moto's object
layout is not a stable interface, so only the pinned version's own snapshots are read back.

A pickle runs code when it is loaded: the file is the user's own (created 0600, in their 0700 data
directory), as trusted as the rest of that directory. `read_trusted` refuses one that another user owns
or that group or others may write, since whoever can write it can run code as the user.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from clawbus.bus.errors import ConfigError, SnapshotUnusable
from clawbus.bus.private_files import unsafe_reason, write_private
from clawbus.local.aws_ssm import import_ssm

# The services whose state clawbus keeps on the loopback API (see infra/iam.py for what it calls).
SERVICES = ("sqs", "sns", "dynamodb", "s3", "ssm", "secretsmanager", "scheduler")
MAGIC = b"clawbus-aws-state 1\n"

_LOCK = type(threading.Lock())
_RLOCK = type(threading.RLock())
_PLAIN_FACTORIES: tuple[type, ...] = (dict, list, set, int, str)


class SnapshotHeader(BaseModel):
    """What a snapshot says about itself, checked before its pickle is touched."""

    format: Literal[1] = 1
    moto: str
    saved_at: datetime
    services: list[str]
    journal_from: int = 0  # the first journal segment written after this state (`local.aws_journal`)


def moto_version() -> str:
    """The moto version serving (and pickling) the loopback API."""
    import moto

    return str(moto.__version__)


def _portable_factory(factory: Callable[[], Any]) -> Callable[[], Any]:
    """A picklable stand-in for a `defaultdict` factory written as a lambda (moto's SSM tags)."""
    probe = factory()
    if type(probe) in _PLAIN_FACTORIES:
        return type(probe)
    if isinstance(probe, defaultdict) and probe.default_factory in _PLAIN_FACTORIES:
        return partial(defaultdict, probe.default_factory)
    raise pickle.PicklingError(f"cannot save a defaultdict whose default is a {type(probe).__name__}")


class _BackendPickler(pickle.Pickler):
    """Pickles moto's objects; locks and conditions are saved as fresh ones (nothing holds them then)."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, threading.Condition):
            return threading.Condition, ()
        if isinstance(obj, _LOCK):
            return threading.Lock, ()
        if isinstance(obj, _RLOCK):
            return threading.RLock, ()
        if isinstance(obj, defaultdict):
            # Rebuilt without calling the class: moto's SSM ParameterDict takes other arguments.
            factory = obj.default_factory
            if factory is not None and getattr(factory, "__name__", "") == "<lambda>":
                factory = _portable_factory(factory)
            attrs = dict(getattr(obj, "__dict__", {}))
            return _rebuild_defaultdict, (type(obj), factory, attrs), None, None, iter(obj.items())
        return NotImplemented


def _rebuild_defaultdict(
    cls: type[defaultdict[Any, Any]], factory: Callable[[], Any] | None, attrs: dict[str, Any]
) -> defaultdict[Any, Any]:
    rebuilt = defaultdict.__new__(cls)
    defaultdict.__init__(rebuilt, factory)
    if attrs:
        rebuilt.__dict__.update(attrs)
    return rebuilt


def _backend_dict(service: str) -> Any:
    from moto.backends import get_backend

    if service == "ssm":
        import_ssm()  # without EC2 (0.9 CPU-s)

    return get_backend(service)  # type: ignore[call-overload]  # a name from SERVICES, checked by moto


def preload() -> None:
    """Import the backends of `SERVICES` now (seconds for some), so a save does not hold requests for it."""
    for service in SERVICES:
        _backend_dict(service)


def capture(now: datetime | None = None, journal_from: int = 0) -> bytes:
    """The state of `SERVICES` as snapshot bytes. Call it while no request is changing that state."""
    backends: dict[str, dict[str, dict[str, Any]]] = {}
    for service in SERVICES:
        held = _backend_dict(service)
        # dict.items, not the BackendDict's own lookups: those create backends as a side effect.
        accounts = {account: dict(dict.items(regions)) for account, regions in dict.items(held)}
        if accounts:
            backends[service] = accounts
    header = SnapshotHeader(
        moto=moto_version(),
        saved_at=now or datetime.now(UTC),
        services=sorted(backends),
        journal_from=journal_from,
    )
    buffer = io.BytesIO()
    buffer.write(MAGIC)
    buffer.write(header.model_dump_json().encode() + b"\n")
    _BackendPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(backends)
    return buffer.getvalue()


def read_header(data: bytes) -> tuple[SnapshotHeader, bytes]:
    """The header and the pickle of snapshot `data`; `SnapshotUnusable` saying why when it is not one."""
    if not data.startswith(MAGIC):
        raise SnapshotUnusable("not a clawbus AWS state file of format 1 (unknown first line)")
    line, _, body = data[len(MAGIC) :].partition(b"\n")
    try:
        header = SnapshotHeader.model_validate(json.loads(line))
    except (ValueError, ValidationError) as exc:
        raise SnapshotUnusable(f"its header is unreadable ({type(exc).__name__})") from exc
    if header.moto != moto_version():
        raise SnapshotUnusable(
            f"it was written by moto {header.moto} and this is moto {moto_version()}; "
            "moto's objects differ between versions"
        )
    return header, body


def restore(data: bytes) -> SnapshotHeader:
    """Install snapshot `data` into moto's (empty) backends; before the server serves anything.

    Raises `SnapshotUnusable` (nothing installed) when the data is not a snapshot this moto can read.
    """
    header, body = read_header(data)
    try:
        backends = pickle.loads(body)  # noqa: S301  # our own file, mode 0600 (module docstring)
    except Exception as exc:  # a truncated or foreign pickle fails in many ways; all mean "unusable"
        raise SnapshotUnusable(f"its contents do not load ({type(exc).__name__}: {exc})") from exc
    if not isinstance(backends, dict) or set(backends) - set(SERVICES):
        raise SnapshotUnusable("its contents are not moto backends of the services clawbus uses")
    for service, accounts in backends.items():
        held = _backend_dict(service)
        for account, regions in accounts.items():
            for region, backend in regions.items():
                held[account][region] = backend
    return header


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` all at once, 0600 (a crash leaves the old file or the new, never half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, data)


def read_trusted(path: Path) -> bytes:
    """The bytes of state file `path`, if it is safe to unpickle; `FileNotFoundError` when absent.

    Raises:
        ConfigError: the file belongs to another user or others may write it (the message says what
            to do); checked on the opened file, so it cannot be swapped between check and read.
    """
    fd = os.open(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as source:
        reason = unsafe_reason(os.fstat(source.fileno()))
        if reason is not None:
            raise ConfigError(
                f"refusing to load the saved AWS state {path}: {reason}. It is a pickle, and loading one "
                "runs code, so only a file of your own that nobody else can write is loaded. If you trust "
                f"it: chown it to yourself and chmod 600 {path}; if not, move it away (or start with "
                "'clawbus up --fresh', which keeps it aside) to start empty"
            )
        return source.read()


def move_aside(path: Path, why: str) -> Path:
    """Rename `path` to `<path>.<why>-<UTC time>` so nothing is lost; returns the new path."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = path.with_name(f"{path.name}.{why}-{stamp}")
    os.replace(path, target)
    return target
