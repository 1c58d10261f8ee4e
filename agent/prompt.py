"""The system prompt, assembled from the agent's workspace files the way OpenClaw does it.

Pure: `files_for` says which workspace files a turn needs, the shell reads them through the
`WorkspaceStore`, and `build_system_prompt` turns what was read into the prompt. Which files a session
gets depends on its kind (OpenClaw's `filterBootstrapFilesForSession`):

- main and direct sessions: AGENTS, SOUL, TOOLS, IDENTITY, USER, BOOTSTRAP (when present), MEMORY.md
  and today's and yesterday's `memory/YYYY-MM-DD.md` (when present: private memory stays private);
- group and channel sessions, and untrusted turns of any session (a DM from a sender who is not the
  owner, allowlisted or paired): the same without any memory file, as they get no memory tools either;
- cron sessions: AGENTS, TOOLS, SOUL, IDENTITY, USER only;
- heartbeat turns add HEARTBEAT.md (only heartbeats get it, so ordinary turns do not act on its tasks).

Each file is capped (`max_chars`, head and tail kept around a marker) and the whole context too
(`total_max_chars`); a core file that is missing is listed with a marker, as OpenClaw does, so the model
knows it may create it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from clawbus.schemas.session_key_parse import KeyKind, parse_session_key

CORE_FILES = ("AGENTS.md", "SOUL.md", "TOOLS.md", "IDENTITY.md", "USER.md")
HEARTBEAT_FILE = "HEARTBEAT.md"
BOOTSTRAP_FILE = "BOOTSTRAP.md"
MEMORY_FILE = "MEMORY.md"
_CRON_FILES = ("AGENTS.md", "TOOLS.md", "SOUL.md", "IDENTITY.md", "USER.md")


class SessionKind(StrEnum):
    """Which bootstrap files a session sees."""

    MAIN = "main"  # the main session and direct-message sessions
    GROUP = "group"  # shared group, channel and thread sessions
    CRON = "cron"  # isolated cron runs


@dataclass(frozen=True)
class PromptCaps:
    """OpenClaw's `bootstrapMaxChars` (per file) and `bootstrapTotalMaxChars`."""

    max_chars: int = 20_000
    total_max_chars: int = 150_000


@dataclass(frozen=True)
class PromptContext:
    """What the prompt depends on besides the files: session kind, turn kind, date, tools."""

    kind: SessionKind
    heartbeat: bool
    today: date
    timezone: str = "UTC"
    agent_id: str = "main"
    tools: tuple[str, ...] = ()
    trusted: bool = True  # see agent/tools/policy.py `turn_trusted`


def session_kind(session_key: str) -> SessionKind:
    """The kind of an OpenClaw session key (`agent:<id>:main`, `…:group:…`, `agent:<id>:cron:<job>`)."""
    parsed = parse_session_key(session_key)
    if parsed.kind is KeyKind.CRON:
        return SessionKind.CRON
    return SessionKind.GROUP if parsed.group_like else SessionKind.MAIN


def daily_memory_paths(today: date) -> tuple[str, str]:
    """Today's and yesterday's daily memory files."""
    return (f"memory/{today.isoformat()}.md", f"memory/{(today - timedelta(days=1)).isoformat()}.md")


def files_for(ctx: PromptContext) -> list[str]:
    """The workspace files to read for this turn, in prompt order."""
    if ctx.kind is SessionKind.CRON:
        return list(_CRON_FILES)
    paths = list(CORE_FILES)
    if ctx.heartbeat:
        paths.append(HEARTBEAT_FILE)
    paths.append(BOOTSTRAP_FILE)
    if ctx.kind is SessionKind.MAIN and ctx.trusted:
        paths.append(MEMORY_FILE)
        paths.extend(daily_memory_paths(ctx.today))
    return paths


def truncate(text: str, max_chars: int) -> str:
    """`text` cut to about `max_chars`: its head (70%) and tail (20%) around a marker saying how much went."""
    if len(text) <= max_chars:
        return text
    head, tail = int(max_chars * 0.7), int(max_chars * 0.2)
    dropped = len(text) - head - tail
    marker = f"\n\n[… {dropped} characters truncated; read the file for the rest …]\n\n"
    return text[:head] + marker + (text[-tail:] if tail else "")


def _project_context(ctx: PromptContext, files: Mapping[str, str | None], caps: PromptCaps) -> list[str]:
    out: list[str] = []
    budget = caps.total_max_chars
    for path in files_for(ctx):
        text = files.get(path)
        if text is None:
            if path in CORE_FILES or path == HEARTBEAT_FILE:
                out.append(f"## {path}\n\n[MISSING] Expected at: {path} (create it to fill this in)")
            continue
        if budget <= 0:
            out.append(f"## {path}\n\n[omitted: the workspace context limit was reached]")
            continue
        body = truncate(text.strip(), min(caps.max_chars, budget))
        budget -= len(body)
        out.append(f"## {path}\n\n{body}")
    return out


def build_system_prompt(ctx: PromptContext, files: Mapping[str, str | None], caps: PromptCaps) -> str:
    """The system prompt for a turn, from the workspace `files` that were read (None: missing)."""
    sections = [
        f"You are a personal assistant running as agent '{ctx.agent_id}' inside clawbus.",
        _tooling(ctx.tools),
        _workspace(ctx.tools),
        f"## Current Date & Time\n\nTime zone: {ctx.timezone}",
        "## Silent Replies\n\nWhen there is nothing to say, reply with exactly NO_REPLY.",
    ]
    if ctx.kind is not SessionKind.CRON:
        sections.append(
            "## Heartbeats\n\nA heartbeat poll asks you to check HEARTBEAT.md. If nothing needs attention, "
            "reply exactly HEARTBEAT_OK. Otherwise reply with the alert text, without HEARTBEAT_OK."
        )
    context = _project_context(ctx, files, caps)
    if context:
        loaded = "\n\n".join(context)
        sections.append(f"# Project Context\n\nThe following workspace files are loaded:\n\n{loaded}")
    return "\n\n".join(s for s in sections if s)


def _workspace(tools: Sequence[str]) -> str:
    """What the model may do with its workspace: only what this turn's tools allow."""
    if "write" in tools or "edit" in tools:
        return (
            "## Workspace\n\nYour workspace holds the files below; read and change them with your tools. "
            "Write what you want to remember to MEMORY.md or memory/YYYY-MM-DD.md."
        )
    return "## Workspace\n\nYour workspace holds the files below; you cannot change them in this turn."


def _tooling(tools: Sequence[str]) -> str:
    if not tools:
        return ""
    return "## Tooling\n\nTools available: " + ", ".join(tools) + "."
