"""A turn the agent reports as failed: the error the dispatcher raises (and so the dead letter's reason, or
the retry) carries the agent's own reason, not only its type."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import Response

from clawbus.bus.errors import AgentRejected, Unavailable
from clawbus.schemas import AgentError, AgentResponse, TurnStatus
from tests.dispatcher.conftest import turn_message

REASON = "OpenClaw's transcript of session s-1: transcript event 14 is not a JSON object"


def _failing(retryable: bool) -> Any:
    async def invocations(_request: Request) -> Response:
        error = AgentError(type="PermanentError", message=REASON, retryable=retryable)
        return Response(AgentResponse(status=TurnStatus.ERROR, error=error).to_wire())

    return invocations


@pytest.mark.parametrize(("retryable", "raised"), [(False, AgentRejected), (True, Unavailable)])
async def test_the_agents_reason_travels_with_the_failed_turn(
    harness_factory: Any, retryable: bool, raised: type[Exception]
) -> None:
    async with harness_factory(_failing(retryable), {}) as h:
        with pytest.raises(raised) as failed:
            await h.handler([turn_message("hello")])
    assert str(failed.value) == f"agent turn failed: PermanentError: {REASON}"
