"""Faults on cue for the loopback AgentCore endpoint: AgentCore's modelled errors, slow answers.

Tests and the fault-injection suite add rules over HTTP (`POST /_clawbus/faults`, `DELETE` clears);
each invocation takes the first rule that matches its runtime session id and still has uses left. A rule
answers with an error code (as AgentCore would: status and `x-amzn-ErrorType`), or with a 200 whose body
is not an agent response (`malformed`), and/or waits first.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

# AgentCore's modelled errors and their HTTP statuses (botocore's bedrock-agentcore model).
ERROR_STATUS = {
    "ValidationException": 400,
    "ServiceQuotaExceededException": 402,
    "AccessDeniedException": 403,
    "ResourceNotFoundException": 404,
    "RetryableConflictException": 409,
    "RuntimeClientError": 424,
    "ThrottlingException": 429,
    "InternalServerException": 500,
}


class FaultRule(BaseModel):
    """One fault: which invocations it hits, what they get, how many times (-1: until cleared)."""

    session_id: str | None = None
    error: str | None = Field(default=None, description="an AgentCore error code, e.g. ThrottlingException")
    delay_s: float = Field(default=0.0, ge=0, le=900)
    malformed: bool = Field(default=False, description="answer 200 with a body that is not valid JSON")
    times: int = Field(default=1, ge=-1)

    def check(self) -> None:
        """Raise ValueError for an error code AgentCore does not have."""
        if self.error is not None and self.error not in ERROR_STATUS:
            raise ValueError(f"unknown AgentCore error {self.error!r}; one of {sorted(ERROR_STATUS)}")


class FaultBook:
    """The rules in force, consumed in order."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> None:
        """Add a rule (after checking it)."""
        rule.check()
        self._rules.append(rule)

    def clear(self) -> None:
        """Remove every rule."""
        self._rules.clear()

    def rules(self) -> list[FaultRule]:
        """The rules with their remaining uses."""
        return list(self._rules)

    def take(self, session_id: str) -> FaultRule | None:
        """The rule for this invocation, if any, using one of its uses."""
        for i, rule in enumerate(self._rules):
            if rule.session_id not in (None, session_id) or rule.times == 0:
                continue
            if rule.times > 0:
                self._rules[i] = rule.model_copy(update={"times": rule.times - 1})
            return rule
        return None
