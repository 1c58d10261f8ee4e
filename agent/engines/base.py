"""What the agent app needs from an engine that runs turns instead of the native loop."""

from __future__ import annotations

from typing import Protocol

from clawbus.schemas import AgentRequest, AgentResponse


class TurnEngine(Protocol):
    """Runs a whole turn; says while it cannot yet (the app's `/ping` answers `HealthyBusy` then)."""

    @property
    def model(self) -> str:
        """The engine and model answering, for the response and the logs (`openclaw/<provider>/<model>`)."""
        ...

    @property
    def steerable(self) -> bool:
        """Whether its turns take messages steered into them (`turn_control.TurnSignal.steer`) and name
        those they took in their answer (`AgentResponse.steered`)."""
        ...

    @property
    def warming(self) -> bool:
        """True while the engine starts, warms up or restarts."""
        ...

    async def run(self, request: AgentRequest) -> AgentResponse:
        """The turn's response; raises classified clawbus errors (`RetryableError`, `PermanentError`)."""
        ...
