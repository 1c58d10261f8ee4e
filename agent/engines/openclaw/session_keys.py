"""clawbus session keys as OpenClaw's HTTP API accepts them.

OpenClaw's `/v1/chat/completions` refuses an `x-openclaw-session-key` whose rest (after `agent:<id>:`)
starts with one of its runners' namespaces, `cron:`, `subagent:` or `acp:` (400 invalid_request_error;
gateway/openai-http-api.md, `isReservedSessionKeyOverride` in its gateway). clawbus's scheduler runs a
cron job's isolated turns on OpenClaw's own key shape `agent:<id>:cron:<job>` (the key `state import`
carries over), so the engine speaks to the gateway on `agent:<id>:clawbus-cron:<job>`: the gateway and
its database see the mapped key, the bus and the stores keep clawbus's. Every other key is unchanged.
Pure.
"""

from __future__ import annotations

RESERVED = ("cron", "subagent", "acp")
MARK = "clawbus-"


def gateway_session_key(session_key: str) -> str:
    """The key the gateway runs `session_key`'s turns on (the same key unless it is reserved there)."""
    parts = session_key.split(":", 2)
    if len(parts) == 3 and parts[0].lower() == "agent":  # agent:<id>:<rest>
        head, rest = f"{parts[0]}:{parts[1]}:", parts[2]
    else:
        head, rest = "", session_key
    namespace = rest.split(":", 1)[0].lower()
    return f"{head}{MARK}{rest}" if namespace in RESERVED else session_key
