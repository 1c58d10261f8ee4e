"""Identifiers derived from session keys and event ids, kept inside each service's limits.

SQS/SNS FIFO `MessageGroupId` and `MessageDeduplicationId` take 1-128 printable ASCII characters
(alphanumerics and punctuation, no space). AgentCore's `runtimeSessionId` takes 33-256 characters, and the
session id it echoes back must match `[a-zA-Z0-9][a-zA-Z0-9-_]*` within 100. Session keys are readable and
usually fit SQS as they are; when one does not (too long, spaces, non-ASCII), a stable hash stands in, so
one session is always exactly one FIFO group.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

SQS_ID_MAX = 128
_SQS_ID = re.compile(r"^[!-~]{1,128}$")  # 0x21..0x7E: alphanumerics and punctuation
RUNTIME_SESSION_MIN = 33
RUNTIME_SESSION_MAX = 100  # the API takes 256, but the echoed id is capped at 100


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_valid_sqs_id(value: str) -> bool:
    """Whether SQS FIFO accepts `value` as a MessageGroupId or MessageDeduplicationId."""
    return bool(_SQS_ID.match(value))


def _sqs_safe(value: str, tag: str) -> str:
    return value if is_valid_sqs_id(value) else f"{tag}:{_digest(value)}"


def message_group_id(session_key: str) -> str:
    """The FIFO MessageGroupId of a session: the key itself, or `h:<sha256>` when SQS would refuse it."""
    return _sqs_safe(session_key, "h")


def deduplication_id(event_id: str) -> str:
    """The FIFO MessageDeduplicationId of an inbound event: its (channel-namespaced) event id, or a hash."""
    return _sqs_safe(event_id, "d")


def runtime_session_id(session_key: str, epoch: int = 0) -> str:
    """AgentCore's `runtimeSessionId` for a session (67 characters, `cb-` + hex).

    `epoch` changes when a session is reset (`/new`), so a reset lands in a fresh AgentCore session.
    """
    material = session_key if epoch == 0 else f"{session_key}#{epoch}"
    return f"cb-{_digest(material)}"


def reply_id(event_ids: Iterable[str]) -> str:
    """The id of the reply to a turn: stable for the same consumed events, so a retried turn re-uses it."""
    return f"rp-{_digest('|'.join(event_ids))[:40]}"
