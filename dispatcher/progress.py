"""A turn's progress draft, published while the agent works (issue 21; the plan: `core/progress_plan.py`).

On a channel that shows drafts (`CLAWBUS_<CHANNEL>__STREAMING=progress`, OpenClaw's
`channels.<channel>.streaming.mode`), a person's turn is run through the agent's event stream: the first
byte and every tool line the agent reports feed the turn's `ProgressPlan`, and a task of the turn
publishes what the plan says is due as `progress` replies, on the session's FIFO group like the answer,
so egress sees the draft's updates and then the answer in order. Before the answer is published the task
is stopped (an update in flight finishes first), and the answer's first message names the turn's draft
(`draft`) only when one was published, so a quick turn's answer is exactly what it was without drafts. A
turn that ends silent (`NO_REPLY`) after its draft appeared publishes a progress message without text,
which deletes the draft.

Progress is best effort, like typing: a failed publish is skipped, never the turn's failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from clawbus.bus.errors import ClawbusError
from clawbus.bus.logging import log_event, session_ref
from clawbus.bus.tracing import current_traceparent
from clawbus.dispatcher.core import Route, block_reply, build_reply
from clawbus.dispatcher.core.progress_plan import DraftTiming, ProgressNote, ProgressPlan, progress_reply
from clawbus.dispatcher.ledger import Publication
from clawbus.dispatcher.publisher import Publisher
from clawbus.schemas import AgentRequest, AgentResponse, OutboundReply

if TYPE_CHECKING:
    from clawbus.dispatcher.turn_handler import Agent

logger = logging.getLogger(__name__)


class DraftShow:
    """Publishes one turn's draft updates from a task of its own, until `close`."""

    def __init__(
        self,
        publisher: Publisher,
        request: AgentRequest,
        route: Route,
        timing: DraftTiming,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._publisher = publisher
        self._request = request
        self._route = route
        self._clock = clock
        self._plan = ProgressPlan(clock(), timing)
        self._news = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    @property
    def published(self) -> bool:
        """Whether a draft was published (then the answer replaces it)."""
        return self._plan.published > 0

    def clearing(self) -> OutboundReply:
        """The progress message without text that deletes the draft (the turn ended silent)."""
        return progress_reply(self._request, self._route, "", self._plan.published)

    def note(self, note: ProgressNote) -> None:
        """The agent's stream said something (its first byte, or a tool line)."""
        if not self._closing:
            self._plan.tool(note.text, self._clock())
            self._news.set()

    def first_byte(self) -> None:
        """The agent's stream began."""
        self._plan.first_byte(self._clock())
        self._news.set()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[DraftShow]:
        """The publishing task for the life of the block (closed on the way out, errors included)."""
        self._task = asyncio.create_task(self._publish_due())
        try:
            yield self
        finally:
            await self.close()

    async def close(self) -> bool:
        """Stop publishing (an update in flight goes out first); whether a draft was published."""
        self._closing = True
        self._news.set()
        if self._task is not None:
            await self._task
        return self.published

    async def _publish_due(self) -> None:
        while not self._closing:
            text = self._plan.due(self._clock())
            if text is not None:
                await self._publish(text, self._plan.published - 1)
            next_at = self._plan.next_at(self._clock())
            timeout = None if next_at is None else max(0.0, next_at - self._clock())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._news.wait()
            self._news.clear()

    async def _publish(self, text: str, n: int) -> None:
        reply = progress_reply(self._request, self._route, text, n)
        try:
            await self._publisher.send(await self._publisher.publication(reply))
        except ClawbusError as exc:  # best effort: the next update (or the answer) says it anyway
            log_event(
                logger,
                "dispatcher.draft.skipped",
                logging.WARNING,
                reply_id=reply.reply_id,
                error_type=type(exc).__name__,
                reason=str(exc)[:300],
            )
            return
        log_event(
            logger,
            "dispatcher.draft.published",
            reply_id=reply.reply_id,
            channel=self._route.channel,
            session=session_ref(self._request.session_key),
            cold=text.startswith("waking"),
        )


async def answer_with_draft(
    agent: Agent,
    publisher: Publisher,
    request: AgentRequest,
    route: Route,
    *,
    timing: DraftTiming,
    stream_blocks: bool,
) -> list[Publication]:
    """Run the turn through the agent's event stream with its draft shown; the turn's publications.

    Streamed blocks (`stream_blocks`) are published as they come (sent already, as in the turn handler),
    the first naming the draft; otherwise the answer is returned unsent, naming the draft when one was
    published. Raises the agent's classified errors.
    """
    draft = DraftShow(publisher, request, route, timing)
    publications: list[Publication] = []
    blocks: list[str] = []
    final: AgentResponse | None = None
    async with draft.running():
        async for item in agent.stream(request, traceparent=current_traceparent()):
            draft.first_byte()
            if isinstance(item, ProgressNote):
                draft.note(item)
            elif isinstance(item, AgentResponse):
                final = item
            elif item and stream_blocks:
                drafted = await draft.close()
                reply = block_reply(request, item, len(publications), route)
                if drafted and not publications:
                    reply = reply.model_copy(update={"draft": request.reply_id})
                publication = await publisher.publication(reply)
                await publisher.send(publication)
                publications.append(publication)
            elif item:
                blocks.append(item)
    if stream_blocks:
        if draft.published and not publications:  # silent: no "working…" left behind
            publication = await publisher.publication(draft.clearing())
            await publisher.send(publication)
            publications.append(publication)
        return publications
    response = final or AgentResponse()
    if not response.parts and blocks:
        response = response.model_copy(update={"parts": ("".join(blocks),)})
    answer = build_reply(request, response, route)
    if answer is None:  # silent: the draft, if one was shown, is deleted
        return [await publisher.publication(draft.clearing())] if draft.published else []
    if draft.published:
        answer = answer.model_copy(update={"draft": request.reply_id})
    return [await publisher.publication(answer)]
