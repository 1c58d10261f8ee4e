"""The stores `clawbus state import|export` moves state through, behind `openclaw.state_transfer`'s Protocols.

Each adapter is a thin translation between OpenClaw's on-disk shapes and one store of the storage layer;
the backends are the ones the settings choose for the stages (`bus.storage.backends`,
`agent.runtime.open_workspace_store` / `open_session_stores`), so an import lands exactly where the
agent, ingress and the cron service will read it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import json5

from clawbus.agent.fleet import settings_for_agent
from clawbus.agent.runtime import open_session_stores, open_workspace_store
from clawbus.bus.clients import ConfigClients, CronClients, open_stage_clients
from clawbus.bus.errors import ConfigError, PermanentError, TargetGone
from clawbus.bus.settings import Settings
from clawbus.bus.topology import pairing_table_name
from clawbus.ingress.core.gate import normalise_entry
from clawbus.ingress.core.pairing import PairingRequest
from clawbus.ingress.pairing_store import DynamoPairingStore
from clawbus.openclaw.model_credentials import MODEL_SECRET, model_secret_name
from clawbus.openclaw.routing_config import roster
from clawbus.openclaw.state_dir import AgentSessions
from clawbus.openclaw.state_transfer import StateSinks
from clawbus.storage import (
    ConfigStore,
    SecretsManagerStore,
    SessionIndex,
    SessionRef,
    TranscriptStore,
    channel_secret_name,
    config_store,
    export_jsonl,
    import_jsonl,
    secret_store,
)
from clawbus.storage.cron.service import connect
from clawbus.storage.identity_links import IdentityLinkStore, identity_link_store
from clawbus.storage.sessions import LAST_ROUTE_FIELDS, SessionEntry, parse_entry


class ConfigAdapter:
    """The config document as JSON5 text in the config store, seen as a parsed object."""

    def __init__(self, store: ConfigStore) -> None:
        self._store = store

    async def read_document(self) -> dict[str, Any] | None:
        found = await self._store.read()
        if found is None or not found.text.strip():
            return None
        try:
            value = json5.loads(found.text)
        except ValueError as exc:
            raise PermanentError(
                f"the stored config is not valid JSON5 ({exc}); fix it in the config store"
            ) from exc
        return value if isinstance(value, dict) else None

    async def write_document(self, document: Mapping[str, Any]) -> None:
        current = await self._store.read()
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        await self._store.write(text, if_version=None if current is None else current.version)


class SecretsAdapter:
    """Secrets by short name (`telegram`, `whatsapp-auth-<account>`) under the deployment's prefix."""

    def __init__(self, store: SecretsManagerStore, prefix: str) -> None:
        self._store = store
        self._prefix = prefix

    def _id(self, name: str) -> str:
        if name == MODEL_SECRET:
            return model_secret_name(self._prefix)
        if name.startswith("whatsapp-auth-"):
            return f"{self._prefix}/whatsapp/auth/{name.removeprefix('whatsapp-auth-')}"
        return channel_secret_name(self._prefix, name)

    async def read_values(self, name: str) -> dict[str, str] | None:
        try:
            secret_id = self._id(name)
            if name.startswith("whatsapp-auth-") or name == MODEL_SECRET:
                values = await self._store.get_document(secret_id)
            else:
                values = await self._store.get(secret_id)
        except TargetGone:
            return None
        return {key: value.get_secret_value() for key, value in values.items()}

    async def write_values(self, name: str, values: Mapping[str, str]) -> None:
        await self._store.put(self._id(name), values)

    async def names(self) -> Sequence[str]:
        found: list[str] = []
        channels_prefix = channel_secret_name(self._prefix, "")
        auth_prefix = f"{self._prefix}/whatsapp/auth/"
        for secret_id in await self._store.names(f"{self._prefix}/"):
            if secret_id.startswith(auth_prefix):
                found.append("whatsapp-auth-" + secret_id.removeprefix(auth_prefix))
            elif secret_id == model_secret_name(self._prefix):
                found.append(MODEL_SECRET)
            elif secret_id.startswith(channels_prefix):
                found.append(secret_id.removeprefix(channels_prefix))
        return found


def _iso_time(value: Any, fallback: datetime) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return fallback
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return fallback


