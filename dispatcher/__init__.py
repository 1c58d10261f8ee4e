"""The dispatcher: consumes the inbound FIFO queue, runs each session's turns in order through
AgentCore Runtime, and publishes the replies to the outbound SNS FIFO topic.

SQS FIFO message groups (one per session key) give the ordering: a group's next message is not handed
out while one is in flight, so one session's turns never overlap, while other sessions go on.
"""

from __future__ import annotations

from clawbus.dispatcher.agentcore import AgentCoreInvoker, classify_agentcore_error
from clawbus.dispatcher.turn_handler import TurnHandler

__all__ = ["AgentCoreInvoker", "TurnHandler", "classify_agentcore_error"]
