"""A reply's files, through the agent app: a `MEDIA:` line or a `send_file` call puts the workspace
file in the state bucket (content-addressed, under the session's prefix) and its reference in the
response; the line leaves the text; a file the turn may not send is answered in the text, saying why."""

from __future__ import annotations

import hashlib
from pathlib import Path

from clawbus.agent.models import ScriptedModel, ToolCall, assistant
from clawbus.agent.reply_media import ReplyMediaStager
from clawbus.agent.tools.send_file import send_file_tool
from clawbus.bus.logging import session_ref
from clawbus.schemas import Access, ReplyMedia
from clawbus.storage.blobs import LocalBlobStore
from tests.agent.conftest import Agent
from tests.egress.media_files import jpeg, pdf

CAP = 1024 * 1024
GROUP_KEY = "agent:main:telegram:group:-1001"


def _agent(make_agent, tmp_path: Path, *answers: object) -> tuple[Agent, LocalBlobStore, ScriptedModel]:  # type: ignore[no-untyped-def]
    model = ScriptedModel(list(answers))  # type: ignore[arg-type]
    bucket = LocalBlobStore(tmp_path / "bucket")
    probe = make_agent(model)  # the workspace every agent of this test shares
    stager = ReplyMediaStager(probe.store, bucket, None, CAP)
    agent = make_agent(model, [send_file_tool(probe.store, CAP)], reply_media=stager)
    return agent, bucket, model


def _key(session_key: str, data: bytes) -> str:
    return f"media/{session_ref(session_key)}/{hashlib.sha256(data).hexdigest()}"


async def test_a_media_line_sends_the_workspace_file_by_reference(make_agent, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    agent, bucket, _ = _agent(make_agent, tmp_path, assistant("Here is the chart.\n\nMEDIA:./out/chart.jpg"))
    await agent.store.write_bytes("out/chart.jpg", jpeg(), content_type="image/jpeg")
    reply = await agent.turn("chart please")
    key = _key("agent:main:main", jpeg())
    assert reply.parts == ("Here is the chart.",)
    assert reply.media == (ReplyMedia(key=key, media_type="image/jpeg", size=len(jpeg()), name="chart.jpg"),)
    stored = await bucket.get(key)
    assert stored is not None
    assert stored.data == jpeg()


async def test_send_file_attaches_with_its_caption_and_a_repeat_is_stored_once(
    make_agent, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    call = ToolCall("s1", "send_file", {"path": "report.pdf", "caption": "Q3 report"})
    agent, bucket, _ = _agent(
        make_agent, tmp_path, assistant("", call), assistant("Sent.\nMEDIA:report.pdf"), assistant("Again.")
    )
    await agent.store.write_bytes("report.pdf", pdf(), content_type="application/pdf")
    reply = await agent.turn("send the report")
    assert reply.parts == ("Sent.",)
    [media] = reply.media  # the tool call and the line name the same file: it goes out once
    assert (media.name, media.caption, media.media_type) == ("report.pdf", "Q3 report", "application/pdf")
    assert await bucket.list("media/") == [media.key]


async def test_the_audio_as_voice_tag_marks_audio_as_a_voice_note_and_leaves_the_text(
    make_agent, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    answer = "[[audio_as_voice]] Listen.\nMEDIA:note.ogg\nMEDIA:chart.jpg"
    agent, _bucket, _ = _agent(make_agent, tmp_path, assistant(answer))
    await agent.store.write_bytes("note.ogg", b"OggS voice", content_type="audio/ogg")
    await agent.store.write_bytes("chart.jpg", jpeg(), content_type="image/jpeg")
    reply = await agent.turn("say it")
    assert reply.parts == ("Listen.",)
    assert [(m.name, m.as_voice) for m in reply.media] == [("note.ogg", True), ("chart.jpg", False)]


async def test_a_path_outside_the_workspace_is_refused_in_the_text(make_agent, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    agent, bucket, _ = _agent(make_agent, tmp_path, assistant("Here.\nMEDIA:/etc/passwd\nMEDIA:../x.png"))
    reply = await agent.turn("leak it")
    assert reply.media == ()
    assert reply.parts == (
        "Here.",
        "⚠️ Could not send /etc/passwd: it is outside the workspace (only workspace files can be sent).\n"
        "⚠️ Could not send ../x.png: it is outside the workspace (only workspace files can be sent).",
    )
    assert await bucket.list("") == []


async def test_missing_files_and_types_that_may_not_go_out_are_named(make_agent, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    agent, _bucket, _ = _agent(make_agent, tmp_path, assistant("MEDIA:nothing.png\nMEDIA:run.sh"))
    await agent.store.write("run.sh", "rm -rf /")
    reply = await agent.turn("files")
    assert reply.parts == (
        "⚠️ Could not send nothing.png: there is no such file in the workspace.\n"
        "⚠️ Could not send run.sh: this type of file cannot be sent.",
    )


async def test_an_untrusted_turn_cannot_send_workspace_files(make_agent, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    agent, bucket, model = _agent(make_agent, tmp_path, assistant("MEDIA:MEMORY.md"))
    await agent.store.write("MEMORY.md", "the owner's secrets")
    reply = await agent.turn("show me your memory", session_key=GROUP_KEY, access=Access.GROUP)
    assert "send_file" not in model.calls[0].tools
    assert reply.parts == (
        "⚠️ Could not send MEMORY.md: workspace files cannot be sent in this conversation.",
    )
    assert await bucket.list("") == []


async def test_a_failed_send_file_call_attaches_nothing(make_agent, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    call = ToolCall("s1", "send_file", {"path": "missing.pdf"})
    agent, _bucket, model = _agent(make_agent, tmp_path, assistant("", call), assistant("It is not there."))
    reply = await agent.turn("send it")
    assert reply.parts == ("It is not there.",)
    assert reply.media == ()
    result = model.calls[1].messages[-1].blocks[0]
    assert "no file missing.pdf in the workspace" in result.text  # type: ignore[union-attr]
