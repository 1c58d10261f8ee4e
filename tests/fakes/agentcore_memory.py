"""A loopback stand-in for AgentCore Memory's data plane, on its REST-JSON wire format (botocore's
`bedrock-agentcore` model): CreateEvent, ListEvents, RetrieveMemoryRecords. A repeated `clientToken`
answers the event it first created, as AgentCore's idempotency does."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class MemoryState:
    """Events per (memory, actor, session) in creation order; long-term records per namespace."""

    events: dict[tuple[str, str, str], list[dict[str, Any]]] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: dict[str, list[str]] = field(default_factory=dict)
    ids: itertools.count[int] = field(default_factory=itertools.count)


def memory_app(state: MemoryState) -> Starlette:
    """The fake's ASGI app."""

    async def create_event(request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        memory = request.path_params["memory_id"]
        token = body.get("clientToken")
        if token and token in state.tokens:
            return JSONResponse({"event": state.tokens[token]}, status_code=201)
        event = {
            "memoryId": memory,
            "actorId": body["actorId"],
            "sessionId": body["sessionId"],
            "eventId": f"ev-{next(state.ids)}",
            "eventTimestamp": body["eventTimestamp"],
            "payload": body["payload"],
            "metadata": body.get("metadata", {}),
        }
        state.events.setdefault((memory, body["actorId"], body["sessionId"]), []).append(event)
        if token:
            state.tokens[token] = event
        return JSONResponse({"event": event}, status_code=201)

    async def list_events(request: Request) -> JSONResponse:
        body = json.loads(await request.body() or b"{}")
        p = request.path_params
        events = state.events.get((p["memory_id"], p["actor_id"], p["session_id"]), [])
        start = int(body.get("nextToken") or 0)
        size = int(body.get("maxResults", 20))
        page = events[start : start + size]
        answer: dict[str, Any] = {"events": page}
        if start + size < len(events):
            answer["nextToken"] = str(start + size)
        return JSONResponse(answer)

    async def retrieve(request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        words = set(body["searchCriteria"]["searchQuery"].lower().split())
        found = [
            r for r in state.records.get(body.get("namespace", ""), []) if words & set(r.lower().split())
        ]
        summaries = [
            {
                "memoryRecordId": f"rec-{i}",
                "content": {"text": text},
                "memoryStrategyId": "facts",
                "namespaces": [body.get("namespace", "")],
                "createdAt": 1769851800,
            }
            for i, text in enumerate(found[: body["searchCriteria"].get("topK", 10)])
        ]
        return JSONResponse({"memoryRecordSummaries": summaries})

    return Starlette(
        routes=[
            Route("/memories/{memory_id}/events", create_event, methods=["POST"]),
            Route(
                "/memories/{memory_id}/actor/{actor_id}/sessions/{session_id}", list_events, methods=["POST"]
            ),
            Route("/memories/{memory_id}/retrieve", retrieve, methods=["POST"]),
        ]
    )
