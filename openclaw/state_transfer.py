"""Move an OpenClaw state directory into the storage layer and back (`clawbus state import|export`).

`import_state` walks what `read_openclaw_dir` found and hands each piece to its store through the narrow
`StateSinks` below; `export_state` asks the same stores for everything and builds an `OpenClawDir`.
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
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from pydantic import ValidationError

from clawbus.bus.errors import ClawbusError, VersionConflict
from clawbus.openclaw.model_credentials import (
    MODEL_SECRET,
    from_auth_profiles,
    from_config,
    from_env_file,
    without_env_vars,
)
from clawbus.openclaw.state_dir import (
    CREDENTIALS,
    AgentSessions,
    OpenClawDir,
    channel_secrets,
    without_secrets,
)
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


@dataclass
class StateSinks:
    """Every store the transfer writes to (the agent's workspace is the default agent's)."""

    config: ConfigSink
    secrets: SecretSink
    workspace: WorkspaceStore
    pairing: PairingSink
    cron: CronSink
    sessions: SessionSink


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


def cron_job_from_openclaw(job: Mapping[str, Any]) -> CronJob:
    """OpenClaw's job record (`createdAtMs`, `state` …) as clawbus's; raises `ValidationError`."""
    data = dict(job)
    for ms, name in (("createdAtMs", "createdAt"), ("updatedAtMs", "updatedAt")):
        value = data.pop(ms, None)
        if isinstance(value, int | float) and name not in data:
            data[name] = datetime.fromtimestamp(value / 1000, UTC)
    data.pop("state", None)  # run state is recomputed from Scheduler and the run history
    return CronJob.model_validate(data)


def cron_job_to_openclaw(job: CronJob) -> dict[str, Any]:
    """A clawbus job in OpenClaw's `jobs.json` shape."""
    data = job.model_dump(
        mode="json", exclude_none=True, exclude={"schema_version", "created_at", "updated_at"}
    )
    data.pop("schema_version", None)
    data["createdAtMs"] = int(job.created_at.timestamp() * 1000)
    data["updatedAtMs"] = int(job.updated_at.timestamp() * 1000)
    data.setdefault("state", {})
    return data


def cron_run_to_openclaw(run: CronRun) -> dict[str, Any]:
    """A run in OpenClaw's `runs/<jobId>.jsonl` line shape."""
    line: dict[str, Any] = {
        "ts": int(run.ts.timestamp() * 1000),
        "jobId": run.job_id,
        "action": "finished",
        "status": run.status,
        "sessionKey": run.session_key,
        "deliveryStatus": run.delivery_status,
        "delivered": run.delivery_status == "delivered",
    }
    if run.duration_ms is not None:
        line["durationMs"] = run.duration_ms
    if run.error:
        line["error"] = run.error
    return line


def cron_run_from_openclaw(job: CronJob, line: Mapping[str, Any]) -> CronRun:
    """One line of OpenClaw's `runs/<jobId>.jsonl` as a clawbus run; raises `ValidationError`/`KeyError`."""
    ts = datetime.fromtimestamp(float(line["ts"]) / 1000, UTC)
    delivery = line.get("deliveryStatus")
    if delivery not in ("delivered", "not-delivered", "not-requested"):
        delivery = "delivered" if line.get("delivered") else "not-delivered"
    return CronRun.model_validate(
        {
            "jobId": job.id,
            "ts": ts,
            "eventId": f"openclaw-{int(ts.timestamp() * 1000)}",
            "status": line.get("status", "ok"),
            "sessionKey": line.get("sessionKey") or f"agent:{job.agent_id}:cron:{job.id}",
            "deliveryStatus": delivery,
            "durationMs": line.get("durationMs"),
            "error": line.get("error"),
        }
    )


def _session_id(lines: Sequence[Mapping[str, Any]], fallback: str) -> str:
    header = lines[0] if lines else {}
    return str(header.get("id") or fallback) if header.get("type") == "session" else fallback


async def import_state(
    found: OpenClawDir,
    sinks: StateSinks,
    *,
    dry_run: bool = False,
    overwrite: bool = False,
    progress: Progress = lambda _: None,
) -> TransferReport:
    """Move `found` into the stores; with `dry_run`, only say what would change."""
    report = TransferReport()
    for path, reason in found.skipped:
        report.add("not moved", path, "skipped", reason)
    await _import_config(found, sinks, report, dry_run, overwrite)
    progress("config and credentials")
    await _import_workspace(found, sinks.workspace, report, dry_run, overwrite)
    progress(f"{len(found.workspace)} workspace files")
    await _import_pairing(found, sinks.pairing, report, dry_run)
    progress("pairing and allowlists")
    await _import_cron(found, sinks.cron, report, dry_run)
    progress(f"{len(found.cron_jobs)} cron jobs")
    await _import_sessions(found, sinks.sessions, report, dry_run, progress)
    return report


