"""All of clawbus's settings, in one pydantic-settings object.

Every setting has an environment variable `CLAWBUS_` + its path in upper snake case, nested with `__`:
`CLAWBUS_AWS__ENDPOINT_URL`, `CLAWBUS_TELEGRAM__BOT_TOKEN`, `CLAWBUS_SESSION__DM_SCOPE`. The defaults run
the embedded pipeline with no configuration at all. A stage also reads the configuration document
(OpenClaw's `openclaw.json`, mapped by `openclaw.config`) at start: `Settings.with_document(values)`
puts it between the two, so precedence is init arguments, then the environment, then the document, then
the defaults. Load once in a process's `main` and pass it down;
nothing reads the environment anywhere else (bar `standard_aws_region`, the default of `aws.region`).
Secrets are `SecretStr` and never printed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from clawbus.schemas import DmScope

CHANNELS = ("webchat", "telegram", "slack", "discord", "whatsapp")
DmPolicy = Literal["pairing", "allowlist", "open", "disabled"]
GroupPolicy = Literal["allowlist", "open", "disabled"]


# How the settings table (docs/configuration.md) shows a default that depends on the environment.
SHOWN_DEFAULT = "shown_default"


def standard_aws_region() -> str:
    """The region the AWS SDKs and CLI would use: AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1.

    Lambda, ECS and AgentCore Runtime set AWS_REGION in every process, so a stage in AWS talks to its own
    region without a CLAWBUS_AWS__REGION in its Terraform environment (which, when set, still wins).
    """
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


class AwsSettings(BaseModel):
    """Where the AWS API is. `endpoint_url` set means a loopback API (moto); unset means AWS itself.

    `access_key_id`/`secret_access_key` sign requests to loopback endpoints only (the embedded default's
    AWS API and AgentCore endpoint, which accept nothing else; `clawbus up` sets them for its stages and
    writes them to `<data dir>/local-aws-credentials`, which other commands read). AWS itself is reached
    with the usual AWS credentials (`profile`, `AWS_*` variables, roles), never with these.
    """

    endpoint_url: str | None = None
    region: str = Field(
        default_factory=standard_aws_region,
        json_schema_extra={SHOWN_DEFAULT: "$AWS_REGION, else $AWS_DEFAULT_REGION, else us-east-1"},
    )
    profile: str | None = None
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    max_pool_connections: int = 128


class BusSettings(BaseModel):
    """Names of the bus's resources: everything is `<prefix>-…`."""

    prefix: str = Field(default="clawbus", pattern=r"^[a-z][a-z0-9-]{0,30}$")
    bucket: str | None = None  # default `<prefix>-state`; AWS bucket names are global, so set one there

    def bucket_name(self) -> str:
        """The state bucket's name."""
        return self.bucket or f"{self.prefix}-state"


class AgentCoreSettings(BaseModel):
    """How the dispatcher reaches AgentCore Runtime (`endpoint_url` set: the loopback data plane)."""

    endpoint_url: str | None = None
    runtime_arn: str = "arn:aws:bedrock-agentcore:us-east-1:000000000000:runtime/clawbus_agent-local00000"
    qualifier: str = "DEFAULT"
    read_timeout_s: float = 900.0
    # The loopback data-plane endpoint (embedded default only) forwards to the agent here.
    agent_url: str = "http://127.0.0.1:8080"
    host: str = "127.0.0.1"
    port: int = 8081
    # Loopback endpoint only: answer turns itself after this latency instead of forwarding (benchmarks).
    stub_latency_s: float | None = None


class BedrockSettings(BaseModel):
    """Amazon Bedrock Runtime (Converse) for `bedrock/<modelId>` models; `endpoint_url` for a stand-in."""

    endpoint_url: str | None = None
    region: str | None = None  # default: aws.region
    read_timeout_s: float = Field(default=120.0, gt=0)
    max_tokens: int = Field(default=4096, ge=1)


class OpenAISettings(BaseModel):
    """Any OpenAI-compatible chat-completions endpoint, for `openai/<model>` models."""

    base_url: str = "https://api.openai.com/v1"
    api_key: SecretStr | None = None
    timeout_s: float = Field(default=120.0, gt=0)
    max_tokens: int = Field(default=4096, ge=1)


