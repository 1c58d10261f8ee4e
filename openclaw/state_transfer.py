"""Moving an OpenClaw state directory into the storage layer and back (`clawbus state import|export`): the
narrow sinks both directions use, and the report.

`state_import.import_state` walks what `read_openclaw_dir` found and hands each piece to its store through
the `StateSinks` below; `state_export.export_state` asks the same stores for everything and builds an
`OpenClawDir`; `cron_transfer` converts cron jobs and runs.
Both are safe to repeat: an import never duplicates (a workspace file, secret, session or cron job that
is already there is left alone unless `overwrite`; allowlists are unions), and a dry run touches nothing
but reads the stores to say what *would* change.

Channel credentials found in `openclaw.json` and `.env` go to the secrets store (one secret per channel)
and are removed from the config document the config store keeps. So do model-provider keys (`.env`'s
`*_API_KEY`, `env.vars`, API-key auth profiles): one secret, `model-credentials`, which the OpenClaw
engine puts into its gateway's environment (`openclaw/model_credentials.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from clawbus.openclaw.state_dir import AgentSessions
from clawbus.schemas.cron import CronJob, CronRun
from clawbus.storage import WorkspaceStore

Outcome = Literal["added", "replaced", "unchanged", "kept", "skipped"]


class ConfigSink(Protocol):
    """The config store, as import/export sees it."""

    async def read_document(self) -> dict[str, Any] | None: ...

    async def write_document(self, document: Mapping[str, Any]) -> None: ...


class SecretSink(Protocol):
    """The secrets store: one JSON object of names to values per secret."""

    async def read_values(self, name: str) -> dict[str, str] | None: ...

    async def write_values(self, name: str, values: Mapping[str, str]) -> None: ...

    async def names(self) -> Sequence[str]: ...


class PairingSink(Protocol):
    """The pairing store: paired senders and pending requests (OpenClaw's request shape)."""

    async def paired(self, channel: str, account: str) -> frozenset[str]: ...

    async def unknown_senders(self, channel: str, account: str, senders: Sequence[str]) -> list[str]: ...

    async def add_paired(self, channel: str, account: str, senders: Sequence[str]) -> int: ...

    async def pending_requests(self, channel: str, account: str) -> list[dict[str, Any]]: ...

    async def add_pending(self, channel: str, account: str, requests: Sequence[Mapping[str, Any]]) -> int: ...

    async def accounts(self) -> Sequence[tuple[str, str]]: ...


class CronSink(Protocol):
    """The cron service: jobs (with their schedules) and their run history."""

    async def list_jobs(self, *, include_disabled: bool = False) -> list[CronJob]: ...

    async def restore(self, job: CronJob) -> None: ...

    async def runs(self, job_id: str, limit: int = 50) -> list[CronRun]: ...

    async def restore_runs(self, runs: Sequence[CronRun]) -> int: ...


class SessionSink(Protocol):
    """The session index and transcripts of every agent."""

    async def has_session(self, agent_id: str, session_id: str) -> bool: ...

    async def import_session(
        self,
        agent_id: str,
        session_key: str | None,
        entry: Mapping[str, Any] | None,
        lines: Sequence[Mapping[str, Any]],
    ) -> None: ...

    async def export_agent(self, agent_id: str) -> AgentSessions: ...

    async def agents(self) -> Sequence[str]: ...


class LinkSink(Protocol):
    """The identity links `/link` made (`storage.identity_links`), as `session.identityLinks` has them."""

    async def links(self) -> Mapping[str, Sequence[str]]: ...


@dataclass
class StateSinks:
    """Every store the transfer writes to: `workspace` is the default agent's, `agent_workspaces` every
    other agent's of the roster (by id); `links` the stored identity links (None: not read)."""

    config: ConfigSink
    secrets: SecretSink
    workspace: WorkspaceStore
    pairing: PairingSink
    cron: CronSink
    sessions: SessionSink
    agent_workspaces: Mapping[str, WorkspaceStore] = field(default_factory=dict)
    links: LinkSink | None = None


@dataclass
class TransferReport:
    """What happened to each item: `(kind, name, outcome, detail)` rows, in order."""

    rows: list[tuple[str, str, Outcome, str]] = field(default_factory=list)

    def add(self, kind: str, name: str, outcome: Outcome, detail: str = "") -> None:
        self.rows.append((kind, name, outcome, detail))

    def counts(self) -> dict[str, dict[str, int]]:
        """Per kind, how many items had each outcome."""
        out: dict[str, dict[str, int]] = {}
        for kind, _, outcome, _ in self.rows:
            out.setdefault(kind, {}).setdefault(outcome, 0)
            out[kind][outcome] += 1
        return out


Progress = Callable[[str], None]


__all__ = [
    "ConfigSink",
    "CronSink",
    "LinkSink",
    "PairingSink",
    "SecretSink",
    "SessionSink",
    "StateSinks",
    "TransferReport",
]
