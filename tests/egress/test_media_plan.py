"""How a file goes out on each platform (`egress/core/media_plan.py` with the channels' `MediaCaps`): the
richest call that takes it, a document otherwise, and a text naming the limit when it is too large."""

from __future__ import annotations

import pytest

from clawbus.channels.contracts import MB, SendAs
from clawbus.channels.discord.outbound import PROFILE as DISCORD
from clawbus.channels.slack.outbound import PROFILE as SLACK
from clawbus.channels.telegram.outbound import PROFILE as TELEGRAM
from clawbus.channels.whatsapp.outbound import PROFILE as WHATSAPP
from clawbus.egress.core.media_plan import Notice, Upload, decide_upload
from clawbus.schemas import ReplyMedia


def _media(media_type: str, size: int, name: str = "file", *, as_voice: bool = False) -> ReplyMedia:
    return ReplyMedia(key="media/s/abc", media_type=media_type, size=size, name=name, as_voice=as_voice)


@pytest.mark.parametrize(
    ("media_type", "size", "expected"),
    [
        ("image/jpeg", 2 * MB, SendAs.PHOTO),
        ("image/png", 10 * MB, SendAs.PHOTO),
        ("image/jpeg", 10 * MB + 1, SendAs.DOCUMENT),  # over the photo cap: a document
        ("image/gif", 1 * MB, SendAs.DOCUMENT),  # not a photo type: a document
        ("audio/ogg", 1 * MB, SendAs.DOCUMENT),  # a voice note only when asked for (below)
        ("audio/mpeg", 1 * MB, SendAs.AUDIO),
        ("video/mp4", 20 * MB, SendAs.VIDEO),
        ("application/pdf", 49 * MB, SendAs.DOCUMENT),
        ("IMAGE/JPEG; charset=binary", 1 * MB, SendAs.PHOTO),
    ],
)
def test_telegram_takes_the_richest_call_that_fits(media_type: str, size: int, expected: SendAs) -> None:
    assert decide_upload(_media(media_type, size), TELEGRAM.media, "Telegram") == Upload(expected)


@pytest.mark.parametrize(
    ("media_type", "size", "expected"),
    [
        ("image/jpeg", 5 * MB, SendAs.PHOTO),
        ("image/jpeg", 5 * MB + 1, SendAs.DOCUMENT),
        ("image/webp", 1 * MB, SendAs.DOCUMENT),
        ("audio/ogg", 16 * MB, SendAs.AUDIO),
        ("audio/ogg", 16 * MB + 1, SendAs.DOCUMENT),
        ("video/mp4", 17 * MB, SendAs.DOCUMENT),
    ],
)
def test_whatsapp_caps_per_kind(media_type: str, size: int, expected: SendAs) -> None:
    assert decide_upload(_media(media_type, size), WHATSAPP.media, "Whatsapp") == Upload(expected)


@pytest.mark.parametrize(
    ("profile", "size", "limit"),
    [(TELEGRAM, 50 * MB + 1, "50.0 MB"), (DISCORD, 10 * MB + 1, "10.0 MB"), (WHATSAPP, 101 * MB, "100.0 MB")],
)
def test_a_file_over_the_platform_limit_becomes_a_text_naming_it(
    profile: object, size: int, limit: str
) -> None:
    caps = getattr(profile, "media", None)
    decided = decide_upload(_media("application/pdf", size, "big report.pdf"), caps, "Here")
    assert isinstance(decided, Notice)
    assert "big report.pdf" in decided.text
    assert f"its limit is {limit}" in decided.text


@pytest.mark.parametrize(("profile", "name"), [(TELEGRAM, "Telegram"), (WHATSAPP, "Whatsapp")])
def test_audio_marked_as_voice_goes_as_a_voice_note(profile: object, name: str) -> None:
    caps = getattr(profile, "media", None)
    assert decide_upload(_media("audio/ogg", MB, as_voice=True), caps, name) == Upload(SendAs.VOICE)
    assert decide_upload(_media("audio/ogg", 51 * MB, as_voice=True), caps, name) != Upload(SendAs.VOICE)


def test_slack_and_discord_send_every_file_the_same_way() -> None:
    for profile in (SLACK, DISCORD):
        assert decide_upload(_media("image/jpeg", 1 * MB), profile.media, "x") == Upload(SendAs.DOCUMENT)


def test_a_platform_without_file_uploads_gets_a_text() -> None:
    decided = decide_upload(_media("image/jpeg", 48 * 1024, "receipt.jpg"), None, "Somewhere")
    assert decided == Notice("📎 receipt.jpg (48 KB) — files cannot be sent on Somewhere.")