class WorkspaceSettings(BaseModel):
    """Where the agent's workspace lives: the state bucket (`s3`) or a local directory (`local`).

    Caps follow OpenClaw: `bootstrap_max_chars` per file, `bootstrap_total_max_chars` for all of them.
    """

    backend: Literal["s3", "local"] = "s3"
    dir: Path = Field(default_factory=lambda: Path.home() / ".clawbus" / "workspace")
    bootstrap_max_chars: int = Field(default=20_000, ge=100)
    bootstrap_total_max_chars: int = Field(default=150_000, ge=100)


class WebFetchSettings(BaseModel):
    """The `web_fetch` tool. `allow_hosts` lists `host:port` pairs exempt from the public-address rule."""

    max_bytes: int = Field(default=1_000_000, ge=1024)
    timeout_s: float = Field(default=20.0, gt=0)
    allow_hosts: list[str] = Field(default_factory=list)


class BrowserSettings(BaseModel):
    """The `browser` tool: off, a local headless Chromium, or Amazon Bedrock AgentCore Browser.

    Off by default: it needs Chromium (local) or a paid AWS browser session (agentcore). Navigation
    follows `web_fetch`'s rules, including its `allow_hosts`. `endpoint_url`/`region` point the
    AgentCore Browser calls elsewhere (a loopback stub in tests); unset means AWS in `aws.region`.
    """

    backend: Literal["off", "local", "agentcore"] = "off"
    chromium_path: str = "/usr/bin/chromium"
    identifier: str = "aws.browser.v1"  # AgentCore's system browser
    timeout_s: float = Field(default=30.0, gt=0)  # each browser action
    max_pages: int = Field(default=4, ge=1)  # open pages (one per session), least recently used closed
    session_timeout_s: int = Field(default=900, ge=60, le=28_800)  # AgentCore browser session
    endpoint_url: str | None = None
    region: str | None = None


ToolProfile = Literal["minimal", "coding", "messaging", "full"]


class UntrustedToolSettings(BaseModel):
    """The extra layer of the tool policy for untrusted turns (OpenClaw's `tools.sandbox.tools`): a
    non-empty `allow` blocks every tool it does not name (default: `group:web`, i.e. `web_fetch`; `["*"]`
    lifts it), `also_allow` adds to it, `deny` always wins. Entries are tool names, `group:*`
    shorthands or `*` wildcards, case-insensitive; a field left unset keeps its default."""

    allow: list[str] = Field(default_factory=lambda: ["group:web"])
    also_allow: list[str] = Field(default_factory=list)
    deny: list[str] = Field(default_factory=list)


class AgentToolSettings(BaseModel):
    """One agent's own tool policy (OpenClaw's `agents.entries.<id>.tools`): `profile` replaces the
    global one, `allow`/`deny` restrict further, `untrusted` replaces the global `untrusted` layer."""

    profile: ToolProfile | None = None
    allow: list[str] = Field(default_factory=list)
    also_allow: list[str] = Field(default_factory=list)
    deny: list[str] = Field(default_factory=list)
    untrusted: UntrustedToolSettings | None = None


class ToolSettings(BaseModel):
    """Which tools a turn is offered (OpenClaw's `tools.profile`/`allow`/`alsoAllow`/`deny`).

    Every turn gets `profile` (unset: every tool) filtered by `allow`/`deny`, then by the agent's
    entry in `agents` (JSON, by agent id). An untrusted turn — a group or channel session, or a DM whose
    sender is not the owner, allowlisted or paired — is filtered once more by `untrusted` (by default
    web tools only: no workspace files, memory, cron or browser). docs/agent.md has the groups.
    """

    profile: ToolProfile | None = None
    allow: list[str] = Field(default_factory=list)
    also_allow: list[str] = Field(default_factory=list)
    deny: list[str] = Field(default_factory=list)
    untrusted: UntrustedToolSettings = UntrustedToolSettings()
    agents: dict[str, AgentToolSettings] = Field(default_factory=dict)


