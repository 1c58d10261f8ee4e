"""Writing an `OpenClawDir` out as an OpenClaw state directory that OpenClaw 2026.9 reads (`clawbus state
export`): private files, the same layout `state_dir_read` reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from clawbus.bus.errors import ConfigError
from clawbus.bus.private_files import private_dir, write_private
from clawbus.openclaw.state_dir import OpenClawDir, safe_name


def _write(path: Path, data: bytes) -> None:
    write_private(private_dir(path.parent) / path.name, data)


def _dump(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _dump_lines(lines: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode("utf-8")


def write_openclaw_dir(state: OpenClawDir, root: Path) -> list[str]:
    """Write `state` in OpenClaw's layout under `root` (created); returns the relative paths written.

    Every file is created 0600 in 0700 folders (OpenClaw does so for credentials; transcripts, memory
    and cron jobs are as private), never widened after the write. Raises `ConfigError` when `root`
    exists and is not an empty directory (nothing is overwritten).
    """
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ConfigError(f"{root} exists and is not empty; export into a new directory")
    written: list[str] = []

    def put(rel: str, data: bytes) -> None:
        _write(root / rel, data)
        written.append(rel)

    if state.config is not None:
        put("openclaw.json", _dump(state.config))
    if state.env:
        put(".env", "".join(f"{k}={v}\n" for k, v in sorted(state.env.items())).encode())
    for rel, data in sorted(state.workspace.items()):
        put(f"workspace/{rel}", data)
    for agent_id, agent_files in sorted(state.agent_workspaces.items()):
        for rel, data in sorted(agent_files.items()):
            put(f"workspace-{safe_name(agent_id)}/{rel}", data)
    for agent_id, store in sorted(state.sessions.items()):
        base = f"agents/{safe_name(agent_id)}/sessions"
        put(f"{base}/sessions.json", _dump(store.index))
        for session_id, lines in sorted(store.transcripts.items()):
            put(f"{base}/{session_id}.jsonl", _dump_lines(lines))
    by_channel: dict[str, list[dict[str, Any]]] = {}
    for (channel, account), requests in sorted(state.pairing.items()):
        for request in requests:  # one file per channel; the account rides in meta.accountId
            meta = {**request.get("meta", {}), "accountId": account} if account != "default" else None
            by_channel.setdefault(channel, []).append({**request, "meta": meta} if meta else request)
    for channel, requests in sorted(by_channel.items()):
        put(
            f"credentials/{safe_name(channel)}-pairing.json",
            _dump({"version": 1, "requests": requests}),
        )
    for (channel, account), allow in sorted(state.allow_from.items()):
        name = safe_name(channel) if account == "default" else f"{safe_name(channel)}-{safe_name(account)}"
        put(f"credentials/{name}-allowFrom.json", _dump({"version": 1, "allowFrom": allow}))
    for account, files in sorted(state.whatsapp_auth.items()):
        for name, text in sorted(files.items()):
            put(f"credentials/whatsapp/{safe_name(account)}/{name}", text.encode("utf-8"))
    if state.cron_jobs:
        put("cron/jobs.json", _dump({"version": 1, "jobs": state.cron_jobs}))
    for job_id, runs in sorted(state.cron_runs.items()):
        put(f"cron/runs/{job_id}.jsonl", _dump_lines(runs))
    return written
