"""One agent turn: session → workspace → system prompt, transcript → context, the loop, the reply.

1. Find the session (`sessions.py`): the index names the session key's current `sessionId`; a message
   that finds it stale, or starts with `/new`/`/reset`, starts a new one.
2. Read the workspace files the session kind needs and build the system prompt (`prompt.py`). A
   heartbeat whose HEARTBEAT.md is effectively empty ends here, silently, with no model call.
3. Read the transcript's tail and look for this turn (its reply id): a turn already appended (a re-run
   after a crash before the dispatcher's ledger write) answers its stored reply and appends nothing.
4. Append the user's message; compact older turns when the context is over the model's budget; run the
   loop (model ↔ tools), each step journaled under the turn's id (`journal.py`: a re-run of a turn
   interrupted before its append replays the steps instead of running its tools again); append the
   turn's entries and reply as one conditional batch. Another writer having appended first
   (`VersionConflict`) → re-read, and either find this turn or append after it.
5. Record the turn in the session index (activity, tokens, last route). Reply: `NO_REPLY` and heartbeat
   acknowledgements (`HEARTBEAT_OK`) are not delivered.

Errors from the model propagate (the app turns them into a classified error reply); the transcript is
only appended after a successful turn, so a retried turn does not see itself twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from clawbus.agent import transcript as transcripts
from clawbus.agent.compaction import (
    MAX_SUMMARY_CHARS,
    SUMMARY_SYSTEM,
    estimate_tokens,
    message_tokens,
    plan_compaction,
    render_for_summary,
)
from clawbus.agent.engines.base import TurnEngine
from clawbus.agent.heartbeat import (
    HEARTBEAT_PROMPT,
    SKIP_EMPTY,
    is_effectively_empty,
    strip_heartbeat_token,
)
from clawbus.agent.journal import StepJournal
from clawbus.agent.loop import run_loop
from clawbus.agent.media import MediaReader, refusal_parts, user_message
from clawbus.agent.models.base import Model, user
from clawbus.agent.prompt import (
    HEARTBEAT_FILE,
    PromptCaps,
    PromptContext,
    build_system_prompt,
    files_for,
    session_kind,
)
from clawbus.agent.reply_media import LOCAL_READERS, ReplyMediaStager, sent_files
from clawbus.agent.sessions import Activity, Begin, finish, turn_input
from clawbus.agent.tools.base import TOOL_SESSION, ToolBox
from clawbus.agent.tools.policy import policy_for, turn_trusted
from clawbus.agent.tools.scope import TURN_SCOPE, turn_scope
from clawbus.agent.turn_control import CURRENT_TURN
from clawbus.bus.clock import Clock, utc_now
from clawbus.bus.errors import ClawbusError, VersionConflict
from clawbus.bus.logging import log_event, session_ref
from clawbus.bus.settings import ToolSettings
from clawbus.schemas import AgentRequest, AgentResponse, EventKind, parse_agent_response
from clawbus.storage import SessionIndex, SessionRef, TranscriptStore, WorkspaceStore
from clawbus.storage.reset import ResetRules
from clawbus.storage.turn_journal import TurnJournalStore

logger = logging.getLogger(__name__)

SILENT_TOKEN = "NO_REPLY"  # noqa: S105  # not a secret: OpenClaw's silent reply
_HARD_READ_CAP = 2 * 1024 * 1024
_APPEND_ATTEMPTS = 3


class Recall(Protocol):
    """Long-term memory recalled for a turn (AgentCore Memory's records), by the user's message."""

    async def recall(self, session: SessionRef, query: str) -> list[str]: ...


@dataclass
class AgentRuntime:
    """What a turn runs with: the model (with failover), the workspace, transcripts and session index,
    the tools and the policy that picks a turn's share of them, the reset rules, the limits."""

    model: Model
    store: WorkspaceStore
    transcripts: TranscriptStore
    sessions: SessionIndex
    tools: ToolBox
    tool_policy: ToolSettings = field(default_factory=ToolSettings)
    reset_rules: ResetRules = field(default_factory=ResetRules)
    recall: Recall | None = None
    max_steps: int = 8
    caps: PromptCaps = field(default_factory=PromptCaps)
    timezone: str = "UTC"
    budget: Callable[[str], int] = lambda _model: 180_000
    keep_recent_tokens: int = 20_000
    clock: Clock = utc_now
    # Set: this engine runs each turn instead of the loop above (`CLAWBUS_AGENT__ENGINE=openclaw`).
    engine: TurnEngine | None = None
    # Where the loop journals each step of a turn until the turn is in its transcript (None: nowhere).
    journal: TurnJournalStore | None = None
    # Reads the files the user sent (issue 20: images, documents' text, voice notes' transcripts).
    media: MediaReader | None = None
    # Stores the files a reply sends (`MEDIA:` lines, `send_file`) in the state bucket (None: text only).
    reply_media: ReplyMediaStager | None = None


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


def with_steered(response: AgentResponse, earlier: tuple[str, ...]) -> AgentResponse:
    """`response` after the answers given before messages were steered into the turn (each its own
    part, in order, `NO_REPLY` ones left out), naming the steered events (`turn_control.py`)."""
    signal = CURRENT_TURN.get()
    steered = tuple(signal.steered) if signal is not None else ()
    if not steered:
        return response
    kept = tuple(a for a in earlier if a.strip() and a.strip().upper() != SILENT_TOKEN)
    return response.model_copy(update={"parts": kept + response.parts, "steered": steered})


async def _system_prompt(rt: AgentRuntime, ctx: PromptContext) -> tuple[str, dict[str, str | None]]:
    paths = files_for(ctx)
    found = await asyncio.gather(*(rt.store.read(p, max_bytes=_HARD_READ_CAP) for p in paths))
    files = {p: (f.text if f is not None else None) for p, f in zip(paths, found, strict=True)}
    return build_system_prompt(ctx, files, rt.caps), files


async def _compact(rt: AgentRuntime, system: str, log: transcripts.Transcript, now: datetime) -> bool:
    previous, messages = log.context()
    plan = plan_compaction(
        estimate_tokens(system) + estimate_tokens(previous or ""),
        messages,
        rt.budget(rt.model.name),
        rt.keep_recent_tokens,
    )
    if plan is None:
        return False
    reply = await rt.model.converse(SUMMARY_SYSTEM, [user(render_for_summary(previous, plan.older))], [])
    summary = reply.message.text[:MAX_SUMMARY_CHARS]
    log.add_compaction(summary, plan.first_kept, plan.tokens_before, now)
    log_event(logger, "agent.context.compacted", messages=len(plan.older), tokens_before=plan.tokens_before)
    return True


async def _append(
    rt: AgentRuntime,
    log: transcripts.Transcript,
    request: AgentRequest,
    response: AgentResponse,
    now: datetime,
) -> AgentResponse:
    """Append the turn; on a lost race re-read: the turn may be there already (its reply stands)."""
    reply = response.model_dump(mode="json")
    for attempt in range(1, _APPEND_ATTEMPTS + 1):
        try:
            await transcripts.save(rt.transcripts, log, now, turn_id=request.reply_id, reply=reply)
        except VersionConflict:
            if attempt == _APPEND_ATTEMPTS:
                raise
            tail = await rt.transcripts.read_tail(log.session)
            done = tail.turn(request.reply_id)
            if done is not None and done.reply is not None:
                return parse_agent_response(json.dumps(done.reply))
            log.rebase(tail)
            log_event(logger, "agent.transcript.conflict", logging.WARNING, attempt=attempt)
        else:
            return response
    raise AssertionError("unreachable")  # pragma: no cover


async def _close_journal(journal: StepJournal, request: AgentRequest) -> None:
    """Report what the journal replayed and drop it (the transcript holds the turn now)."""
    if journal.replayed:
        log_event(
            logger,
            "agent.journal.replayed",
            reply_id=request.reply_id,
            session=session_ref(request.session_key),
            steps=journal.replayed,
        )
    try:
        await journal.discard()
    except ClawbusError as exc:  # left behind: harmless (the transcript answers a re-run first)
        log_event(logger, "agent.journal.discard_failed", logging.WARNING, reason=str(exc)[:300])


def _turn_tools(rt: AgentRuntime, request: AgentRequest, agent_id: str, *, trusted: bool) -> ToolBox:
    """The runtime's tools this turn is offered (the agent's policy, and whether the turn is trusted)."""
    offer = policy_for(rt.tool_policy, agent_id).offer(rt.tools.names, trusted=trusted)
    if offer.refused:
        log_event(
            logger,
            "agent.tools.restricted",
            session=session_ref(request.session_key),
            reply_id=request.reply_id,
            trusted=trusted,
            refused=sorted(offer.refused),
        )
    return rt.tools.restricted(offer.tools, offer.refused)


async def run_turn(request: AgentRequest, runtime_session_id: str, rt: AgentRuntime) -> AgentResponse:
    """Run one turn. Raises the model's errors (`RetryableError` after failover, `PermanentError`)."""
    now = rt.clock()
    agent_id = request.events[0].agent_id
    said = turn_input(request, user_text(request), rt.reset_rules.triggers)
    begin = Begin(request, said, rt.reset_rules, now, rt.timezone)
    entry = await rt.sessions.update(agent_id, request.session_key, begin)
    if entry.reset_by_turn == request.reply_id and entry.session_started_at == int(now.timestamp() * 1000):
        log_event(
            logger,
            "agent.session.started",
            session=session_ref(request.session_key),
            reply_id=request.reply_id,
        )
    session = SessionRef(agent_id, entry.session_id)
    heartbeat = any(event.kind is EventKind.HEARTBEAT for event in request.events)
    trusted = turn_trusted(request.session_key, request.events)
    tools = _turn_tools(rt, request, agent_id, trusted=trusted)
    ctx = PromptContext(
        kind=session_kind(request.session_key),
        heartbeat=heartbeat,
        today=now.astimezone(ZoneInfo(rt.timezone)).date(),
        timezone=rt.timezone,
        agent_id=agent_id,
        tools=tools.names,
        trusted=trusted,
    )
    system, files = await _system_prompt(rt, ctx)
    if (
        heartbeat
        and files.get(HEARTBEAT_FILE) is not None
        and is_effectively_empty(files[HEARTBEAT_FILE] or "")
    ):
        log_event(
            logger, "agent.heartbeat.skipped", session=session_ref(request.session_key), reason=SKIP_EMPTY
        )
        return AgentResponse(parts=(), model=rt.model.name)
    tail, stored = await asyncio.gather(
        rt.transcripts.read_tail(session), rt.transcripts.find_turn(session, request.reply_id)
    )
    done = tail.turn(request.reply_id) or stored
    if done is not None and done.reply is not None:
        log_event(
            logger, "agent.turn.replayed", reply_id=request.reply_id, session=session_ref(request.session_key)
        )
        return parse_agent_response(json.dumps(done.reply))
    log = transcripts.Transcript(session, tail)
    media = await rt.media.blocks(request) if rt.media is not None else ()
    message = user_message(said.text, media)  # with its files' bytes: the transcript keeps references
    said_id = log.add(message, now)
    compacted = await _compact(rt, system, log, now)
    summary, context = log.context()
    if summary:
        system += f"\n\n## Earlier conversation (summary)\n\n{summary}"
    if rt.recall is not None and trusted:  # long-term memory is the owner's, like MEMORY.md
        remembered = await rt.recall.recall(session, said.text)
        if remembered:
            system += "\n\n## Remembered (long-term memory)\n\n" + "\n".join(f"- {r}" for r in remembered)
    journal = None if rt.journal is None else StepJournal.lazy(rt.journal, agent_id, request.reply_id)
    token = TOOL_SESSION.set(runtime_session_id)
    scope = TURN_SCOPE.set(turn_scope(request, trusted=trusted))
    try:
        messages = [message if entry == said_id else m for entry, m in context]
        result = await run_loop(rt.model, system, messages, tools, rt.max_steps, journal)
    finally:
        TURN_SCOPE.reset(scope)
        TOOL_SESSION.reset(token)
    for message in result.messages:
        log.add(message, now)
    response = with_steered(to_response(result.text, result.model, heartbeat=heartbeat), result.earlier)
    if refusal_parts(media):  # the user hears about a refused file whatever the model says
        response = response.model_copy(update={"parts": refusal_parts(media) + response.parts})
    if rt.reply_media is not None and response.parts:
        allowed = bool(LOCAL_READERS & set(tools.names))  # the turn's file-read trust
        sent = sent_files(result.messages)
        response = await rt.reply_media.attach(
            response, request.session_key, sent=sent, local_allowed=allowed
        )
    response = await _append(rt, log, request, response, now)
    if journal is not None:
        await _close_journal(journal, request)
    context_tokens = estimate_tokens(system) + sum(message_tokens(m) for _id, m in log.context()[1])
    activity = Activity(result.input_tokens, result.output_tokens, context_tokens, compacted)
    await rt.sessions.update(
        agent_id, request.session_key, finish(request, session.session_id, activity, now)
    )
    log_event(logger, "agent.loop.finished", steps=result.steps, stopped_at_cap=result.stopped_at_cap)
    return response
