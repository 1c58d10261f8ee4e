"""A small client of the WebChat HTTP API, as the page and `clawbus say` use it."""

from __future__ import annotations

import uuid
from typing import Any

import httpx


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
