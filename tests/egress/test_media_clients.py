"""Each channel client uploads a file with its platform's own call, against the fake platforms: the user
gets the file (name, content type, the very bytes) and its caption, in the chat (and thread) it answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager

import pytest
from pydantic import SecretStr

from clawbus.bus.settings import DiscordSettings, SlackSettings, TelegramSettings, WhatsappSettings
from clawbus.channels.contracts import MediaFile, PostsMedia, SendAs
from clawbus.channels.discord.outbound import open_discord
from clawbus.channels.slack.outbound import open_slack
from clawbus.channels.telegram.outbound import open_telegram
from clawbus.channels.whatsapp.outbound import open_whatsapp
from clawbus.schemas import ReplyTarget
from tests.egress.media_files import jpeg, ogg_voice, pdf
from tests.fakes.platforms import FakePlatforms


@pytest.fixture
def fake() -> Iterator[FakePlatforms]:
    with FakePlatforms() as server:
        yield server


def _client(channel: str, fake: FakePlatforms) -> AbstractAsyncContextManager[PostsMedia]:
    base = fake.api_base(channel)
    if channel == "telegram":
        return open_telegram(TelegramSettings(bot_token=SecretStr("123:fake"), api_base=base), 5.0)
    if channel == "slack":
        return open_slack(SlackSettings(bot_token=SecretStr("xoxb-fake"), api_base=base), 5.0)
    if channel == "discord":
        return open_discord(DiscordSettings(bot_token=SecretStr("fake"), api_base=base), 5.0)
    settings = WhatsappSettings(access_token=SecretStr("fake"), phone_number_id="1555", api_base=base)
    return open_whatsapp(settings, 5.0)


async def _post(channel: str, fake: FakePlatforms, media: MediaFile, target: ReplyTarget) -> str:
    async with _client(channel, fake) as client:
        return await client.post_media(target, media, first=True, key=f"sent:{channel}:r1:media.0")


TELEGRAM_CALLS = [
    (SendAs.PHOTO, "sendPhoto", "photo"),
    (SendAs.VOICE, "sendVoice", "voice"),
    (SendAs.DOCUMENT, "sendDocument", "document"),
]


@pytest.mark.parametrize(("send_as", "method", "field"), TELEGRAM_CALLS)
async def test_telegram_uploads_with_the_call_for_the_kind(
    fake: FakePlatforms, send_as: SendAs, method: str, field: str
) -> None:
    data = {SendAs.PHOTO: jpeg(), SendAs.VOICE: ogg_voice(), SendAs.DOCUMENT: pdf()}[send_as]
    name = {SendAs.PHOTO: "chart.jpg", SendAs.VOICE: "note.ogg", SendAs.DOCUMENT: "report.pdf"}[send_as]
    media = MediaFile(data, name, "application/octet-stream", send_as, "here it is")
    target = ReplyTarget(chat_id="42", thread_id="7", reply_to_message_id="99")
    message_id = await _post("telegram", fake, media, target)
    [call] = fake.shown("telegram")
    assert (call.method, call.body["chat_id"], call.body["message_thread_id"]) == (method, "42", "7")
    assert call.text == "here it is"
    assert json.loads(call.body["reply_parameters"])["message_id"] == 99
    [upload] = call.files
    assert (upload.field, upload.filename, upload.data) == (field, name, data)
    assert message_id.isdigit()


async def test_slack_uploads_v2_and_shares_the_file_in_the_thread(fake: FakePlatforms) -> None:
    media = MediaFile(pdf(), "report.pdf", "application/pdf", SendAs.DOCUMENT, "the report")
    file_id = await _post("slack", fake, media, ReplyTarget(chat_id="C1", thread_id="1733349600.000100"))
    methods = [c.method for c in fake.calls]
    assert methods == ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]
    [shared] = fake.shown("slack")
    assert (shared.body["channel_id"], shared.body["thread_ts"]) == ("C1", "1733349600.000100")
    assert shared.text == "the report"
    [upload] = fake.uploads("slack")
    assert (upload.filename, upload.data) == ("report.pdf", pdf())
    assert file_id.startswith("F")


@pytest.mark.parametrize("thread", [None, "T1"])
async def test_discord_sends_a_multipart_message_with_the_chunk_nonce(
    fake: FakePlatforms, thread: str | None
) -> None:
    media = MediaFile(jpeg(), "chart.jpg", "image/jpeg", SendAs.PHOTO, "the chart")
    await _post("discord", fake, media, ReplyTarget(chat_id="C1", thread_id=thread))
    [call] = fake.shown("discord")
    assert call.body["channel"] == (thread or "C1")
    assert call.text == "the chart"
    assert call.body["nonce"]
    assert call.body["enforce_nonce"] is True
    [upload] = call.files
    assert (upload.field, upload.filename, upload.content_type, upload.data) == (
        "files[0]",
        "chart.jpg",
        "image/jpeg",
        jpeg(),
    )


async def test_a_discord_upload_repeated_within_the_nonce_window_shows_once(fake: FakePlatforms) -> None:
    media = MediaFile(jpeg(), "chart.jpg", "image/jpeg", SendAs.PHOTO)
    first = await _post("discord", fake, media, ReplyTarget(chat_id="C1"))
    again = await _post("discord", fake, media, ReplyTarget(chat_id="C1"))
    assert first == again
    assert len(fake.uploads("discord")) == 1


WHATSAPP_KINDS = [
    (SendAs.PHOTO, "image/jpeg", "image"),
    (SendAs.VOICE, "audio/ogg", "audio"),
    (SendAs.DOCUMENT, "application/pdf", "document"),
]


@pytest.mark.parametrize(("send_as", "media_type", "kind"), WHATSAPP_KINDS)
async def test_whatsapp_uploads_the_media_then_sends_its_id(
    fake: FakePlatforms, send_as: SendAs, media_type: str, kind: str
) -> None:
    data = {SendAs.PHOTO: jpeg(), SendAs.VOICE: ogg_voice(), SendAs.DOCUMENT: pdf()}[send_as]
    media = MediaFile(data, f"file.{kind}", media_type, send_as, "caption")
    await _post("whatsapp", fake, media, ReplyTarget(chat_id="4915112345678", reply_to_message_id="wamid.1"))
    assert [c.method for c in fake.calls] == ["media", "messages"]
    [message] = fake.shown("whatsapp")
    assert (message.body["to"], message.body["type"]) == ("4915112345678", kind)
    [upload] = message.files
    assert (upload.content_type, upload.data) == (media_type, data)
    if send_as is SendAs.VOICE:
        assert message.body["audio"].get("voice") is True
