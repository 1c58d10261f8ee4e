"""Each channel's fetcher gets a user's file the platform's way, from the fake platforms on loopback
(issue 20): the token goes only where the platform wants it, a download over its cap is cut off, an
expired file is `MediaGone` and a 5xx retryable."""

from __future__ import annotations

from pathlib import Path

import pytest

from clawbus.bus.errors import PermanentError, TooLarge, Unavailable
from clawbus.bus.settings import DiscordSettings, SlackSettings, WhatsappSettings
from clawbus.channels.discord.media import open_media as discord_media
from clawbus.channels.media_download import MediaDeps, MediaGone, pending_ref
from clawbus.channels.slack.media import open_media as slack_media
from clawbus.channels.whatsapp.media import open_media as whatsapp_media
from tests.fakes.platforms import FakePlatforms

PDF = (Path(__file__).resolve().parent.parent / "fixtures" / "media" / "invoice.pdf").read_bytes()
DEPS = MediaDeps(timeout_s=5)


async def test_whatsapp_looks_the_media_id_up_then_downloads_with_the_access_token() -> None:
    with FakePlatforms() as fake:
        media_id = fake.files.serve("whatsapp", "1479537139650973", PDF)
        cfg = WhatsappSettings(access_token="wa-token", api_base=fake.api_base("whatsapp"))
        async with whatsapp_media(cfg, DEPS) as fetcher:
            data = await fetcher.fetch(
                pending_ref("document", media_id, media_type=None, size=0, name=None), 10_000
            )
            with pytest.raises(MediaGone, match="HTTP 404"):
                await fetcher.fetch(
                    pending_ref("document", "999", media_type=None, size=0, name=None), 10_000
                )
        assert data == PDF
        assert fake.files.bearer["whatsapp"] == ["Bearer wa-token"]


async def test_slack_sends_the_bot_token_only_to_slack() -> None:
    with FakePlatforms() as fake:
        url = fake.files.serve("slack", "contract.pdf", PDF)
        cfg = SlackSettings(bot_token="xoxb-1", api_base=fake.api_base("slack"))
        async with slack_media(cfg, DEPS) as fetcher:
            assert (
                await fetcher.fetch(pending_ref("document", url, media_type=None, size=0, name=None), 10_000)
                == PDF
            )
            elsewhere = "https://attacker.example/files/contract.pdf"
            with pytest.raises(PermanentError, match="not sending the bot token"):
                await fetcher.fetch(
                    pending_ref("document", elsewhere, media_type=None, size=0, name=None), 10_000
                )
        assert fake.files.bearer["slack"] == ["Bearer xoxb-1"]


async def test_discord_downloads_from_its_cdn_without_a_token_cut_off_at_the_cap() -> None:
    with FakePlatforms() as fake:
        url = fake.files.serve("discord", "cat.pdf", PDF)
        cfg = DiscordSettings(bot_token="discord-token", api_base=fake.api_base("discord"))
        async with discord_media(cfg, DEPS) as fetcher:
            ref = pending_ref("document", url, media_type=None, size=0, name=None)
            assert await fetcher.fetch(ref, 10_000) == PDF
            with pytest.raises(TooLarge, match="over the cap of 100"):
                await fetcher.fetch(ref, 100)
            fake.files.fail_files(502)
            with pytest.raises(Unavailable, match="HTTP 502"):
                await fetcher.fetch(ref, 10_000)
        assert fake.files.bearer["discord"] == ["", "", ""]
