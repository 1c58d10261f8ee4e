"""What a turn costs in AWS: the bus against the synchronous Lambda the public AgentCore samples use.

Pure functions of (traffic, sizes, prices): no I/O, tested directly; `cli/cost_cmd.py` prints them.

Requests per turn come from a model of the code paths (not a measurement), for a direct message at low
traffic, where every batch holds one message (batching only lowers them):

- ingress (Lambda behind the HTTP API): the pairing `GetItem` of a DM's sender, `SendMessage` to the
  inbound queue (a slash command also claims and completes a dedup record: two writes more, not modelled);
- dispatcher (Fargate): `ReceiveMessage`, `DeleteMessage`, a `ChangeMessageVisibility` per 40 s of turn
  (the visibility keeper), the ledger's read (every turn: a first delivery may repeat an answered event),
  its record's conditional `PutItem` (a one-message turn under the default `steer` writes no intent
  before the agent runs; a `collect` turn does: one write more, not modelled), one read of the session
  entry (the last route; a `BatchGetItem` the dispatcher's reads share), one `Publish` of the reply and
  one per typing signal (after 2 s, then every 5 s);
- SNS delivers each publish to the channel's egress queue; egress (Lambda, SQS event source) receives and
  deletes it, and writes the reply's send intent and its receipt (one chunk).

`clawbus bench` measures each stage's share under load (`aws_requests_per_turn_by_stage`, batches of
up to ten: docs/performance.md); the model at batch size 1 is higher, so the figure here is an upper
bound. The agent's own storage (transcript, workspace), AgentCore and the model
are the same in both designs: shown once, as "shared".

The synchronous design: API Gateway → a Lambda that calls `InvokeAgentRuntime` and waits for the whole
turn, billed for every second of it, then posts the reply; no queues, no always-on task.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

HOURS_PER_MONTH = 730.0
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600


class Prices(BaseModel):
    """List prices in USD (us-east-1, on-demand, no free tier); `--prices FILE` overrides any of them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    as_of: str = "2025-06-30"
    region: str = "us-east-1"
    sqs_fifo_per_million: float = 0.50
    sns_fifo_publish_per_million: float = 0.30
    sns_fifo_delivery_per_million: float = 0.01
    dynamodb_write_per_million: float = 0.625  # on-demand write request units
    dynamodb_read_per_million: float = 0.125  # on-demand read request units
    http_api_per_million: float = 1.00
    lambda_per_million: float = 0.20
    lambda_gb_second: float = 0.0000166667  # x86_64
    fargate_vcpu_hour: float = 0.04048
    fargate_gb_hour: float = 0.004445
    agentcore_vcpu_hour: float = 0.0895
    agentcore_gb_hour: float = 0.00945
    model_input_per_million_tokens: float = 3.00  # a Claude Sonnet-class model on Bedrock
    model_output_per_million_tokens: float = 15.00


