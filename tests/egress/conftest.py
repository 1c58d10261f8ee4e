"""Egress fixtures: the fake platforms on loopback, real `clawbus egress <channel>` processes against the
loopback AWS API, and helpers to publish replies to the real outbound topic and read a DLQ."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from clawbus.bus.topology import dlq_name, egress_queue_name, outbound_topic_name
from clawbus.local.supervisor import Stage, Supervisor
from clawbus.schemas import OutboundReply, ReplyPart, ReplyTarget, attributes, message_group_id
from tests.conftest import Bus
from tests.fakes.platforms import FakePlatforms
from tests.helpers import stage, stage_supervisor, wait_for

CREDENTIALS = {
    "telegram": {"CLAWBUS_TELEGRAM__BOT_TOKEN": "123456:fake-token"},
    "slack": {"CLAWBUS_SLACK__BOT_TOKEN": "xoxb-fake"},
    "discord": {"CLAWBUS_DISCORD__BOT_TOKEN": "fake", "CLAWBUS_DISCORD__APPLICATION_ID": "4242"},
    "whatsapp": {"CLAWBUS_WHATSAPP__ACCESS_TOKEN": "fake", "CLAWBUS_WHATSAPP__PHONE_NUMBER_ID": "1555"},
}


@pytest.fixture
def fake() -> Iterator[FakePlatforms]:
    """The fake platform APIs, recording every call."""
    with FakePlatforms() as server:
        yield server


@dataclass
class Egress:
    """Starts egress workers as processes and talks to their queues."""

    bus: Bus
    fake: FakePlatforms
    supervisor: Supervisor
    log_dir: Path

    def start(
        self, channel: str, name: str | None = None, *, channel_env: dict[str, str] | None = None, **env: str
    ) -> Stage:
        """Start `clawbus egress <channel>` against the fake; returns the running stage. `env` sets
        `CLAWBUS_EGRESS__*`, `channel_env` the channel's own `CLAWBUS_<CHANNEL>__*` settings."""
        extra = {
            **CREDENTIALS[channel],
            f"CLAWBUS_{channel.upper()}__API_BASE": self.fake.api_base(channel),
            **{f"CLAWBUS_EGRESS__{key.upper()}": value for key, value in env.items()},
            **{f"CLAWBUS_{channel.upper()}__{k.upper()}": v for k, v in (channel_env or {}).items()},
        }
        worker = stage(name or f"egress-{channel}", "egress.started", "egress", channel, env=extra)
        self.supervisor.start(worker)
        return worker

    def publish(self, reply: OutboundReply) -> None:
        """Publish like the dispatcher does: the outbound SNS FIFO topic, `channel` attribute, group."""
        self.bus.client("sns").publish(
            TopicArn=self.bus.report.topic_arns[outbound_topic_name(self.bus.prefix)],
            Message=reply.to_wire(),
            MessageGroupId=message_group_id(reply.session_key),
            MessageDeduplicationId=reply.reply_id,
            MessageAttributes={
                attributes.CHANNEL: {"DataType": "String", "StringValue": reply.channel},
                attributes.KIND: {"DataType": "String", "StringValue": reply.kind.value},
            },
        )

    def dead_letters(self, channel: str) -> list[dict[str, Any]]:
        """Messages on the channel's DLQ: their bodies and string attributes."""
        sqs = self.bus.client("sqs")
        url = self.bus.queue_url(dlq_name(egress_queue_name(self.bus.prefix, channel)))
        found = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        return [
            {
                "body": json.loads(m["Body"]),
                **{k: v["StringValue"] for k, v in m.get("MessageAttributes", {}).items()},
            }
            for m in found
        ]

    def queue_depth(self, channel: str) -> int:
        """Visible plus in-flight messages on the channel's egress queue."""
        sqs = self.bus.client("sqs")
        url = self.bus.queue_url(egress_queue_name(self.bus.prefix, channel))
        got = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(got["ApproximateNumberOfMessages"]) + int(got["ApproximateNumberOfMessagesNotVisible"])

    def logged(self, worker: Stage, event: str) -> bool:
        """Whether the worker logged `event`."""
        assert worker.log_path
        return worker.log_path.exists() and f'"event": "{event}"' in worker.log_path.read_text()


@pytest.fixture
def egress(bus: Bus, fake: FakePlatforms, tmp_path: Path) -> Iterator[Egress]:
    """Egress workers for this test; stopped with SIGTERM afterwards (each must exit 0 unless killed)."""
    log_dir = tmp_path / "logs"
    supervisor = stage_supervisor(log_dir, bus.env)
    running = Egress(bus, fake, supervisor, log_dir)
    yield running
    codes = supervisor.stop_all()
    clean = all(code in (0, -9) for _, code in codes)
    assert clean, f"workers did not exit cleanly: {codes}; logs in {log_dir}"


MakeReply = Callable[..., OutboundReply]


@pytest.fixture
def make_reply() -> MakeReply:
    """An outbound reply for a channel with the given parts (unique id per call)."""
    counter = iter(range(1, 10_000))

    def build(
        channel: str, *texts: str, chat: str = "777", session: str | None = None, **target: Any
    ) -> OutboundReply:
        n = next(counter)
        return OutboundReply(
            reply_id=f"rp-test-{channel}-{n}-{id(counter)}",
            in_reply_to=(f"{channel}:event:{n}",),
            session_key=session or f"agent:main:{channel}:direct:{chat}",
            channel=channel,
            target=ReplyTarget(chat_id=chat, **target),
            parts=tuple(ReplyPart(index=i, text=t) for i, t in enumerate(texts)),
        )

    return build


def wait_sent(fake: FakePlatforms, platform: str, count: int, timeout: float = 30) -> None:
    """Wait until the fake accepted `count` send calls on `platform`."""
    wait_for(lambda: len(fake.sent(platform)) >= count, timeout=timeout, what=f"{count} {platform} sends")
