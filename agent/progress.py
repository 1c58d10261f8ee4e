"""What the agent says while a streamed turn runs: a first event at once, then a line per tool it starts.

A streamed invocation (`stream: true`, the dispatcher asks for one when the turn's channel shows progress
drafts, issue 21) answers `text/event-stream` at once, before the turn has done anything:

    data: {"progress": ""}                          the container is up and the turn has begun
    data: {"progress": "🔎 fetching example.com"}   a tool started (one event per tool call)
    data: {"text": "…"}                             the answer, block by block (`agent/streaming.py`)
    data: {"schema_version": 1, "status": …}        the response without its parts (or the error)

The first event is the turn's first byte: AgentCore's cold start (a new microVM, the container's start)
is what comes before it, and the dispatcher tells the user it is "waking up…" when that takes long. A tool
reports its start through `report_progress`, which writes into the turn's sink (a context variable set
for the turn's task; nothing happens outside a streamed turn). `tool_line` is pure: the line a user sees
for a tool call, never the call's full arguments (a command or a file's content stays private).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

from clawbus.agent.streaming import split_blocks
from clawbus.schemas import AgentResponse

PROGRESS_SINK: ContextVar[Callable[[str], None] | None] = ContextVar("progress_sink", default=None)
_MAX_DETAIL = 60
_ICONS = {
    "web_fetch": ("🔎", "fetching"),
    "browser": ("🌐", "browsing"),
    "read": ("📖", "reading"),
    "write": ("📝", "writing"),
    "edit": ("✏️", "editing"),
    "memory_search": ("🧠", "searching memory for"),
    "cron": ("⏰", "scheduling"),
}


def _detail(name: str, args: Mapping[str, Any]) -> str:
    if name in ("web_fetch", "browser"):
        url = str(args.get("url") or "")
        return urlsplit(url).hostname or ""
    if name in ("read", "write", "edit"):
        return str(args.get("path") or "")
    if name == "memory_search":
        return str(args.get("query") or "")
    return ""


def tool_line(name: str, args: Mapping[str, Any]) -> str:
    """The progress line for a call of tool `name`, e.g. "🔎 fetching example.com", "📝 writing notes.md"."""
    icon, verb = _ICONS.get(name, ("🛠️", "running"))
    detail = _detail(name, args)[:_MAX_DETAIL]
    subject = detail if detail else name if name not in _ICONS else ""
    return f"{icon} {verb} {subject}".rstrip()


def report_progress(line: str) -> None:
    """Tell the streamed turn running in this context that `line` is happening (no-op elsewhere)."""
    sink = PROGRESS_SINK.get()
    if sink is not None:
        sink(line)


def _event(data: Mapping[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


async def response_events(response: AgentResponse) -> AsyncIterator[str]:
    """The response as server-sent events: each block as `{"text": …}`, then the response without parts."""
    for part in response.parts:
        for block in split_blocks(part):
            yield _event({"text": block})
    yield f"data: {response.model_copy(update={'parts': ()}).to_wire()}\n\n"  # the text went as blocks


async def turn_events(run: Callable[[], Awaitable[AgentResponse]]) -> AsyncIterator[str]:
    """Run the turn (`run`, which answers an error response rather than raising) and stream its events:
    the first at once, a progress line as each tool starts, then the answer (module docstring)."""
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    yield _event({"progress": ""})
    token = PROGRESS_SINK.set(lines.put_nowait)
    try:
        task = asyncio.ensure_future(run())  # copies the context: the turn's tools see the sink
    finally:
        PROGRESS_SINK.reset(token)
    task.add_done_callback(lambda _task: lines.put_nowait(None))
    try:
        while (line := await lines.get()) is not None:
            yield _event({"progress": line})
        response = await task
    finally:
        if not task.done():  # the client went away: the turn still finishes (a retry finds it answered)
            await asyncio.shield(task)
    async for event in response_events(response):
        yield event
