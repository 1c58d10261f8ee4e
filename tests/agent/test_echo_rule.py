"""The offline echo rule: which engine answered, how many user turns it saw, and the user's own text."""

from __future__ import annotations

from clawbus.agent.heartbeat import HEARTBEAT_PROMPT
from clawbus.agent.models.echo import echo_reply, heartbeat_command

INTERNAL = "<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>\nsession notes\n<<<END_OPENCLAW_INTERNAL_CONTEXT>>>"


def test_the_reply_names_the_engine_and_counts_the_user_turns() -> None:
    assert echo_reply("native", ["hi", "hello"]) == "(native · offline echo · turn 2) You said: hello"


def test_openclaw_wrapping_and_internal_context_are_not_the_users() -> None:
    texts = [
        "[Fri 2026-12-04 12:00 UTC] first\nRuntime: agent=main | host=x",
        INTERNAL,
        "[Fri 2026-12-04 12:01 UTC] a [bracket] stays\n\nRuntime: agent=main",
        INTERNAL,
    ]
    assert echo_reply("openclaw", texts) == "(openclaw · offline echo · turn 2) You said: a [bracket] stays"


def test_a_heartbeat_poll_is_acknowledged_and_an_empty_message_said_so() -> None:
    assert echo_reply("openclaw", [HEARTBEAT_PROMPT + "\n\n- check mail"]) == "HEARTBEAT_OK"
    assert echo_reply("native", ["  "]) == "(native · offline echo · turn 1) I received an empty message."


def test_a_message_that_starts_with_brackets_keeps_them() -> None:
    # a cron turn's message is `[cron:<id> <name>] <text>`: only OpenClaw's timestamp is wrapping
    assert echo_reply("native", ["[cron:0f45 stretch] stand up"]) == (
        "(native · offline echo · turn 1) You said: [cron:0f45 stretch] stand up"
    )


def test_a_heartbeat_poll_runs_the_first_tool_line_of_heartbeat_md_in_the_prompt() -> None:
    system = (
        "## Tooling\n\nx\n\n## HEARTBEAT.md\n\n# Checks\n- [ ]\n"
        + '/read {"path": "STATUS.md"}\n\n## Later\n/ls {}'
    )
    assert heartbeat_command(system) == ("read", {"path": "STATUS.md"})
    assert heartbeat_command("## HEARTBEAT.md\n\n# Checks only\n\n## Later\n/read {}") is None
    assert heartbeat_command('/read {"path": "x"}') is None  # not in HEARTBEAT.md: nothing to run
