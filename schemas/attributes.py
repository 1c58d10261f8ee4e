"""The SQS/SNS message attribute names clawbus uses, listed once.

SQS allows 10 attributes per message; these are all of ours, and no message carries more than ten of
them (a replayed message drops the six `clawbus.error.*`/attempts/first-seen/source ones and gains
`clawbus.replay`). Trace context travels as W3C `traceparent`
and `tracestate`; `channel` is what the SNS subscriptions filter on; `clawbus.error.*` are written when a
message is dead-lettered so `clawbus dlq list` can say why.
"""

from __future__ import annotations

from typing import Final

TRACEPARENT: Final = "traceparent"
TRACESTATE: Final = "tracestate"
CHANNEL: Final = "channel"
KIND: Final = "clawbus.kind"
ERROR_TYPE: Final = "clawbus.error.type"
ERROR_STAGE: Final = "clawbus.error.stage"
ERROR_REASON: Final = "clawbus.error.reason"
ATTEMPTS: Final = "clawbus.attempts"
FIRST_SEEN: Final = "clawbus.first_seen"
SOURCE_QUEUE: Final = "clawbus.source_queue"
REPLAY: Final = "clawbus.replay"  # set by `clawbus dlq replay` (the DLQ message id); error attributes dropped

ALL: Final = (
    TRACEPARENT,
    TRACESTATE,
    CHANNEL,
    KIND,
    ERROR_TYPE,
    ERROR_STAGE,
    ERROR_REASON,
    ATTEMPTS,
    FIRST_SEEN,
    SOURCE_QUEUE,
    REPLAY,
)
