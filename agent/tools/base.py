"""Tools: a name, a JSON Schema, an async function; and running the model's calls with a deadline.

A tool raises to fail. Whatever it raises, and a timeout, comes back to the model as an error result
(`ToolResult(is_error=True)`) so the turn goes on and the model can recover; logs carry the tool name
and the error type, never the arguments or output.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass

from clawbus.agent.models.base import Json, ToolCall, ToolResult, ToolSpec
from clawbus.agent.progress import report_progress, tool_line
from clawbus.bus.logging import log_event

logger = logging.getLogger(__name__)

MAX_RESULT_CHARS = 50_000
# The runtime session a tool call belongs to (set by the turn): tools with per-session state key on it.
TOOL_SESSION: ContextVar[str] = ContextVar("clawbus_tool_session", default="default")


@dataclass(frozen=True)
class Tool:
    """One tool: its spec and its implementation (args in, text out; raises to fail)."""

    spec: ToolSpec
    run: Callable[[Mapping[str, Json]], Awaitable[str]]
    timeout_s: float | None = None  # overrides the toolbox default


class ToolBox:
    """The tools of a turn, by name, run with a per-tool timeout.

    `refused` names tools the turn is not offered, with the reason: the model is not told about them,
    and a call it makes anyway is answered with that reason as an error, never run.
    """

    def __init__(
        self, tools: Sequence[Tool], timeout_s: float = 30.0, refused: Mapping[str, str] | None = None
    ) -> None:
        self._tools = {tool.spec.name: tool for tool in tools}
        self._timeout_s = timeout_s
        self._refused = dict(refused or {})

    def restricted(self, offered: Sequence[str], refused: Mapping[str, str]) -> ToolBox:
        """The same tools limited to `offered`; calls to those in `refused` get their reason back."""
        keep = [self._tools[name] for name in offered if name in self._tools]
        return ToolBox(keep, self._timeout_s, {**self._refused, **refused})

    @property
    def specs(self) -> list[ToolSpec]:
        """What the model is told about."""
        return [tool.spec for tool in self._tools.values()]

    @property
    def names(self) -> tuple[str, ...]:
        """The tool names, in order."""
        return tuple(self._tools)

    async def call(self, call: ToolCall) -> ToolResult:
        """Run one tool call; failures and timeouts become error results, never exceptions."""
        tool = self._tools.get(call.name)
        if tool is None:
            known = ", ".join(self._tools) or "none"
            reason = self._refused.get(call.name)
            if reason is None:
                return ToolResult(call.id, f"unknown tool {call.name!r}; available: {known}", is_error=True)
            log_event(logger, "agent.tool.refused", logging.WARNING, tool=call.name)
            text = f"tool {call.name!r} is not available in this turn: {reason}; available: {known}"
            return ToolResult(call.id, text, is_error=True)
        timeout = tool.timeout_s or self._timeout_s
        report_progress(tool_line(call.name, call.input))  # a streamed turn's draft shows it (issue 21)
        started = time.monotonic()
        try:
            async with asyncio.timeout(timeout):
                text = await tool.run(call.input)
        except TimeoutError:
            outcome, result = (
                "timeout",
                ToolResult(call.id, f"{call.name} timed out after {timeout:g}s", True),
            )
        except Exception as exc:  # any tool failure goes back to the model, by contract
            outcome, result = type(exc).__name__, ToolResult(call.id, f"{type(exc).__name__}: {exc}", True)
        else:
            if len(text) > MAX_RESULT_CHARS:
                text = text[:MAX_RESULT_CHARS] + f"\n[… truncated at {MAX_RESULT_CHARS} characters]"
            outcome, result = "ok", ToolResult(call.id, text)
        log_event(
            logger,
            "agent.tool.called",
            logging.INFO if outcome == "ok" else logging.WARNING,
            tool=call.name,
            outcome=outcome,
            duration_ms=round((time.monotonic() - started) * 1000, 1),
        )
        return result
