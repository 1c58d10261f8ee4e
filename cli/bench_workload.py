"""The moving parts of `clawbus bench`: the feeder, the collector, the bare relay and the naive consumer.

Everything here talks to the loopback AWS API with the same client library the stages use (aiobotocore;
boto3 for the naive consumer, as a naive one would). The feeder keeps the inbound queue's depth bounded
(moto's per-call cost grows with depth) and sends each session's messages in order; the collector drains
the bench channel's egress queue, checking order, duplicates and losses from the text of each message.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from clawbus.schemas import (
    InboundEvent,
    Peer,
    PeerKind,
    ReplyTarget,
    attributes,
    deduplication_id,
    message_group_id,
)

if TYPE_CHECKING:
    from types_aiobotocore_sns import SNSClient
    from types_aiobotocore_sqs import SQSClient

CHANNEL = "bench"
_MARK = re.compile(r"g(\d+) m(\d+)")


@dataclass(frozen=True)
class Workload:
    """`sessions` sessions x `turns` messages each, sent round-robin (each session's in order)."""

    name: str
    sessions: int
    turns: int

    @property
    def total(self) -> int:
        """How many messages."""
        return self.sessions * self.turns

    def messages(self) -> list[tuple[str, str, str]]:
        """(group id, body, dedup id) in send order."""
        out = []
        for turn in range(self.turns):
            for session in range(self.sessions):
                key = f"agent:main:{CHANNEL}:direct:{self.name}-{session}"
                event = InboundEvent(
                    event_id=f"{CHANNEL}:{self.name}:{session}:{turn}",
                    channel=CHANNEL,
                    session_key=key,
                    peer=Peer(kind=PeerKind.DIRECT, id=f"{self.name}-{session}"),
                    text=f"g{session} m{turn}",
                    reply_to=ReplyTarget(chat_id=f"{self.name}-{session}"),
                )
                out.append((message_group_id(key), event.to_wire(), deduplication_id(event.event_id)))
        return out


@dataclass
class Ledger:
    """What the collector saw: per session, the message numbers in arrival order."""

    seen: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    message_ids: set[str] = field(default_factory=set)
    redelivered: int = 0
    count: int = 0
    first_at: float | None = None
    last_at: float | None = None

    def add(self, message_id: str, text: str) -> None:
        """Record one received message; the same SQS message again is a redelivery, not a duplicate."""
        if message_id in self.message_ids:
            self.redelivered += 1
            return
        self.message_ids.add(message_id)
        match = _MARK.search(text)
        if match is None:
            return
        self.seen[int(match.group(1))].append(int(match.group(2)))
        self.count += 1
        now = time.monotonic()
        self.first_at = self.first_at or now
        self.last_at = now

    def verdict(self, workload: Workload) -> dict[str, int]:
        """Order violations, duplicates and losses against the workload."""
        violations = duplicates = lost = 0
        for session in range(workload.sessions):
            got = self.seen.get(session, [])
            duplicates += len(got) - len(set(got))
            lost += len(set(range(workload.turns)) - set(got))
            firsts = [n for i, n in enumerate(got) if n not in got[:i]]
            violations += sum(1 for a, b in itertools.pairwise(firsts) if b < a)
        return {"order_violations": violations, "duplicates": duplicates, "lost": lost}


async def feed(sqs: SQSClient, url: str, workload: Workload, done: Callable[[], int], max_depth: int) -> None:
    """Send the workload in batches of ten, never more than `max_depth` ahead of what was collected."""
    pending = workload.messages()
    sent = 0
    while sent < len(pending):
        room = max_depth - (sent - done())
        if room < 10:
            await asyncio.sleep(0.01)
            continue
        batch = pending[sent : sent + 10]
        response = await sqs.send_message_batch(
            QueueUrl=url,
            Entries=[
                {
                    "Id": str(i),
                    "MessageBody": body,
                    "MessageGroupId": group,
                    "MessageDeduplicationId": dedup,
                    "MessageAttributes": {attributes.CHANNEL: {"DataType": "String", "StringValue": CHANNEL}},
                }
                for i, (group, body, dedup) in enumerate(batch)
            ],
        )
        if response.get("Failed"):
            raise RuntimeError(f"feeder: SendMessageBatch failed for {response['Failed']}")
        sent += len(batch)


async def collect(sqs: SQSClient, url: str, ledger: Ledger, stop: asyncio.Event) -> None:
    """Drain the bench egress queue into `ledger` until `stop` (typing signals are not counted)."""
    while not stop.is_set():
        response = await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        messages = response.get("Messages", [])
        for message in messages:
            if '"kind":"typing"' not in message["Body"]:
                ledger.add(message["MessageId"], message["Body"])
        if messages:
            await sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )


async def relay(sqs: SQSClient, sns: SNSClient, inbound: str, topic_arn: str, stop: asyncio.Event) -> None:
    """The floor: receive(10) → PublishBatch → DeleteMessageBatch, no clawbus code in between."""
    while not stop.is_set():
        response = await sqs.receive_message(
            QueueUrl=inbound,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["MessageGroupId", "MessageDeduplicationId"],
        )
        messages = response.get("Messages", [])
        if not messages:
            continue
        await sns.publish_batch(
            TopicArn=topic_arn,
            PublishBatchRequestEntries=[
                {
                    "Id": str(i),
                    "Message": m["Body"],
                    "MessageGroupId": m["Attributes"]["MessageGroupId"],
                    "MessageDeduplicationId": m["Attributes"]["MessageDeduplicationId"],
                    "MessageAttributes": {attributes.CHANNEL: {"DataType": "String", "StringValue": CHANNEL}},
                }
                for i, m in enumerate(messages)
            ],
        )
        await sqs.delete_message_batch(
            QueueUrl=inbound,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )


def naive_consumer(
    clients: dict[str, Any], inbound: str, topic_arn: str, runtime_arn: str, turns: int
) -> float:
    """A sequential boto3 consumer (receive one, invoke, publish, delete); returns its turns/s."""
    sqs, sns, agentcore = clients["sqs"], clients["sns"], clients["agentcore"]
    done = 0
    started = time.monotonic()
    while done < turns:
        response = sqs.receive_message(
            QueueUrl=inbound, MaxNumberOfMessages=1, WaitTimeSeconds=1, MessageSystemAttributeNames=["All"]
        )
        for message in response.get("Messages", []):
            group = message["Attributes"]["MessageGroupId"]
            session = f"cb-naive-{group}".ljust(33, "0")[:100]
            body = (
                '{"schema_version": 1, "session_key": "k", "reply_id": "r", "events": ['
                + message["Body"]
                + "]}"
            )
            result = agentcore.invoke_agent_runtime(
                agentRuntimeArn=runtime_arn, runtimeSessionId=session, payload=body.encode()
            )
            reply = result["response"].read().decode()
            sns.publish(
                TopicArn=topic_arn,
                Message=reply,
                MessageGroupId=group,
                MessageDeduplicationId=message["MessageId"],
                MessageAttributes={attributes.CHANNEL: {"DataType": "String", "StringValue": "naive"}},
            )
            sqs.delete_message(QueueUrl=inbound, ReceiptHandle=message["ReceiptHandle"])
            done += 1
    return turns / (time.monotonic() - started)
