"""Messages steered into a running turn, recorded with it (queue mode `steer`, docs/queue.md).

The control lane hands a message that arrived mid-turn to the agent (`control.py`); the running turn
takes it at its next boundary and its answer names it (`AgentResponse.steered`). The turn's ledger
record then covers that message too, so its FIFO copy, which SQS hands out only after the turn's own
messages were consumed, finds it answered and runs no second turn. A message the answer does not name
(refused, or taken by a run that died before it answered) is not recorded: its FIFO copy is a turn of
its own. Never twice, never lost.

`WatchedAgent` sees the turn's final answer on any of the handler's paths (a plain invoke, streamed
blocks, a draft edited into the answer) without them knowing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from clawbus.dispatcher.core.progress_plan import ProgressNote
from clawbus.schemas import AgentRequest, AgentResponse


class _Agent(Protocol):
    async def invoke(self, request: AgentRequest, *, traceparent: str | None = None) -> AgentResponse: ...

    def stream(
        self, request: AgentRequest, *, traceparent: str | None = None
    ) -> AsyncIterator[str | AgentResponse | ProgressNote]: ...


class WatchedAgent:
    """`agent` for one turn, keeping the events its answer says were steered into it."""

    def __init__(self, agent: _Agent) -> None:
        self._agent = agent
        self.steered: tuple[str, ...] = ()

    async def invoke(self, request: AgentRequest, *, traceparent: str | None = None) -> AgentResponse:
        """The agent's answer (noted)."""
        response = await self._agent.invoke(request, traceparent=traceparent)
        self.steered = response.steered
        return response

    async def stream(
        self, request: AgentRequest, *, traceparent: str | None = None
    ) -> AsyncIterator[str | AgentResponse | ProgressNote]:
        """The agent's stream (its final answer noted)."""
        async for item in self._agent.stream(request, traceparent=traceparent):
            if isinstance(item, AgentResponse):
                self.steered = item.steered
            yield item


def recorded_event_ids(event_ids: Sequence[str], steered: Sequence[str]) -> list[str]:
    """The events a turn's ledger record covers: its own, then those steered into it, once each. Pure."""
    return list(dict.fromkeys([*event_ids, *steered]))
