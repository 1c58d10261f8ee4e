"""The agent's settings: the model providers, tools and their trust, the engine, sessions and resets."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from clawbus.schemas import DmScope
from clawbus.schemas.thread_binding import ThreadBindingPolicy

ToolProfile = Literal["minimal", "coding", "messaging", "full"]


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
    workspace: WorkspaceSettings = Field(default_factory=WorkspaceSettings)  # its dir: $HOME when built
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
    # OpenClaw's `session.identityLinks`: canonical name -> ids (`telegram:123`) of one person; `/link`
    # adds stored links to these (ingress/linking.py). Not consulted under dm_scope `main`.
    identity_links: dict[str, list[str]] = Field(default_factory=dict)
    # OpenClaw's `session.threadBindings`: a bound thread keeps to its session (ingress/thread_binding.py).
    thread_bindings: ThreadBindingPolicy = ThreadBindingPolicy()
