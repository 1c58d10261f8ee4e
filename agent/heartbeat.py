"""Heartbeat turns, as OpenClaw runs them: the poll prompt, skipping empty checklists, and `HEARTBEAT_OK`.

A heartbeat asks the agent to follow HEARTBEAT.md. An agent with nothing to report answers
`HEARTBEAT_OK`, and that acknowledgement must never reach the user (`strip_heartbeat_token`):

- the token is removed from the start (repeatedly) and from the end (with up to 4 trailing
  non-word characters, e.g. `HEARTBEAT_OK.`); light markup (`**`, backticks, `~`, `_`, HTML tags,
  `&nbsp;`) around it does not hide it; a token in the middle is not an acknowledgement;
- nothing left → suppressed; on a heartbeat, anything left of at most `ack_max_chars` (300) is suppressed
  too; longer text is delivered without the token.

A HEARTBEAT.md that is effectively empty (blank lines, headings, empty list items) means no model call.
"""

from __future__ import annotations

import re

HEARTBEAT_TOKEN = "HEARTBEAT_OK"  # noqa: S105  # not a secret: OpenClaw's heartbeat acknowledgement
DEFAULT_ACK_MAX_CHARS = 300
HEARTBEAT_PROMPT = (
    "Heartbeat poll. Read HEARTBEAT.md from your workspace if it exists and follow it strictly. "
    "Do not pick up old tasks from earlier conversations. If nothing needs attention, reply HEARTBEAT_OK."
)

_TAGS = re.compile(r"<[^>]+>")
_EDGE_MARKUP = "*`~_ \t\r\n"
_EMPTY_LINE = re.compile(r"^\s*(#+(\s.*)?|[-*+]\s*(\[[ xX]?\])?\s*)?$")


def _unmark(text: str) -> str:
    return _TAGS.sub("", text).replace("&nbsp;", " ").strip(_EDGE_MARKUP)


def strip_heartbeat_token(
    text: str, *, heartbeat: bool, ack_max_chars: int = DEFAULT_ACK_MAX_CHARS
) -> str | None:
    """The text to deliver, or None when the reply is suppressed (an acknowledgement, or empty)."""
    if not text.strip():
        return None
    body = _unmark(text)
    if HEARTBEAT_TOKEN not in body:
        return text
    stripped = False
    while body.startswith(HEARTBEAT_TOKEN):
        body = _unmark(body[len(HEARTBEAT_TOKEN) :])
        stripped = True
    end = re.search(re.escape(HEARTBEAT_TOKEN) + r"\W{0,4}$", body)
    if end:
        body = _unmark(body[: end.start()])
        stripped = True
    if not stripped:
        return text  # a token in the middle is not an acknowledgement
    if not body:
        return None
    if heartbeat and len(body) <= ack_max_chars:
        return None
    return body


def is_effectively_empty(checklist: str) -> bool:
    """Whether HEARTBEAT.md holds nothing to do: only blank lines, headings, empty list items."""
    return all(_EMPTY_LINE.match(line) for line in checklist.splitlines())
