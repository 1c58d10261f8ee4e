"""Every AWS resource the bus uses, described once.

`build_topology` is the single description of queues, dead-letter queues, the outbound topic, its
per-channel subscriptions (filter policy on the `channel` attribute, raw delivery), tables and the state
bucket. `local.provision` applies it to any endpoint (the loopback API that `clawbus up` runs, or an AWS
account); `infra/terraform` describes the same names and settings, and a test fails when they drift.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from clawbus.bus.settings import CHANNELS

DLQ_MAX_RECEIVE_COUNT = 5
RETENTION_S = 4 * 24 * 3600  # SQS default (4 days)
DLQ_RETENTION_S = 14 * 24 * 3600  # the maximum: time to notice and replay
INBOUND_VISIBILITY_S = 60  # the dispatcher extends it on a heartbeat while a turn runs
EGRESS_VISIBILITY_S = 60
LEDGER_TTL_ATTRIBUTE = "expires_at"


class _Resource(BaseModel):
    model_config = ConfigDict(frozen=True)


class Queue(_Resource):
    """An SQS FIFO queue; `dead_letter` names its DLQ (redrive after `max_receive_count` receives)."""

    name: str
    visibility_timeout_s: int = 30
    retention_s: int = RETENTION_S
    content_based_dedup: bool = False
    dead_letter: str | None = None
    max_receive_count: int = DLQ_MAX_RECEIVE_COUNT

    @property
    def is_dlq(self) -> bool:
        """Whether this queue is some queue's dead-letter queue."""
        return self.name.endswith("-dlq.fifo")


class Topic(_Resource):
    """An SNS FIFO topic."""

    name: str
    content_based_dedup: bool = False


class Subscription(_Resource):
    """A topic-to-queue subscription delivering raw messages whose `channel` attribute matches."""

    topic: str
    queue: str
    channel: str

    @property
    def filter_policy(self) -> dict[str, list[str]]:
        """The SNS filter policy (on message attributes)."""
        return {"channel": [self.channel]}


class Table(_Resource):
    """A DynamoDB table (on-demand), string keys, optional TTL attribute."""

    name: str
    hash_key: str
    range_key: str | None = None
    ttl_attribute: str | None = None


class Bucket(_Resource):
    """An S3 bucket."""

    name: str


class Topology(_Resource):
    """The whole bus, as data."""

    prefix: str
    queues: tuple[Queue, ...]
    topics: tuple[Topic, ...]
    subscriptions: tuple[Subscription, ...]
    tables: tuple[Table, ...]
    buckets: tuple[Bucket, ...]
    schedule_groups: tuple[str, ...] = ()

    def queue(self, name: str) -> Queue:
        """The queue called `name`; KeyError names the known ones."""
        for queue in self.queues:
            if queue.name == name:
                return queue
        raise KeyError(f"no queue {name!r} in topology; known: {[q.name for q in self.queues]}")


def inbound_queue_name(prefix: str) -> str:
    """`<prefix>-inbound.fifo`: every event for the agent, grouped by session."""
    return f"{prefix}-inbound.fifo"


def dlq_name(queue_name: str) -> str:
    """The dead-letter queue of a queue: `<name>-dlq.fifo`."""
    return queue_name.removesuffix(".fifo") + "-dlq.fifo"


def egress_queue_name(prefix: str, channel: str) -> str:
    """`<prefix>-egress-<channel>.fifo`: one channel's replies."""
    return f"{prefix}-egress-{channel}.fifo"


def outbound_topic_name(prefix: str) -> str:
    """`<prefix>-outbound.fifo`: every reply, with its `channel` attribute."""
    return f"{prefix}-outbound.fifo"


def ledger_table_name(prefix: str) -> str:
    """`<prefix>-ledger`: idempotency and dedup records (TTL on `expires_at`)."""
    return f"{prefix}-ledger"


def pairing_table_name(prefix: str) -> str:
    """`<prefix>-pairing`: pending pairing requests and paired senders per channel account."""
    return f"{prefix}-pairing"


def webchat_table_name(prefix: str) -> str:
    """`<prefix>-webchat`: WebChat's delivered replies per conversation (the WebChat 'platform')."""
    return f"{prefix}-webchat"


def cron_table_name(prefix: str) -> str:
    """`<prefix>-cron`: cron job records, their run history and the local firer's ledger."""
    return f"{prefix}-cron"


def sessions_table_name(prefix: str) -> str:
    """`<prefix>-sessions`: the session index and transcript batches (storage/sessions.py,
    transcripts_dynamodb.py; `pk`/`sk` strings)."""
    return f"{prefix}-sessions"


def schedule_group_name(prefix: str) -> str:
    """The EventBridge Scheduler group of a deployment's schedules (heartbeats, cron jobs): `<prefix>`."""
    return prefix


def _with_dlq(name: str, visibility_s: int, *, content_based_dedup: bool = False) -> tuple[Queue, Queue]:
    dlq = Queue(name=dlq_name(name), retention_s=DLQ_RETENTION_S)
    main = Queue(
        name=name,
        visibility_timeout_s=visibility_s,
        content_based_dedup=content_based_dedup,
        dead_letter=dlq.name,
    )
    return main, dlq


def build_topology(prefix: str, bucket: str | None = None, channels: tuple[str, ...] = CHANNELS) -> Topology:
    """Describe every resource for a deployment with this `prefix` and these channels."""
    topic = Topic(name=outbound_topic_name(prefix))
    # Content-based dedup on inbound: EventBridge Scheduler sends to FIFO targets without a dedup id.
    queues = list(_with_dlq(inbound_queue_name(prefix), INBOUND_VISIBILITY_S, content_based_dedup=True))
    subscriptions = []
    for channel in channels:
        name = egress_queue_name(prefix, channel)
        queues.extend(_with_dlq(name, EGRESS_VISIBILITY_S))
        subscriptions.append(Subscription(topic=topic.name, queue=name, channel=channel))
    return Topology(
        prefix=prefix,
        queues=tuple(queues),
        topics=(topic,),
        subscriptions=tuple(subscriptions),
        tables=(
            Table(name=ledger_table_name(prefix), hash_key="pk", ttl_attribute=LEDGER_TTL_ATTRIBUTE),
            Table(
                name=webchat_table_name(prefix),
                hash_key="conversation",
                range_key="seq",
                ttl_attribute=LEDGER_TTL_ATTRIBUTE,
            ),
            # TTL: `/link` codes and attempt counters (storage/identity_links.py) expire.
            Table(name=pairing_table_name(prefix), hash_key="pk", ttl_attribute=LEDGER_TTL_ATTRIBUTE),
            Table(
                name=cron_table_name(prefix),
                hash_key="pk",
                range_key="sk",
                ttl_attribute=LEDGER_TTL_ATTRIBUTE,
            ),
            # TTL: turn journals expire (storage/turn_journal.py); transcripts carry no TTL attribute.
            Table(
                name=sessions_table_name(prefix),
                hash_key="pk",
                range_key="sk",
                ttl_attribute=LEDGER_TTL_ATTRIBUTE,
            ),
        ),
        schedule_groups=(schedule_group_name(prefix),),
        buckets=(Bucket(name=bucket or f"{prefix}-state"),),
    )
