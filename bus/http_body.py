"""Reading HTTP request bodies with a size cap, for every server clawbus runs (ingress, agent)."""

from __future__ import annotations

from starlette.requests import Request


class BodyTooLarge(Exception):  # a signal for a 413, not an error of the bus
    """The request body is over the cap."""


async def read_capped(request: Request, limit: int) -> bytes:
    """The request body, refused (without reading it all) when longer than `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise BodyTooLarge
    return bytes(body)
