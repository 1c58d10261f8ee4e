"""Wire contracts: every envelope that crosses a queue, topic, bucket, table or the AgentCore boundary.

Versioned, frozen pydantic models (JSON on the wire) and the pure derivations that go with them
(session keys, FIFO group and dedup ids, AgentCore session ids). Imports nothing from clawbus.
"""

from __future__ import annotations

from clawbus.schemas import attributes
from clawbus.schemas._versioning import EnvelopeError, UnsupportedSchemaVersion
from clawbus.schemas.ids import deduplication_id, message_group_id, reply_id, runtime_session_id
from clawbus.schemas.inbound import (
    Access,
    AttachmentRef,
    EventKind,
    Handoff,
    InboundEvent,
    InboundEventV1,
    Peer,
    ReplyTarget,
    Sender,
    parse_inbound,
    trusted,
)
from clawbus.schemas.invocation import (
    AgentError,
    AgentRequest,
    AgentResponse,
    TurnStatus,
    parse_agent_request,
    parse_agent_response,
)
from clawbus.schemas.outbound import (
    OutboundReply,
    OutboundReplyV1,
    ReplyKind,
    ReplyMedia,
    ReplyPart,
    parse_outbound,
)
from clawbus.schemas.session_key import (
    DmScope,
    PeerKind,
    cron_session_key,
    derive_session_key,
    main_session_key,
)

__all__ = [
    "Access",
    "AgentError",
    "AgentRequest",
    "AgentResponse",
    "AttachmentRef",
    "DmScope",
    "EnvelopeError",
    "EventKind",
    "Handoff",
    "InboundEvent",
    "InboundEventV1",
    "OutboundReply",
    "OutboundReplyV1",
    "Peer",
    "PeerKind",
    "ReplyKind",
    "ReplyMedia",
    "ReplyPart",
    "ReplyTarget",
    "Sender",
    "TurnStatus",
    "UnsupportedSchemaVersion",
    "attributes",
    "cron_session_key",
    "deduplication_id",
    "derive_session_key",
    "main_session_key",
    "message_group_id",
    "parse_agent_request",
    "parse_agent_response",
    "parse_inbound",
    "parse_outbound",
    "reply_id",
    "runtime_session_id",
    "trusted",
]
