"""Amazon Transcribe behind the `Transcriber` Protocol (issue 20), through real botocore.

moto (the loopback AWS API) implements StartTranscriptionJob and GetTranscriptionJob: the job is created
with our media URI and output location, steps through QUEUED → IN_PROGRESS → COMPLETED (paced by moto's
state manager, `/moto-api/state-manager/set-transition`), refuses a second job of the same name with
ConflictException, and answers a `TranscriptFileUri` in our bucket. It does not run a recogniser, so it
writes no transcript there: where a test needs one, it puts Transcribe's output document at that key
itself. moto never fails a job either, so the FAILED answer comes from a small loopback stand-in
speaking Transcribe's JSON protocol (`_FailingTranscribe`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiobotocore.session import get_session
from aiohttp import web

from clawbus.agent.media import MediaReader
from clawbus.agent.media.open_reader import open_media_reader
from clawbus.agent.media.transcribe import AmazonTranscriber, AudioClip
from clawbus.agent.models.media_text import media_text
from clawbus.agent.models.offline import OfflineEcho
from clawbus.bus.clients import AgentStoreClients, open_stage_clients
from clawbus.bus.settings import BusSettings, MediaSettings, Settings
from clawbus.schemas import Access, AgentRequest, AttachmentRef, InboundEvent, parse_agent_response
from clawbus.storage import LocalBlobStore
from clawbus.storage.backends import media_store
from clawbus.storage.media import MediaStore
from tests.conftest import ADMIN, REGION, Bus
from tests.helpers import free_port

OGG = (Path(__file__).resolve().parent.parent / "fixtures" / "media" / "voice.ogg").read_bytes()
SESSION = "agent:main:main"
JOB_MODEL = "transcribe::transcriptionjob"


def _pace_jobs(bus: Bus, transition: dict[str, Any] | None) -> None:
    """Set (or, with None, unset) how moto advances transcription jobs."""
    action = "set-transition" if transition else "unset-transition"
    body: dict[str, Any] = {"model_name": JOB_MODEL}
    if transition:
        body["transition"] = transition
    answer = httpx.post(
        f"{bus.endpoint}/moto-api/state-manager/{action}", json=body, headers=ADMIN, timeout=10
    )
    assert answer.status_code == 201, answer.text


@pytest.fixture
def paced(bus: Bus) -> Iterator[Bus]:
    """A bus whose transcription jobs the test paces; moto's default pacing is restored afterwards."""
    yield bus
    _pace_jobs(bus, None)


def _settings(bus: Bus, **media: Any) -> Settings:
    return Settings(
        aws=bus.aws,
        bus=BusSettings(prefix=bus.prefix),
        media=MediaSettings(transcriber="transcribe", **media),
    )


@contextlib.asynccontextmanager
async def _store(settings: Settings) -> AsyncIterator[MediaStore]:
    async with open_stage_clients(settings, AgentStoreClients) as clients:
        yield media_store(settings, clients)


def _request(ref: AttachmentRef) -> AgentRequest:
    event = InboundEvent(
        event_id="webchat:v1", channel="webchat", session_key=SESSION, text="", attachments=(ref,)
    )
    return AgentRequest(session_key=SESSION, reply_id="rp-v1", events=(event,))


def _voice(key: str) -> AttachmentRef:
    return AttachmentRef(key=key, media_type="audio/ogg", size=len(OGG), name="note.ogg", kind="voice")


def _transcript_document(words: str) -> bytes:
    """What Transcribe writes at the job's output key (docs.aws.amazon.com/transcribe: output JSON)."""
    return json.dumps(
        {
            "jobName": "x",
            "status": "COMPLETED",
            "results": {"transcripts": [{"transcript": words}], "items": []},
        }
    ).encode()


async def test_a_job_is_started_on_the_stored_file_polled_to_completion_and_its_transcript_read(
    paced: Bus,
) -> None:
    _pace_jobs(paced, {"progression": "manual", "times": 3})  # three polls per state
    settings = _settings(paced)
    bucket = settings.bus.bucket_name()
    async with _store(settings) as store, paced.aio("transcribe") as client:
        key = (await store.store(SESSION, OGG)).key
        name = f"{bucket}-{key.rsplit('/', 1)[-1]}"
        output = f"media/transcripts/{name}.json"
        paced.client("s3").put_object(
            Bucket=bucket, Key=output, Body=_transcript_document("hello from the bus")
        )
        transcriber = AmazonTranscriber(client, store, bucket, "en-US", poll_s=0.01)

        assert await transcriber.transcribe(AudioClip(OGG, "audio/ogg", key)) == "hello from the bus"
        # The same file in a re-run turn: the job exists (ConflictException), its transcript is read again.
        assert await transcriber.transcribe(AudioClip(OGG, "audio/ogg", key)) == "hello from the bus"

    described = paced.client("transcribe").get_transcription_job(TranscriptionJobName=name)
    assert described["TranscriptionJob"]["Media"] == {"MediaFileUri": f"s3://{bucket}/{key}"}
    assert described["TranscriptionJob"]["TranscriptionJobStatus"] == "COMPLETED"
    assert described["TranscriptionJob"]["Transcript"]["TranscriptFileUri"].endswith(f"/{bucket}/{output}")


