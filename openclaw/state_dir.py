"""An OpenClaw state directory (`~/.openclaw`), read into one typed value and written back.

This is the one place that knows OpenClaw's on-disk layout (reference: `openclaw.md` §8). `clawbus state
import` reads a directory with `state_dir_read.read_openclaw_dir` and moves what it found into the storage
layer; `clawbus state export` builds an `OpenClawDir` from the stores and writes it with
`state_dir_write.write_openclaw_dir`; the channel credentials' mapping is `channel_credentials`.

What is read:

- `openclaw.json` (JSON5) and `.env` (channel credentials, `KEY=value` lines);
- `workspace/` (the default agent's workspace: AGENTS.md, SOUL.md, memory/*.md …) and
  `workspace-<agentId>/` (each other agent's, OpenClaw's default place for them: openclaw-agent-runtime.md);
- `agents/<agentId>/sessions/sessions.json` and `<sessionId>.jsonl` transcripts, and the sessions in
  `agents/<agentId>/agent/openclaw-agent.sqlite` (2026.9: `openclaw.sqlite`; it wins over the files);
- `credentials/<channel>-pairing.json` (requests of other accounts carry `meta.accountId`),
  `<channel>[-<account>]-allowFrom.json`,
  `credentials/whatsapp/<account>/*` (Baileys auth state, kept as secret files);
- `cron/jobs.json` and `cron/runs/<jobId>.jsonl`.

Everything else (`sandboxes/`, `skills/`, `devices/`, `state/`, logs, reset archives) is listed in
`skipped` with the reason, so the summary says what did not move. A file that cannot be parsed is skipped
with its reason too: one bad file never aborts an import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Channels whose credential files we understand (their names never contain '-').
CHANNELS = ("telegram", "slack", "discord", "whatsapp")


WORKSPACE_MAX_BYTES = 2 * 1024 * 1024  # OpenClaw's cap on a workspace file it will read


_UNSAFE_NAME = re.compile(r'[\\/:*?"<>|]|\.\.')


@dataclass
class AgentSessions:
    """One agent's session store: the `sessions.json` index and the transcripts it points at."""

    index: dict[str, dict[str, Any]] = field(default_factory=dict)
    transcripts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass
class OpenClawDir:
    """An OpenClaw state directory's contents, as far as clawbus moves them.

    `pairing` and `allow_from` are keyed by (channel, account); `whatsapp_auth` by account, then file name;
    `agent_workspaces` by agent id, then path (the default agent's is `workspace`).
    """

    config: dict[str, Any] | None = None
    env: dict[str, str] = field(default_factory=dict)
    workspace: dict[str, bytes] = field(default_factory=dict)
    agent_workspaces: dict[str, dict[str, bytes]] = field(default_factory=dict)  # other agents', by id
    sessions: dict[str, AgentSessions] = field(default_factory=dict)
    pairing: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    allow_from: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    whatsapp_auth: dict[str, dict[str, str]] = field(default_factory=dict)
    cron_jobs: list[dict[str, Any]] = field(default_factory=list)
    cron_runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    auth_profiles: list[dict[str, Any]] = field(default_factory=list)  # auth stores: {"profiles": {...}}
    skipped: list[tuple[str, str]] = field(default_factory=list)


def safe_name(name: str) -> str:
    """A channel or account name as OpenClaw writes it in a file name (lowercase, unsafe characters → `_`)."""
    return _UNSAFE_NAME.sub("_", name.strip().lower())


__all__ = ["CHANNELS", "WORKSPACE_MAX_BYTES", "AgentSessions", "OpenClawDir", "safe_name"]