class Sizes(BaseModel):
    """What runs, as the Terraform's defaults size it (infra/terraform/variables.tf; a test keeps them
    equal), and what a turn takes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dispatcher_vcpu: float = 0.5  # var.dispatcher.cpu = 512
    dispatcher_gb: float = 1.0  # var.dispatcher.memory = 1024
    dispatcher_min_tasks: int = 1
    dispatcher_wait_time_s: float = 2.0  # CLAWBUS_DISPATCHER__WAIT_TIME_S: one receive per wait when idle
    relay_vcpu: float = 0.25
    relay_gb: float = 0.5
    ingress_lambda_gb: float = 0.5  # var.lambda.ingress_memory_mb = 512
    egress_lambda_gb: float = 0.5  # var.lambda.egress_memory_mb = 512
    ingress_lambda_s: float = 0.1  # verify, claim, enqueue
    egress_lambda_s: float = 0.3  # one platform API call
    egress_pollers: int = 5  # Lambda's long-polling connections per SQS event source (20 s waits)
    # A session's microVM has 2 vCPU / 8 GB, but AgentCore bills what is used (CPU while busy, memory in
    # use while the session lives): these are the used figures, assumptions the Terraform cannot set.
    agent_vcpu: float = 1.0
    agent_gb: float = 2.0
    agent_cpu_active_share: float = 0.25  # AgentCore bills CPU only while it is used (not model waits)
    agent_idle_timeout_s: float = 900.0  # var.agent_idle_session_timeout_s
    sync_lambda_gb: float = 0.5  # the samples' invoking Lambda
    sync_overhead_s: float = 0.3  # its own work around the wait


@dataclass(frozen=True)
class Traffic:
    """How much the assistant is used."""

    turns_per_day: float
    turn_s: float = 10.0  # the agent's turn, end to end
    tokens_per_turn: int = 0  # model tokens (input + output); 0: leave the model out
    output_share: float = 0.1  # of tokens_per_turn, the part the model writes
    channels: int = 1  # egress queues (one event source each)
    relay: bool = False  # an always-on relay task (polling / Socket Mode / gateway channels)

    @property
    def turns_per_month(self) -> float:
        return self.turns_per_day * HOURS_PER_MONTH / 24


@dataclass(frozen=True)
class Line:
    """One cost: per turn (scales with traffic) and per month (fixed: always-on tasks, idle polls)."""

    item: str
    per_turn: float
    fixed_month: float = 0.0


@dataclass(frozen=True)
class Design:
    """A design's lines and totals at a traffic."""

    name: str
    lines: tuple[Line, ...]
    turns_per_month: float

    @property
    def per_month(self) -> float:
        return sum(line.per_turn * self.turns_per_month + line.fixed_month for line in self.lines)

    @property
    def per_1000_turns(self) -> float:
        return self.per_month / self.turns_per_month * 1000 if self.turns_per_month else math.inf


@dataclass(frozen=True)
class Requests:
    """AWS requests (and DynamoDB units) one turn makes in the bus design."""

    sqs: float
    sns_publish: float
    sns_delivery: float
    dynamodb_writes: float
    dynamodb_reads: float
    messages_to_egress: float

    @property
    def total(self) -> float:
        return self.sqs + self.sns_publish + self.dynamodb_writes + self.dynamodb_reads


class CostInputs(BaseModel):
    """A `--prices FILE`: prices and sizes to override (JSON: `{"prices": {...}, "sizes": {...}}`)."""

    model_config = ConfigDict(extra="forbid")

    prices: Prices = Field(default_factory=Prices)
    sizes: Sizes = Field(default_factory=Sizes)


