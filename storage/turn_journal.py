"""A turn's step journal: what each step of an agent turn produced, in order, kept until the turn is in
its transcript.

The agent's loop calls the model and runs tools; the turn reaches the transcript only at its end, in
one append. A turn interrupted in between (the container killed, a model error after a tool ran) is run
again under the same turn id (the request's reply id), and without a journal its tools would run again:
a second cron job, a second line appended to a file, a second web request. So each step is written
here as it completes (the model's reply, then each tool call's result), and a re-run replays the
journal instead of calling the model and the tools again, until it is exhausted (issue 22).

A step is one JSON object at an index (0, 1, 2…) under `(agent id, turn id)`. `append` creates the step
only where the index is free (`VersionConflict` otherwise: another run of the same turn got there
first, so its entry stands); `discard` drops the turn's journal once the transcript holds the turn.

Backends: `LocalTurnJournal` (a directory, the embedded default beside local transcripts) and
`DynamoTurnJournal` (the `<prefix>-sessions` table beside the DynamoDB transcripts: `pk =
jr#<agentId>#<turnId>`, `sk = s#<index, 4 digits>`, `body` the step's JSON). A journal whose turn never
finished (given up, dead-lettered) stays until removed; a step is at most one tool result (50,000
characters) or one model reply, well within an item.

A journal lives `JOURNAL_TTL` (21 days) from its first step, then reads as empty: a turn that never
finished (given up, dead-lettered and never replayed) or, with the OpenClaw engine, a finished turn's
kept answer, does not stay forever. 21 days outlasts a message's whole life on the bus: 4 days on the
inbound queue, then up to 14 in its dead-letter queue (a FIFO queue's message starts its retention anew
there), so a replay within that time still finds its steps. DynamoDB items carry the TTL attribute
(`expires_at`, the sessions table's TTL); local journals are judged by their first step file's age, and
`LocalTurnJournal.sweep` removes expired ones (run when the agent opens its journal).
"""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from clawbus.bus.clock import Clock, epoch_s, utc_now
from clawbus.bus.errors import PermanentError, VersionConflict
from clawbus.bus.private_files import create_private, make_private_dirs
from clawbus.bus.topology import LEDGER_TTL_ATTRIBUTE
from clawbus.storage.records import Record, RecordStore
from clawbus.storage.records_dynamodb import DynamoRecordStore
from clawbus.storage.transcripts import check_id

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

Step = dict[str, Any]  # one journal entry (JSON object)

JOURNAL_TTL = timedelta(days=21)  # see module: longer than a message's life on the bus


class TurnJournalStore(Protocol):
    """The steps of a turn by index. `append` creates a step once; reads are side-effect free."""

    async def read(self, agent_id: str, turn_id: str) -> list[Step]:
        """The turn's steps in order (empty when none was written)."""
        ...

    async def append(self, agent_id: str, turn_id: str, index: int, step: Step) -> None:
        """Create step `index`. Raises `VersionConflict` when it exists (its first writer's stands)."""
        ...

    async def discard(self, agent_id: str, turn_id: str) -> None:
        """Forget the turn's steps (its transcript holds the turn now). Safe to repeat."""
        ...


def _decode(text: str | bytes, where: str) -> Step:
    try:
        step = json.loads(text)
    except ValueError as exc:
        raise PermanentError(f"turn journal step {where} is corrupt ({exc}); delete it") from exc
    if not isinstance(step, dict):
        raise PermanentError(f"turn journal step {where} is not a JSON object; delete it")
    return step


def _encode(step: Step) -> str:
    return json.dumps(step, ensure_ascii=False, separators=(",", ":"))


