"""Discord media in, end to end (issue 20): a message with an attachment comes over the gateway to a real
`clawbus relay` (discord.py's own client, connected to a loopback stand-in of Discord's gateway,
tests/fakes/discord_gateway.py), the dispatcher fetches the file from the stand-in CDN and stores it once
in the state bucket, and the agent's offline echo names it in the reply egress posts on Discord. Every
stage a real process on the loopback AWS API, as in tests/pipeline/test_media.py for the other four."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Bus, Pipeline, make_bus, start_pipeline
from tests.fakes.discord_gateway import ANN, BOT_TOKEN, FakeDiscordGateway
from tests.fakes.platforms import FakePlatforms
from tests.helpers import eventually, stage, wait_for

MEDIA = Path(__file__).resolve().parent.parent / "fixtures" / "media"
PDF = (MEDIA / "invoice.pdf").read_bytes()
DM = "900000000000000500"
_ids = itertools.count(920_000_000_000_000_000)


@dataclass
class Running:
    pipeline: Pipeline
    fake: FakePlatforms
    gateway: FakeDiscordGateway
    bus: Bus


@pytest.fixture(scope="module")
def running(aws_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    bus, logs = make_bus(aws_endpoint), tmp_path_factory.mktemp("media-discord") / "logs"
    with FakeDiscordGateway() as gateway, FakePlatforms(discord_gateway=gateway) as fake:
        env = {
            "CLAWBUS_SESSION__DM_SCOPE": "per-channel-peer",
            "CLAWBUS_DISPATCHER__QUEUE__MODE": "followup",
            "CLAWBUS_DISCORD__BOT_TOKEN": BOT_TOKEN,
            "CLAWBUS_DISCORD__API_BASE": fake.api_base("discord"),
            "CLAWBUS_DISCORD__ALLOW_FROM": json.dumps([ANN["id"]]),
        }
        pipeline = start_pipeline(bus, logs, env, channels=("discord",))
        try:
            pipeline.supervisor.start(stage("relay", "relay.started", "relay"))
            wait_for(lambda: gateway.identified >= 1, timeout=30, what="the relay's gateway session")
            yield Running(pipeline, fake, gateway, bus)
        finally:
            codes = pipeline.stop()
        assert all(code == 0 for _, code in codes), codes


def _message(content: str, attachments: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A DM's `MESSAGE_CREATE` data, as Discord sends it."""
    return {
        "id": str(next(_ids)),
        "channel_id": DM,
        "author": ANN,
        "content": content,
        "timestamp": "2026-12-05T04:00:00.000000+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": attachments,
        "embeds": [],
        "pinned": False,
        "type": 0,
        "flags": 0,
        **extra,
    }


def _attachment(url: str, name: str, content_type: str, size: int) -> dict[str, Any]:
    return {
        "id": str(next(_ids)),
        "filename": name,
        "size": size,
        "url": url,
        "proxy_url": url,
        "content_type": content_type,
    }


async def _sent(run: Running, needle: str) -> str:
    async def found() -> str | None:
        return next((c.text for c in run.fake.sent("discord") if needle in c.text), None)

    return await eventually(found, timeout=45, interval=0.3, what=f"a Discord reply naming {needle!r}")


async def test_a_discord_attachment_over_the_gateway_is_stored_once_and_named_in_the_reply(
    running: Running,
) -> None:
    url = running.fake.files.serve("discord", "invoice.pdf", PDF)
    data = _message("my invoice", [_attachment(url, "invoice.pdf", "application/pdf", len(PDF))])
    running.gateway.send_message(data)
    running.gateway.send_message(data)  # a replay after a RESUME can repeat an event: still one turn

    text = await _sent(running, "invoice.pdf")
    assert "You said: my invoice You sent: application/pdf, 1 KB, 'invoice.pdf'" in text
    bucket = f"{running.bus.prefix}-state"
    listed = running.bus.client("s3").list_object_versions(Bucket=bucket, Prefix="media/")
    digest = hashlib.sha256(PDF).hexdigest()
    assert [v["Key"] for v in listed.get("Versions", []) if v["Key"].endswith(digest)] != []
    assert len([v for v in listed.get("Versions", []) if v["Key"].endswith(digest)]) == 1
    assert running.fake.files.downloads["discord"] >= 1
    replies = [c for c in running.fake.sent("discord") if "invoice.pdf" in c.text]
    assert len(replies) == 1
    assert replies[0].body["channel"] == DM


async def test_a_discord_attachment_without_text_is_a_turn_too(running: Running) -> None:
    url = running.fake.files.serve("discord", "scan.pdf", PDF)
    running.gateway.send_message(_message("", [_attachment(url, "scan.pdf", "application/pdf", len(PDF))]))
    assert "You sent: application/pdf, 1 KB, 'scan.pdf'" in await _sent(running, "scan.pdf")