async def test_a_completed_job_without_a_transcript_reads_could_not_transcribe_and_keeps_the_audio(
    bus: Bus,
) -> None:
    settings = _settings(bus)
    async with _store(settings) as store, bus.aio("transcribe") as client:
        key = (await store.store(SESSION, OGG)).key
        reader = MediaReader(
            store, AmazonTranscriber(client, store, settings.bus.bucket_name(), "en-US"), 1000
        )
        (block,) = await reader.blocks(_request(_voice(key)))
    assert block.not_transcribed == "the transcription job left no transcript"
    assert block.key == key  # the audio is still attached
    assert block.refused is None
    assert media_text(block) == (
        "[Voice note (audio/ogg, 24 KB, 'note.ogg'), could not transcribe: "
        "the transcription job left no transcript]"
    )


async def test_a_job_still_running_at_the_timeout_reads_could_not_transcribe(paced: Bus) -> None:
    _pace_jobs(paced, {"progression": "manual", "times": 1_000_000})  # never done
    settings = _settings(paced, transcribe_timeout_s=0.5)
    async with _store(settings) as store:
        key = (await store.store(SESSION, OGG)).key
    async with contextlib.AsyncExitStack() as stack:
        reader = await open_media_reader(settings, stack)  # the agent's own wiring of the setting
        (block,) = await reader.blocks(_request(_voice(key)))
    assert block.not_transcribed == "the transcription took longer than 0.5 s"
    assert block.key == key
    name = f"{settings.bus.bucket_name()}-{key.rsplit('/', 1)[-1]}"
    job = paced.client("transcribe").get_transcription_job(TranscriptionJobName=name)["TranscriptionJob"]
    assert job.get("TranscriptionJobStatus") != "COMPLETED"  # moto held it before its first state


class _FailingTranscribe:
    """Transcribe's JSON protocol on loopback, failing every job as Transcribe does a bad file."""

    REASON = "The media format provided does not match the detected media format."

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.targets: list[str] = []

    async def _answer(self, request: web.Request) -> web.Response:
        target = request.headers.get("X-Amz-Target", "")
        self.targets.append(target)
        name = (await request.json())["TranscriptionJobName"]
        job = {"TranscriptionJobName": name, "LanguageCode": "en-US"}
        if target == "Transcribe.StartTranscriptionJob":
            job["TranscriptionJobStatus"] = "IN_PROGRESS"
        else:
            job |= {"TranscriptionJobStatus": "FAILED", "FailureReason": self.REASON}
        return web.json_response({"TranscriptionJob": job}, content_type="application/x-amz-json-1.1")

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[_FailingTranscribe]:
        app = web.Application()
        app.router.add_post("/", self._answer)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        try:
            yield self
        finally:
            await runner.cleanup()


def _client_of(url: str) -> Any:
    """A transcribe client (aiobotocore) of the stand-in at `url`."""
    return get_session().create_client(
        "transcribe", region_name=REGION, endpoint_url=url, aws_access_key_id="k", aws_secret_access_key="s"
    )


async def test_a_failed_job_is_named_in_the_turn_and_the_voice_note_still_answered(
    make_agent,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    store = MediaStore(LocalBlobStore(tmp_path / "blobs"))
    key = (await store.store(SESSION, OGG)).key
    async with _FailingTranscribe().running() as fake, _client_of(fake.url) as client:
        reader = MediaReader(store, AmazonTranscriber(client, store, "state", "en-US", poll_s=0.01), 1000)
        agent = make_agent(OfflineEcho(), media=reader)
        event = InboundEvent(
            event_id="webchat:v2",
            channel="webchat",
            session_key=SESSION,
            text="listen",
            attachments=(_voice(key),),
            access=Access.OWNER,
        )
        body = AgentRequest(session_key=SESSION, reply_id="rp-v2", events=(event,)).to_wire().encode()
        response = await agent.client.post(
            "/invocations", content=body, headers={"X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": "s" * 40}
        )
    assert response.status_code == 200, response.text
    (part,) = parse_agent_response(response.content).parts
    assert part == (
        "(native · offline echo · turn 1) You said: listen You sent: audio/ogg, 24 KB, 'note.ogg' "
        f"(could not transcribe: the transcription job failed ({fake.REASON}))"
    )
    assert fake.targets == ["Transcribe.StartTranscriptionJob", "Transcribe.GetTranscriptionJob"]
    stored = "\n".join(p.read_text() for p in (tmp_path / "sessions").rglob("*.jsonl"))
    assert key in stored  # the audio stays attached in the transcript, with why it has no words
    assert "the transcription job failed" in stored
