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

from clawbus.bus.settings.agent import (
    AgentCoreMemorySettings,
    AgentSettings,
    AgentToolSettings,
    BedrockSettings,
    BrowserSettings,
    OpenAISettings,
    OpenClawEngineSettings,
    ResetOverride,
    ResetSettings,
    SessionSettings,
    ToolProfile,
    ToolSettings,
    UntrustedToolSettings,
    WebFetchSettings,
    WorkspaceSettings,
)
from clawbus.bus.settings.aws import (
    SHOWN_DEFAULT,
    AgentCoreSettings,
    AwsSettings,
    BusSettings,
    LocalSettings,
    StorageSettings,
    TracingSettings,
    standard_aws_region,
)
from clawbus.bus.settings.channels import (
    CHANNELS,
    ChannelSettings,
    CommandsSettings,
    DiscordSettings,
    DmPolicy,
    GroupPolicy,
    SlackSettings,
    TelegramSettings,
    WebchatSettings,
    WhatsappSettings,
)
from clawbus.bus.settings.media import MediaSettings
from clawbus.bus.settings.root import DocumentSettingsSource, Settings
from clawbus.bus.settings.routing import AgentEntry, RoutingSettings
from clawbus.bus.settings.stages import (
    AgentHeartbeat,
    DispatcherSettings,
    EgressSettings,
    HeartbeatSettings,
    IngressSettings,
    QueueDrop,
    QueueMode,
    QueueSettings,
    RelaySettings,
    SchedulerSettings,
)

__all__ = [
    "CHANNELS",
    "SHOWN_DEFAULT",
    "AgentCoreMemorySettings",
    "AgentCoreSettings",
    "AgentEntry",
    "AgentHeartbeat",
    "AgentSettings",
    "AgentToolSettings",
    "AwsSettings",
    "BedrockSettings",
    "BrowserSettings",
    "BusSettings",
    "ChannelSettings",
    "CommandsSettings",
    "DiscordSettings",
    "DispatcherSettings",
    "DmPolicy",
    "DocumentSettingsSource",
    "EgressSettings",
    "GroupPolicy",
    "HeartbeatSettings",
    "IngressSettings",
    "LocalSettings",
    "MediaSettings",
    "OpenAISettings",
    "OpenClawEngineSettings",
    "QueueDrop",
    "QueueMode",
    "QueueSettings",
    "RelaySettings",
    "ResetOverride",
    "ResetSettings",
    "RoutingSettings",
    "SchedulerSettings",
    "SessionSettings",
    "Settings",
    "SlackSettings",
    "StorageSettings",
    "TelegramSettings",
    "ToolProfile",
    "ToolSettings",
    "TracingSettings",
    "UntrustedToolSettings",
    "WebFetchSettings",
    "WebchatSettings",
    "WhatsappSettings",
    "WorkspaceSettings",
    "standard_aws_region",
]
