"""Heartbeat turns, as OpenClaw runs them: the poll prompt, skipping empty checklists, and `HEARTBEAT_OK`.

A heartbeat asks the agent to follow HEARTBEAT.md. An agent with nothing to report answers
`HEARTBEAT_OK`, and that acknowledgement must never reach the user (`strip_heartbeat_token`):

- the token is removed from the start (repeatedly) and from the end (with up to 4 trailing
  non-word characters, e.g. `HEARTBEAT_OK.`); light markup (`**`, backticks, `~`, `_`, HTML tags,
  `&nbsp;`) around it does not hide it; a token in the middle is not an acknowledgement;
- nothing left → suppressed; on a heartbeat, anything left of at most `ack_max_chars` (300) is suppressed
  too; longer text is delivered without the token.

A HEARTBEAT.md that is effectively empty means no model call (upstream's `isHeartbeatContentEffectivelyEmpty`,
src/auto-reply/heartbeat.ts): only blank lines, HTML comments (`<!-- ... -->`, also across lines), ATX
headings (`# Tasks`), empty list items or checklist stubs (`-`, `- [ ]`, `* [x]`) and bare fence markers
(```` ``` ````, ```` ```markdown ````). The skip is logged `agent.heartbeat.skipped` with OpenClaw's reason
`empty-heartbeat-file` (`SKIP_EMPTY`); a missing HEARTBEAT.md is not empty: the model still decides.
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
_EMPTY_LINE = re.compile(r"^(#+(\s.*)?|[-*+]\s*(\[[\sxX]?\]\s*)?|```[A-Za-z0-9_-]*)?$")
_COMMENT_OPEN, _COMMENT_CLOSE = "<!--", "-->"
SKIP_EMPTY = "empty-heartbeat-file"  # OpenClaw's skip reason for an effectively empty checklist


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


def _without_comments(checklist: str) -> list[str]:
    """The lines with HTML comments that open a line (after blanks) removed, as upstream strips them."""
    lines, inside = [], False
    for line in checklist.split("\n"):
        rest = line
        while inside or rest.lstrip().startswith(_COMMENT_OPEN):
            body = rest if inside else rest.lstrip()
            end = body.find(_COMMENT_CLOSE)
            if end == -1:
                inside, rest = True, ""
                break
            inside, rest = False, body[end + len(_COMMENT_CLOSE) :]
        lines.append(rest)
    return lines


def is_effectively_empty(checklist: str) -> bool:
    """Whether HEARTBEAT.md holds nothing to do: only blank lines, HTML comments, headings, empty list
    items or checklist stubs, and fence markers (see the module docstring)."""
    return all(_EMPTY_LINE.match(line.strip()) for line in _without_comments(checklist))
