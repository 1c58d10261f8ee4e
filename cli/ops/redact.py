"""Redacting an envelope for display: message text and anything that looks like a secret.

`clawbus dlq show` prints envelopes that hold what users wrote; an operator sees the shape and the ids,
and the words only when they ask (`--reveal`).
"""

from __future__ import annotations

import re
from typing import Any

_TEXT_KEYS = {"text", "caption", "content"}
_SECRET = re.compile(r"token|secret|password|authorization|signature|api[_-]?key|cookie", re.IGNORECASE)


def redact(value: Any) -> Any:
    """A copy of `value` with message text and secret-looking fields replaced by a length marker."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(item, str) and (key in _TEXT_KEYS or _SECRET.search(key)):
                out[key] = f"<redacted {len(item)} chars>"
            else:
                out[key] = redact(item)
        return out
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value
