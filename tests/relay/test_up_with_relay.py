"""`clawbus up` with Telegram in polling mode: the relay runs too, and a polled update gets its reply."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil
import pytest

from tests.fakes.platforms import FakePlatforms
from tests.helpers import free_port, start_up, wait_for
from tests.ingress import payloads as p


@pytest.mark.slow
def test_up_starts_the_relay_and_a_polled_telegram_message_is_answered(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("ingress", "agent", "agentcore", "aws")}
    with FakePlatforms() as fake:
        env = {
            **os.environ,
            "CLAWBUS_TELEGRAM__BOT_TOKEN": p.BOT_TOKEN,
            "CLAWBUS_TELEGRAM__MODE": "polling",
            "CLAWBUS_TELEGRAM__API_BASE": fake.api_base("telegram"),
            "CLAWBUS_TELEGRAM__POLL_TIMEOUT_S": "1",
            "CLAWBUS_TELEGRAM__DM_POLICY": "open",
            "CLAWBUS_TELEGRAM__ALLOW_FROM": '["*"]',
        }
        up, shown = start_up(tmp_path, ports, env=env)
        try:
            assert "relay" in shown
            children = psutil.Process(up.pid).children(recursive=True)
            assert len(children) == 9  # moto, agent, AgentCore, dispatcher, 2 egress, ingress, firer, relay

            fake.push_update(p.telegram_message(user_id=4242, chat_id=4242, text="hi by polling"))
            sent = wait_for(lambda: fake.sent("telegram"), timeout=60, what="the reply on Telegram")
            assert sent[0].body["chat_id"] == "4242"
            assert "You said: hi by polling" in sent[0].text
        finally:
            up.send_signal(signal.SIGTERM)
            rest, _ = up.communicate(timeout=60)
    assert up.returncode == 0, shown + rest
