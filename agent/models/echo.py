"""The offline echo rule both engines answer by, so a reply shows which engine answered and what it kept.

`(<engine> · offline echo · turn <n>) You said: <text>`: `n` counts the real user turns the model saw in
its context, so history kept (turn 3) or lost (turn 1 again) is visible from outside. OpenClaw wraps what
the user said: it prefixes the message with `[<timestamp>] `, follows it with a `Runtime:` line, and adds
an internal-context user message (`<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>`) after it. Those are not the
user's: `user_turns` skips the internal messages and `own_text` strips the wrapping, so both engines echo
the same text. A heartbeat poll (the message starts with the poll prompt) is acknowledged `HEARTBEAT_OK`.
`tool_command` is the test device both engines' echo share when `CLAWBUS_AGENT__DEV_TOOL_SYNTAX` is on:
a message `/<tool> {json}` names a tool call, and so does, on a heartbeat poll, the first such line of
HEARTBEAT.md as the system prompt carries it (`heartbeat_command`). Pure: texts in, text out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from clawbus.agent.heartbeat import HEARTBEAT_PROMPT, HEARTBEAT_TOKEN

INTERNAL_CONTEXT_MARK = "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>"
_TIMESTAMP = re.compile(r"^\[[^\]\n]*\d{4}-\d{2}-\d{2}[^\]\n]*\]\s")  # `[Fri 2026-12-04 12:00 UTC] `
_RUNTIME_LINE = re.compile(r"\n+Runtime:[^\n]*\s*$")
_TOOL_COMMAND = re.compile(r"^/(?P<tool>[a-z_]+) (?P<args>\{.*\})\s*$", re.S)


def own_text(text: str) -> str:
    """What the user typed, without OpenClaw's `[<timestamp>] ` prefix and trailing `Runtime:` line."""
    return _TIMESTAMP.sub("", _RUNTIME_LINE.sub("", text), count=1)


def user_turns(texts: Sequence[str]) -> list[str]:
    """The user messages' own texts, OpenClaw's internal-context messages left out."""
    return [own_text(t) for t in texts if not t.lstrip().startswith(INTERNAL_CONTEXT_MARK)]


def echo_reply(engine: str, user_texts: Sequence[str], sent: Sequence[str] = ()) -> str:
    """The echo model's answer, given every user message's text in the model's context, oldest first,
    and what the last one carried (`sent`: one line per file, e.g. "image/jpeg, 48 KB, 'receipt.jpg'")."""
    turns = user_turns(user_texts)
    last = turns[-1] if turns else ""
    if last.strip().startswith(HEARTBEAT_PROMPT):
        return HEARTBEAT_TOKEN
    said = f"You said: {last}" if last.strip() else ""
    if sent:
        said = (said + " " if said else "") + "You sent: " + "; ".join(sent)
    return f"({engine} · offline echo · turn {len(turns)}) {said or 'I received an empty message.'}"


def tool_command(text: str) -> tuple[str, dict[str, Any]] | None:
    """`/<tool> {json object}` as `(tool, arguments)`; None for anything else, bad JSON included."""
    command = _TOOL_COMMAND.match(text.strip())
    if command is None:
        return None
    try:
        args = json.loads(command["args"])
    except ValueError:
        return None
    return (command["tool"], args) if isinstance(args, dict) else None


_HEARTBEAT_SECTION = "## HEARTBEAT.md\n\n"


def heartbeat_command(system: str) -> tuple[str, dict[str, Any]] | None:
    """The first `/<tool> {json}` line of HEARTBEAT.md in a heartbeat turn's system prompt, or None."""
    start = system.find(_HEARTBEAT_SECTION)
    if start == -1:
        return None
    body = system[start + len(_HEARTBEAT_SECTION) :].split("\n## ", 1)[0]
    return next((c for c in map(tool_command, body.splitlines()) if c is not None), None)
