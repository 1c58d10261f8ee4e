"""`clawbus state import`: what `read_openclaw_dir` found, handed piece by piece to its store through the
narrow sinks, every skipped piece reported with its reason."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from clawbus.bus.errors import ClawbusError, VersionConflict
from clawbus.openclaw.channel_credentials import CREDENTIALS, channel_secrets, without_secrets
from clawbus.openclaw.cron_transfer import cron_job_from_openclaw, cron_run_from_openclaw
from clawbus.openclaw.model_credentials import (
    MODEL_SECRET,
    from_auth_profiles,
    from_config,
    from_env_file,
    without_env_vars,
)
from clawbus.openclaw.state_dir import OpenClawDir
from clawbus.openclaw.state_transfer import (
    CronSink,
    PairingSink,
    Progress,
    SessionSink,
    StateSinks,
    TransferReport,
)
from clawbus.schemas.cron import CronRun
from clawbus.schemas.session_key_parse import KeyShape, parse_session_key, scope_legacy_key
from clawbus.storage import WorkspaceStore


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
    await _import_workspace(found.workspace, sinks.workspace, "", report, dry_run, overwrite)
    for agent_id, files in sorted(found.agent_workspaces.items()):
        store = sinks.agent_workspaces.get(agent_id)
        if store is None:
            for path in sorted(files):
                report.add("workspace", f"workspace-{agent_id}/{path}", "skipped", "agent not in the roster")
            continue
        await _import_workspace(files, store, f"workspace-{agent_id}/", report, dry_run, overwrite)
    progress(f"{len(found.workspace)} workspace files, {len(found.agent_workspaces)} other agents'")
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
    files: dict[str, bytes],
    store: WorkspaceStore,
    shown: str,
    report: TransferReport,
    dry_run: bool,
    overwrite: bool,
) -> None:
    """One agent's workspace files into its store; `shown` prefixes the paths in the report."""
    for path, data in sorted(files.items()):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            report.add("workspace", shown + path, "skipped", "not UTF-8 text")
            continue
        current = await store.read(path)
        if current is not None and current.text == text and not current.truncated:
            report.add("workspace", shown + path, "unchanged")
            continue
        if current is not None and not overwrite:
            report.add(
                "workspace", shown + path, "kept", "exists with other content; --overwrite replaces it"
            )
            continue
        if not dry_run:
            try:
                if current is None:
                    await store.write(path, text, if_none_match=True)
                else:
                    await store.write(path, text, if_match=current.version)
            except VersionConflict:
                report.add("workspace", shown + path, "kept", "changed while importing; run the import again")
                continue
        report.add("workspace", shown + path, "replaced" if current else "added", f"{len(data)} bytes")


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
            malformed = key is not None and parse_session_key(key).shape is KeyShape.MALFORMED
            key = None if malformed else key  # OpenClaw never resolves a malformed agent key: transcript only
            scoped = scope_legacy_key(agent_id, key) if key is not None else None  # legacy: this agent's
            if not dry_run:
                await store.import_session(agent_id, scoped, agent.index.get(key) if key else None, lines)
            report.add(
                "session",
                name,
                "added",
                f"{len(lines)} lines"
                + (f", {scoped}" if scoped else ", malformed key" if malformed else ", not in sessions.json"),
            )
        progress(f"{len(agent.transcripts)} transcripts of agent {agent_id}")
