"""The user's files reach the model (issue 20): images as image blocks, PDFs as text, voice notes as
their transcript; the offline echo names what arrived; a refused file is told to the user."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from clawbus.agent.media import MediaReader
from clawbus.agent.media.documents import document_text
from clawbus.agent.media.transcribe import AudioClip, LocalTranscriber, NotTranscribed
from clawbus.agent.models.base import Media, Message, Text, assistant
from clawbus.agent.models.bedrock import to_converse
from clawbus.agent.models.offline import OfflineEcho, ScriptedModel
from clawbus.agent.models.openai_compat import to_chat
from clawbus.schemas import Access, AgentRequest, AttachmentRef, InboundEvent, parse_agent_response
from clawbus.storage import LocalBlobStore
from clawbus.storage.media import MediaStore

MEDIA = Path(__file__).resolve().parent.parent / "fixtures" / "media"
JPEG = (MEDIA / "receipt.jpg").read_bytes()
PDF = (MEDIA / "invoice.pdf").read_bytes()
OGG = (MEDIA / "voice.ogg").read_bytes()
SESSION = "agent:main:main"


def _image(data: bytes | None = JPEG) -> Media:
    return Media("image/jpeg", len(JPEG), "receipt.jpg", "image", "media/x/abc", data=data)


def test_an_image_is_a_converse_image_block_and_a_pdf_its_text() -> None:
    pdf = Media("application/pdf", len(PDF), "invoice.pdf", "document", "media/x/def", text="Invoice 4711")
    (wire,) = to_converse([Message("user", (Text("what is this"), _image(), pdf))])
    assert wire["content"][0] == {"text": "what is this"}
    assert wire["content"][1] == {"image": {"format": "jpeg", "source": {"bytes": JPEG}}}
    assert "Invoice 4711" in wire["content"][2]["text"]
    (later,) = to_converse([Message("user", (_image(data=None),))])  # a later turn: the reference only
    assert later["content"] == [{"text": "[File image/jpeg, 3 KB, 'receipt.jpg']"}]


def test_an_image_is_an_openai_image_url_data_part() -> None:
    chat = to_chat("", [Message("user", (Text("look"), _image()))])
    assert chat[0]["content"] == [
        {"type": "text", "text": "look"},
        {
            "type": "image_url",
            "image_url": {"url": "data:image/jpeg;base64," + base64.b64encode(JPEG).decode()},
        },
    ]


async def test_the_text_of_a_pdf_is_read_with_pypdf() -> None:
    assert await document_text(PDF, "application/pdf", 1000) == "Invoice 4711: total 12.50 EUR"
    assert await document_text(b"%PDF-1.4 broken", "application/pdf", 1000) is None
    assert await document_text(b"a,b\n1,2", "text/csv", 3) == "a,b"


def test_a_voice_note_is_transcribed_offline_by_pocketsphinx() -> None:
    import asyncio

    words = asyncio.run(LocalTranscriber().transcribe(AudioClip(OGG, "audio/ogg", "media/x/v")))
    assert words is not None
    assert "test" in words.split()  # espeak-ng said "hello world this is a test of the voice note"


async def test_audio_that_cannot_be_decoded_is_not_transcribed_and_says_so() -> None:
    with pytest.raises(NotTranscribed, match=r"^the audio could not be decoded$"):
        await LocalTranscriber().transcribe(AudioClip(b"OggS but not really", "audio/ogg", "media/x/w"))


async def _stored(store: MediaStore, data: bytes) -> str:
    return (await store.store(SESSION, data)).key


def _invocation(*refs: AttachmentRef, text: str = "", turn: str = "m1") -> bytes:
    event = InboundEvent(
        event_id=f"webchat:{turn}",
        channel="webchat",
        session_key=SESSION,
        text=text,
        attachments=refs,
        access=Access.OWNER,
    )
    return AgentRequest(session_key=SESSION, reply_id=f"rp-{turn}", events=(event,)).to_wire().encode()


async def _turn(agent, body: bytes):  # type: ignore[no-untyped-def]
    response = await agent.client.post(
        "/invocations", content=body, headers={"X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": "s" * 40}
    )
    assert response.status_code == 200, response.text
    return parse_agent_response(response.content)


async def test_the_echo_names_each_file_and_what_a_voice_note_says(make_agent, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = MediaStore(LocalBlobStore(tmp_path / "blobs"))
    reader = MediaReader(store, LocalTranscriber(), 1000)
    agent = make_agent(OfflineEcho(), media=reader)
    image = AttachmentRef(
        key=await _stored(store, JPEG),
        media_type="image/jpeg",
        size=len(JPEG),
        name="receipt.jpg",
        kind="image",
    )
    voice = AttachmentRef(key=await _stored(store, OGG), media_type="audio/ogg", size=len(OGG), kind="voice")
    answer = await _turn(agent, _invocation(image, text="my receipt"))
    assert answer.parts == (
        "(native · offline echo · turn 1) You said: my receipt You sent: image/jpeg, 3 KB, 'receipt.jpg'",
    )
    heard = await _turn(agent, _invocation(voice, turn="m2"))
    assert heard.parts[0].startswith("(native · offline echo · turn 2) You sent: audio/ogg, 24 KB saying '")
    assert "test" in heard.parts[0]
    stored = "\n".join(p.read_text() for p in (tmp_path / "sessions").rglob("*.jsonl"))
    assert '"type": "media"' in stored or '"type":"media"' in stored  # the reference is in the transcript
    assert base64.b64encode(JPEG).decode()[:40] not in stored  # the bytes are not


async def test_a_refused_file_is_told_to_the_user_and_the_text_still_answered(
    make_agent, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    model = ScriptedModel([assistant("Got your message.")])
    agent = make_agent(model, media=MediaReader(MediaStore(LocalBlobStore(tmp_path / "b")), None, 1000))
    big = AttachmentRef(
        key="",
        media_type="application/pdf",
        size=30_000_000,
        name="big.pdf",
        kind="document",
        refused="'big.pdf' is 29 MB, over the 20 MB limit for document files",
    )
    answer = await _turn(agent, _invocation(big, text="see attached"))
    assert answer.parts == (
        "Not received: 'big.pdf' is 29 MB, over the 20 MB limit for document files.",
        "Got your message.",
    )
    sent = model.calls[0].messages[-1]
    assert sent.text == "see attached"
    assert any(isinstance(b, Media) and b.refused for b in sent.blocks)


async def test_the_openclaw_gateway_gets_the_image_as_an_image_url_part() -> None:
    import httpx

    from clawbus.agent.engines.openclaw.client import chat_turn
    from clawbus.agent.media import chat_content

    sent: list[dict[str, object]] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(
            200, content=b'data: {"choices": [{"delta": {"content": "ok"}}]}\n\ndata: [DONE]\n\n'
        )

    pdf = Media("application/pdf", len(PDF), "invoice.pdf", "document", "k", text="Invoice 4711")
    async with httpx.AsyncClient(transport=httpx.MockTransport(gateway)) as client:
        content = chat_content("what is this", [_image(), pdf])
        assert await chat_turn(client, "http://gw", "t", "agent:main:main", "what is this", content) == "ok"
    (message,) = sent[0]["messages"]  # type: ignore[misc]
    url = "data:image/jpeg;base64," + base64.b64encode(JPEG).decode()
    assert message["content"] == [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": url}},
        {"type": "text", "text": "[File application/pdf, 1 KB, 'invoice.pdf':]\nInvoice 4711"},
    ]
