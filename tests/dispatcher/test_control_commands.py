"""`/queue`'s options and the queue settings in force (issue 21): pure."""

from __future__ import annotations

from clawbus.bus.settings import QueueSettings
from clawbus.dispatcher.core.control_commands import (
    QueueOverride,
    effective_queue,
    parse_queue_command,
)


def test_queue_takes_a_mode_and_openclaws_options() -> None:
    command = parse_queue_command("collect debounce:0.5s cap:25 drop:old")
    assert (command.action, command.override) == ("set", QueueOverride("collect", 500, 25, "old"))
    assert parse_queue_command("debounce:2").override == QueueOverride(debounce_ms=2)  # bare: ms


def test_queue_alone_shows_and_default_clears() -> None:
    assert parse_queue_command("").action == "show"
    assert parse_queue_command("default").action == "clear"
    assert parse_queue_command("reset").action == "clear"


def test_a_bad_option_is_answered_with_the_usage() -> None:
    command = parse_queue_command("sideways")
    assert command.action == "error"
    assert command.error is not None
    assert command.error.startswith("unknown option 'sideways'. Usage: /queue steer|followup")
    assert parse_queue_command("cap:0").action == "error"
    assert parse_queue_command("drop:everything").action == "error"


def test_the_sessions_override_wins_over_the_channel_and_the_default() -> None:
    settings = QueueSettings(by_channel={"slack": "collect"})
    assert effective_queue(settings, None, "telegram").mode == "steer"
    assert effective_queue(settings, None, "slack").mode == "collect"
    chosen = effective_queue(settings, QueueOverride("interrupt", 0, None, None), "slack")
    assert (chosen.mode, chosen.debounce_ms, chosen.cap, chosen.drop) == ("interrupt", 0, 20, "summarize")


def test_a_channels_debounce_applies_unless_the_session_chose_one() -> None:
    settings = QueueSettings(debounce_ms_by_channel={"discord": 1000})
    assert effective_queue(settings, None, "discord").debounce_ms == 1000
    assert effective_queue(settings, None, "telegram").debounce_ms == 500
    assert effective_queue(settings, QueueOverride(debounce_ms=0), "discord").debounce_ms == 0
