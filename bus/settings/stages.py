"""The pipeline stages' own settings: ingress, queues, the dispatcher, egress, the relay, heartbeat and
the scheduler."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, Field

QueueMode = Literal["steer", "followup", "collect", "interrupt"]
QueueDrop = Literal["old", "new", "summarize"]
# A heartbeat's `target` (OpenClaw's): `owner`, `last`, `none`, or a chat channel (with `to`).
HeartbeatTarget = Literal["owner", "last", "none", "telegram", "slack", "discord", "whatsapp"]
HEARTBEAT_TARGETS: tuple[str, ...] = get_args(HeartbeatTarget)


class IngressSettings(BaseModel):
    """The ingress HTTP server (webhooks and WebChat)."""

    host: str = "127.0.0.1"
    port: int = 8787
    max_body_bytes: int = 1_048_576
    webchat_wait_max_s: float = 25.0
    # WebChat long polls held open at once: per client (a token's conversation) and in all (beyond: 429).
    webchat_polls_per_client: int = Field(default=4, ge=1)
    webchat_polls_max: int = Field(default=256, ge=1)
    # Host names (besides 127.0.0.1, localhost, [::1] and the bound address) WebChat and the dashboard
    # answer to; any other Host header gets 400, so a DNS-rebinding page cannot talk to them.
    allowed_hosts: list[str] = Field(default_factory=list)
    # Platforms retry for hours to days; SQS dedup covers 5 minutes, the ledger record the rest.
    dedup_ttl_s: int = Field(default=8 * 24 * 3600, ge=7 * 24 * 3600)
    # A client that has not sent its request's headers (or body) this long after connecting (or after the
    # headers) is cut off; slow trickling does not extend it. Beyond max_connections open: 503.
    header_timeout_s: float = Field(default=10.0, gt=0)
    body_timeout_s: float = Field(default=10.0, gt=0)
    max_connections: int = Field(default=512, ge=1)


class QueueSettings(BaseModel):
    """OpenClaw's `messages.queue`: what a session's messages do when they arrive while a turn of it runs.

    A message to an idle session starts its turn at once. One that arrived while a turn ran waits
    `debounce_ms` for quiet, then: `steer` (the default, as upstream) goes into the running turn when
    it can, else it is a turn of its own; `followup` runs one turn per message; `collect` merges the
    waiting messages into one turn (up to `cap`); `interrupt` answers only the newest. Above `cap` waiting
    messages, `drop` says which go: `old` (the oldest), `new` (the newest) or `summarize` (the oldest,
    answered together in one turn). `by_channel` overrides the mode per channel (JSON, e.g.
    `{"telegram": "followup"}`), `debounce_ms_by_channel` the debounce; `/queue <mode>` overrides them
    per session. See docs/queue.md.
    """

    mode: QueueMode = "steer"
    debounce_ms: int = Field(default=500, ge=0, le=60_000)
    cap: int = Field(default=20, ge=1, le=1000)
    by_channel: dict[str, QueueMode] = Field(default_factory=dict)
    drop: QueueDrop = "summarize"
    debounce_ms_by_channel: dict[str, int] = Field(default_factory=dict)

    def mode_for(self, channel: str) -> QueueMode:
        """The queue mode for `channel`."""
        return self.by_channel.get(channel, self.mode)


class DispatcherSettings(BaseModel):
    """The inbound consumer."""

    concurrency: int = Field(default=64, ge=1)
    wait_time_s: int = Field(default=2, ge=0, le=20)
    # ReceiveMessage calls out at once while each comes back full (a backlog); one while idle, so an idle
    # queue costs no more polls.
    receivers: int = Field(default=4, ge=1, le=10)
    visibility_timeout_s: int = Field(default=60, ge=10)
    max_attempts: int = Field(default=3, ge=1)  # tries of one AgentCore invoke per receive (bus/retry.py)
    shutdown_grace_s: float = 20.0
    queue: QueueSettings = QueueSettings()
    typing_after_ms: int = Field(default=2000, ge=0)  # a reply within 2 s needs no typing indicator
    typing_every_s: float = Field(default=5.0, gt=0)  # keep it alive on long turns
    block_streaming: bool = False  # publish the agent's answer block by block as it streams
    send_user_id: bool = False  # pass runtimeUserId (needs bedrock-agentcore:InvokeAgentRuntimeForUser)
    health_port: int | None = None  # serve GET /healthz here (ECS health checks); off when unset
    claim_check_bytes: int = Field(default=240_000, ge=1024)  # SNS takes 256 KiB with attributes
    ledger_ttl_days: int = Field(default=8, ge=7)
    # Progress drafts (issue 21) on channels whose `streaming` is `progress`: a turn's draft appears once
    # the turn is this old, changes at most this often, and says "waking up…" while AgentCore has not
    # sent the turn's first byte after `cold_start_ms` (a cold start).
    draft_after_ms: int = Field(default=700, ge=0)
    draft_every_ms: int = Field(default=1000, ge=100)  # Telegram: about one message a second in a chat
    cold_start_ms: int = Field(default=2000, ge=0)


class EgressSettings(BaseModel):
    """The per-channel reply workers."""

    concurrency: int = Field(default=16, ge=1)
    wait_time_s: int = Field(default=2, ge=0, le=20)
    visibility_timeout_s: int = Field(default=60, ge=2)
    shutdown_grace_s: float = 10.0
    # A platform's 429 asking for at most this long is waited out in the worker; longer ones give the
    # message back to the queue for that long instead of blocking the worker.
    max_inline_wait_s: float = Field(default=5.0, ge=0)
    sent_ttl_days: int = Field(default=8, ge=7)
    request_timeout_s: float = Field(default=15.0, gt=0)
    health_port: int | None = None  # serve GET /healthz here (ECS health checks); off when unset
    # Test-only fault injection: hold each message this long after its chunks were sent and recorded,
    # before it is deleted, so a test can kill the worker in exactly that window. Keep 0 in production.
    test_pause_before_delete_s: float = Field(default=0.0, ge=0)


class RelaySettings(BaseModel):
    """The always-on relay (`clawbus relay`): how fast it reconnects after a lost connection.

    The delay after the n-th failure in a row is `backoff_initial_s * 2**n`, capped at `backoff_max_s`,
    with up to 20% jitter either way; a connection that stayed up for a minute starts over at the first.
    """

    backoff_initial_s: float = Field(default=1.0, gt=0)
    backoff_max_s: float = Field(default=60.0, gt=0)
    # Enqueueing a received event is retried in process this long before the transport gives up on it
    # (Telegram re-fetches it, Slack redelivers it; a Discord gateway message is logged as dropped).
    enqueue_retry_s: float = Field(default=30.0, gt=0)


class AgentHeartbeat(BaseModel):
    """One agent's heartbeat block (OpenClaw's `agents.entries.<id>.heartbeat`): what it sets over
    `agents.defaults.heartbeat`; a field left unset keeps the default."""

    every: str | None = None
    active_start: str | None = None
    active_end: str | None = None
    timezone: str | None = None
    target: HeartbeatTarget | None = None
    to: str | None = None
    account_id: str | None = None


class HeartbeatSettings(BaseModel):
    """OpenClaw's `agents.defaults.heartbeat`: one schedule per agent into its main session.

    `every` is a duration (`30m`, `1h`; `0m` turns heartbeats off, as does `enabled=false`).
    `active_start`/`active_end` (`HH:00`, end may be `24:00`) limit them to active hours in `timezone`;
    unset means all day (OpenClaw's default). OpenClaw uses the gateway host's zone; a serverless
    deployment has no host, so the default is UTC, as in the Terraform.

    `target` is OpenClaw's: `owner` (the default) sends the answer to the owner's direct messages, the
    first `commands.ownerAllowFrom` entry that addresses a DM, else (when it names no one) the first
    `allowFrom` entry of a channel (the dispatcher resolves it: `dispatcher/core/heartbeat_target.py`,
    `channels/owner.py`; with neither, the last route);
    `last` to the chat the owner last spoke from in a DM; `none` runs without delivering; a channel
    (`telegram`, `slack`, `discord`, `whatsapp`) with `to` (and `account_id`) to that chat.

    `agents` are the per-agent blocks (`agents.entries.<id>.heartbeat`), each merged over these
    defaults. As in OpenClaw, once any agent has a block **only those agents** beat; without any,
    `agent_ids` do (the default agent, or `agents.defaults.heartbeat.agentId`).
    """

    enabled: bool = True
    every: str = "30m"
    agent_ids: list[str] = Field(default_factory=lambda: ["main"])
    active_start: str | None = None
    active_end: str | None = None
    timezone: str = "UTC"
    target: HeartbeatTarget = "owner"
    to: str | None = None
    account_id: str | None = None
    agents: dict[str, AgentHeartbeat] = Field(default_factory=dict)

    def for_agent(self, agent_id: str) -> HeartbeatSettings:
        """The heartbeat `agent_id` runs: its own block over the defaults (no per-agent blocks left)."""
        own = self.agents.get(agent_id)
        merged = own.model_dump(exclude_none=True) if own is not None else {}
        return self.model_copy(update={**merged, "agent_ids": [agent_id], "agents": {}})

    def per_agent(self) -> dict[str, HeartbeatSettings]:
        """Every agent that beats, with the heartbeat it runs (see the class docstring)."""
        ids = list(self.agents) if self.agents else self.agent_ids
        return {agent_id: self.for_agent(agent_id) for agent_id in ids}


class SchedulerSettings(BaseModel):
    """Cron jobs and schedules (EventBridge Scheduler), and the local firer of the embedded default.

    `role_arn` is the role Scheduler assumes to send to the inbound queue (Terraform output
    `scheduler_role_arn`; the embedded default needs none) and `dead_letter_arn` its STANDARD DLQ.
    The local firer looks for due schedules every `tick_s`; a fire it claimed but did not finish
    sending is retried after `lease_s`. `test_clock_offset_s` shifts the firer's clock (tests only).
    """

    role_arn: str | None = None
    dead_letter_arn: str | None = None
    tick_s: float = Field(default=1.0, gt=0, le=30)
    lease_s: float = Field(default=30.0, gt=0)
    test_clock_offset_s: float = 0.0