class OpenClawEngineSettings(BaseModel):
    """The OpenClaw engine (`CLAWBUS_AGENT__ENGINE=openclaw`): where Node 24 and OpenClaw are installed,
    OpenClaw's state directory, and the gateway's deadlines. Unset paths are under `<local.data_dir>`:
    `openclaw-runtime` (holding `node_modules/.bin/{node,openclaw}`; `clawbus up --engine openclaw`
    installs it there) and `openclaw-state`."""

    runtime_dir: Path | None = None
    state_dir: Path | None = None
    # A new gateway takes ~10-20 s to answer and its first turn another 6-20 s on 2 cores.
    start_timeout_s: float = Field(default=120.0, gt=0)
    turn_timeout_s: float = Field(default=300.0, gt=0)


class AgentSettings(BaseModel):
    """The agent container app: its model(s), loop limits, context budget, workspace and tools.

    `model` and `fallbacks` are `provider/model` strings: `offline/echo`, `bedrock/<modelId>`,
    `openai/<model>`. The context budget of a model is `context_tokens_by_model[model]` (else
    `context_tokens`) minus `reserve_tokens`; above it, older turns are compacted into a summary.
    """

    host: str = "127.0.0.1"
    port: int = 8080
    # Who runs a turn: clawbus's own Python loop, or a supervised OpenClaw gateway (docs/agent.md).
    engine: Literal["native", "openclaw"] = "native"
    openclaw: OpenClawEngineSettings = OpenClawEngineSettings()
    # `POST /invocations` requires `Authorization: Bearer <token>` when set (`clawbus up` always sets one;
    # the loopback AgentCore endpoint sends it). Unset in AWS: only AgentCore Runtime reaches the container.
    invoke_token: SecretStr | None = None
    model: str = "offline/echo"
    fallbacks: list[str] = Field(default_factory=list)
    max_request_bytes: int = 1_048_576
    max_steps: int = Field(default=8, ge=1, le=100)
    tool_timeout_s: float = Field(default=30.0, gt=0)
    timezone: str = "UTC"
    context_tokens: int = Field(default=200_000, ge=100)
    context_tokens_by_model: dict[str, int] = Field(default_factory=dict)
    reserve_tokens: int = Field(default=20_000, ge=0)
    keep_recent_tokens: int = Field(default=20_000, ge=0)
    bedrock: BedrockSettings = BedrockSettings()
    openai: OpenAISettings = OpenAISettings()
    workspace: WorkspaceSettings = WorkspaceSettings()
    web: WebFetchSettings = WebFetchSettings()
    browser: BrowserSettings = BrowserSettings()
    tools: ToolSettings = ToolSettings()
    # Tests only: the offline echo model turns a message `/<tool> {json}` into that tool call. Off, any
    # sender could run any tool by typing its name.
    dev_tool_syntax: bool = False

    def context_budget(self, model: str) -> int:
        """Tokens a turn's context may use with `model` before compaction."""
        window = self.context_tokens_by_model.get(model, self.context_tokens)
        return max(window - self.reserve_tokens, 1)