class LocalTurnJournal:
    """Journals in a directory: `<root>/<agentId>/journal/<turnId>/<index>.json`, one file per step,
    created with a hard link so a step is written whole and never replaced."""

    def __init__(self, root: Path, *, clock: Clock = utc_now) -> None:
        self._root = root
        self._clock = clock

    def _dir(self, agent_id: str, turn_id: str) -> Path:
        return self._root / check_id(agent_id, "agent id") / "journal" / check_id(turn_id, "turn id")

    @staticmethod
    def _expired(folder: Path, now: datetime) -> bool:
        """The journal's first step is older than `JOURNAL_TTL` (no first step: nothing to expire)."""
        try:
            written = (folder / "0.json").stat().st_mtime
        except FileNotFoundError:
            return False
        return written + JOURNAL_TTL.total_seconds() <= now.timestamp()

    async def read(self, agent_id: str, turn_id: str) -> list[Step]:
        """The steps, read in index order up to the first gap; an expired journal is removed first."""
        folder = self._dir(agent_id, turn_id)
        now = self._clock()

        def load() -> list[Step]:
            if self._expired(folder, now):
                shutil.rmtree(folder, ignore_errors=True)
            steps: list[Step] = []
            while (file := folder / f"{len(steps)}.json").is_file():
                steps.append(_decode(file.read_bytes(), str(file)))
            return steps

        return await asyncio.to_thread(load)

    async def append(self, agent_id: str, turn_id: str, index: int, step: Step) -> None:
        """Create the step's file; `VersionConflict` when it exists."""
        file = self._dir(agent_id, turn_id) / f"{index}.json"

        def create() -> bool:
            make_private_dirs(file.parent)
            return create_private(file, _encode(step).encode("utf-8"))

        if not await asyncio.to_thread(create):
            raise VersionConflict(f"turn journal {agent_id}/{turn_id}: step {index} exists")

    async def discard(self, agent_id: str, turn_id: str) -> None:
        """Remove the turn's directory."""
        folder = self._dir(agent_id, turn_id)
        await asyncio.to_thread(shutil.rmtree, folder, ignore_errors=True)

    async def sweep(self) -> int:
        """Remove every agent's expired journals; how many were removed."""
        now = self._clock()

        def remove() -> int:
            removed = 0
            for folder in self._root.glob("*/journal/*"):
                if folder.is_dir() and self._expired(folder, now):
                    shutil.rmtree(folder, ignore_errors=True)
                    removed += 1
            return removed

        return await asyncio.to_thread(remove)


class DynamoTurnJournal:
    """Journals as items of the `<prefix>-sessions` table (see module)."""

    def __init__(self, dynamodb: DynamoDBClient, table: str, *, clock: Clock = utc_now) -> None:
        self._records: RecordStore = DynamoRecordStore(
            dynamodb, table, range_key="sk", ttl_attribute=LEDGER_TTL_ATTRIBUTE
        )
        self._clock = clock

    @staticmethod
    def _pk(agent_id: str, turn_id: str) -> str:
        return f"jr#{check_id(agent_id, 'agent id')}#{check_id(turn_id, 'turn id')}"

    async def _items(self, agent_id: str, turn_id: str) -> list[Record]:
        return await self._records.query({"pk": self._pk(agent_id, turn_id)}, now=self._clock())

    async def read(self, agent_id: str, turn_id: str) -> list[Step]:
        """The steps in index order up to the first gap (one `Query`; expired steps read as absent)."""
        table = self._records.table
        steps: list[Step] = []
        for record in await self._items(agent_id, turn_id):
            if record.text("sk") != f"s#{len(steps):04d}":
                break
            steps.append(_decode(record.text("body"), f"{table} {record.text('pk')} {record.text('sk')}"))
        return steps

    async def append(self, agent_id: str, turn_id: str, index: int, step: Step) -> None:
        """One conditional `PutItem` (the step's index must be free, or its item expired)."""
        now = self._clock()
        item = {
            "pk": self._pk(agent_id, turn_id),
            "sk": f"s#{index:04d}",
            "body": _encode(step),
            LEDGER_TTL_ATTRIBUTE: epoch_s(now + JOURNAL_TTL),
        }
        try:
            await self._records.put_if_absent(item, now=now)
        except VersionConflict as exc:
            raise VersionConflict(f"turn journal {agent_id}/{turn_id}: step {index} exists") from exc

    async def discard(self, agent_id: str, turn_id: str) -> None:
        """Delete the turn's items."""
        for record in await self._items(agent_id, turn_id):
            await self._records.delete({"pk": record.text("pk"), "sk": record.text("sk")})
