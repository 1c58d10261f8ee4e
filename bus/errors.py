"""The one exception hierarchy every stage raises and catches.

    ClawbusError
    ├── RetryableError          the same work may succeed later (retry, then let redrive decide)
    │   ├── Throttled           the other side said slow down (`retry_after` when it said how long)
    │   ├── Unavailable         5xx, connection refused or reset, endpoint down
    │   └── DeadlineExceeded    a timeout
    └── PermanentError          retrying cannot help: dead-letter with the reason, carry on
        ├── InvalidEnvelope     a message that is not a valid envelope
        │   └── UnsupportedSchemaVersion   a valid envelope of a version this build cannot read
        ├── Unauthorized        bad signature, bad credentials, access denied
        ├── TargetGone          the queue, runtime or chat no longer exists
        ├── AgentRejected       the agent refused the turn (validation) or failed for good
        ├── InvalidSchedule     a cron job or schedule Scheduler cannot take, or that clashes with one
        ├── ConfigError         settings that cannot work; the message names the env var to fix
        ├── VersionConflict     a conditional (If-Match / If-None-Match) write lost to another writer
        ├── CorruptRecord       a stored record or blob is not what its store expects (missing, wrong type)
        ├── TooLarge            a record, blob or document over its store's size limit
        └── SnapshotUnusable    a saved loopback AWS state this build cannot read back (moved aside)

Shells translate foreign errors (botocore `ClientError`, HTTP statuses) into these at the boundary;
cores and consumer loops see only these. Messages name what happened and what to do, never message text
or secrets.
"""

from __future__ import annotations


class ClawbusError(Exception):
    """Base of every error clawbus raises on purpose."""


class RetryableError(ClawbusError):
    """Work that may succeed if tried again later."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Throttled(RetryableError):
    """The other side asked us to slow down."""


class Unavailable(RetryableError):
    """The other side is down or failing (5xx, refused or reset connection)."""


class DeadlineExceeded(RetryableError):
    """A call did not finish in time."""


class PermanentError(ClawbusError):
    """Work that cannot succeed as it is: dead-letter it with this reason."""


class InvalidEnvelope(PermanentError):
    """A message body that is not a valid clawbus envelope."""


class UnsupportedSchemaVersion(InvalidEnvelope):
    """A valid envelope whose schema version this build cannot read (a newer producer)."""


class Unauthorized(PermanentError):
    """A bad signature, bad credentials, or access denied."""


class TargetGone(PermanentError):
    """The queue, runtime, endpoint or chat addressed does not exist (any more)."""


class AgentRejected(PermanentError):
    """The agent refused the turn or failed in a way a retry cannot fix."""


class InvalidSchedule(PermanentError):
    """A cron job or schedule that cannot be created as asked; the message says what to change."""


class ConfigError(PermanentError):
    """Settings that cannot work; the message names the setting and an allowed value."""


class VersionConflict(PermanentError):
    """A conditional write lost: the file changed (or appeared) since it was read; re-read, then retry."""


class CorruptRecord(PermanentError):
    """A stored record is not in the shape its store writes; the message names it and how to repair it."""


class TooLarge(PermanentError):
    """A record, blob or document over its store's size limit; the message names the limit and the way out."""


class SnapshotUnusable(PermanentError):
    """A loopback AWS state file that cannot be restored (corrupt, or from another moto version)."""