class PairingAdapter:
    """The pairing store with OpenClaw's request shape (`{id, code, createdAt, lastSeenAt}`)."""

    def __init__(self, store: DynamoPairingStore) -> None:
        self._store = store

    async def paired(self, channel: str, account: str) -> frozenset[str]:
        return await self._store.paired(channel, account)

    async def unknown_senders(self, channel: str, account: str, senders: Sequence[str]) -> list[str]:
        paired = await self._store.paired(channel, account)
        return [s for s in senders if normalise_entry(channel, s) not in paired]

    async def add_paired(self, channel: str, account: str, senders: Sequence[str]) -> int:
        await self._store.add_paired(channel, account, senders)
        return len(senders)

    async def pending_requests(self, channel: str, account: str) -> list[dict[str, Any]]:
        return [
            {
                "id": r.sender_id,
                "code": r.code,
                "createdAt": r.created_at.isoformat().replace("+00:00", "Z"),
                "lastSeenAt": r.last_seen_at.isoformat().replace("+00:00", "Z"),
            }
            for r in await self._store.pending(channel, account, datetime.now(UTC))
        ]

    async def add_pending(self, channel: str, account: str, requests: Sequence[Mapping[str, Any]]) -> int:
        now = datetime.now(UTC)
        parsed = [
            PairingRequest(
                sender_id=str(r["id"]),
                code=str(r["code"]).upper(),
                created_at=_iso_time(r.get("createdAt"), now),
                last_seen_at=_iso_time(r.get("lastSeenAt"), now),
            )
            for r in requests
            if r.get("id") and r.get("code")
        ]
        return await self._store.add_pending(channel, account, parsed, now)

    async def accounts(self) -> Sequence[tuple[str, str]]:
        return await self._store.accounts()


class SessionsAdapter:
    """The session index and transcript store, per agent, in OpenClaw's file shapes."""

    def __init__(self, index: SessionIndex, transcripts: TranscriptStore, agents: Sequence[str]) -> None:
        self._index = index
        self._transcripts = transcripts
        self._agents = agents

    async def has_session(self, agent_id: str, session_id: str) -> bool:
        return bool(await self._transcripts.page(SessionRef(agent_id, session_id), limit=1))

    async def import_session(
        self,
        agent_id: str,
        session_key: str | None,
        entry: Mapping[str, Any] | None,
        lines: Sequence[Mapping[str, Any]],
    ) -> None:
        await import_jsonl(
            self._transcripts, agent_id, [json.dumps(line, ensure_ascii=False) for line in lines]
        )
        if session_key is not None and entry is not None:
            imported = parse_entry(dict(entry), f"sessions.json[{session_key!r}]")
            # a key the agent already uses keeps its live session; the imported transcript is still stored.
            # The dispatcher's route-only placeholder is no session: the import replaces it, keeping the
            # (trusted) route it holds.
            await self._index.update(agent_id, session_key, lambda current: _merged(current, imported))

    async def export_agent(self, agent_id: str) -> AgentSessions:
        entries = await self._index.entries(agent_id)
        out = AgentSessions(index={key: json.loads(entry.to_json()) for key, entry in entries.items()})
        for entry in entries.values():
            lines = await export_jsonl(self._transcripts, SessionRef(agent_id, entry.session_id))
            if lines:
                out.transcripts[entry.session_id] = [json.loads(line) for line in lines]
        return out

    async def agents(self) -> Sequence[str]:
        return self._agents


def _merged(current: SessionEntry | None, imported: SessionEntry) -> SessionEntry:
    if current is None:
        return imported
    if current.started:
        return current
    return imported.model_copy(update={name: getattr(current, name) for name in LAST_ROUTE_FIELDS})


def _agents(config: Mapping[str, Any] | None, default_agent: str) -> list[str]:
    """The agent ids of the config's roster (`agents.entries`, else `agents.list[]`), the default first."""
    _key, roster_ = roster(config or {})
    return [default_agent, *(agent_id for agent_id, _entry in roster_ if agent_id != default_agent)]


class LinksAdapter:
    """The identity links `/link` stored, for the export."""

    def __init__(self, store: IdentityLinkStore) -> None:
        self._store = store

    async def links(self) -> Mapping[str, Sequence[str]]:
        return await self._store.links(datetime.now(UTC))


@asynccontextmanager
async def open_sinks(
    settings: Settings, roster_from: Mapping[str, Any] | None = None
) -> AsyncIterator[StateSinks]:
    """Every store of the deployment `settings` name, as `StateSinks`, for the life of the block; the
    agents are those of `roster_from` (an imported config), else of the stored config."""
    async with AsyncExitStack() as stack:
        stores = await stack.enter_async_context(open_stage_clients(settings, ConfigClients))
        cron = await stack.enter_async_context(open_stage_clients(settings, CronClients))
        secrets = secret_store(settings, stores)
        if not isinstance(secrets, SecretsManagerStore):
            raise ConfigError("state import/export needs the Secrets Manager secret store")
        config = ConfigAdapter(config_store(settings, stores))
        stored = await config.read_document() if roster_from is None else roster_from
        agents = _agents(stored, settings.session.agent_id)
        transcripts, index, _ = await open_session_stores(settings, stack)
        others = {
            agent_id: await open_workspace_store(settings_for_agent(settings, agent_id), stack, agent_id)
            for agent_id in agents[1:]
        }
        pairing_table = pairing_table_name(settings.bus.prefix)
        yield StateSinks(
            config=config,
            secrets=SecretsAdapter(secrets, settings.bus.prefix),
            workspace=await open_workspace_store(settings, stack, settings.session.agent_id),
            pairing=PairingAdapter(DynamoPairingStore(cron.dynamodb, pairing_table)),
            cron=await connect(settings, cron),
            sessions=SessionsAdapter(index, transcripts, agents),
            agent_workspaces=others,
            links=LinksAdapter(identity_link_store(cron.dynamodb, pairing_table)),
        )
