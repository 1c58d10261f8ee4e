"""Structured logs: one JSON object per line, with a stable `event` name.

Event names (`stage.noun.verb`, e.g. `dispatcher.turn.completed`) are an interface: dashboards, tests and
`clawbus up` match on them. Records carry the current trace and span ids. Message text, attachments and
secrets are never logged; session keys appear hashed (`session`), since they contain user ids.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

_RESERVED = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


def session_ref(session_key: str) -> str:
    """A short, stable, non-reversible reference to a session key for logs."""
    return hashlib.sha256(session_key.encode()).hexdigest()[:12]


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON with `ts`, `level`, `logger`, `event`, the extras, trace ids."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": getattr(record, "event", None) or record.getMessage(),
        }
        message = record.getMessage()
        if message and message != out["event"]:
            out["message"] = message
        for key, value in vars(record).items():
            if key not in _RESERVED and key != "event" and not key.startswith("_"):
                out[key] = value
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            out["trace_id"] = format(ctx.trace_id, "032x")
            out["span_id"] = format(ctx.span_id, "016x")
        if record.exc_info and record.exc_info[0] is not None:
            out["error"] = f"{record.exc_info[0].__name__}: {record.exc_info[1]}"
        return json.dumps(out, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Send every log record to stderr as JSON lines (call once, in a process's main)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    quiet_libraries()


def quiet_libraries() -> None:
    """Keep chatty libraries at WARNING whatever the level: botocore's DEBUG lines hold whole responses,
    secret values included, so they never reach our logs."""
    for noisy in ("botocore", "aiobotocore", "urllib3", "httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one named event with fields (values must not hold message text or secrets)."""
    logger.log(level, event, extra={"event": event, **fields})
