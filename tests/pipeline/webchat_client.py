"""A small client of the WebChat HTTP API, as the page and `clawbus say` use it."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.helpers import eventually


async def post(client: httpx.AsyncClient, conversation: str, text: str, client_id: str | None = None) -> str:
    """Send a message; returns its event id (asserting ingress accepted it)."""
    response = await client.post(
        "/webchat/api/messages",
        json={"conversation": conversation, "text": text, "client_message_id": client_id or uuid.uuid4().hex},
    )
    assert response.status_code == 202, response.text
    return str(response.json()["event_id"])


async def replies(client: httpx.AsyncClient, conversation: str, wait: float = 0) -> list[dict[str, Any]]:
    """Every reply delivered to a conversation so far, in delivery order."""
    response = await client.get(f"/webchat/api/conversations/{conversation}/messages", params={"wait": wait})
    assert response.status_code == 200, response.text
    return list(response.json()["messages"])


async def first_texts(
    client: httpx.AsyncClient, conversation: str, count: int, timeout: float = 240
) -> list[str]:
    """The conversation's first `count` replies' texts, waiting for them (an OpenClaw engine's first
    reply waits for its gateway's warm-up)."""

    async def arrived() -> list[str] | None:
        got = await replies(client, conversation, wait=5)
        return [str(r["text"]) for r in got] if len(got) >= count else None

    return await eventually(arrived, timeout=timeout, what=f"reply {count} in {conversation}")
