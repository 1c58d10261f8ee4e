"""The session index: per session key, which transcript is current and what is known about the session.

OpenClaw keeps this as `sessions.json` (`sessionKey -> SessionEntry`); clawbus keeps the same entries,
with OpenClaw's camelCase fields, one per session key: in `<prefix>-sessions` (`pk = index#<agentId>`,
`sk = <session key>`, the entry's JSON in `entry`, a `version` counter) or, without AWS, in a
local `sessions.json` per agent. Fields clawbus does not use are kept as they were imported.

Every change is a read-modify-write: `update(agent, key, change)` reads the entry, applies `change`
(a pure function of the current entry) and writes it back on condition that `version` has not moved; on a
lost race it re-reads and re-applies, so two turns updating one session at once lose nothing. The local
file is also locked across processes (the dispatcher and the agent both write it).

The last route (`deliveryContext`, `lastChannel`, `lastTo`, `lastAccountId`, `lastThreadId`: where
heartbeats and cron announcements go) is written by the dispatcher only, through `with_last_route`, and
only for a direct message from a trusted sender; it marks the entry `lastRouteTrusted`. A route without
that mark (imported from OpenClaw, or written by an older clawbus for any message) is never announced
to (`trusted_route`). When the entry does not exist yet the dispatcher leaves a placeholder holding only
the route (`started` false), which the agent's first turn in that session replaces by a started session
that keeps the route.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from clawbus.bus.clock import utc_now
from clawbus.bus.errors import PermanentError, VersionConflict
from clawbus.bus.private_files import append_private, make_private_dirs, write_private
from clawbus.storage.reads_dynamodb import SharedReads
from clawbus.storage.records import VERSION_ATTRIBUTE, RecordStore
from clawbus.storage.records_dynamodb import DynamoRecordStore
from clawbus.storage.transcripts import check_id

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

MAX_ATTEMPTS = 8


class DeliveryContext(BaseModel):
    """The last route: where the session's user last spoke from (heartbeats and cron answer there)."""

    model_config = ConfigDict(frozen=True, extra="allow", alias_generator=to_camel, populate_by_name=True)

    channel: str | None = None
    to: str | None = None
    account_id: str | None = None
    thread_id: str | None = None


class SessionEntry(BaseModel):
    """One session key's entry (OpenClaw's `SessionEntry`; times are epoch milliseconds)."""

    model_config = ConfigDict(frozen=True, extra="allow", alias_generator=to_camel, populate_by_name=True)

    session_id: str
    updated_at: int = 0
    session_started_at: int | None = None
    last_interaction_at: int | None = None
    chat_type: str | None = None
    channel: str | None = None
    delivery_context: DeliveryContext | None = None
    last_channel: str | None = None
    last_to: str | None = None
    last_account_id: str | None = None
    last_thread_id: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    context_tokens: int | None = None
    compaction_count: int = Field(default=0, ge=0)
    # clawbus: the turn that started this session (a re-run of that turn must not reset it again).
    reset_by_turn: str | None = None
    # clawbus: the last route was moved by the dispatcher for a trusted DM (see `trusted_route`).
    last_route_trusted: bool | None = None
    # OpenClaw's per-session `/queue` override (absent: the configured queue settings apply).
    queue_mode: str | None = None
    queue_debounce_ms: int | None = None
    queue_cap: int | None = None
    queue_drop: str | None = None
    # A thread's or forum topic's parent conversation (OpenClaw's `parentSessionKey`).
    parent_session_key: str | None = None

    @property
    def started(self) -> bool:
        """Whether a turn ever touched this session; False for the dispatcher's route-only placeholder."""
        return not (
            self.updated_at == 0 and self.session_started_at is None and self.last_interaction_at is None
        )

    def to_json(self) -> str:
        """The entry as OpenClaw writes it (camelCase, unset fields left out)."""
        return self.model_dump_json(by_alias=True, exclude_none=True)


