"""The root `Settings` object: every group under one pydantic-settings model, read from the environment
over the stored configuration document over the defaults."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

from pydantic import Field
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from clawbus.bus.settings.agent import AgentSettings, SessionSettings
from clawbus.bus.settings.aws import (
    AgentCoreSettings,
    AwsSettings,
    BusSettings,
    LocalSettings,
    StorageSettings,
    TracingSettings,
)
from clawbus.bus.settings.channels import (
    CHANNELS,
    ChannelSettings,
    CommandsSettings,
    DiscordSettings,
    SlackSettings,
    TelegramSettings,
    WebchatSettings,
    WhatsappSettings,
)
from clawbus.bus.settings.media import MediaSettings
from clawbus.bus.settings.routing import RoutingSettings
from clawbus.bus.settings.stages import (
    DispatcherSettings,
    EgressSettings,
    HeartbeatSettings,
    IngressSettings,
    RelaySettings,
    SchedulerSettings,
)

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
    # Built per Settings (agent, session, local): their paths default under $HOME as it is then, not as it
    # was at import (a stage forked from the warm forker has its own environment).
    agent: AgentSettings = Field(default_factory=AgentSettings)
    session: SessionSettings = Field(default_factory=SessionSettings)
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
    commands: CommandsSettings = CommandsSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    storage: StorageSettings = StorageSettings()
    local: LocalSettings = Field(default_factory=LocalSettings)
    tracing: TracingSettings = TracingSettings()
    log_level: str = "INFO"
    routing: RoutingSettings = RoutingSettings()
    media: MediaSettings = MediaSettings()  # issue 20: inbound media caps, expiry, transcription

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
