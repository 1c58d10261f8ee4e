"""Records: DynamoDB-style items by key, with conditional writes, an optimistic version and TTL on read.

Every table clawbus keeps (ledger, pairing, WebChat history, cron) is a `RecordStore`: items are plain
dicts (`str`, `int`, `float`, `bool`, `bytes`, `None`, lists, dicts and `frozenset[str]` for string
sets) with string key attributes. A write may carry a `Condition` — `Absent()`, `Compare(...)`, and
`AnyOf`/`AllOf` of them — and a lost condition raises `VersionConflict`, never a silent overwrite.
Two shapes cover most callers:

- `put_if_absent(item, now=...)`: create, or replace an item whose TTL ran out (dedup, ledgers);
- `put_if_version(item, expected)`: the item's `version` attribute must still be `expected` (0: absent);
  `mutate(store, key, change)` is the read-change-write loop over it that retries lost races.

TTL: DynamoDB deletes expired items lazily (hours later), and the loopback API never does, so reads drop
an item whose TTL attribute is at or before `now` themselves. Reads give `Record`s, whose typed accessors
raise `CorruptRecord` naming the table, the key and how to repair it when an attribute is missing or of
the wrong type. Writes over DynamoDB's 400 KB item limit raise `TooLarge` before anything is sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from clawbus.bus.clock import epoch_s, utc_now
from clawbus.bus.errors import CorruptRecord, TooLarge, Unavailable, VersionConflict

Item = dict[str, Any]
Key = Mapping[str, str]
Scalar = str | int | float
VERSION_ATTRIBUTE = "version"
MAX_ITEM_BYTES = 400 * 1024  # DynamoDB's item size limit (names and values, UTF-8)
_MISSING: Any = object()
_Model = TypeVar("_Model", bound=BaseModel)


@dataclass(frozen=True)
class Absent:
    """The item does not exist."""


@dataclass(frozen=True)
class Compare:
    """The item's `attribute` compares to `value` (an absent attribute compares false)."""

    attribute: str
    op: Literal["=", "<>", "<", "<=", ">", ">="]
    value: Scalar


@dataclass(frozen=True)
class AnyOf:
    """At least one of `conditions` holds."""

    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class AllOf:
    """Every one of `conditions` holds."""

    conditions: tuple[Condition, ...]


Condition = Absent | Compare | AnyOf | AllOf


def absent_or_expired(ttl_attribute: str, now: datetime) -> Condition:
    """The item is absent, or its TTL ran out at or before `now` (so it counts as absent on read too)."""
    return AnyOf((Absent(), Compare(ttl_attribute, "<=", epoch_s(now))))


def item_size(item: Mapping[str, Any]) -> int:
    """An upper estimate of an item's DynamoDB size: attribute names plus values as UTF-8."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, Mapping):
        return 3 + item_size(value)
    if isinstance(value, list | tuple | set | frozenset):
        return 3 + sum(1 + _value_size(v) for v in value)
    return 21  # numbers take up to 21 bytes; booleans and null one


def check_size(table: str, key: Key, item: Mapping[str, Any]) -> None:
    """`TooLarge` when `item` would be over DynamoDB's 400 KB limit, naming the record."""
    size = item_size(item)
    if size > MAX_ITEM_BYTES:
        raise TooLarge(
            f"record {dict(key)} for {table} is about {size} bytes, over DynamoDB's 400 KB item limit; "
            "keep large bodies in the state bucket (a blob) and store its key in the record"
        )


