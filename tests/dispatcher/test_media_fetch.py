"""The dispatcher fetches a turn's files from the platform and stores them once in the state bucket
(issue 20): on the loopback AWS API, against the fake platforms serving real small files."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from clawbus.bus.clients import DispatcherClients, open_stage_clients
from clawbus.bus.errors import Unavailable
from clawbus.bus.settings import BusSettings, MediaSettings, Settings, TelegramSettings
from clawbus.channels.media_download import pending_ref
from clawbus.dispatcher.media_fetch import MediaFetch, human_size, open_media_fetch, refusal
from clawbus.schemas import AgentRequest, AttachmentRef, InboundEvent, ReplyTarget
from clawbus.storage.backends import media_store
from clawbus.storage.media import sanitise_name, sniff
from tests.conftest import Bus
from tests.fakes.platforms import FakePlatforms
from tests.ingress import payloads as p

MEDIA = Path(__file__).resolve().parent.parent / "fixtures" / "media"
JPEG = (MEDIA / "receipt.jpg").read_bytes()
OGG = (MEDIA / "voice.ogg").read_bytes()
PDF = (MEDIA / "invoice.pdf").read_bytes()
SESSION = "agent:main:telegram:direct:42"


def _request(*refs: AttachmentRef, text: str = "") -> AgentRequest:
    event = InboundEvent(
        event_id="telegram:1:77",
        channel="telegram",
        session_key=SESSION,
        text=text,
        attachments=refs,
        reply_to=ReplyTarget(chat_id="42"),
    )
    return AgentRequest(session_key=SESSION, reply_id="r1", events=(event,))


def _settings(bus: Bus, fake: FakePlatforms, media: MediaSettings | None = None) -> Settings:
    telegram = TelegramSettings(bot_token=p.BOT_TOKEN, api_base=fake.api_base("telegram"))
    return Settings(
        aws=bus.aws, bus=BusSettings(prefix=bus.prefix), telegram=telegram, media=media or MediaSettings()
    )


@contextlib.asynccontextmanager
async def _media_fetch(settings: Settings) -> AsyncIterator[MediaFetch]:
    async with contextlib.AsyncExitStack() as stack:
        clients = await stack.enter_async_context(open_stage_clients(settings, DispatcherClients))
        yield await stack.enter_async_context(open_media_fetch(settings, media_store(settings, clients)))


def _versions(bus: Bus, settings: Settings) -> list[str]:
    listed = bus.client("s3").list_object_versions(Bucket=settings.bus.bucket_name(), Prefix="media/")
    return [v["Key"] for v in listed.get("Versions", [])]


async def test_a_telegram_photo_is_stored_once_under_the_session_prefix_typed_from_its_bytes(
    bus: Bus,
) -> None:
    with FakePlatforms() as fake:
        photo = fake.files.serve("telegram", "AgACAgQAAxkBAAIB", JPEG)
        voice = fake.files.serve("telegram", "AwACAgQAAxkBAAIC", OGG)
        settings = _settings(bus, fake)
        request = _request(
            pending_ref("image", photo, media_type="image/png", size=len(JPEG), name="../../etc/receipt.jpg"),
            pending_ref("voice", voice, media_type="audio/ogg", size=len(OGG), name=None),
            text="my receipt",
        )
        async with open_stage_clients(settings, DispatcherClients) as clients:
            store = media_store(settings, clients)
            async with open_media_fetch(settings, store) as media:
                fetched = await media.fetched(request)
                again = await media.fetched(request)  # a redelivered turn fetches again
            image, audio = fetched.events[0].attachments
            assert image.key.startswith("media/")
            assert image.key.endswith(hashlib.sha256(JPEG).hexdigest())
            assert (image.media_type, image.size, image.name) == ("image/jpeg", len(JPEG), "receipt.jpg")
            assert (audio.media_type, audio.kind) == ("audio/ogg", "voice")
            assert fetched.events[0].text == "my receipt"
            assert await store.read(image.key) == JPEG
            assert again == fetched
        assert sorted(_versions(bus, settings)) == sorted([image.key, audio.key])  # stored once each
        assert fake.files.downloads["telegram"] == 4


async def test_a_file_over_its_cap_is_refused_with_a_sentence_and_nothing_stored(bus: Bus) -> None:
    with FakePlatforms() as fake:
        big = fake.files.serve("telegram", "BIGPDF", PDF + b"\n%" + b"x" * 4096)
        small = fake.files.serve("telegram", "SMALLJPG", JPEG)
        settings = _settings(bus, fake, MediaSettings(document_max_bytes=2048))
        claimed_small = pending_ref("document", big, media_type="application/pdf", size=0, name="big.pdf")
        async with _media_fetch(settings) as media:
            fetched = await media.fetched(
                _request(
                    claimed_small,
                    pending_ref("image", small, media_type=None, size=0, name=None),
                    text="both",
                )
            )
        refused, kept = fetched.events[0].attachments
        assert refused.refused == "'big.pdf' is over the 2 KB limit for document files"
        assert not refused.fetched
        assert kept.fetched
        assert _versions(bus, settings) == [kept.key]


async def test_an_expired_file_is_refused_and_a_platform_5xx_is_retried(bus: Bus) -> None:
    with FakePlatforms() as fake:
        settings = _settings(bus, fake)
        served = fake.files.serve("telegram", "LATER", JPEG)
        async with _media_fetch(settings) as media:
            gone = await media.fetched(
                _request(pending_ref("image", "EXPIRED", media_type=None, size=0, name="a.jpg"))
            )
            assert (
                gone.events[0].attachments[0].refused
                == "'a.jpg' could not be fetched (it expired or was deleted)"
            )
            fake.files.fail_files(503)
            with pytest.raises(Unavailable, match="HTTP 503"):
                await media.fetched(
                    _request(pending_ref("image", served, media_type=None, size=0, name=None))
                )
            retried = await media.fetched(
                _request(pending_ref("image", served, media_type=None, size=0, name=None))
            )
        assert retried.events[0].attachments[0].fetched


def test_a_claimed_size_over_the_cap_is_refused_before_any_download() -> None:
    ref = pending_ref("voice", "x", media_type="audio/ogg", size=40 * 1024 * 1024, name=None)
    assert refusal(ref, MediaSettings()) == "the voice is 40 MB, over the 20 MB limit for voice files"
    assert refusal(ref.model_copy(update={"size": 1000}), MediaSettings()) is None
    assert human_size(48_000) == "47 KB"


def test_types_come_from_the_bytes_not_the_platform() -> None:
    assert sniff(JPEG, "application/pdf") == "image/jpeg"
    assert sniff(OGG) == "audio/ogg"
    assert sniff(PDF, "image/png") == "application/pdf"
    assert sniff(b"a,b\n1,2\n", "text/csv") == "text/csv"
    assert sniff(b"plain words", "image/png") == "text/plain"
    assert sniff(b"\x00\xff\xfe\x01binary") == "application/octet-stream"


@pytest.mark.parametrize(
    ("given", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ann\\photo.jpg", "photo.jpg"),
        (".hidden", "hidden"),
        ("a\x00b\nc;rm -rf.txt", "abc_rm -rf.txt"),
        ("x" * 300 + ".pdf", "x" * 96 + ".pdf"),
        ("...", None),
        (None, None),
    ],
)
def test_names_are_sanitised(given: str | None, clean: str | None) -> None:
    assert sanitise_name(given) == clean
