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
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from clawbus.bus.clock import utc_now
from clawbus.bus.errors import PermanentError, VersionConflict
from clawbus.bus.private_files import create_private, make_private_dirs
from clawbus.storage.records import Absent, Record, RecordStore
from clawbus.storage.records_dynamodb import DynamoRecordStore
from clawbus.storage.transcripts import check_id

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

Step = dict[str, Any]  # one journal entry (JSON object)


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

    def __init__(self, root: Path) -> None:
        self._root = root

    def _dir(self, agent_id: str, turn_id: str) -> Path:
        return self._root / check_id(agent_id, "agent id") / "journal" / check_id(turn_id, "turn id")

    async def read(self, agent_id: str, turn_id: str) -> list[Step]:
        """The steps, read in index order up to the first gap."""
        folder = self._dir(agent_id, turn_id)

        def load() -> list[Step]:
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


class DynamoTurnJournal:
    """Journals as items of the `<prefix>-sessions` table (see module)."""

    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._records: RecordStore = DynamoRecordStore(dynamodb, table, range_key="sk")

    @staticmethod
    def _pk(agent_id: str, turn_id: str) -> str:
        return f"jr#{check_id(agent_id, 'agent id')}#{check_id(turn_id, 'turn id')}"

    async def _items(self, agent_id: str, turn_id: str) -> list[Record]:
        return await self._records.query({"pk": self._pk(agent_id, turn_id)}, now=utc_now())

    async def read(self, agent_id: str, turn_id: str) -> list[Step]:
        """The steps in index order (one `Query`)."""
        table = self._records.table
        return [
            _decode(r.text("body"), f"{table} {r.text('pk')} {r.text('sk')}")
            for r in await self._items(agent_id, turn_id)
        ]

    async def append(self, agent_id: str, turn_id: str, index: int, step: Step) -> None:
        """One conditional `PutItem` (the step's index must be free)."""
        item = {"pk": self._pk(agent_id, turn_id), "sk": f"s#{index:04d}", "body": _encode(step)}
        try:
            await self._records.put(item, condition=Absent())
        except VersionConflict as exc:
            raise VersionConflict(f"turn journal {agent_id}/{turn_id}: step {index} exists") from exc

    async def discard(self, agent_id: str, turn_id: str) -> None:
        """Delete the turn's items."""
        for record in await self._items(agent_id, turn_id):
            await self._records.delete({"pk": record.text("pk"), "sk": record.text("sk")})