@dataclass(frozen=True)
class Record:
    """One item as read, with typed accessors that turn a malformed item into `CorruptRecord`."""

    table: str
    key: Mapping[str, str]
    fields: Item = field(default_factory=dict)

    def corrupt(self, reason: str) -> CorruptRecord:
        """The error for this record being malformed: what is wrong, and how to get rid of it."""
        key = json.dumps({k: {"S": v} for k, v in self.key.items()})
        return CorruptRecord(
            f"record {dict(self.key)} in {self.table} is corrupt: {reason}; delete it "
            f"(aws dynamodb delete-item --table-name {self.table} --key '{key}') "
            "or restore it from a backup — the store writes it again when it is next needed"
        )

    def _typed(self, name: str, kind: type | tuple[type, ...], default: Any) -> Any:
        value = self.fields.get(name, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                raise self.corrupt(f"attribute {name!r} is missing")
            return default
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise self.corrupt(f"attribute {name!r} is a {type(value).__name__}, not the expected type")
        return value

    def text(self, name: str, default: Any = _MISSING) -> str:
        """A string attribute (`default` when absent, else `CorruptRecord`)."""
        return self._typed(name, str, default)  # type: ignore[no-any-return]  # checked by _typed

    def whole(self, name: str, default: Any = _MISSING) -> int:
        """A whole-number attribute."""
        return self._typed(name, int, default)  # type: ignore[no-any-return]  # checked by _typed

    def string_set(self, name: str, default: Any = _MISSING) -> frozenset[str]:
        """A string-set attribute."""
        return self._typed(name, frozenset, default)  # type: ignore[no-any-return]  # checked by _typed

    def string_list(self, name: str, default: Any = _MISSING) -> list[str]:
        """A list-of-strings attribute."""
        value = self._typed(name, list, default)
        if not all(isinstance(v, str) for v in value):
            raise self.corrupt(f"attribute {name!r} holds something other than strings")
        return list(value)

    def json(self, name: str) -> Any:
        """A string attribute holding JSON, parsed."""
        try:
            return json.loads(self.text(name))
        except json.JSONDecodeError as exc:
            raise self.corrupt(f"attribute {name!r} is not valid JSON ({exc.msg})") from exc

    def model(self, model: type[_Model], name: str = "body") -> _Model:
        """A string attribute holding a pydantic model's JSON, validated."""
        try:
            return model.model_validate_json(self.text(name))
        except ValidationError as exc:
            raise self.corrupt(
                f"attribute {name!r} is not a valid {model.__name__} ({exc.error_count()} errors)"
            ) from exc


class RecordStore(Protocol):
    """One table of records. Reads and `put_if_absent`/`put_if_version` retries are safe; a conditional
    write either happened once or raised `VersionConflict`. AWS trouble comes out classified
    (`Throttled` and `Unavailable` are retryable)."""

    @property
    def table(self) -> str:
        """The table's name (for messages)."""
        ...

    async def get(self, key: Key, *, now: datetime) -> Record | None:
        """The record, or None when absent or expired at `now`."""
        ...

    async def get_many(self, keys: Sequence[Key], *, now: datetime) -> list[Record]:
        """The records that exist and have not expired among `keys` (at most 100), in no order."""
        ...

    async def put(self, item: Item, *, condition: Condition | None = None) -> None:
        """Write `item` whole (when `condition` holds, else `VersionConflict`)."""
        ...

    async def put_if_absent(self, item: Item, *, now: datetime) -> None:
        """Create `item`, or replace one whose TTL ran out; `VersionConflict` when a live one exists."""
        ...

    async def put_if_version(self, item: Item, expected: int) -> int:
        """Write `item` with `version = expected + 1` if the stored version is `expected` (0: no item);
        the new version, or `VersionConflict`."""
        ...

    async def put_all(self, items: Sequence[Item], *, condition: Condition | None = None) -> None:
        """Write every item or none (one transaction); `VersionConflict` when any condition fails."""
        ...

    async def update(
        self,
        key: Key,
        *,
        set_: Mapping[str, Any] | None = None,
        add: Mapping[str, frozenset[str] | int] | None = None,
        condition: Condition | None = None,
    ) -> Record:
        """Set attributes and add to sets or counters in place (creating the item); the item after."""
        ...

    async def delete(self, key: Key, *, condition: Condition | None = None) -> None:
        """Delete the record (nothing happens when it is already gone and there is no condition)."""
        ...

    async def query(
        self,
        partition: Key,
        *,
        after: str | None = None,
        before: str | None = None,
        newest_first: bool = False,
        limit: int | None = None,
        now: datetime,
    ) -> list[Record]:
        """Records of one partition by sort key (those after `after`, or before `before`: one bound at a
        time), expired ones left out."""
        ...


async def mutate(
    store: RecordStore,
    key: Key,
    change: Callable[[Record | None], Item],
    *,
    attempts: int = 8,
) -> tuple[Item, int]:
    """Read the record, `change` it, write it back with `put_if_version`; again when another writer won.

    `change` gets the current record (None when absent) and returns the whole new item (key included);
    it may run several times, so it must not have side effects. Returns the item written and its version;
    `Unavailable` (retryable) after `attempts` lost races.
    """
    for _ in range(attempts):
        current = await store.get(key, now=utc_now())  # as `put_if_version` sees expiry
        expected = current.whole(VERSION_ATTRIBUTE, 0) if current is not None else 0
        item = change(current)
        try:
            return item, await store.put_if_version(item, expected)
        except VersionConflict:
            continue
    raise Unavailable(
        f"record {dict(key)} in {store.table} is contended ({attempts} writers won first); retry"
    )