class ResetOverride(BaseModel):
    """One `resetByType`/`resetByChannel` entry: the fields it sets (unset ones come from `reset`)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    mode: Literal["daily", "idle", "manual"] | None = None
    at_hour: int | None = Field(default=None, alias="atHour", ge=0, le=23)
    idle_minutes: int | None = Field(default=None, alias="idleMinutes", ge=0)


class ResetSettings(BaseModel):
    """OpenClaw's `session.reset`: when a conversation starts a new session (docs/state.md).

    The default is daily at 04:00 in `CLAWBUS_AGENT__TIMEZONE` (OpenClaw's documented default; one of
    its code snapshots defaults to `manual`). `idle_minutes` adds an idle expiry; whichever comes first.
    """

    mode: Literal["daily", "idle", "manual"] = "daily"
    at_hour: int = Field(default=4, ge=0, le=23)
    idle_minutes: int | None = Field(default=None, ge=0)


class AgentCoreMemorySettings(BaseModel):
    """Amazon Bedrock AgentCore Memory as the transcript backend (`TRANSCRIPTS=agentcore-memory`).

    `memory_id` is the memory resource; `endpoint_url`/`region` point elsewhere (a loopback stand-in
    in tests). `namespace` (with `{actorId}`) and `top_k` select the long-term records recalled per turn;
    `namespace` unset turns recall off.
    """

    memory_id: str | None = None
    endpoint_url: str | None = None
    region: str | None = None
    namespace: str | None = None
    top_k: int = Field(default=5, ge=1, le=100)


class SessionSettings(BaseModel):
    """How conversations map to sessions (OpenClaw's `session.*`), and where transcripts live.

    `transcripts`: `dynamodb` (the `<prefix>-sessions` table, large bodies in the state bucket),
    `local` (a directory, `dir`; no AWS), or `agentcore-memory`. The session index follows: DynamoDB,
    except with `local`. `reset_by_type` (`direct|group|thread`, legacy `dm`) and `reset_by_channel`
    are JSON objects of partial resets (`{"telegram": {"mode": "idle", "idleMinutes": 30}}`);
    `idle_minutes` is OpenClaw's legacy `session.idleMinutes` (idle-only when `reset` is not set).
    """

    agent_id: str = "main"
    dm_scope: DmScope = DmScope.MAIN
    transcripts: Literal["dynamodb", "local", "agentcore-memory"] = "dynamodb"
    dir: Path = Field(default_factory=lambda: Path.home() / ".clawbus" / "sessions")
    reset: ResetSettings = ResetSettings()
    reset_by_type: dict[str, ResetOverride] = Field(default_factory=dict)
    reset_by_channel: dict[str, ResetOverride] = Field(default_factory=dict)
    idle_minutes: int | None = Field(default=None, ge=0)
    reset_triggers: list[str] = Field(default_factory=lambda: ["/new", "/reset"])
    memory: AgentCoreMemorySettings = AgentCoreMemorySettings()


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


QueueMode = Literal["collect", "followup"]


class QueueSettings(BaseModel):
    """OpenClaw's `messages.queue`: how a session's waiting messages become turns.

    `collect` merges the messages waiting when a turn starts, and those arriving within `debounce_ms`,
    into one turn (up to `cap`); `followup` runs one turn per message. `by_channel` overrides the mode
    per channel (JSON, e.g. `{"telegram": "followup"}`).
    """

    mode: QueueMode = "collect"
    debounce_ms: int = Field(default=1000, ge=0, le=60_000)
    cap: int = Field(default=10, ge=1, le=10)  # one SQS receive holds at most 10 of a session's messages
    by_channel: dict[str, QueueMode] = Field(default_factory=dict)

    def mode_for(self, channel: str) -> QueueMode:
        """The queue mode for `channel`."""
        return self.by_channel.get(channel, self.mode)


class DispatcherSettings(BaseModel):
    """The inbound consumer."""

    concurrency: int = Field(default=64, ge=1)
    wait_time_s: int = Field(default=2, ge=0, le=20)
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
    # Test-only fault injection: hold each message this long after its chunks were sent and recorded,
    # before it is deleted, so a test can kill the worker in exactly that window. Keep 0 in production.
    test_pause_before_delete_s: float = Field(default=0.0, ge=0)


class ChannelSettings(BaseModel):
    """What every chat channel has: an API base URL for its outbound API and who may talk to the bot.

    Gating follows OpenClaw: `dm_policy` for direct messages (`allow_from` lists sender ids, optionally
    prefixed `<channel>:`), `group_policy` for groups and channels (`group_allow_from` lists group or
    sender ids), and `require_mention` makes the bot answer in groups only when addressed.
    """

    api_base: str | None = None
    dm_policy: DmPolicy = "pairing"
    allow_from: list[str] = Field(default_factory=list)
    group_policy: GroupPolicy = "allowlist"
    group_allow_from: list[str] = Field(default_factory=list)
    require_mention: bool = True

    def configured(self) -> bool:
        """Whether the channel's credentials are set (then it is enabled)."""
        return False


class WebchatSettings(BaseModel):
    """The local WebChat channel, served by ingress; on in the embedded default."""

    enabled: bool = True
    dm_policy: DmPolicy = "open"
    # The run's WebChat token (`clawbus up` makes one per data dir and passes `token_file`); WebChat and
    # the dashboard refuse every request without it, and refuse to serve at all when neither is set.
    token: SecretStr | None = None
    token_file: Path | None = None


class TelegramSettings(ChannelSettings):
    """Telegram Bot API (`api_base` default `https://api.telegram.org`)."""

    bot_token: SecretStr | None = None
    webhook_secret: SecretStr | None = None
    mode: Literal["webhook", "polling"] = "webhook"
    bot_username: str | None = None  # without '@'; how an @-mention of the bot is recognised in groups
    # `MODE=polling` (the relay): how long one getUpdates call waits for updates (Telegram allows 0-50).
    poll_timeout_s: int = Field(default=25, ge=0, le=50)

    def configured(self) -> bool:
        return self.bot_token is not None


class SlackSettings(ChannelSettings):
    """Slack Events API or Socket Mode (`api_base` default `https://slack.com/api/`)."""

    bot_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    app_token: SecretStr | None = None
    mode: Literal["events", "socket"] = "events"

    def configured(self) -> bool:
        return self.bot_token is not None


class DiscordSettings(ChannelSettings):
    """Discord interactions and gateway (`api_base` default `https://discord.com/api/v10`)."""

    bot_token: SecretStr | None = None
    application_id: str | None = None
    public_key: str | None = None

    def configured(self) -> bool:
        return self.bot_token is not None


class WhatsappSettings(ChannelSettings):
    """WhatsApp Cloud API (`api_base` default `https://graph.facebook.com`)."""

    api_version: str = "23.0"
    access_token: SecretStr | None = None
    phone_number_id: str | None = None
    app_secret: SecretStr | None = None
    verify_token: SecretStr | None = None

    def configured(self) -> bool:
        return self.access_token is not None


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


class HeartbeatSettings(BaseModel):
    """OpenClaw's `agents.defaults.heartbeat`: one schedule per agent into its main session.

    `every` is a duration (`30m`, `1h`; `0m` turns heartbeats off, as does `enabled=false`).
    `active_start`/`active_end` (`HH:00`, end may be `24:00`) limit them to active hours in `timezone`;
    unset means all day (OpenClaw's default). OpenClaw uses the gateway host's zone; a serverless
    deployment has no host, so the default is UTC, as in the Terraform. `target` `last` sends the
    answer to the chat the user last spoke from; `none` runs the heartbeat without delivering.
    """

    enabled: bool = True
    every: str = "30m"
    agent_ids: list[str] = Field(default_factory=lambda: ["main"])
    active_start: str | None = None
    active_end: str | None = None
    timezone: str = "UTC"
    target: Literal["last", "none"] = "last"


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


class StorageSettings(BaseModel):
    """Where state lives (docs/state.md): each kind of state's backend, and their limits.

    `blobs` (claim-checked bodies and other blobs) and `config` (the `openclaw.json` document) may live
    in AWS (`s3`; `ssm` for config) or under `local_dir` (default `<local.data_dir>/state`). Records
    are always DynamoDB. `secrets_ttl_s` is how long a process keeps a secret before reading it again
    (a rotation is picked up within it); `config_seed` is the local file stored as the configuration
    document the first time (default `<local.data_dir>/openclaw.json`).
    """

    blobs: Literal["s3", "local"] = "s3"
    config: Literal["ssm", "s3", "local"] = "ssm"
    local_dir: Path | None = None
    blob_max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    secrets_ttl_s: float = Field(default=300.0, ge=0)
    config_seed: Path | None = None


class TracingSettings(BaseModel):
    """How this stage's spans leave it (bus/tracing.py).

    `otlp`: OTLP/HTTP to `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) when set, nothing when
    not: a collector of the operator's (`clawbus up` with a local collector, a test's loopback one).
    `xray`: OTLP/HTTP straight to X-Ray, SigV4-signed with the stage's own AWS credentials and `aws.region`:
    every stage in AWS with `tracing = true` (needs CloudWatch Transaction Search).
    `xray_endpoint` overrides where those signed requests go (default: X-Ray's in `aws.region`).
    `none`: nothing, whatever the environment says.
    """

    export: Literal["otlp", "xray", "none"] = "otlp"
    xray_endpoint: str | None = Field(
        default=None, json_schema_extra={SHOWN_DEFAULT: "https://xray.<aws.region>.amazonaws.com/v1/traces"}
    )


class LocalSettings(BaseModel):
    """The embedded default's own pieces: the loopback AWS API, and where its state and logs go."""

    aws_host: str = "127.0.0.1"
    aws_port: int = 4566
    data_dir: Path = Field(default_factory=lambda: Path.home() / ".clawbus")
    # How often `clawbus up`'s loopback AWS API saves its state to <data_dir>/aws-state.pickle while
    # serving (it also saves at a clean stop): what a crash of the whole machine can lose. 0: at stop only.
    snapshot_interval_s: float = Field(default=30.0, ge=0)


_DOCUMENT: ContextVar[Mapping[str, Any]] = ContextVar("clawbus_document", default=MappingProxyType({}))


class DocumentSettingsSource(PydanticBaseSettingsSource):
    """Values from the configuration document, already in settings names (`openclaw.config`)."""

    def __init__(self, settings_cls: type[BaseSettings], values: Mapping[str, Any]) -> None:
        super().__init__(settings_cls)
        self._values = values

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """The document's value of one top-level field (a nested dict for a section)."""
        del field
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {name: value for name, value in self._values.items() if name in self.settings_cls.model_fields}


@contextmanager
def _document(values: Mapping[str, Any]) -> Iterator[None]:
    token = _DOCUMENT.set(values)
    try:
        yield
    finally:
        _DOCUMENT.reset(token)


class Settings(BaseSettings):
    """Everything, from `CLAWBUS_*` environment variables (nested with `__`), over the configuration
    document's values when built with `with_document`."""

    model_config = SettingsConfigDict(
        env_prefix="CLAWBUS_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    aws: AwsSettings = Field(default_factory=AwsSettings)  # built per Settings: its region reads the env
    bus: BusSettings = BusSettings()
    agentcore: AgentCoreSettings = AgentCoreSettings()
    agent: AgentSettings = AgentSettings()
    session: SessionSettings = SessionSettings()
    ingress: IngressSettings = IngressSettings()
    dispatcher: DispatcherSettings = DispatcherSettings()
    egress: EgressSettings = EgressSettings()
    webchat: WebchatSettings = WebchatSettings()
    telegram: TelegramSettings = TelegramSettings()
    slack: SlackSettings = SlackSettings()
    discord: DiscordSettings = DiscordSettings()
    whatsapp: WhatsappSettings = WhatsappSettings()
    relay: RelaySettings = RelaySettings()

    heartbeat: HeartbeatSettings = HeartbeatSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    storage: StorageSettings = StorageSettings()
    local: LocalSettings = LocalSettings()
    tracing: TracingSettings = TracingSettings()
    log_level: str = "INFO"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Init arguments, then the environment, then the configuration document, then the defaults."""
        document = DocumentSettingsSource(settings_cls, _DOCUMENT.get())
        return init_settings, env_settings, document, dotenv_settings, file_secret_settings

    @classmethod
    def with_document(cls, values: Mapping[str, Any], **init: Any) -> Settings:
        """Settings from the environment over `values` (a mapped configuration document) over defaults.

        Raises:
            pydantic.ValidationError: a value (from either source) is not valid.
        """
        with _document(values):
            return cls(**init)

    def enabled_channels(self) -> list[str]:
        """Channels that run an egress worker: WebChat when enabled, others when their credentials are set."""
        enabled = ["webchat"] if self.webchat.enabled else []
        for name in CHANNELS[1:]:
            channel: ChannelSettings = getattr(self, name)
            if channel.configured():
                enabled.append(name)
        return enabled
