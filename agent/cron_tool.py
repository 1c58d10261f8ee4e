"""The agent's `cron` tool: OpenClaw's cron actions on clawbus's cron service (bus.cron.service).

`CronTool.__call__(params, session_key=..., agent_id=...)` takes the tool's parameters as OpenClaw's
tool does (`action` = status|list|add|update|remove|run|runs, `job` for add, `jobId` (or `id`),
`patch` for update, `includeDisabled` for list) and returns a JSON-able result; refused input comes back
as `{"ok": false, "error": ...}` for the model to read, never as an exception. Jobs are created for the
calling agent; a job's result is announced to its delivery target, else to the agent's last route.

Until the agent loop calls tools itself, a user message `/cron {json}` runs the tool directly
(`with_cron_command`), so the tool can be exercised end to end with the offline model.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from clawbus.bus.aws import open_clients
from clawbus.bus.cron.service import CronService, connect
from clawbus.bus.errors import ClawbusError, PermanentError
from clawbus.bus.logging import log_event, session_ref
from clawbus.bus.settings import Settings
from clawbus.schemas import AgentRequest, AgentResponse, EventKind

from .providers import ModelProvider

logger = logging.getLogger(__name__)
COMMAND = "/cron "
ACTIONS = "actions: status list add update remove run runs"
TurnRunner = Callable[[AgentRequest, ModelProvider], Awaitable[AgentResponse]]


class CronTool:
    """The `cron` tool over one cron service."""

    name = "cron"

    def __init__(self, service: CronService) -> None:
        self._service = service

    async def __call__(self, params: Mapping[str, Any], *, session_key: str, agent_id: str) -> dict[str, Any]:
        """Run one action; `{"ok": false, "error": ...}` when the service refuses it."""
        action = str(params.get("action", ""))
        job_id = str(params.get("jobId") or params.get("id") or "")
        try:
            result = await self._act(action, job_id, params, agent_id)
        except PermanentError as exc:
            return {"ok": False, "action": action, "error": str(exc)}
        log_event(logger, "agent.cron.called", action=action, session=session_ref(session_key))
        return {"ok": True, "action": action, **result}

    async def _act(
        self, action: str, job_id: str, params: Mapping[str, Any], agent_id: str
    ) -> dict[str, Any]:
        service = self._service
        if action == "add":
            job = params.get("job")
            if not isinstance(job, Mapping):  # OpenClaw also accepts the job's fields at top level
                job = {k: v for k, v in params.items() if k not in ("action",)}
            created = await service.add(job, agent_id=agent_id)
            return {"job": _dump(created)}
        if action in ("list", "status"):
            jobs = await service.list_jobs(
                agent_id=agent_id, include_disabled=bool(params.get("includeDisabled"))
            )
            return {"jobs": [_dump(j) for j in jobs]}
        if not job_id:
            raise PermanentError(f"cron {action!r} needs jobId ({ACTIONS})")
        if action == "update":
            return {"job": _dump(await service.update(job_id, dict(params.get("patch") or {})))}
        if action == "remove":
            return {"removed": await service.remove(job_id)}
        if action == "run":
            return {"eventId": await service.run(job_id)}
        if action == "runs":
            return {"runs": [_dump(r) for r in await service.runs(job_id, int(params.get("limit", 50)))]}
        raise PermanentError(f"unknown cron action {action!r}: {ACTIONS}")


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def with_cron_command(tool: CronTool, inner: TurnRunner) -> TurnRunner:
    """A turn runner that answers a `/cron {json}` message with the tool's result, else runs `inner`."""

    async def run(request: AgentRequest, provider: ModelProvider) -> AgentResponse:
        last = request.events[-1]
        if last.kind is not EventKind.MESSAGE or not last.text.startswith(COMMAND):
            return await inner(request, provider)
        try:
            params = json.loads(last.text.removeprefix(COMMAND))
        except ValueError as exc:
            params = exc
        if isinstance(params, dict):
            result = await tool(params, session_key=request.session_key, agent_id=last.agent_id)
        else:
            result = {"ok": False, "error": f"/cron takes a JSON object, not {params!s:.80}"}
        return AgentResponse(parts=(json.dumps(result, sort_keys=True),), model="tool/cron")

    return run


@contextlib.asynccontextmanager
async def cron_turns(settings: Settings, inner: TurnRunner) -> AsyncIterator[TurnRunner]:
    """The turn runner with the cron tool for the life of the block (`inner` alone when the deployment
    has no cron service to reach: the agent still answers, and says why in its log)."""
    async with open_clients(settings, "scheduler", "dynamodb", "sqs") as clients:
        try:
            service = await connect(settings, clients)
        except ClawbusError as exc:
            log_event(logger, "agent.cron.unavailable", logging.WARNING, reason=str(exc))
            yield inner
            return
        yield with_cron_command(CronTool(service), inner)
