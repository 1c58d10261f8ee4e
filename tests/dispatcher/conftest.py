"""In-process dispatcher fixtures: a fake AgentCore data plane on loopback and the AWS clients a
`TurnHandler` needs (the ledger, the claim-check bucket, the session index holding the last route and
the `/queue` override, read through one `SharedReads` as `dispatcher/main.py` does), so a test can watch
what a turn publishes, and when, and which AWS requests it made."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clawbus.bus.clients import DispatcherClients, open_stage_clients
from clawbus.bus.settings import Settings
from clawbus.bus.sqs_record import SqsRecord
from clawbus.bus.topology import ledger_table_name, sessions_table_name
from clawbus.dispatcher.agentcore import AgentCoreInvoker
from clawbus.dispatcher.ledger import TurnLedger
from clawbus.dispatcher.scheduled import LastRoutes
from clawbus.dispatcher.session_queues import SessionQueues
from clawbus.dispatcher.turn_handler import TurnHandler
from clawbus.schemas import InboundEvent, Peer, PeerKind, ReplyTarget
from clawbus.storage import DynamoSessionIndex
from clawbus.storage.backends import shared_reads
from clawbus.storage.claim_check import ClaimChecks
from tests.conftest import Bus
from tests.helpers import eventually, free_port

Invocation = Callable[[Request], Awaitable[Response]]


class Recorder:
    """An outbound topic that remembers what was published, in order."""

    def __init__(self) -> None:
        self.published: list[tuple[str, str, dict[str, str]]] = []

    async def publish(self, body: str, *, group_id: str, dedup_id: str, attributes: dict[str, str]) -> None:
        self.published.append((dedup_id, body, dict(attributes)))


@dataclass
class Harness:
    """A TurnHandler wired to the loopback AWS API and a fake AgentCore endpoint answering `invocation`."""

    handler: TurnHandler
    topic: Recorder
    claim_checks: ClaimChecks
    sessions: DynamoSessionIndex
    requests: dict[str, int]  # AWS requests made so far, by client and `<client>.<Operation>`


def received(event: InboundEvent, receive_count: int = 1) -> SqsRecord:
    """`event` as the consumer hands it over, received from the inbound queue."""
    return SqsRecord(
        event.event_id, "receipt", event.to_wire(), event.session_key, "d", receive_count, datetime.now(UTC)
    )


def turn_message(text: str = "hello", event_id: str = "webchat:s:1", receive_count: int = 1) -> SqsRecord:
    """The inbound message of one WebChat event, as the consumer would hand it over."""
    event = InboundEvent(
        event_id=event_id,
        channel="webchat",
        session_key="agent:main:main",
        peer=Peer(kind=PeerKind.DIRECT, id="s"),
        text=text,
        reply_to=ReplyTarget(chat_id="s"),
        received_at=datetime(2026, 11, 25, tzinfo=UTC),
    )
    return SqsRecord(
        event_id, "receipt", event.to_wire(), "agent:main:main", "d", receive_count, datetime.now(UTC)
    )


@pytest.fixture
def harness_factory(
    bus: Bus,
) -> Callable[[Invocation, dict[str, object]], AsyncIterator[Harness]]:
    """`async with harness_factory(answer, dispatcher_settings[, clock]) as h:` — see `Harness`."""
    import contextlib

    @contextlib.asynccontextmanager
    async def make(
        invocation: Invocation,
        dispatcher: dict[str, object],
        clock: Callable[[], datetime] | None = None,
        draft_channels: frozenset[str] = frozenset(),
    ) -> AsyncIterator[Harness]:
        port = free_port()
        app = Starlette(routes=[Route("/runtimes/{arn:path}/invocations", invocation, methods=["POST"])])
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
        serving = asyncio.create_task(server.serve())
        await eventually(lambda: asyncio.sleep(0, server.started), what="fake AgentCore")
        settings = Settings.model_validate(
            {
                "aws": {"endpoint_url": bus.endpoint},
                "bus": {"prefix": bus.prefix},
                "agentcore": {"endpoint_url": f"http://127.0.0.1:{port}"},
                "dispatcher": dispatcher,
            }
        )
        try:
            requests: dict[str, int] = {}
            async with open_stage_clients(settings, DispatcherClients, requests) as clients:
                assert clients.s3
                topic = Recorder()
                claim_checks = ClaimChecks(
                    clients.s3, settings.bus.bucket_name(), settings.dispatcher.claim_check_bytes
                )
                reads = shared_reads(clients.dynamodb)
                sessions = DynamoSessionIndex(clients.dynamodb, sessions_table_name(bus.prefix), reads)
                handler = TurnHandler(
                    AgentCoreInvoker(clients.agentcore, settings.agentcore),
                    topic,
                    TurnLedger(clients.dynamodb, ledger_table_name(bus.prefix), 86_400 * 8, reads),
                    claim_checks,
                    settings.dispatcher,
                    routes=LastRoutes(sessions),
                    **({} if clock is None else {"clock": clock}),
                    queues=SessionQueues(sessions),
                    draft_channels=draft_channels,
                )
                yield Harness(handler, topic, claim_checks, sessions, requests)
        finally:
            server.should_exit = True
            await serving

    return make  # type: ignore[return-value]