QUEUE_FIELDS = ("queue_mode", "queue_debounce_ms", "queue_cap", "queue_drop")  # kept over a reset
LAST_ROUTE_FIELDS = (
    "delivery_context",
    "last_channel",
    "last_to",
    "last_account_id",
    "last_thread_id",
    "last_route_trusted",
)


def trusted_route(entry: SessionEntry | None) -> DeliveryContext | None:
    """The entry's last route if the dispatcher set it for a trusted DM, else None (nowhere to announce).

    Read from `deliveryContext`, falling back to OpenClaw's flat `lastChannel`/`lastTo` fields; a route
    without a channel and a chat is no route.
    """
    if entry is None or not entry.last_route_trusted:
        return None
    route = entry.delivery_context or DeliveryContext(
        channel=entry.last_channel,
        to=entry.last_to,
        account_id=entry.last_account_id,
        thread_id=entry.last_thread_id,
    )
    return route if route.channel and route.to else None


def with_last_route(route: DeliveryContext, new_session_id: str) -> Change:
    """The change that makes `route` the entry's (trusted) last route.

    On an absent entry it makes a placeholder (`new_session_id`, nothing else but the route), which the
    agent's first turn there replaces, keeping the route. It returns the current entry itself when that
    already holds `route`, so `SessionIndex.update` writes nothing.
    """
    fields = {
        "delivery_context": route,
        "last_channel": route.channel,
        "last_to": route.to,
        "last_account_id": route.account_id,
        "last_thread_id": route.thread_id,
        "last_route_trusted": True,
    }

    def change(current: SessionEntry | None) -> SessionEntry:
        if current is None:
            return SessionEntry.model_validate({"session_id": new_session_id, **fields})
        if all(getattr(current, name) == value for name, value in fields.items()):
            return current
        return current.model_copy(update=fields)

    return change


def parse_entry(data: Any, where: str) -> SessionEntry:
    """A stored or imported entry; `PermanentError` naming `where` when it is not one."""
    try:
        return SessionEntry.model_validate(data)
    except ValidationError as exc:
        raise PermanentError(
            f"session entry {where} is not a valid SessionEntry: {exc.errors()[:2]}"
        ) from exc


Change = Callable[[SessionEntry | None], SessionEntry]


class SessionIndex(Protocol):
    """Session entries by (agent, session key), changed without lost updates."""

    async def get(self, agent_id: str, session_key: str) -> SessionEntry | None:
        """The entry, or None."""
        ...

    async def update(self, agent_id: str, session_key: str, change: Change) -> SessionEntry:
        """Apply `change` to the current entry and store the result; re-applied on a lost race. A change
        returning the current entry itself writes nothing. Raises `VersionConflict` after `MAX_ATTEMPTS`
        lost races."""
        ...

    async def entries(self, agent_id: str) -> dict[str, SessionEntry]:
        """Every entry of the agent, by session key."""
        ...


