"""Slack Socket Mode: `clawbus relay` with `CLAWBUS_SLACK__MODE=socket` against a fake Socket Mode server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Bus
from tests.fakes.slack_socket_mode import APP_TOKEN, FakeSocketMode
from tests.helpers import wait_for
from tests.ingress import payloads as p
from tests.relay.conftest import RelayProcess, start_relay


@pytest.fixture
def slack() -> Iterator[FakeSocketMode]:
    with FakeSocketMode() as fake:
        yield fake


def slack_relay(
    bus: Bus, tmp_path: Path, fake: FakeSocketMode, started: list[RelayProcess], **extra: str
) -> RelayProcess:
    env = {
        "CLAWBUS_SLACK__BOT_TOKEN": "xoxb-test",
        "CLAWBUS_SLACK__APP_TOKEN": APP_TOKEN,
        "CLAWBUS_SLACK__MODE": "socket",
        "CLAWBUS_SLACK__API_BASE": fake.api_base,
        "CLAWBUS_SLACK__DM_POLICY": "open",
        "CLAWBUS_SLACK__ALLOW_FROM": '["*"]',
        "CLAWBUS_SLACK__GROUP_POLICY": "open",
        **extra,
    }
    process = start_relay(bus, tmp_path / f"logs{len(started)}", env)
    started.append(process)
    wait_for(lambda: fake.connections >= 1, what="the relay's Socket Mode connection")
    return process


def test_an_envelope_becomes_one_turn_and_is_acked_after_it_was_enqueued(
    bus: Bus, tmp_path: Path, slack: FakeSocketMode, relay_runner: list[RelayProcess]
) -> None:
    running = slack_relay(bus, tmp_path, slack, relay_runner)
    dm = slack.send_event(p.slack_event(text="hi over the socket", user="U0ANN"))
    ts = "1760000000.123456"
    channel = {"channel": "C0GEN", "channel_type": "channel", "ts": ts}
    text = f"<@{p.SLACK_BOT_USER}> look"
    as_message = slack.send_event(p.slack_event(text=text, **channel))
    as_mention = slack.send_event(p.slack_event(text=text, event_type="app_mention", **channel))

    got = running.drain(expect=2)
    assert [m["text"] for m in got] == ["hi over the socket", text]
    assert got[0]["session_key"] == "agent:main:slack:direct:u0ann"
    assert got[1]["event_id"] == f"slack:T0TEAM:C0GEN:{ts}"
    wait_for(lambda: len(slack.acks) == 3, what="three acks")
    assert sorted(slack.acks) == sorted([dm, as_message, as_mention])
    assert running.drain(timeout=1) == []


def test_after_a_disconnect_message_and_a_dropped_socket_the_relay_reconnects_and_loses_nothing(
    bus: Bus, tmp_path: Path, slack: FakeSocketMode, relay_runner: list[RelayProcess]
) -> None:
    running = slack_relay(bus, tmp_path, slack, relay_runner)
    slack.send_disconnect()
    wait_for(lambda: slack.connections >= 2, what="a new connection after `disconnect`")
    slack.send_event(p.slack_event(text="after the refresh"))
    assert [m["text"] for m in running.drain(expect=1)] == ["after the refresh"]

    slack.drop_connections()
    pending = slack.send_event(p.slack_event(text="sent while the socket was down"))
    wait_for(lambda: slack.connections >= 3, timeout=30, what="a new connection after the drop")
    wait_for(lambda: pending in slack.acks, what="the pending envelope acked on the new connection")
    assert [m["text"] for m in running.drain(expect=1)] == ["sent while the socket was down"]
    assert slack.opens >= 3  # a fresh URL from apps.connections.open each time
    assert running.drain(timeout=1) == []


def test_an_envelope_delivered_again_is_enqueued_once(
    bus: Bus, tmp_path: Path, slack: FakeSocketMode, relay_runner: list[RelayProcess]
) -> None:
    running = slack_relay(bus, tmp_path, slack, relay_runner)
    body = p.slack_event(text="twice")
    slack.send_event(body)
    slack.send_event(body)  # Slack's retry of an envelope it thinks was lost: a new envelope id
    assert [m["text"] for m in running.drain(expect=1)] == ["twice"]
    wait_for(lambda: len(slack.acks) == 2, what="both acked")
    # both were handed to the queue under the event's deduplication id: SQS kept one
    wait_for(lambda: len(running.events("ingress.event.accepted")) == 2, what="both enqueued")
    assert running.drain(timeout=1) == []


def test_a_sender_outside_the_allowlist_gets_no_turn_but_the_envelope_is_acked(
    bus: Bus, tmp_path: Path, slack: FakeSocketMode, relay_runner: list[RelayProcess]
) -> None:
    running = slack_relay(
        bus,
        tmp_path,
        slack,
        relay_runner,
        CLAWBUS_SLACK__DM_POLICY="allowlist",
        CLAWBUS_SLACK__ALLOW_FROM='["U0FRIEND"]',
    )
    stranger = slack.send_event(p.slack_event(text="let me in", user="U0STRANGER"))
    friend = slack.send_event(p.slack_event(text="hello friend", user="U0FRIEND"))
    assert [m["text"] for m in running.drain(expect=1)] == ["hello friend"]
    wait_for(lambda: {stranger, friend} <= set(slack.acks), what="both acked")
    assert [e["reason"] for e in running.events("ingress.event.refused")] == ["not_allowlisted"]
    assert running.drain(timeout=1) == []


def test_a_refused_app_token_stops_the_relay_with_the_setting_to_fix(
    bus: Bus, tmp_path: Path, slack: FakeSocketMode, relay_runner: list[RelayProcess]
) -> None:
    from tests.helpers import stage, stage_supervisor

    slack.refuse_with = "invalid_auth"
    supervisor = stage_supervisor(
        tmp_path / "logs",
        {
            **bus.env,
            "CLAWBUS_SLACK__BOT_TOKEN": "xoxb-test",
            "CLAWBUS_SLACK__APP_TOKEN": APP_TOKEN,
            "CLAWBUS_SLACK__MODE": "socket",
            "CLAWBUS_SLACK__API_BASE": slack.api_base,
        },
    )
    supervisor.start_all([stage("relay", "relay.started", "relay")])
    exited = wait_for(supervisor.exited, what="the relay to exit")
    assert exited.process is not None
    assert exited.process.returncode == 1
    assert "CLAWBUS_SLACK__APP_TOKEN" in exited.last_error()
