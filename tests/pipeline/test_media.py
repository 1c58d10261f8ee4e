"""Media in, end to end (issue 20): a file sent on a channel is fetched from the (fake) platform, stored
once in the state bucket under the session's prefix, and reaches the agent, whose offline echo names it
in the reply the user gets. Every stage a real process on the loopback AWS API; the platforms serve real
small files (tests/fixtures/media). Discord's messages arrive over the gateway (the relay): its pipeline
is tests/pipeline/test_media_discord.py."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from clawbus.channels.slack.inbound import signed_headers as slack_headers
from clawbus.channels.telegram.inbound import signed_headers as telegram_headers
from clawbus.channels.whatsapp.inbound import signed_headers as whatsapp_headers
from clawbus.ingress.webhooks import routes
from tests.conftest import Bus, Pipeline, make_bus, start_pipeline
from tests.fakes.platforms import FakePlatforms
from tests.helpers import eventually
from tests.ingress import payloads as p
from tests.pipeline.webchat_client import replies

ROUTES = routes()
MEDIA = Path(__file__).resolve().parent.parent / "fixtures" / "media"
JPEG = (MEDIA / "receipt.jpg").read_bytes()
PDF = (MEDIA / "invoice.pdf").read_bytes()
TG_SECRET, WA_SECRET, SLACK_SECRET = "media-tg-secret", "media-wa-secret", "media-slack-secret"
OWNER_TG, OWNER_WA, OWNER_SLACK = 42, "4915112345678", "U0ANN"


@dataclass
class Running:
    pipeline: Pipeline
    fake: FakePlatforms
    bus: Bus


@pytest.fixture(scope="module")
def running(aws_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    bus, logs = make_bus(aws_endpoint), tmp_path_factory.mktemp("media") / "logs"
    with FakePlatforms() as fake:
        env = {
            "CLAWBUS_SESSION__DM_SCOPE": "per-channel-peer",
            "CLAWBUS_DISPATCHER__QUEUE__MODE": "followup",
            "CLAWBUS_MEDIA__IMAGE_MAX_BYTES": "2048",  # the receipt (3 KB) is over it as an image...
            "CLAWBUS_MEDIA__DOCUMENT_MAX_BYTES": "65536",  # ...which no channel's claim gives away
            "CLAWBUS_TELEGRAM__BOT_TOKEN": p.BOT_TOKEN,
            "CLAWBUS_TELEGRAM__WEBHOOK_SECRET": TG_SECRET,
            "CLAWBUS_TELEGRAM__ALLOW_FROM": json.dumps([f"tg:{OWNER_TG}"]),
            "CLAWBUS_TELEGRAM__API_BASE": fake.api_base("telegram"),
            "CLAWBUS_WHATSAPP__ACCESS_TOKEN": "wa-media",
            "CLAWBUS_WHATSAPP__PHONE_NUMBER_ID": "106540352242922",
            "CLAWBUS_WHATSAPP__APP_SECRET": WA_SECRET,
            "CLAWBUS_WHATSAPP__VERIFY_TOKEN": "media-verify",
            "CLAWBUS_WHATSAPP__ALLOW_FROM": json.dumps([OWNER_WA]),
            "CLAWBUS_WHATSAPP__API_BASE": fake.api_base("whatsapp"),
            "CLAWBUS_SLACK__BOT_TOKEN": "xoxb-media",
            "CLAWBUS_SLACK__SIGNING_SECRET": SLACK_SECRET,
            "CLAWBUS_SLACK__ALLOW_FROM": json.dumps([OWNER_SLACK]),
            "CLAWBUS_SLACK__API_BASE": fake.api_base("slack"),
        }
        channels = ("webchat", "telegram", "whatsapp", "slack")
        pipeline = start_pipeline(bus, logs, env, channels=channels)
        try:
            yield Running(pipeline, fake, bus)
        finally:
            codes = pipeline.stop()
        assert all(code == 0 for _, code in codes), f"exit codes: {codes}"


def _stored(run: Running) -> list[str]:
    """Keys of the media stored for sessions (uploads not yet claimed left out), one per version."""
    bucket = f"{run.bus.prefix}-state"
    listed = run.bus.client("s3").list_object_versions(Bucket=bucket, Prefix="media/")
    return [v["Key"] for v in listed.get("Versions", []) if not v["Key"].startswith("media/uploads/")]


async def _sent_on(run: Running, platform: str, needle: str) -> str:
    async def found() -> str | None:
        return next((c.text for c in run.fake.sent(platform) if needle in c.text), None)

    return await eventually(found, timeout=45, interval=0.3, what=f"a {platform} reply naming {needle!r}")


async def _webchat(run: Running, conversation: str, text: str, files: dict[str, bytes]) -> list[str]:
    async with run.pipeline.webchat(timeout=30) as client:
        attachments = []
        for name, data in files.items():
            uploaded = await client.post("/webchat/api/uploads", content=data)
            assert uploaded.status_code == 201, uploaded.text
            attachments.append({"upload": uploaded.json()["upload"], "name": name})
        posted = await client.post(
            "/webchat/api/messages",
            json={"conversation": conversation, "text": text, "attachments": attachments},
        )
        assert posted.status_code == 202, posted.text

        async def answered() -> list[str] | None:
            return [m["text"] for m in await replies(client, conversation)] or None

        return await eventually(answered, timeout=45, interval=0.3, what="the WebChat reply")


async def test_a_telegram_document_with_a_caption_is_stored_once_and_named_in_the_reply(
    running: Running,
) -> None:
    file_id = running.fake.files.serve("telegram", "AgACAgQAAxkBAAIBpdf", PDF)
    update = p.telegram_message(user_id=OWNER_TG, chat_id=OWNER_TG, text="")
    message = update["message"]
    del message["text"]
    message |= {
        "caption": "my invoice",
        "document": {
            "file_id": file_id,
            "file_unique_id": "u1",
            "file_name": "invoice.pdf",
            "mime_type": "application/pdf",
        },
    }
    body = json.dumps(update).encode()
    async with httpx.AsyncClient(base_url=running.pipeline.ingress_url, timeout=15) as client:
        answer = await client.post(ROUTES["telegram"], content=body, headers=telegram_headers(TG_SECRET))
        assert answer.status_code == 200, answer.text
        again = await client.post(ROUTES["telegram"], content=body, headers=telegram_headers(TG_SECRET))
        assert again.status_code == 200  # Telegram redelivers: still one turn, one stored file
    text = await _sent_on(running, "telegram", "invoice.pdf")
    assert "You said: my invoice You sent: application/pdf, 1 KB, 'invoice.pdf'" in text
    assert len([k for k in _stored(running) if k.endswith(hashlib.sha256(PDF).hexdigest())]) == 1


async def test_a_whatsapp_document_and_a_slack_file_reach_the_agent(running: Running) -> None:
    media_id = running.fake.files.serve("whatsapp", "88112233", PDF)
    payload = p.whatsapp_message(sender=OWNER_WA, kind="document")
    raw = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    raw |= {
        "timestamp": str(int(time.time())),
        "document": {
            "id": media_id,
            "mime_type": "application/pdf",
            "sha256": "x",
            "filename": "wa-invoice.pdf",
        },
    }
    body = json.dumps(payload).encode()
    slack = p.slack_event(text="the contract", user=OWNER_SLACK, subtype="file_share")
    url = running.fake.files.serve("slack", "contract.pdf", PDF)
    slack["event"]["files"] = [
        {
            "id": "F1",
            "name": "contract.pdf",
            "mimetype": "application/pdf",
            "size": len(PDF),
            "url_private_download": url,
        }
    ]
    slack_body = json.dumps(slack).encode()
    async with httpx.AsyncClient(base_url=running.pipeline.ingress_url, timeout=15) as client:
        wa = await client.post(ROUTES["whatsapp"], content=body, headers=whatsapp_headers(WA_SECRET, body))
        assert wa.status_code == 200, wa.text
        sl = await client.post(
            ROUTES["slack"],
            content=slack_body,
            headers=slack_headers(SLACK_SECRET, slack_body, int(time.time())),
        )
        assert sl.status_code == 200, sl.text
    assert "You sent: application/pdf, 1 KB, 'wa-invoice.pdf'" in await _sent_on(
        running, "whatsapp", "wa-invoice.pdf"
    )
    said = await _sent_on(running, "slack", "contract.pdf")
    assert "You said: the contract You sent: application/pdf, 1 KB, 'contract.pdf'" in said
    assert running.fake.files.bearer["slack"][-1] == "Bearer xoxb-media"  # url_private needs the bot token


async def test_a_webchat_upload_over_its_cap_gets_a_clear_reply_and_the_text_is_answered(
    running: Running,
) -> None:
    texts = await _webchat(running, "too-big", "here it is", {"receipt.jpg": JPEG})
    assert texts[0] == "Not received: 'receipt.jpg' is 3 KB, over the 2 KB limit for image files."
    assert re.fullmatch(r"\(native · offline echo · turn 1\) You said: here it is", texts[1])
    lines = (running.pipeline.log_dir / "dispatcher.log").read_text().splitlines()
    refused = [json.loads(line) for line in lines if '"dispatcher.media.refused"' in line]
    assert refused
    assert refused[-1]["reason"] == "too_large"


async def test_a_spoken_voice_note_reaches_the_agent_as_its_words(running: Running) -> None:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.skip("espeak-ng is not installed (Debian package espeak-ng; .ci/run installs it)")
    import soundfile
    import soxr

    wav = subprocess.run(
        [espeak, "-s", "140", "--stdout", "this is a test"], capture_output=True, check=True
    ).stdout
    samples, rate = soundfile.read(io.BytesIO(wav), dtype="float32")
    ogg = io.BytesIO()
    soundfile.write(ogg, soxr.resample(samples, rate, 48_000), 48_000, format="OGG", subtype="OPUS")
    texts = await _webchat(running, "voice", "", {"note.ogg": ogg.getvalue()})
    assert "You sent: audio/ogg" in texts[0]
    assert "test" in texts[0].split("saying", 1)[1]


def test_clawbus_say_sends_a_file_with_the_message_and_prints_the_reply_naming_it(
    running: Running, tmp_path: Path
) -> None:
    invoice = tmp_path / "march invoice.pdf"
    invoice.write_bytes(PDF)
    where = ["--url", running.pipeline.ingress_url, "--conversation", "say-file", "--timeout", "45"]
    said = subprocess.run(
        [sys.executable, "-m", "clawbus.cli", "say", "the invoice", "--file", str(invoice), *where],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        env={**os.environ, "CLAWBUS_WEBCHAT__TOKEN": running.pipeline.webchat_token},
    )
    assert said.returncode == 0, said.stderr
    assert "You said: the invoice You sent: application/pdf, 1 KB, 'march invoice.pdf'" in said.stdout