class LocalSessionIndex:
    """`<root>/<agentId>/sessions.json`, OpenClaw's own file format, behind a process-wide lock."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._lock = asyncio.Lock()

    def _file(self, agent_id: str) -> Path:
        return self._root / check_id(agent_id, "agent id") / "sessions.json"

    async def _read(self, agent_id: str) -> dict[str, SessionEntry]:
        file = self._file(agent_id)
        text = await asyncio.to_thread(lambda: file.read_text("utf-8") if file.is_file() else "{}")
        return parse_sessions_json(text, str(file))

    async def get(self, agent_id: str, session_key: str) -> SessionEntry | None:
        """The entry, or None."""
        async with self._lock:
            return (await self._read(agent_id)).get(session_key)

    async def update(self, agent_id: str, session_key: str, change: Change) -> SessionEntry:
        """Read, change and rewrite the file (atomically replaced) under the process's lock and an
        exclusive `flock` on `.sessions.lock` beside it, which the other processes writing it take too."""
        async with self._lock:
            return await asyncio.to_thread(self._update_locked, self._file(agent_id), session_key, change)

    @staticmethod
    def _update_locked(file: Path, session_key: str, change: Change) -> SessionEntry:
        make_private_dirs(file.parent)
        with append_private(file.parent / ".sessions.lock") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            text = file.read_text("utf-8") if file.is_file() else "{}"
            entries = parse_sessions_json(text, str(file))
            current = entries.get(session_key)
            entries[session_key] = change(current)
            if entries[session_key] is current:
                return current
            write_private(file, render_sessions_json(entries).encode("utf-8"))
            return entries[session_key]

    async def entries(self, agent_id: str) -> dict[str, SessionEntry]:
        """Every entry of the agent."""
        async with self._lock:
            return await self._read(agent_id)


class DynamoSessionIndex:
    """The index in `<prefix>-sessions`: `pk = index#<agentId>`, `sk = <session key>`, versioned (on the
    layer's `RecordStore`); its reads share `BatchGetItem` requests when built with `reads`."""

    def __init__(self, dynamodb: DynamoDBClient, table: str, reads: SharedReads | None = None) -> None:
        self._records: RecordStore = DynamoRecordStore(dynamodb, table, range_key="sk", reads=reads)
        self._table = table

    @staticmethod
    def _key(agent_id: str, session_key: str) -> dict[str, str]:
        return {"pk": f"index#{check_id(agent_id, 'agent id')}", "sk": session_key}

    async def _get(self, agent_id: str, session_key: str) -> tuple[SessionEntry | None, int]:
        record = await self._records.get(self._key(agent_id, session_key), now=utc_now())
        if record is None:
            return None, 0
        entry = parse_entry(record.json("entry"), f"{self._table} {agent_id}/{session_key}")
        return entry, record.whole(VERSION_ATTRIBUTE, 0)

    async def get(self, agent_id: str, session_key: str) -> SessionEntry | None:
        """The entry, or None."""
        return (await self._get(agent_id, session_key))[0]

    async def update(self, agent_id: str, session_key: str, change: Change) -> SessionEntry:
        """A versioned put; re-read and re-apply `change` when another writer won."""
        for _attempt in range(MAX_ATTEMPTS):
            current, version = await self._get(agent_id, session_key)
            updated = change(current)
            if current is not None and updated is current:
                return current  # nothing changed: no write
            try:
                await self._records.put_if_version(
                    {**self._key(agent_id, session_key), "entry": updated.to_json()}, version
                )
            except VersionConflict:
                continue
            return updated
        raise VersionConflict(
            f"session {agent_id}/{session_key}: {MAX_ATTEMPTS} concurrent updates in a row; retry the turn"
        )

    async def entries(self, agent_id: str) -> dict[str, SessionEntry]:
        """Every entry of the agent (one Query, paged)."""
        records = await self._records.query({"pk": f"index#{check_id(agent_id, 'agent id')}"}, now=utc_now())
        return {r.text("sk"): parse_entry(r.json("entry"), f"{self._table} {r.text('sk')}") for r in records}


def parse_sessions_json(text: str, where: str = "sessions.json") -> dict[str, SessionEntry]:
    """OpenClaw's `sessions.json` (a map session key -> entry). `PermanentError` when it is not one."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise PermanentError(f"{where} is not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise PermanentError(f"{where} must be an object of session key -> entry")
    return {str(key): parse_entry(value, f"{where}[{key!r}]") for key, value in data.items()}


def render_sessions_json(entries: dict[str, SessionEntry]) -> str:
    """Entries as OpenClaw's `sessions.json` (sorted keys, two-space indent)."""
    data = {key: json.loads(entries[key].to_json()) for key in sorted(entries)}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


async def import_sessions_json(index: SessionIndex, agent_id: str, text: str) -> int:
    """Store every entry of a `sessions.json` under `agent_id` (replacing same keys); how many.

    Safe to re-run: importing the same file twice leaves the same entries.
    """
    entries = parse_sessions_json(text)
    for key, entry in entries.items():
        await index.update(agent_id, key, lambda _current, entry=entry: entry)  # type: ignore[misc]
    return len(entries)


async def export_sessions_json(index: SessionIndex, agent_id: str) -> str:
    """The agent's entries as a `sessions.json` text."""
    return render_sessions_json(await index.entries(agent_id))
