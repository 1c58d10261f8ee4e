"""Model failover: the configured model first, then each fallback, on throttling, 5xx and timeouts.

A `PermanentError` (a bad request, access denied) is not retried on another model: it would fail the
same way. When every model failed, the last error is raised, so the turn's error reply says whether
the dispatcher may retry it later.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from clawbus.agent.models.base import Message, Model, ModelReply, ToolSpec
from clawbus.bus.errors import ConfigError, RetryableError
from clawbus.bus.logging import log_event

logger = logging.getLogger(__name__)


class FailoverModel:
    """Tries `models` in order; answers as whichever model answered (`ModelReply.model`)."""

    def __init__(self, models: Sequence[Model]) -> None:
        if not models:
            raise ConfigError("no model configured; set CLAWBUS_AGENT__MODEL (e.g. offline/echo)")
        self._models = list(models)

    @property
    def name(self) -> str:
        """The primary model's name."""
        return self._models[0].name

    async def converse(
        self, system: str, messages: Sequence[Message], tools: Sequence[ToolSpec]
    ) -> ModelReply:
        """The first successful reply; the last `RetryableError` if every model failed retryably."""
        last: RetryableError | None = None
        for index, model in enumerate(self._models):
            try:
                reply = await model.converse(system, messages, tools)
            except RetryableError as exc:
                last = exc
                nxt = self._models[index + 1].name if index + 1 < len(self._models) else None
                log_event(
                    logger,
                    "agent.model.failover",
                    logging.WARNING,
                    model=model.name,
                    error=type(exc).__name__,
                    next_model=nxt,
                )
                continue
            return (
                reply
                if reply.model
                else ModelReply(reply.message, reply.stop_reason, reply.usage, model.name)
            )
        assert last is not None
        raise last
