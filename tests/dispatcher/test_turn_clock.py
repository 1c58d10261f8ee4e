"""One clock per turn: what the handler writes is dated by the clock it was given, not the machine's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from clawbus.bus.topology import ledger_table_name
from clawbus.schemas import AgentResponse, parse_outbound
from tests.conftest import Bus
from tests.dispatcher.conftest import turn_message

THEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
LEDGER_TTL_S = 86_400 * 8  # the harness's ledger keeps turns eight days


async def test_the_ledgers_expiry_follows_the_injected_clock_not_the_machines(
    harness_factory: Any, bus: Bus
) -> None:
    async def invocations(_request: Request) -> Response:
        return Response(AgentResponse(parts=("done",)).to_wire(), media_type="application/json")

    async with harness_factory(invocations, {}, lambda: THEN) as h:
        await h.handler([turn_message(event_id="webchat:s:clock")])
        assert [parse_outbound(body).text for _, body, _ in h.topic.published] == ["done"]
    item = bus.client("dynamodb").get_item(
        TableName=ledger_table_name(bus.prefix), Key={"pk": {"S": "turn:webchat:s:clock"}}
    )["Item"]
    assert int(item["expires_at"]["N"]) == int(THEN.timestamp()) + LEDGER_TTL_S
