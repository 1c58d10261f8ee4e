"""One agent turn: workspace → system prompt, transcript → context, the loop, the reply.

1. Read the workspace files the session kind needs and build the system prompt (`prompt.py`). A
   heartbeat whose HEARTBEAT.md is effectively empty ends here, silently, with no model call.
2. Load the transcript; append the user's message (the events' texts; the heartbeat poll prompt for a
   heartbeat without text); compact older turns when the context is over the model's budget.
3. Run the loop (model ↔ tools), append what it added, save the transcript with one conditional write.
4. Reply: `NO_REPLY` and heartbeat acknowledgements (`HEARTBEAT_OK`) are not delivered.

Errors from the model propagate (the app turns them into a classified error reply); the transcript is
only saved after a successful turn, so a retried turn does not see itself twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from clawbus.bus.logging import log_event, session_ref
from clawbus.bus.storage import WorkspaceStore
from clawbus.schemas import AgentRequest, AgentResponse, EventKind

from . import transcript as transcripts
from .compaction import (
    MAX_SUMMARY_CHARS,
    SUMMARY_SYSTEM,
    estimate_tokens,
    plan_compaction,
    render_for_summary,
)
from .heartbeat import HEARTBEAT_PROMPT, is_effectively_empty, strip_heartbeat_token
from .loop import run_loop
from .models.base import Model, user
from .prompt import HEARTBEAT_FILE, PromptCaps, PromptContext, build_system_prompt, files_for, session_kind
from .tools.base import TOOL_SESSION, ToolBox

logger = logging.getLogger(__name__)

SILENT_TOKEN = "NO_REPLY"  # noqa: S105  # not a secret: OpenClaw's silent reply
_HARD_READ_CAP = 2 * 1024 * 1024


@dataclass
class AgentRuntime:
    """What a turn runs with: the model (with failover), the workspace, the tools, the limits."""

    model: Model
    store: WorkspaceStore
    tools: ToolBox
    max_steps: int = 8
    caps: PromptCaps = field(default_factory=PromptCaps)
    timezone: str = "UTC"
    budget: Callable[[str], int] = lambda _model: 180_000
    keep_recent_tokens: int = 20_000
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)


def user_text(request: AgentRequest) -> str:
    """What the user (or the scheduler) said this turn: the events' texts, one per line."""
    texts = []
    for event in request.events:
        if event.kind is EventKind.HEARTBEAT and not event.text.strip():
            texts.append(HEARTBEAT_PROMPT)
        elif event.text:
            texts.append(event.text)
    return "\n".join(texts)


def to_response(answer: str, model: str, *, heartbeat: bool = False) -> AgentResponse:
    """The turn's response for the model's `answer` (silence for `NO_REPLY` and heartbeat acks)."""
    if answer.strip().upper() == SILENT_TOKEN:
        return AgentResponse(parts=(), model=model)
    text = strip_heartbeat_token(answer, heartbeat=heartbeat)
    return AgentResponse(parts=() if text is None else (text,), model=model)


async def _system_prompt(rt: AgentRuntime, ctx: PromptContext) -> tuple[str, dict[str, str | None]]:
    paths = files_for(ctx)
    found = await asyncio.gather(*(rt.store.read(p, max_bytes=_HARD_READ_CAP) for p in paths))
    files = {p: (f.text if f is not None else None) for p, f in zip(paths, found, strict=True)}
    return build_system_prompt(ctx, files, rt.caps), files


async def _compact(rt: AgentRuntime, system: str, log: transcripts.Transcript, now: datetime) -> None:
    previous, messages = log.context()
    plan = plan_compaction(
        estimate_tokens(system) + estimate_tokens(previous or ""),
        messages,
        rt.budget(rt.model.name),
        rt.keep_recent_tokens,
    )
    if plan is None:
        return
    reply = await rt.model.converse(SUMMARY_SYSTEM, [user(render_for_summary(previous, plan.older))], [])
    summary = reply.message.text[:MAX_SUMMARY_CHARS]
    log.add_compaction(summary, plan.first_kept, plan.tokens_before, now)
    log_event(logger, "agent.context.compacted", messages=len(plan.older), tokens_before=plan.tokens_before)


async def run_turn(request: AgentRequest, runtime_session_id: str, rt: AgentRuntime) -> AgentResponse:
    """Run one turn. Raises the model's errors (`RetryableError` after failover, `PermanentError`)."""
    now = rt.clock()
    heartbeat = any(event.kind is EventKind.HEARTBEAT for event in request.events)
    ctx = PromptContext(
        kind=session_kind(request.session_key),
        heartbeat=heartbeat,
        today=now.astimezone(ZoneInfo(rt.timezone)).date(),
        timezone=rt.timezone,
        agent_id=request.events[0].agent_id,
        tools=rt.tools.names,
    )
    system, files = await _system_prompt(rt, ctx)
    if (
        heartbeat
        and files.get(HEARTBEAT_FILE) is not None
        and is_effectively_empty(files[HEARTBEAT_FILE] or "")
    ):
        log_event(logger, "agent.heartbeat.skipped", session=session_ref(request.session_key))
        return AgentResponse(parts=(), model=rt.model.name)
    log = await transcripts.load(rt.store, runtime_session_id)
    log.add(user(user_text(request)), now)
    await _compact(rt, system, log, now)
    summary, context = log.context()
    if summary:
        system += f"\n\n## Earlier conversation (summary)\n\n{summary}"
    token = TOOL_SESSION.set(runtime_session_id)
    try:
        result = await run_loop(rt.model, system, [m for _id, m in context], rt.tools, rt.max_steps)
    finally:
        TOOL_SESSION.reset(token)
    for message in result.messages:
        log.add(message, now)
    await transcripts.save(rt.store, log, runtime_session_id, now)
    log_event(logger, "agent.loop.finished", steps=result.steps, stopped_at_cap=result.stopped_at_cap)
    return to_response(result.text, result.model, heartbeat=heartbeat)
