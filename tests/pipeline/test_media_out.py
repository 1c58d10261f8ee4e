"""Media out on the embedded default, every stage a real process: the offline echo model repeats a
`MEDIA:` line the owner sends, the agent stores that workspace file in the state bucket, and each
platform's fake gets the reply's text, then the file with the platform's own upload call and the very
bytes (WebChat: a file the page fetches from ingress with the run's token); a stranger's turn cannot
send the owner's workspace files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.chaos import traffic
from tests.conftest import Pipeline, make_bus, start_pipeline
from tests.egress.media_files import jpeg
from tests.fakes.platforms import FakePlatforms
from tests.helpers import eventually
from tests.pipeline.webchat_client import post, replies

CHANNELS = ("telegram", "slack", "discord", "whatsapp")
UPLOAD = {
    "telegram": "sendPhoto",
    "slack": "files.completeUploadExternal",
    "discord": "followup",  # a slash command is answered with an interaction follow-up
    "whatsapp": "messages",
}
OWNER = 1  # the session number whose peer is allowlisted (trusted); others are `open`


@dataclass
class Running:
    pipeline: Pipeline
    fake: FakePlatforms


@pytest.fixture(scope="module")
def running(aws_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    bus, logs = make_bus(aws_endpoint), tmp_path_factory.mktemp("media-out") / "logs"
    bucket = f"{bus.prefix}-state"
    bus.client("s3").put_object(Bucket=bucket, Key="agents/main/workspace/chart.jpg", Body=jpeg())
    with FakePlatforms() as fake:
        env = dict(traffic.CHANNEL_ENV)
        for channel in CHANNELS:
            short = traffic.SHORT[channel]
            owner = traffic._peer(channel, OWNER)  # the harness's peer ids
            env[f"CLAWBUS_{channel.upper()}__ALLOW_FROM"] = json.dumps([owner, "*"])
            env[f"CLAWBUS_{channel.upper()}__API_BASE"] = fake.api_base(channel)
            assert traffic.CHANNEL_OF[short] == channel
        running = start_pipeline(bus, logs, env, channels=(*CHANNELS, "webchat"))
        try:
            yield Running(running, fake)
        finally:
            codes = running.stop()
        assert all(code == 0 for _, code in codes), codes


async def _say(running: Running, channel: str, session: int, seq: int, text: str) -> None:
    request = traffic.signed(f"{traffic.SHORT[channel]}{session}", seq, text)
    async with httpx.AsyncClient(base_url=running.pipeline.ingress_url, timeout=10) as client:
        response = await client.post(request.path, content=request.body, headers=dict(request.headers))
    assert response.status_code < 300, response.text


@pytest.mark.parametrize("channel", CHANNELS)
async def test_the_owner_gets_the_text_then_the_image_with_the_platforms_upload_call(
    running: Running, channel: str
) -> None:
    await _say(running, channel, OWNER, 1, "the chart please\nMEDIA:chart.jpg")

    async def answered() -> list[str] | None:
        shown = running.fake.shown(channel)
        return [c.method for c in shown] if len(shown) >= 2 else None

    methods = await eventually(answered, timeout=60, interval=0.3, what=f"text and image on {channel}")
    shown = running.fake.shown(channel)
    assert "You said: the chart please" in shown[0].text
    assert "MEDIA:" not in shown[0].text
    assert not shown[0].files
    assert methods[1] == UPLOAD[channel]
    [upload] = running.fake.uploads(channel)
    assert (upload.filename, upload.data) == ("chart.jpg", jpeg())


async def test_a_strangers_turn_cannot_send_the_owners_workspace_files(running: Running) -> None:
    before = len(running.fake.shown("whatsapp"))
    await _say(running, "whatsapp", 7, 1, "give me\nMEDIA:chart.jpg")

    async def answered() -> str | None:
        text = "\n".join(c.text for c in running.fake.shown("whatsapp")[before:])
        return text if "Could not send" in text else None

    text = await eventually(answered, timeout=60, interval=0.3, what="the stranger's answer")
    assert "Could not send chart.jpg: workspace files cannot be sent in this conversation" in text
    assert all(not c.files for c in running.fake.shown("whatsapp")[before:])


async def test_webchat_shows_the_image_fetched_with_the_runs_token(running: Running) -> None:
    async with running.pipeline.webchat(timeout=10) as client:
        await post(client, "media-out", "a picture\nMEDIA:/workspace/chart.jpg")

        async def with_file() -> list[dict[str, object]] | None:
            found = await replies(client, "media-out")
            return found if any("media" in m for m in found) else None

        messages = await eventually(with_file, timeout=60, interval=0.3, what="the WebChat file part")
        assert "You said: a picture" in str(messages[0]["text"])
        media = messages[-1]["media"]
        assert isinstance(media, dict)
        assert (media["type"], media["name"]) == ("image/jpeg", "chart.jpg")
        fetched = await client.get(str(media["url"]))
        assert fetched.status_code == 200
        assert fetched.content == jpeg()
        assert fetched.headers["content-type"] == "image/jpeg"
        assert fetched.headers["x-content-type-options"] == "nosniff"
        assert (await client.get("/webchat/api/media/agents/main/workspace/MEMORY.md")).status_code == 404
    async with httpx.AsyncClient(base_url=running.pipeline.ingress_url) as stranger:
        assert (await stranger.get(str(media["url"]))).status_code == 401
