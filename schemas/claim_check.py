"""The claim-check envelope: a pointer to a message body too large for SNS/SQS, stored in S3.

SNS takes 256 KiB per message (attributes included); a larger inbound event or reply is stored in the
state bucket and the queue carries this small pointer instead. Readers resolve it before decoding, so a
claim-checked message reads exactly like the original.
"""

from __future__ import annotations

import json

from pydantic import Field

from clawbus.schemas._base import WireModel

FIELD = "clawbus_claim_check"


class ClaimCheckRef(WireModel):
    """Where the real body is."""

    bucket: str
    key: str
    size: int = Field(ge=0)


class ClaimCheck(WireModel):
    """A message whose body is in S3."""

    clawbus_claim_check: ClaimCheckRef


def read_claim_check(body: str) -> ClaimCheckRef | None:
    """The reference when `body` is a claim-check envelope, else None (cheap for ordinary bodies)."""
    if FIELD not in body[:64]:
        return None
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, RecursionError):
        return None
    if not isinstance(data, dict) or set(data) != {FIELD}:
        return None
    return ClaimCheck.model_validate(data).clawbus_claim_check
