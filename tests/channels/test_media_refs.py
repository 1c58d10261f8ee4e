"""Each channel's media messages become `AttachmentRef`s on one turn with their caption (issue 20).

Payload shapes follow the platforms' published objects: Telegram's `PhotoSize`/`Document`/`Voice`
(core.telegram.org/bots/api), WhatsApp Cloud API media messages, Slack `file_share` messages' `files`,
Discord's attachment object.
"""

from __future__ import annotations

from typing import Any

from clawbus.channels.discord import inbound as discord
from clawbus.channels.slack import inbound as slack
from clawbus.schemas import AttachmentRef
from tests.channels.common import CTX, only_turn, tg, wa
from tests.ingress import payloads as p


def _refs(parsed: Any) -> list[tuple[str | None, str | None, str, int, str | None]]:
    event, _ = only_turn(parsed)
    return [(a.kind, a.source, a.media_type, a.size, a.name) for a in event.attachments]


def _telegram(**media: Any) -> dict[str, Any]:
    update = p.telegram_message(text="")
    message = update["message"]
    del message["text"]
    message.update(media)
    return update


def test_a_telegram_photo_with_a_caption_is_one_turn_with_the_largest_size() -> None:
    sizes = [
        {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 67, "file_size": 1200},
        {"file_id": "large", "file_unique_id": "l", "width": 1280, "height": 960, "file_size": 98_000},
        {"file_id": "medium", "file_unique_id": "m", "width": 320, "height": 240, "file_size": 15_000},
    ]
    parsed = tg(_telegram(photo=sizes, caption="my receipt"))
    event, _ = only_turn(parsed)
    assert event.text == "my receipt"
    assert _refs(parsed) == [("image", "large", "image/jpeg", 98_000, None)]
    assert not event.attachments[0].fetched


def test_telegram_documents_voice_notes_audio_and_video_notes_are_attachments_without_text() -> None:
    doc = {"file_id": "D1", "file_unique_id": "d", "file_name": "invoice.pdf", "mime_type": "application/pdf"}
    voice = {
        "file_id": "V1",
        "file_unique_id": "v",
        "duration": 3,
        "mime_type": "audio/ogg",
        "file_size": 9000,
    }
    audio = {"file_id": "A1", "file_unique_id": "a", "duration": 60, "file_name": "song.mp3"}
    note = {"file_id": "N1", "file_unique_id": "n", "length": 240, "duration": 5}
    assert _refs(tg(_telegram(document=doc))) == [("document", "D1", "application/pdf", 0, "invoice.pdf")]
    assert _refs(tg(_telegram(voice=voice))) == [("voice", "V1", "audio/ogg", 9000, None)]
    assert _refs(tg(_telegram(audio=audio))) == [("audio", "A1", "application/octet-stream", 0, "song.mp3")]
    assert _refs(tg(_telegram(video_note=note))) == [("video", "N1", "video/mp4", 0, None)]


def test_a_telegram_message_with_neither_text_nor_a_file_is_still_ignored() -> None:
    parsed = tg(_telegram())
    assert parsed.turns == ()
    assert [i.reason for i in parsed.ignored] == ["no_text"]


def _whatsapp(kind: str, media: dict[str, Any]) -> dict[str, Any]:
    body = p.whatsapp_message(kind=kind)
    body["entry"][0]["changes"][0]["value"]["messages"][0][kind] = media
    return body


def test_whatsapp_image_document_voice_sticker_and_video_messages_are_attachments() -> None:
    image = {"id": "1479537139650973", "mime_type": "image/jpeg", "sha256": "abc", "caption": "look"}
    parsed = wa(_whatsapp("image", image))
    assert only_turn(parsed)[0].text == "look"
    assert _refs(parsed) == [("image", "1479537139650973", "image/jpeg", 0, None)]
    document = {"id": "2001", "mime_type": "application/pdf", "sha256": "x", "filename": "cv.pdf"}
    assert _refs(wa(_whatsapp("document", document))) == [
        ("document", "2001", "application/pdf", 0, "cv.pdf")
    ]
    voice = {"id": "3001", "mime_type": "audio/ogg; codecs=opus", "sha256": "x", "voice": True}
    assert _refs(wa(_whatsapp("audio", voice))) == [("voice", "3001", "audio/ogg; codecs=opus", 0, None)]
    sticker = {"id": "4001", "mime_type": "image/webp", "sha256": "x", "animated": False}
    assert _refs(wa(_whatsapp("sticker", sticker))) == [("sticker", "4001", "image/webp", 0, None)]
    video = {"id": "5001", "mime_type": "video/mp4", "sha256": "x"}
    assert _refs(wa(_whatsapp("video", video))) == [("video", "5001", "video/mp4", 0, None)]


def test_a_slack_file_share_keeps_its_text_and_files() -> None:
    body = p.slack_event(text="the contract", subtype="file_share")
    body["event"]["files"] = [
        {
            "id": "F0ABC",
            "name": "contract.pdf",
            "mimetype": "application/pdf",
            "filetype": "pdf",
            "size": 48_213,
            "url_private": "https://files.slack.com/files-pri/T0TEAM-F0ABC/contract.pdf",
            "url_private_download": "https://files.slack.com/files-pri/T0TEAM-F0ABC/download/contract.pdf",
        },
        {"id": "F0EXT", "name": "ext", "mimetype": "", "is_external": True},  # no private url: left out
    ]
    parsed = slack.normalise(body, ctx=CTX)
    assert only_turn(parsed)[0].text == "the contract"
    assert _refs(parsed) == [
        (
            "document",
            "https://files.slack.com/files-pri/T0TEAM-F0ABC/download/contract.pdf",
            "application/pdf",
            48_213,
            "contract.pdf",
        )
    ]


def test_a_discord_message_with_only_an_attachment_is_a_turn() -> None:
    data = p.discord_message(guild=False, text="")
    data["attachments"] = [
        {
            "id": "1100",
            "filename": "cat.png",
            "size": 2048,
            "url": "https://cdn.discordapp.com/attachments/1/1100/cat.png?ex=1&is=2&hm=3",
            "proxy_url": "https://media.discordapp.net/attachments/1/1100/cat.png",
            "content_type": "image/png",
        }
    ]
    parsed = discord.normalise_message(data, bot_id="900000000000000999", ctx=CTX)
    assert _refs(parsed) == [
        (
            "image",
            "https://cdn.discordapp.com/attachments/1/1100/cat.png?ex=1&is=2&hm=3",
            "image/png",
            2048,
            "cat.png",
        )
    ]


def test_an_older_envelope_without_the_new_attachment_fields_still_parses() -> None:
    ref = AttachmentRef.model_validate({"key": "media/x", "media_type": "image/png", "size": 3})
    assert ref.fetched
    assert (ref.source, ref.refused) == (None, None)
