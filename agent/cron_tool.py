"""The agent's `cron` tool: OpenClaw's cron actions on clawbus's cron service (storage.cron.service).

`CronTool.__call__(params, scope=...)` takes the tool's parameters as OpenClaw's tool does (`action` =
status|list|add|update|remove|run|runs, `job` for add, `jobId` (or `id`), `patch` for update,
`includeDisabled` for list) and returns a JSON-able result; refused input comes back as
`{"ok": false, "error": ...}` for the model to read, never as an exception. Jobs are created for the
calling turn's agent. Where a job may deliver is checked on add and on update (`agent/cron_delivery.py`):
the calling conversation, the owner's DMs or the last route; a job without a target announces to the
conversation it was created from.

`cron_tool(settings)` makes it one of the agent loop's tools; with the offline model and
`CLAWBUS_AGENT__DEV_TOOL_SYNTAX=true` a message `/cron {json}` calls it (see `agent/models/offline.py`),
so tests exercise it end to end offline.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

from clawbus.agent.cron_delivery import DeliveryRefused, OwnerIds, checked_delivery, owner_ids
from clawbus.agent.models.base import ToolSpec
from clawbus.agent.tools.base import Tool
from clawbus.agent.tools.scope import TURN_SCOPE, TurnScope
from clawbus.bus.clients import CronClients, open_stage_clients
from clawbus.bus.errors import ClawbusError, PermanentError
from clawbus.bus.logging import log_event, session_ref
from clawbus.bus.settings import Settings
from clawbus.storage.cron.service import CronService, connect

logger = logging.getLogger(__name__)
ACTIONS = "actions: status list add update remove run runs"


class CronTool:
    """The `cron` tool over one cron service."""

    name = "cron"

    def __init__(self, service: CronService, owners: OwnerIds | None = None) -> None:
        self._service = service
        self._owners = owners or {}

    async def __call__(self, params: Mapping[str, Any], *, scope: TurnScope) -> dict[str, Any]:
        """Run one action for the turn `scope`; `{"ok": false, "error": ...}` when it is refused."""
        action = str(params.get("action", ""))
        job_id = str(params.get("jobId") or params.get("id") or "")
        try:
            result = await self._act(action, job_id, params, scope)
        except DeliveryRefused as exc:
            log_event(
                logger,
                "agent.cron.refused",
                logging.WARNING,
                action=action,
                session=session_ref(scope.session_key),
            )
            return {"ok": False, "action": action, "error": str(exc)}
        except PermanentError as exc:
            return {"ok": False, "action": action, "error": str(exc)}
        log_event(logger, "agent.cron.called", action=action, session=session_ref(scope.session_key))
        return {"ok": True, "action": action, **result}

    def _checked(self, fields: Mapping[str, Any], scope: TurnScope, *, patch: bool = False) -> dict[str, Any]:
        """A job (or a patch) for `scope`'s agent, its delivery checked; a job without a target gets the
        conversation's route, a patch's delivery is checked only when the patch changes it."""
        checked = {k: v for k, v in fields.items() if k not in ("agentId", "agent_id")}
        if patch and "delivery" not in fields:
            return checked
        delivery = checked_delivery(fields.get("delivery"), scope, self._owners)
        if delivery is not None or patch:
            checked["delivery"] = delivery
        return checked

    async def _act(
        self, action: str, job_id: str, params: Mapping[str, Any], scope: TurnScope
    ) -> dict[str, Any]:
        service = self._service
        if action == "add":
            job = params.get("job")
            if not isinstance(job, Mapping):  # OpenClaw also accepts the job's fields at top level
                job = {k: v for k, v in params.items() if k not in ("action",)}
            created = await service.add(self._checked(job, scope), agent_id=scope.agent_id)
            return {"job": _dump(created)}
        if action in ("list", "status"):
            jobs = await service.list_jobs(
                agent_id=scope.agent_id, include_disabled=bool(params.get("includeDisabled"))
            )
            return {"jobs": [_dump(j) for j in jobs]}
        if not job_id:
            raise PermanentError(f"cron {action!r} needs jobId ({ACTIONS})")
        if action == "update":
            patch = params.get("patch") or {}
            if not isinstance(patch, Mapping):
                raise PermanentError("cron update: 'patch' must be an object of job fields")
            return {"job": _dump(await service.update(job_id, self._checked(patch, scope, patch=True)))}
        if action == "remove":
            return {"removed": await service.remove(job_id)}
        if action == "run":
            return {"eventId": await service.run(job_id)}
        if action == "runs":
            return {"runs": [_dump(r) for r in await service.runs(job_id, int(params.get("limit", 50)))]}
        raise PermanentError(f"unknown cron action {action!r}: {ACTIONS}")


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


SPEC = ToolSpec(
    name="cron",
    description=(
        "Manage scheduled jobs (OpenClaw's cron tool): action status|list|add|update|remove|run|runs; "
        "`job` for add ({name, schedule {kind at|every|cron}, payload {kind systemEvent|agentTurn}}), "
        "`jobId` for the others, `patch` for update."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "action": {
                "type": "string",
                "enum": ["status", "list", "add", "update", "remove", "run", "runs"],
            },
            "job": {"type": "object"},
            "jobId": {"type": "string"},
            "patch": {"type": "object"},
            "includeDisabled": {"type": "boolean"},
            "limit": {"type": "integer"},
        },
        "required": ["action"],
    },
)


@contextlib.asynccontextmanager
async def cron_tool(settings: Settings) -> AsyncIterator[Tool | None]:
    """The `cron` tool of the agent loop for the life of the block, or None when the deployment has no
    cron service to reach (the agent still answers, and its log says why)."""
    async with open_stage_clients(settings, CronClients) as clients:
        try:
            service = await connect(settings, clients)
        except ClawbusError as exc:
            log_event(logger, "agent.cron.unavailable", logging.WARNING, reason=str(exc))
            yield None
            return
        cron = CronTool(service, owner_ids(settings))
        agent_id = settings.session.agent_id
        outside = TurnScope(session_key=f"agent:{agent_id}:main", agent_id=agent_id)  # no route of its own

        async def run(args: Mapping[str, Any]) -> str:
            result = await cron(args, scope=TURN_SCOPE.get() or outside)
            return json.dumps(result, sort_keys=True)

        yield Tool(spec=SPEC, run=run)
