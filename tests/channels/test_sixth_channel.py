"""A sixth channel is its own file plus one line in the registry: the proof issue 19 asks for.

`pigeon` is a made-up platform defined only here (its settings object comes from its own accessor, not
from `Settings`) and listed in the registry by the test. One signed webhook goes through the real
ingress ASGI app onto the real inbound queue of the loopback AWS API; one reply goes out through
egress's sender (split, rendered in the platform's style, recorded in the sent ledger) to a fake of the
platform. No stage was told about pigeon.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from clawbus.bus.clients import EgressClients, open_stage_clients
from clawbus.bus.errors import Unauthorized
from clawbus.bus.settings import ChannelSettings, Settings
from clawbus.bus.topology import inbound_queue_name
from clawbus.channels import registry
from clawbus.channels.contracts import (
    ChannelSpec,
    Outbound,
    PlatformClient,
    Profile,
    Webhook,
    WebhookRequest,
    per_chat,
)
from clawbus.channels.normalised import Context, Parsed, Turn, build_event
from clawbus.channels.text_style import TextStyle
from clawbus.egress.senders import open_sender
from clawbus.ingress.http.app import create_app
from clawbus.schemas import OutboundReply, Peer, PeerKind, ReplyPart, ReplyTarget, Sender, derive_session_key
from tests.conftest import Bus, make_bus
from tests.helpers import drain_queue

SECRET = "pigeon-secret"


class PigeonSettings(ChannelSettings):
    secret: str = SECRET
    dm_policy: str = "open"  # type: ignore[assignment]  # a literal of the real classes; any string here

    def configured(self) -> bool:
        return True


PIGEON_SETTINGS = PigeonSettings()


def _sign(body: bytes, cfg: PigeonSettings, timestamp: int) -> dict[str, str]:
    del timestamp
    digest = hmac.new(cfg.secret.encode(), body, hashlib.sha256).hexdigest()
    return {"content-type": "application/json", "x-pigeon-signature": digest}


def _verify(request: WebhookRequest, cfg: PigeonSettings, now: datetime) -> None:
    del now
    expected = _sign(request.body, cfg, 0)["x-pigeon-signature"]
    if not hmac.compare_digest(request.headers.get("x-pigeon-signature", ""), expected):
        raise Unauthorized("bad pigeon signature")


def _normalise(data: dict[str, Any], cfg: PigeonSettings, ctx: Context) -> Parsed:
    del cfg
    loft = str(data["loft"])
    key = derive_session_key(
        agent_id=ctx.agent_id,
        channel="pigeon",
        peer_kind=PeerKind.DIRECT,
        peer_id=loft,
        dm_scope=ctx.dm_scope,
    )
    event = build_event(
        event_id=f"pigeon:{data['id']}",
        channel="pigeon",
        agent_id=ctx.agent_id,
        session_key=key,
        peer=Peer(kind=PeerKind.DIRECT, id=loft),
        sender=Sender(id=loft),
        text=str(data["text"]),
        reply_to=ReplyTarget(chat_id=loft),
        received_at=ctx.now,
    )
    return Parsed(turns=(Turn(event, mentioned=True),))


class FakeLoft:
    """The pigeon platform's API: records every message it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []

    async def post(self, target: ReplyTarget, text: str, *, first: bool, key: str) -> str:
        del first, key
        self.received.append((target.chat_id, text))
        return str(len(self.received))

    async def typing(self, target: ReplyTarget) -> None:
        del target


LOFT = FakeLoft()


@contextlib.asynccontextmanager
async def _open_client(cfg: PigeonSettings, timeout_s: float) -> AsyncIterator[PlatformClient]:
    del cfg, timeout_s
    yield LOFT


def _settings(settings: Settings) -> PigeonSettings:
    del settings
    return PIGEON_SETTINGS


def _configured(cfg: PigeonSettings) -> bool:
    return cfg.configured()


PIGEON: ChannelSpec[PigeonSettings] = ChannelSpec(
    name="pigeon",
    settings=_settings,
    configured=_configured,
    webhook=Webhook(path="/webhooks/pigeon", verify=_verify, normalise=_normalise, sign=_sign),
    outbound=Outbound(
        profile=Profile("pigeon", 200, TextStyle(bold=("!", "!")), per_chat(100, 1.0)),
        open_client=_open_client,
    ),
)


@pytest.fixture
def pigeon_bus(aws_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Bus, Settings]:
    monkeypatch.setattr(registry, "CHANNELS", (*registry.CHANNELS, PIGEON))  # the one registry line
    bus = make_bus(aws_endpoint)
    for name, value in {**bus.env, "CLAWBUS_WEBCHAT__ENABLED": "false"}.items():
        monkeypatch.setenv(name, value)
    return bus, Settings()


async def test_a_signed_pigeon_webhook_lands_on_the_inbound_queue(pigeon_bus: tuple[Bus, Settings]) -> None:
    bus, settings = pigeon_bus
    body = json.dumps({"id": "m1", "loft": "coop-7", "text": "coo from the roof"}).encode()
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client,
    ):
        unsigned = {"content-type": "application/json"}
        refused = await client.post("/webhooks/pigeon", content=body, headers=unsigned)
        accepted = await client.post(
            "/webhooks/pigeon", content=body, headers=_sign(body, PIGEON_SETTINGS, 0)
        )
    assert refused.status_code == 401
    assert accepted.status_code == 200
    url = bus.queue_url(inbound_queue_name(bus.prefix))
    events = drain_queue(bus.client("sqs"), url, expect=1, mid_turn_copies=False)
    assert [(e["channel"], e["text"], e["peer"]["id"]) for e in events] == [
        ("pigeon", "coo from the roof", "coop-7")
    ]


async def test_a_pigeon_reply_goes_out_through_egress_once(pigeon_bus: tuple[Bus, Settings]) -> None:
    _bus, settings = pigeon_bus
    LOFT.received.clear()
    text = "a **fine** day. " + "seed " * 60  # over the profile's 200 characters: two messages
    reply = OutboundReply(
        reply_id="r-pigeon-1",
        in_reply_to=("pigeon:m1",),
        session_key=derive_session_key(
            agent_id="main",
            channel="pigeon",
            peer_kind=PeerKind.DIRECT,
            peer_id="coop-7",
            dm_scope=settings.session.dm_scope,
        ),
        channel="pigeon",
        target=ReplyTarget(chat_id="coop-7"),
        parts=(ReplyPart(index=0, text=text),),
        created_at=datetime.now(UTC),
    )
    async with (
        open_stage_clients(settings, EgressClients) as clients,
        open_sender("pigeon", settings, clients) as sender,
    ):
        await sender.send(reply)
        await sender.send(reply)  # redelivered: the sent ledger already has every chunk
    assert [chat for chat, _ in LOFT.received] == ["coop-7", "coop-7"]
    assert LOFT.received[0][1].startswith("a !fine! day.")
    assert all(len(message) <= 200 for _, message in LOFT.received)
