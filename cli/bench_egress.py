"""`clawbus bench`'s egress figures: the real `clawbus egress telegram` against a loopback Bot API.

Replies are put on the Telegram egress queue as the outbound topic delivers them (raw, one group per
session, the reply id as deduplication id); the worker sends each through python-telegram-bot to a
stand-in that answers `getMe` and `sendMessage` as the Bot API does. What the bench reads: the worker's
AWS requests per reply (its `/healthz`), and how many `sendMessage` calls arrived (a reply posted twice
is a duplicate).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from clawbus.bus.clients import QueueClients, open_stage_clients
from clawbus.bus.serve import free_loopback_port, serve_inside
from clawbus.bus.topology import build_topology, egress_queue_name
from clawbus.local.provision import Provisioner
from clawbus.local.supervisor import Stage
from clawbus.schemas import OutboundReply, ReplyPart, ReplyTarget, attributes, message_group_id

if TYPE_CHECKING:
    from types_aiobotocore_sqs import SQSClient

    from clawbus.cli.bench_pipeline import Bench

PREFIX = "bench"  # bench_pipeline.PREFIX; its own topology is `benche`

BOT_TOKEN = "654321:bench-egress"  # noqa: S105  # the stand-in's own token
_BOT = {"id": 654321, "is_bot": True, "first_name": "bench", "username": "bench_bot"}


class BotApiStandIn:
    """A Bot API on loopback that accepts every `sendMessage` and counts them."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self._ids = itertools.count(1)

    def app(self) -> Starlette:
        """The ASGI app (`bus.serve.serve_inside` serves it)."""
        return Starlette(routes=[Route("/bot{token}/{method}", self._call, methods=["POST"])])

    async def _call(self, request: Request) -> Response:
        method = request.path_params["method"]
        if method == "getMe":
            return JSONResponse({"ok": True, "result": _BOT})
        if method != "sendMessage":
            return JSONResponse({"ok": False, "error_code": 400, "description": "not in the stand-in"}, 400)
        fields = await _fields(request)
        self.sent.append(str(fields.get("text", "")))
        chat = {"id": int(str(fields.get("chat_id", "0"))), "type": "private"}
        message = {"message_id": next(self._ids), "date": int(time.time()), "chat": chat}
        return JSONResponse({"ok": True, "result": {**message, "text": fields.get("text", "")}})


async def _fields(request: Request) -> dict[str, Any]:
    """The call's parameters: python-telegram-bot posts them URL-encoded (JSON accepted too)."""
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        body: dict[str, Any] = json.loads(raw)
        return body
    return {k: v[-1] for k, v in parse_qs(raw.decode()).items()}


async def put_replies(sqs: SQSClient, url: str, count: int, run: str) -> None:
    """`count` one-part replies, each to its own chat, in batches of ten."""
    replies = [
        OutboundReply(
            reply_id=f"bench-{run}-{n}",
            in_reply_to=(f"bench:{run}:{n}",),
            session_key=f"agent:main:telegram:direct:{20_000 + n}",
            channel="telegram",
            target=ReplyTarget(chat_id=str(20_000 + n)),
            parts=(ReplyPart(index=0, text=f"g{n} m0"),),
        )
        for n in range(count)
    ]
    for start in range(0, count, 10):
        batch = replies[start : start + 10]
        response = await sqs.send_message_batch(
            QueueUrl=url,
            Entries=[
                {
                    "Id": str(i),
                    "MessageBody": reply.to_wire(),
                    "MessageGroupId": message_group_id(reply.session_key),
                    "MessageDeduplicationId": reply.reply_id,
                    "MessageAttributes": {
                        attributes.CHANNEL: {"DataType": "String", "StringValue": "telegram"},
                        attributes.KIND: {"DataType": "String", "StringValue": reply.kind.value},
                    },
                }
                for i, reply in enumerate(batch)
            ],
        )
        if response.get("Failed"):
            raise RuntimeError(f"egress feed: SendMessageBatch failed for {response['Failed']}")


async def egress_figures(bench: Bench, count: int = 200) -> dict[str, Any]:
    """Run `clawbus egress telegram` over `count` replies; its AWS requests per reply and the sends."""
    bench.say(f"egress: {count} replies through the real Telegram worker to a loopback Bot API")
    prefix = f"{PREFIX}e"
    topology = build_topology(prefix, channels=("telegram",))
    url = Provisioner(bench.settings.aws).apply(topology).queue_urls[egress_queue_name(prefix, "telegram")]
    stand_in, health_port = BotApiStandIn(), free_loopback_port()
    async with serve_inside(stand_in.app()) as api_port:
        env = {
            "CLAWBUS_BUS__PREFIX": prefix,
            "CLAWBUS_TELEGRAM__BOT_TOKEN": BOT_TOKEN,
            "CLAWBUS_TELEGRAM__API_BASE": f"http://127.0.0.1:{api_port}",
            "CLAWBUS_EGRESS__HEALTH_PORT": str(health_port),
            "CLAWBUS_EGRESS__WAIT_TIME_S": "1",
        }
        stage = Stage.clawbus("egress-telegram", "egress.started", "egress", "telegram", env=env)
        await asyncio.to_thread(bench.supervisor.start, stage)  # the stand-in answers its getMe meanwhile
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{health_port}", timeout=5) as health:
            before = (await health.get("/healthz")).json()
            async with open_stage_clients(bench.settings, QueueClients) as clients:
                await put_replies(clients.sqs, url, count, "e")
            deadline = time.monotonic() + 170
            after = before
            while after["handled"] - before["handled"] < count and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                after = (await health.get("/healthz")).json()
        bench.supervisor.kill("egress-telegram")
    handled = after["handled"] - before["handled"]
    requests = sum(
        after["aws_requests"].get(s, 0) - before["aws_requests"].get(s, 0) for s in after["aws_requests"]
    )
    texts = stand_in.sent
    return {
        "egress_replies_handled": handled,
        "egress_duplicates": len(texts) - len(set(texts)),
        "egress_lost": count - len(set(texts)),
        "egress_requests_per_reply": round(requests / handled, 2) if handled else None,
    }
