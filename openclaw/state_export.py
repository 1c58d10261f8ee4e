"""`clawbus state export`: the stores read back into an `OpenClawDir` that `write_openclaw_dir`
writes (secrets only when asked for).

Every agent's workspace goes out (the default agent's as `workspace/`, the others' as
`workspace-<agentId>/`, OpenClaw's layout), and the identity links `/link` stored join the config's
`session.identityLinks`, where OpenClaw keeps them: an import reads them back as config links."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from clawbus.openclaw.channel_credentials import CREDENTIALS
from clawbus.openclaw.cron_transfer import cron_job_to_openclaw, cron_run_to_openclaw
from clawbus.openclaw.model_credentials import (
    MODEL_SECRET,
)
from clawbus.openclaw.state_dir import OpenClawDir
from clawbus.openclaw.state_transfer import SecretSink, StateSinks
from clawbus.storage import WorkspaceStore


async def export_state(sinks: StateSinks, *, include_secrets: bool = False) -> OpenClawDir:
    """Everything the stores hold, as an OpenClaw directory's contents.

    Channel credentials are left out unless `include_secrets`: then they go back into `openclaw.json`
    (and the WhatsApp auth files into `credentials/whatsapp/`).
    """
    out = OpenClawDir()
    document = await sinks.config.read_document()
    out.config = dict(document) if document is not None else None
    out.workspace = await _workspace(sinks.workspace)
    for agent_id, store in sorted(sinks.agent_workspaces.items()):
        files = await _workspace(store)
        if files:
            out.agent_workspaces[agent_id] = files
    if sinks.links is not None:
        out.config = with_links(out.config, await sinks.links.links())
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


async def _workspace(store: WorkspaceStore) -> dict[str, bytes]:
    files = {}
    for path in await store.list():
        found = await store.read(path, max_bytes=64 * 1024 * 1024)
        if found is not None:
            files[path] = found.text.encode("utf-8")
    return files


def with_links(config: dict[str, Any] | None, links: Mapping[str, Sequence[str]]) -> dict[str, Any] | None:
    """`config` with the stored links in `session.identityLinks` (an id moves to its stored name, as
    the stored link wins over the config's at ingress). Pure; the input is not changed."""
    if not links:
        return config
    out = copy.deepcopy(config) if config is not None else {}
    session = out.setdefault("session", {})
    stored = {i.strip().lower() for ids in links.values() for i in ids}
    merged = {
        name: [i for i in ids if i.strip().lower() not in stored]
        for name, ids in (session.get("identityLinks") or {}).items()
    }
    for name, ids in links.items():
        merged[name] = [*merged.get(name, []), *ids]
    session["identityLinks"] = {name: ids for name, ids in merged.items() if ids}
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
