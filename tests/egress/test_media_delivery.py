"""A reply's files through real egress workers: read from the state bucket, uploaded with the platform's
own call after the reply's text, exactly once (a reply given back and delivered again uploads nothing
twice), and a file that cannot go out is named in a text in its place."""

from __future__ import annotations

import hashlib

import pytest

from clawbus.channels.contracts import MB
from clawbus.schemas import OutboundReply, ReplyMedia
from tests.egress.conftest import Egress, MakeReply
from tests.egress.media_files import jpeg, pdf
from tests.helpers import wait_for

UPLOAD_METHODS = {
    "telegram": {"sendPhoto", "sendDocument"},
    "slack": {"files.completeUploadExternal"},
    "discord": {"messages"},
    "whatsapp": {"messages"},
}


def _stored(egress: Egress, data: bytes, name: str, media_type: str, caption: str = "") -> ReplyMedia:
    """Put `data` in the run's state bucket as the agent does; its reference."""
    key = f"media/test-session/{hashlib.sha256(data).hexdigest()}"
    egress.bus.client("s3").put_object(Bucket=f"{egress.bus.prefix}-state", Key=key, Body=data)
    return ReplyMedia(key=key, media_type=media_type, size=len(data), name=name, caption=caption)


def _with_media(reply: OutboundReply, *media: ReplyMedia) -> OutboundReply:
    return reply.model_copy(update={"media": media})


@pytest.mark.parametrize("channel", list(UPLOAD_METHODS))
def test_the_user_gets_the_text_then_the_files_with_the_right_bytes(
    egress: Egress, make_reply: MakeReply, channel: str
) -> None:
    egress.start(channel)
    photo = _stored(egress, jpeg(), "chart.jpg", "image/jpeg", "the chart")
    report = _stored(egress, pdf(), "report.pdf", "application/pdf")
    egress.publish(_with_media(make_reply(channel, "Here are the numbers."), photo, report))

    wait_for(lambda: len(egress.fake.shown(channel)) >= 3, timeout=30, what="text and two files")
    shown = egress.fake.shown(channel)
    assert shown[0].text == "Here are the numbers."
    assert not shown[0].files
    assert [(u.filename, u.data) for u in egress.fake.uploads(channel)] == [
        ("chart.jpg", jpeg()),
        ("report.pdf", pdf()),
    ]
    assert shown[1].text == "the chart"
    assert {shown[1].method, shown[2].method} <= UPLOAD_METHODS[channel]


def test_a_reply_given_back_after_its_first_file_does_not_upload_it_twice(
    egress: Egress, make_reply: MakeReply
) -> None:
    worker = egress.start("telegram", max_inline_wait_s="1")
    first = _stored(egress, jpeg(), "first.jpg", "image/jpeg")
    second = _stored(egress, pdf(), "second.pdf", "application/pdf")
    flood = {"ok": False, "error_code": 429, "description": "retry after 2", "parameters": {"retry_after": 2}}
    egress.fake.fail_next("telegram", 429, flood, after=2)  # text, first file, then the second is refused
    egress.publish(_with_media(make_reply("telegram", "two files"), first, second))

    wait_for(lambda: egress.queue_depth("telegram") == 0, timeout=45, what="reply delivered and deleted")
    assert [u.filename for u in egress.fake.uploads("telegram")] == ["first.jpg", "second.pdf"]
    assert egress.fake.shown("telegram")[0].text == "two files"
    assert len(egress.fake.shown("telegram")) == 3
    assert egress.logged(worker, "egress.chunk.skipped")  # the redelivery skipped what went out


def test_a_file_over_the_platform_limit_is_named_in_a_text_instead(
    egress: Egress, make_reply: MakeReply
) -> None:
    egress.start("discord")
    big = ReplyMedia(key="media/s/big", media_type="video/mp4", size=11 * MB, name="movie.mp4")
    egress.publish(_with_media(make_reply("discord", "the film"), big))

    wait_for(lambda: len(egress.fake.shown("discord")) >= 2, timeout=30, what="text and notice")
    texts = [c.text for c in egress.fake.shown("discord")]
    assert texts == [
        "the film",
        "📎 movie.mp4 is 11.0 MB, too large to send on Discord (its limit is 10.0 MB).",
    ]
    assert egress.fake.uploads("discord") == []