def typing_signals(turn_s: float, after_s: float = 2.0, every_s: float = 5.0) -> int:
    """Typing indicators the dispatcher publishes during a turn of `turn_s` seconds."""
    return 0 if turn_s <= after_s else 1 + int((turn_s - after_s) // every_s)


def bus_requests(traffic: Traffic) -> Requests:
    """The bus's AWS requests per turn, from the code paths (module docstring), batches of one."""
    to_egress = 1 + typing_signals(traffic.turn_s)
    visibility = int(traffic.turn_s // 40)
    return Requests(
        sqs=1 + (2 + visibility) + 2 * to_egress,  # ingress send; dispatcher receive/delete; egress
        sns_publish=to_egress,
        sns_delivery=to_egress,
        dynamodb_writes=1 + 2,  # the turn's record (no intent under `steer`); the reply's intent and receipt
        dynamodb_reads=1 + 1 + 1,  # the sender's pairing entry, turn ledger, session entry
        messages_to_egress=to_egress,
    )


def _lambda(prices: Prices, gb: float, seconds: float) -> float:
    return prices.lambda_per_million / 1e6 + gb * seconds * prices.lambda_gb_second


def _task_month(prices: Prices, vcpu: float, gb: float) -> float:
    return (vcpu * prices.fargate_vcpu_hour + gb * prices.fargate_gb_hour) * HOURS_PER_MONTH


def bus_design(traffic: Traffic, sizes: Sizes, prices: Prices) -> Design:
    """The bus: Lambda ingress → SQS FIFO → Fargate dispatcher → SNS FIFO → SQS FIFO → Lambda egress."""
    r = bus_requests(traffic)
    idle_receives = sizes.dispatcher_min_tasks * SECONDS_PER_MONTH / max(1.0, sizes.dispatcher_wait_time_s)
    esm_receives = traffic.channels * sizes.egress_pollers * SECONDS_PER_MONTH / 20
    lines = [
        Line("HTTP API (webhook)", prices.http_api_per_million / 1e6),
        Line("Lambda ingress", _lambda(prices, sizes.ingress_lambda_gb, sizes.ingress_lambda_s)),
        Line(
            "SQS FIFO requests (+ idle long polls)",
            r.sqs * prices.sqs_fifo_per_million / 1e6,
            (idle_receives + esm_receives) * prices.sqs_fifo_per_million / 1e6,
        ),
        Line(
            "SNS FIFO publish + delivery",
            r.sns_publish * prices.sns_fifo_publish_per_million / 1e6
            + r.sns_delivery * prices.sns_fifo_delivery_per_million / 1e6,
        ),
        Line(
            "DynamoDB (dedup, ledger, sent record, session)",
            r.dynamodb_writes * prices.dynamodb_write_per_million / 1e6
            + r.dynamodb_reads * prices.dynamodb_read_per_million / 1e6,
        ),
        Line(
            "Lambda egress",
            r.messages_to_egress * _lambda(prices, sizes.egress_lambda_gb, sizes.egress_lambda_s),
        ),
        Line(
            "Fargate dispatcher (always on)",
            0.0,
            sizes.dispatcher_min_tasks * _task_month(prices, sizes.dispatcher_vcpu, sizes.dispatcher_gb),
        ),
    ]
    if traffic.relay:
        lines.append(
            Line("Fargate relay (always on)", 0.0, _task_month(prices, sizes.relay_vcpu, sizes.relay_gb))
        )
    return Design("bus (this design)", tuple(lines), traffic.turns_per_month)


def sync_lambda_design(traffic: Traffic, sizes: Sizes, prices: Prices) -> Design:
    """The samples' design: a Lambda waits synchronously for InvokeAgentRuntime, billed the whole turn."""
    waiting = _lambda(prices, sizes.sync_lambda_gb, traffic.turn_s + sizes.sync_overhead_s)
    lines = (
        Line("HTTP API (webhook)", prices.http_api_per_million / 1e6),
        Line("Lambda waiting for the turn", waiting),
    )
    return Design("sync Lambda (AgentCore samples)", lines, traffic.turns_per_month)


def shared_design(traffic: Traffic, sizes: Sizes, prices: Prices) -> Design:
    """What both designs pay: AgentCore Runtime while the session lives, and the model's tokens."""
    gap_s = 86400 / traffic.turns_per_day if traffic.turns_per_day else sizes.agent_idle_timeout_s
    alive_s = traffic.turn_s + min(sizes.agent_idle_timeout_s, gap_s)  # memory: until the session idles out
    cpu = traffic.turn_s * sizes.agent_cpu_active_share * sizes.agent_vcpu * prices.agentcore_vcpu_hour / 3600
    memory = alive_s * sizes.agent_gb * prices.agentcore_gb_hour / 3600
    tokens_out = traffic.tokens_per_turn * traffic.output_share
    tokens_in = traffic.tokens_per_turn - tokens_out
    model = (
        tokens_in * prices.model_input_per_million_tokens
        + tokens_out * prices.model_output_per_million_tokens
    ) / 1e6
    lines = [Line("AgentCore Runtime (CPU in use, memory while alive)", cpu + memory)]
    if traffic.tokens_per_turn:
        lines.append(Line("model tokens (Bedrock)", model))
    return Design("shared by both", tuple(lines), traffic.turns_per_month)
