"""Each channel's settings: credentials, who may talk to the agent (DM and group policies), limits."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

CHANNELS = ("webchat", "telegram", "slack", "discord", "whatsapp")


DmPolicy = Literal["pairing", "allowlist", "open", "disabled"]


GroupPolicy = Literal["allowlist", "open", "disabled"]


Streaming = Literal["off", "progress"]


# OpenClaw's `channels.<channel>.errorPolicy`: whether a turn that failed for good says so in its chat.
ErrorPolicy = Literal["always", "once", "silent"]


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
    # How a long reply becomes messages (OpenClaw's `streaming.chunkMode`): `length` fills each message,
    # `newline` splits at blank lines first (egress/core/chunk_modes.py).
    chunk_mode: Literal["length", "newline"] = "length"
    # The reply an unknown DM sender gets under `pairing` (OpenClaw-style `pairing.message`); placeholders
    # {code}, {channel}, {senderId}, {approveCommand}. None: the built-in text (ingress/core/pairing.py).
    pairing_message: str | None = None
    # OpenClaw's `channels.<channel>.streaming.mode`: `progress` shows each slow turn as one status draft,
    # edited into the answer (where the platform edits messages: Telegram, Slack); `off` sends the answer
    # only, as before drafts.
    streaming: Streaming = "off"
    # OpenClaw's `errorPolicy`: a turn given up (dead-lettered) answers its chat with one short error
    # reply: `always`, `once` (the same reason once per chat every 4 hours) or `silent` (never).
    error_policy: ErrorPolicy = "always"

    def configured(self) -> bool:
        """Whether the channel's credentials are set (then it is enabled)."""
        return False


class CommandsSettings(BaseModel):
    """OpenClaw's `commands` block, as far as clawbus reads it.

    `owner_allow_from` (`commands.ownerAllowFrom`) names the owner as `<channel>:<sender id>` entries
    (`telegram:123456789`) or bare ids (every channel); when it names anyone, it alone does
    (`channels/owner.py`): `owner` heartbeats and the cron tool's "owner's DMs" go to these ids.
    """

    owner_allow_from: list[str] = Field(default_factory=list)


class WebchatSettings(BaseModel):
    """The local WebChat channel, served by ingress; on in the embedded default."""

    enabled: bool = True
    dm_policy: DmPolicy = "open"
    # The run's WebChat token (`clawbus up` makes one per data dir and passes `token_file`); WebChat and
    # the dashboard refuse every request without it, and refuse to serve at all when neither is set.
    token: SecretStr | None = None
    token_file: Path | None = None
    error_policy: ErrorPolicy = "always"  # as for the chat channels (`ChannelSettings.error_policy`)


class TelegramSettings(ChannelSettings):
    """Telegram Bot API (`api_base` default `https://api.telegram.org`)."""

    bot_token: SecretStr | None = None
    webhook_secret: SecretStr | None = None
    mode: Literal["webhook", "polling"] = "webhook"
    bot_username: str | None = None  # without '@'; how an @-mention of the bot is recognised in groups
    # `MODE=polling` (the relay): how long one getUpdates call waits for updates (Telegram allows 0-50).
    poll_timeout_s: int = Field(default=25, ge=0, le=50)
    streaming: Streaming = "progress"  # OpenClaw's default for Telegram

    def configured(self) -> bool:
        return self.bot_token is not None


class SlackSettings(ChannelSettings):
    """Slack Events API or Socket Mode (`api_base` default `https://slack.com/api/`)."""

    bot_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    app_token: SecretStr | None = None
    mode: Literal["events", "socket"] = "events"
    streaming: Streaming = "progress"  # OpenClaw's default for Slack

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
