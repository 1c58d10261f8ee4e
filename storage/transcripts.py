"""Session transcripts: a session's entries, in order, appended a batch at a time with a conditional seq.

An entry is one OpenClaw (pi) transcript line as a JSON object: `{type, id, parentId, timestamp, …}`
with `type` `session` (the header), `message`, `compaction`, `custom`, `model_change`… Entries form a
tree through `parentId`; nothing is ever rewritten, and a compaction is appended like anything else.

Entries are stored in *batches*: each append (one turn's entries, or a slice of an import) is one record
with a sequence number `seq` (0, 1, 2…). The append names the `seq` it expects to create; a second
writer racing for the same `seq` gets `VersionConflict` (the caller re-reads the tail and retries), so
nothing is silently overwritten and a turn's entries land all or nothing. A batch may carry the turn's
id (the request's reply id) and the reply it produced: a re-run of the same turn finds it with
`find_turn` and answers the stored reply instead of appending twice.

The prompt needs only the *tail*: the batches from the last compaction's first kept entry on.
`read_tail` reads backwards until it has them (each compaction batch records `kept_from`, the seq of the
batch holding its `firstKeptEntryId`); `page` reads older batches for history views and exports.

Backends: `LocalTranscriptStore` (a directory, no AWS), `DynamoTranscriptStore`
(`transcripts_dynamodb.py`) and `AgentCoreMemoryTranscriptStore` (`transcripts_agentcore.py`).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from clawbus.bus.errors import PermanentError, VersionConflict
from clawbus.bus.private_files import append_private, make_private_dirs

Entry = dict[str, Any]  # one OpenClaw transcript line (JSON object)
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def check_id(value: str, what: str) -> str:
    """`value` if it is a safe agent/session id (letters, digits, `._-`, up to 128), else `PermanentError`."""
    if not _SAFE_ID.match(value) or ".." in value:
        raise PermanentError(f"{what} {value!r} must match [A-Za-z0-9][A-Za-z0-9._-]{{0,127}}")
    return value


@dataclass(frozen=True)
class SessionRef:
    """Which transcript: an agent and one of its session ids (OpenClaw's `<sessionId>.jsonl`)."""

    agent_id: str
    session_id: str

    def __post_init__(self) -> None:
        check_id(self.agent_id, "agent id")
        check_id(self.session_id, "session id")


@dataclass(frozen=True)
class Batch:
    """One append: its `seq`, its entries in order, and, for a turn, its id and the reply it gave.

    `kept_from` is set on a batch holding a compaction: the seq of the batch with the compaction's
    `firstKeptEntryId` (the tail starts there).
    """

    seq: int
    entries: tuple[Entry, ...]
    turn_id: str | None = None
    reply: Mapping[str, Any] | None = None
    kept_from: int | None = None

    @property
    def has_compaction(self) -> bool:
        """Whether a compaction entry is in this batch."""
        return any(e.get("type") == "compaction" for e in self.entries)

    def to_json(self) -> str:
        """The batch as one JSON object (the stored body)."""
        return json.dumps(
            {
                "seq": self.seq,
                "turn": self.turn_id,
                "reply": self.reply,
                "keptFrom": self.kept_from,
                "entries": list(self.entries),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | bytes, where: str) -> Batch:
        """A stored body; `PermanentError` naming `where` when it is not one."""
        try:
            data = json.loads(text)
            return cls(
                seq=int(data["seq"]),
                entries=tuple(dict(e) for e in data["entries"]),
                turn_id=data.get("turn"),
                reply=data.get("reply"),
                kept_from=data.get("keptFrom"),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise PermanentError(
                f"transcript batch at {where} is corrupt ({exc}); restore it from backup"
            ) from exc


@dataclass(frozen=True)
class Tail:
    """The batches the prompt needs (from the last compaction's kept entry on), oldest first.

    `next_seq` is the seq the next append must create.
    """

    batches: tuple[Batch, ...] = ()
    next_seq: int = 0

    @property
    def entries(self) -> list[Entry]:
        """The tail's entries in order."""
        return [e for b in self.batches for e in b.entries]

    def seq_of(self, entry_id: str) -> int | None:
        """The seq of the batch holding `entry_id`, if it is in the tail."""
        for batch in self.batches:
            if any(e.get("id") == entry_id for e in batch.entries):
                return batch.seq
        return None

    def turn(self, turn_id: str) -> Batch | None:
        """The tail's batch appended by turn `turn_id`, if any."""
        return next((b for b in self.batches if b.turn_id == turn_id), None)


def tail_of(batches_newest_first: Sequence[Batch]) -> tuple[Batch, ...]:
    """The tail within `batches_newest_first` (all of them when no compaction is among them), oldest first."""
    kept: list[Batch] = []
    stop: int | None = None
    for batch in batches_newest_first:
        if stop is not None and batch.seq < stop:
            break
        kept.append(batch)
        if stop is None and batch.has_compaction:
            stop = batch.seq if batch.kept_from is None else min(batch.kept_from, batch.seq)
    return tuple(reversed(kept))


def needs_more(batches_newest_first: Sequence[Batch]) -> bool:
    """Whether a backwards read must go on: no compaction yet, or its kept batch not reached."""
    stop: int | None = None
    for batch in batches_newest_first:
        if batch.has_compaction:
            stop = batch.seq if batch.kept_from is None else min(batch.kept_from, batch.seq)
            break
    if stop is None:
        return True
    return batches_newest_first[-1].seq > stop


class TranscriptStore(Protocol):
    """Ordered transcript batches per session. Reads are side-effect free; `append` either created the
    batch at `seq` once or raised `VersionConflict` (someone else has that seq: re-read, retry)."""

    async def read_tail(self, session: SessionRef) -> Tail:
        """The batches from the last compaction's first kept entry on (everything when none)."""
        ...

    async def page(self, session: SessionRef, *, before: int | None = None, limit: int = 50) -> list[Batch]:
        """Up to `limit` batches with seq < `before` (None: the newest), newest first."""
        ...

    async def append(self, session: SessionRef, batch: Batch) -> None:
        """Create `batch` at `batch.seq`. Raises `VersionConflict` when that seq exists."""
        ...

    async def find_turn(self, session: SessionRef, turn_id: str) -> Batch | None:
        """The batch appended by turn `turn_id`, or None. A backend may miss a turn whose append was
        interrupted after the batch was written; that batch is the newest, so check `Tail.turn` too."""
        ...


@dataclass
class _LocalSession:
    batches: list[Batch] = field(default_factory=list)
    loaded: bool = False


class LocalTranscriptStore:
    """Transcripts in a local directory (development, no AWS): `<root>/<agentId>/<sessionId>.batches.jsonl`,
    one batch per line. A lock makes check-and-append atomic within the process."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._lock = asyncio.Lock()
        self._cache: dict[SessionRef, _LocalSession] = {}

    def _file(self, session: SessionRef) -> Path:
        return self._root / session.agent_id / f"{session.session_id}.batches.jsonl"

    async def _load(self, session: SessionRef) -> list[Batch]:
        state = self._cache.setdefault(session, _LocalSession())
        if not state.loaded:
            file = self._file(session)
            text = await asyncio.to_thread(lambda: file.read_text("utf-8") if file.is_file() else "")
            state.batches = [Batch.from_json(line, str(file)) for line in text.splitlines() if line.strip()]
            state.loaded = True
        return state.batches

    async def read_tail(self, session: SessionRef) -> Tail:
        """The tail, read from the whole file."""
        async with self._lock:
            batches = await self._load(session)
            return Tail(tail_of(list(reversed(batches))), len(batches))

    async def page(self, session: SessionRef, *, before: int | None = None, limit: int = 50) -> list[Batch]:
        """Older batches, newest first."""
        async with self._lock:
            batches = await self._load(session)
        older = [b for b in batches if before is None or b.seq < before]
        return list(reversed(older))[:limit]

    async def append(self, session: SessionRef, batch: Batch) -> None:
        """Append one line; `VersionConflict` unless `batch.seq` is the next one."""
        async with self._lock:
            batches = await self._load(session)
            if batch.seq != len(batches):
                raise VersionConflict(
                    f"transcript {session.agent_id}/{session.session_id}: seq {batch.seq} is taken "
                    f"(next is {len(batches)}); re-read and retry"
                )
            file = self._file(session)
            line = batch.to_json() + "\n"

            def write() -> None:
                make_private_dirs(file.parent)
                with append_private(file) as out:
                    out.write(line.encode("utf-8"))

            await asyncio.to_thread(write)
            batches.append(batch)

    async def find_turn(self, session: SessionRef, turn_id: str) -> Batch | None:
        """The turn's batch, searching the whole file."""
        async with self._lock:
            batches = await self._load(session)
        return next((b for b in batches if b.turn_id == turn_id), None)