async def _import_config(
    found: OpenClawDir, sinks: StateSinks, report: TransferReport, dry_run: bool, overwrite: bool
) -> None:
    if found.config is not None:
        document = without_env_vars(without_secrets(found.config))
        current = await sinks.config.read_document()
        if current == document:
            report.add("config", "openclaw.json", "unchanged")
        elif current is not None and not overwrite:
            report.add(
                "config", "openclaw.json", "kept", "a different config is stored; --overwrite replaces it"
            )
        else:
            if not dry_run:
                await sinks.config.write_document(document)
            report.add("config", "openclaw.json", "replaced" if current else "added", "credentials removed")
    secrets: dict[str, dict[str, str]] = {
        channel: values for channel, values in channel_secrets(found.config, found.env).items()
    }
    profiles, not_moved = from_auth_profiles(found.auth_profiles)
    channel_env = {credential.env for credential in CREDENTIALS if credential.env}
    model = from_env_file(found.env, channel_env) | from_config(found.config) | profiles
    if model:
        secrets[MODEL_SECRET] = model
    for profile_id, reason in not_moved:
        report.add("not moved", f"auth profile {profile_id}", "skipped", reason)
    for account, files in found.whatsapp_auth.items():
        secrets[f"whatsapp-auth-{account}"] = files
    for name, values in sorted(secrets.items()):
        current_values = await sinks.secrets.read_values(name)
        merged = {**(current_values or {}), **values}
        if current_values is not None and all(current_values.get(k) == v for k, v in values.items()):
            report.add("secret", name, "unchanged")
        elif current_values is not None and not overwrite:
            report.add(
                "secret", name, "kept", "differs from the stored secret; --overwrite replaces the values"
            )
        else:
            if not dry_run:
                await sinks.secrets.write_values(name, merged)
            report.add("secret", name, "replaced" if current_values else "added", f"{len(values)} values")


async def _import_workspace(
    found: OpenClawDir, store: WorkspaceStore, report: TransferReport, dry_run: bool, overwrite: bool
) -> None:
    for path, data in sorted(found.workspace.items()):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            report.add("workspace", path, "skipped", "not UTF-8 text")
            continue
        current = await store.read(path)
        if current is not None and current.text == text and not current.truncated:
            report.add("workspace", path, "unchanged")
            continue
        if current is not None and not overwrite:
            report.add("workspace", path, "kept", "exists with other content; --overwrite replaces it")
            continue
        if not dry_run:
            try:
                if current is None:
                    await store.write(path, text, if_none_match=True)
                else:
                    await store.write(path, text, if_match=current.version)
            except VersionConflict:
                report.add("workspace", path, "kept", "changed while importing; run the import again")
                continue
        report.add("workspace", path, "replaced" if current else "added", f"{len(data)} bytes")


async def _import_pairing(
    found: OpenClawDir, store: PairingSink, report: TransferReport, dry_run: bool
) -> None:
    for (channel, account), senders in sorted(found.allow_from.items()):
        name = f"{channel}/{account}"
        new = await store.unknown_senders(channel, account, senders)
        if not new:
            report.add("allowFrom", name, "unchanged", f"{len(senders)} senders")
            continue
        if not dry_run:
            await store.add_paired(channel, account, new)
        report.add("allowFrom", name, "added", f"{len(new)} of {len(senders)} senders new")
    for (channel, account), requests in sorted(found.pairing.items()):
        name = f"{channel}/{account}"
        known = {str(r.get("id")) for r in await store.pending_requests(channel, account)}
        new_requests = [r for r in requests if str(r.get("id")) not in known]
        if not new_requests:
            report.add("pairing", name, "unchanged", f"{len(requests)} pending")
            continue
        if not dry_run:
            await store.add_pending(channel, account, new_requests)
        report.add(
            "pairing", name, "added", f"{len(new_requests)} pending (they expire an hour after creation)"
        )


