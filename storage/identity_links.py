"""Cross-channel identity links made with `/link`: one-time codes, attempt counters and the links.

A user sends `/link` on one account and gets a short code; sending `/link <code>` from another account
(another channel, or another id on the same one) makes both the same person: the session key builder
then resolves the second account to the first one's canonical name, as a `session.identityLinks` entry
would (docs/configuration.md "Linking accounts"). Three kinds of items live in the pairing table
(`<prefix>-pairing`, hash key `pk`, TTL attribute `expires_at`, which reads honour themselves):

- `link-code#<digits>`: who asked (channel, account, sender) and the canonical name they resolve to;
  it expires after `CODE_TTL` (10 minutes) and is single-use: redeeming sets `uses` from 0 to 1 under a
  condition, so of two concurrent redeemers exactly one wins;
- `link-rate#<channel>#<sender>#<window>`: an atomic counter of a sender's `/link` commands in one fixed
  window of `RATE_WINDOW` (expires with it);
- `identity#<channel>#<sender>`: the canonical name an account resolves to (no TTL: a link lasts until
  it is replaced by a newer one);
- `identity-index`: the set of linked accounts (`<channel>#<sender>`), so `clawbus state export` can
  list every link (`links`; a table has no listing of its own here). Links made before the index
  existed are not in it until they are made again.

Sender ids are stored as given; callers pass them normalised (`ingress.core.gate.normalise_entry`).
The time is always passed in (`bus/clock.py`), so expiry and windows follow the caller's clock.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from clawbus.bus.clock import epoch_s
from clawbus.bus.errors import VersionConflict
from clawbus.storage.backends import record_store
from clawbus.storage.records import Compare, RecordStore, absent_or_expired

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

CODE_TTL = timedelta(minutes=10)
CODE_DIGITS = 6
RATE_WINDOW = timedelta(minutes=10)
MAX_ATTEMPTS = 5  # `/link` commands (asking or redeeming) per sender per window
TTL_ATTRIBUTE = "expires_at"
_INDEX = {"pk": "identity-index"}
_BATCH = 100  # keys per `get_many`
_DRAWS = 20


@dataclass(frozen=True)
class LinkCode:
    """A live code: who asked for it, and the canonical name the redeemer will share."""

    code: str
    channel: str
    account: str
    sender: str
    canonical: str
    expires_at: datetime


def show_code(code: str) -> str:
    """`123456` as people read it: `123-456`."""
    return f"{code[:3]}-{code[3:]}"


def read_code(text: str) -> str | None:
    """The code in what a user typed (`123-456`, `123 456`, `123456`), or None when it cannot be one."""
    digits = "".join(ch for ch in text if ch not in " -")
    return digits if len(digits) == CODE_DIGITS and digits.isascii() and digits.isdigit() else None


def window_of(now: datetime) -> int:
    """The rate window `now` falls in (fixed windows of `RATE_WINDOW` since the epoch)."""
    return epoch_s(now) // int(RATE_WINDOW.total_seconds())


def within_rate(attempts: int) -> bool:
    """Whether the `attempts`-th command of a window (counting this one) may run."""
    return attempts <= MAX_ATTEMPTS


class IdentityLinkStore:
    """The `/link` records of one table (a `RecordStore`, DynamoDB or the loopback API)."""

    def __init__(self, records: RecordStore, randbelow: Callable[[int], int] = secrets.randbelow) -> None:
        self._records = records
        self._randbelow = randbelow

    async def canonical(self, channel: str, sender: str, now: datetime) -> str | None:
        """The canonical name `channel:sender` was linked to, or None."""
        record = await self._records.get({"pk": _identity(channel, sender)}, now=now)
        return record.text("canonical") if record is not None else None

    async def count_attempt(self, channel: str, sender: str, now: datetime) -> int:
        """Count one `/link` command of `sender` in the current window; how many it has made there."""
        window = window_of(now)
        ends = (window + 1) * int(RATE_WINDOW.total_seconds())
        record = await self._records.update(
            {"pk": f"link-rate#{channel}#{sender}#{window}"}, add={"count": 1}, set_={TTL_ATTRIBUTE: ends}
        )
        return record.whole("count")

    async def issue(self, channel: str, account: str, sender: str, canonical: str, now: datetime) -> LinkCode:
        """A fresh code for `sender` (one not live for anybody else), valid for `CODE_TTL`."""
        expires = now + CODE_TTL
        for _ in range(_DRAWS):
            code = "".join(str(self._randbelow(10)) for _ in range(CODE_DIGITS))
            item = {
                "pk": f"link-code#{code}",
                "channel": channel,
                "account": account,
                "sender": sender,
                "canonical": canonical,
                "uses": 0,
                TTL_ATTRIBUTE: epoch_s(expires),
            }
            try:
                await self._records.put(item, condition=absent_or_expired(TTL_ATTRIBUTE, now))
            except VersionConflict:
                continue  # that code is live for someone else: draw again
            return LinkCode(code, channel, account, sender, canonical, expires)
        raise RuntimeError("could not draw a free link code")  # 10**6 codes, a handful live

    async def redeem(self, code: str, now: datetime) -> LinkCode | None:
        """Use `code` up; the code's record, or None when it is unknown, expired or already used."""
        key = {"pk": f"link-code#{code}"}
        record = await self._records.get(key, now=now)
        if record is None or record.whole("uses", 0) != 0:
            return None
        try:
            await self._records.put({**record.fields, "uses": 1}, condition=Compare("uses", "=", 0))
        except VersionConflict:
            return None  # another redeemer was first
        return LinkCode(
            code,
            record.text("channel"),
            record.text("account"),
            record.text("sender"),
            record.text("canonical"),
            datetime.fromtimestamp(record.whole(TTL_ATTRIBUTE), tz=now.tzinfo),
        )

    async def link(self, channel: str, sender: str, canonical: str, now: datetime) -> None:
        """Make `channel:sender` resolve to `canonical` from now on (replacing an earlier link)."""
        await self._records.put(
            {"pk": _identity(channel, sender), "canonical": canonical, "linked_at": epoch_s(now)}
        )
        await self._records.update(_INDEX, add={"accounts": frozenset({f"{channel}#{sender}"})})

    async def links(self, now: datetime) -> dict[str, list[str]]:
        """Every stored link as `session.identityLinks` writes them: canonical name → `channel:sender`."""
        index = await self._records.get(_INDEX, now=now)
        accounts = sorted(index.string_set("accounts", frozenset())) if index is not None else []
        found: dict[str, list[str]] = {}
        for start in range(0, len(accounts), _BATCH):
            keys = [{"pk": f"identity#{account}"} for account in accounts[start : start + _BATCH]]
            for record in await self._records.get_many(keys, now=now):
                account = record.text("pk").removeprefix("identity#")
                found.setdefault(record.text("canonical"), []).append(account.replace("#", ":", 1))
        return {name: sorted(ids) for name, ids in sorted(found.items())}


def identity_link_store(dynamodb: DynamoDBClient, table: str) -> IdentityLinkStore:
    """The `/link` records in `table` (the pairing table)."""
    return IdentityLinkStore(record_store(dynamodb, table, ttl_attribute=TTL_ATTRIBUTE))


def _identity(channel: str, sender: str) -> str:
    return f"identity#{channel}#{sender}"