async def _import_cron(found: OpenClawDir, store: CronSink, report: TransferReport, dry_run: bool) -> None:
    existing = {job.id for job in await store.list_jobs(include_disabled=True)}
    for raw in found.cron_jobs:
        name = str(raw.get("id") or raw.get("name") or "?")
        try:
            job = cron_job_from_openclaw(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            report.add("cron", name, "skipped", f"{where}: {first['msg']}")
            continue
        if job.id in existing:
            report.add("cron", job.id, "unchanged", job.name)
        else:
            if not dry_run:
                try:
                    await store.restore(job)
                except ClawbusError as exc:
                    report.add("cron", job.id, "skipped", str(exc))
                    continue
            report.add("cron", job.id, "added", job.name)
        runs: list[CronRun] = []
        for line in found.cron_runs.get(job.id, []):
            try:
                runs.append(cron_run_from_openclaw(job, line))
            except (KeyError, TypeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
                report.add("cron runs", job.id, "skipped", f"a run line is not valid: {exc}")
        if runs:
            if not dry_run:
                await store.restore_runs(runs)
            report.add("cron runs", job.id, "added", f"{len(runs)} runs (the same run twice is one record)")


async def _import_sessions(
    found: OpenClawDir, store: SessionSink, report: TransferReport, dry_run: bool, progress: Progress
) -> None:
    for agent_id, agent in sorted(found.sessions.items()):
        keys = {str(entry.get("sessionId")): key for key, entry in agent.index.items()}
        for file_id, lines in sorted(agent.transcripts.items()):
            session_id = _session_id(lines, file_id)
            name = f"{agent_id}/{session_id}"
            if await store.has_session(agent_id, session_id):
                report.add("session", name, "unchanged")
                continue
            key = keys.get(session_id)
            if not dry_run:
                await store.import_session(agent_id, key, agent.index.get(key) if key else None, lines)
            report.add(
                "session",
                name,
                "added",
                f"{len(lines)} lines" + (f", {key}" if key else ", not in sessions.json"),
            )
        progress(f"{len(agent.transcripts)} transcripts of agent {agent_id}")


async def export_state(sinks: StateSinks, *, include_secrets: bool = False) -> OpenClawDir:
    """Everything the stores hold, as an OpenClaw directory's contents.

    Channel credentials are left out unless `include_secrets`: then they go back into `openclaw.json`
    (and the WhatsApp auth files into `credentials/whatsapp/`).
    """
    out = OpenClawDir()
    document = await sinks.config.read_document()
    out.config = dict(document) if document is not None else None
    for path in await sinks.workspace.list():
        found = await sinks.workspace.read(path, max_bytes=64 * 1024 * 1024)
        if found is not None:
            out.workspace[path] = found.text.encode("utf-8")
    for channel, account in await sinks.pairing.accounts():
        paired = sorted(await sinks.pairing.paired(channel, account))
        if paired:
            out.allow_from[(channel, account)] = paired
        pending = await sinks.pairing.pending_requests(channel, account)
        if pending:
            out.pairing[(channel, account)] = pending
    for job in await sinks.cron.list_jobs(include_disabled=True):
        out.cron_jobs.append(cron_job_to_openclaw(job))
        runs = await sinks.cron.runs(job.id, 200)
        if runs:
            out.cron_runs[job.id] = [cron_run_to_openclaw(run) for run in reversed(runs)]  # oldest first
    for agent_id in await sinks.sessions.agents():
        out.sessions[agent_id] = await sinks.sessions.export_agent(agent_id)
    if include_secrets:
        await _export_secrets(sinks.secrets, out)
    return out


# Where each secret value goes back in `openclaw.json` (the inverse of `channel_secrets`).
_CONFIG_KEYS = {credential.variable: (credential.channel, credential.key) for credential in CREDENTIALS}


async def _export_secrets(secrets: SecretSink, out: OpenClawDir) -> None:
    config = out.config if out.config is not None else {}
    for name in await secrets.names():
        values = await secrets.read_values(name) or {}
        if name.startswith("whatsapp-auth-"):
            out.whatsapp_auth[name.removeprefix("whatsapp-auth-")] = dict(values)
            continue
        if name == MODEL_SECRET:  # provider keys go back where OpenClaw's docs put them: `.env`
            out.env.update(values)
            continue
        for setting, value in values.items():
            if setting in _CONFIG_KEYS:
                channel, key = _CONFIG_KEYS[setting]
                config.setdefault("channels", {}).setdefault(channel, {})[key] = value
    if config:
        out.config = config


__all__ = [
    "ConfigSink",
    "CronSink",
    "PairingSink",
    "SecretSink",
    "SessionSink",
    "StateSinks",
    "TransferReport",
    "cron_job_from_openclaw",
    "cron_job_to_openclaw",
    "cron_run_from_openclaw",
    "export_state",
    "import_state",
]
