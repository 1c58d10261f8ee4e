"""Each channel's real egress worker, against the loopback AWS API and a fake of the platform's API:
replies arrive split under the platform's limit, rendered in its dialect, once, and in order."""

from __future__ import annotations

import itertools
import re

import pytest

from tests.egress.conftest import Egress, MakeReply, wait_sent
from tests.helpers import wait_for

LIMITS = {"telegram": 4096, "slack": 4000, "discord": 2000, "whatsapp": 4096}
CODE = "```python\n" + "\n".join(f"total = total + {n}  # running sum" for n in range(150)) + "\n```"


def long_reply(tag: str) -> str:
    """About 9,000 characters: numbered paragraphs with **bold** text, then a long code block."""
    paragraphs = [f"[{tag}:{n:03d}] This is **important** & worth <reading> twice. " * 6 for n in range(20)]
    return "\n\n".join(paragraphs) + "\n\n" + CODE + f"\n\n[{tag}:end]"


def markers(texts: list[str], tag: str) -> list[str]:
    """The paragraph numbers in the order they arrived (each paragraph repeats its marker)."""
    found = re.findall(rf"\[{tag}:(\d+|end)\]", "".join(texts))
    return [key for key, _ in itertools.groupby(found)]


@pytest.mark.parametrize("channel", ["telegram", "slack", "discord", "whatsapp"])
def test_a_long_reply_arrives_split_rendered_and_in_order_then_the_next_reply(
    egress: Egress, make_reply: MakeReply, channel: str
) -> None:
    egress.start(channel)
    first = make_reply(channel, long_reply("a"), reply_to_message_id="55")
    second = make_reply(channel, "and **one more** thing", session=first.session_key)
    egress.publish(first)
    egress.publish(second)

    wait_for(
        lambda: any("one more" in call.text for call in egress.fake.sent(channel)),
        timeout=60,
        what=f"both replies on {channel}",
    )
    texts = [call.text for call in egress.fake.sent(channel)]
    assert len(texts) >= (5 if channel == "discord" else 3)
    assert all(len(text) <= LIMITS[channel] for text in texts)
    assert markers(texts, "a") == [f"{n:03d}" for n in range(20)] + ["end"]
    assert "one more" in texts[-1]  # the second reply after every chunk of the first

    bold = {"telegram": "<b>important</b>", "slack": "*important*", "discord": "**important**"}
    bold["whatsapp"] = "*important*"
    assert bold[channel] in texts[0]
    if channel in ("telegram", "slack"):
        assert "&amp; worth &lt;reading&gt;" in texts[0]
    code_chunks = [t for t in texts if "total = total" in t]
    assert len(code_chunks) >= 2 or channel != "discord"
    for text in code_chunks:  # every piece of the split code block renders as a closed block
        if channel == "telegram":
            assert text.count("<pre>") == text.count("</pre>") == 1
        else:
            assert text.count("```") % 2 == 0


def test_telegram_quotes_the_message_it_answers_on_the_first_chunk_only(
    egress: Egress, make_reply: MakeReply
) -> None:
    egress.start("telegram")
    egress.publish(make_reply("telegram", long_reply("q"), reply_to_message_id="55", thread_id="9"))
    wait_for(lambda: "[q:end]" in "".join(c.text for c in egress.fake.sent("telegram")), timeout=30)
    calls = egress.fake.sent("telegram")
    assert "55" in calls[0].body["reply_parameters"]
    assert all("reply_parameters" not in call.body for call in calls[1:])
    assert all(call.body["message_thread_id"] == "9" for call in calls)
    assert all(call.body["parse_mode"] == "HTML" for call in calls)


def test_a_discord_interaction_answer_replaces_its_thinking_placeholder_then_follows_up(
    egress: Egress, make_reply: MakeReply
) -> None:
    """The first chunk edits the deferred response Discord shows as "thinking…" (so sending it again
    shows it once); the rest of a long answer follows up."""
    egress.start("discord")
    egress.publish(make_reply("discord", "a" * 1990 + " " + "b" * 100, interaction_token="tok-123"))
    wait_sent(egress.fake, "discord", 2)
    first, second = egress.fake.sent("discord")
    assert (first.method, first.body["token"]) == ("original", "tok-123")
    assert (second.method, second.body["token"]) == ("followup", "tok-123")
    assert (first.text + second.text).replace(" ", "") == "a" * 1990 + "b" * 100


def test_an_answer_to_an_interaction_discord_no_longer_knows_still_reaches_its_channel(
    egress: Egress, make_reply: MakeReply
) -> None:
    """Ingress's ack came too late (the user saw "did not respond") or the turn outlived the token's 15
    minutes: Discord refuses the follow-up, and the answer is posted in the interaction's channel."""
    egress.fake.expire_interaction("tok-late")
    egress.start("discord")
    egress.publish(make_reply("discord", "late answer", interaction_token="tok-late"))
    wait_sent(egress.fake, "discord", 1)
    [call] = egress.fake.sent("discord")
    assert (call.method, call.text) == ("messages", "late answer")
    assert call.body["channel"] == make_reply("discord", "x").target.chat_id
    assert [(c.method, c.status) for c in egress.fake.attempts("discord")][:1] == [("original", 404)]


@pytest.mark.parametrize(
    ("channel", "method"),
    [("telegram", "sendChatAction"), ("discord", "typing"), ("slack", "assistant.threads.setStatus")],
)
def test_typing_signals_reach_the_platform_and_are_never_dead_lettered(
    egress: Egress, make_reply: MakeReply, channel: str, method: str
) -> None:
    from clawbus.schemas import ReplyKind

    worker = egress.start(channel)
    typing = make_reply(channel, thread_id="1700000000.000100").model_copy(update={"kind": ReplyKind.TYPING})
    egress.publish(typing)
    wait_for(lambda: any(c.method == method for c in egress.fake.calls), timeout=20, what=method)
    wait_for(lambda: egress.queue_depth(channel) == 0, timeout=20, what="typing message deleted")
    assert egress.fake.sent(channel) == []
    assert egress.dead_letters(channel) == []
    assert not egress.logged(worker, "egress.typing.failed")


@pytest.mark.parametrize("mode", ["length", "newline"])
def test_the_channels_chunk_mode_decides_whether_a_paragraph_shares_a_message(
    egress: Egress, make_reply: MakeReply, mode: str
) -> None:
    # A paragraph longer than Telegram's 4096 is cut by length either way; `length` then packs its tail
    # with the next paragraph, `newline` (OpenClaw's paragraph mode) sends the next paragraph alone.
    egress.start("telegram", channel_env={"chunk_mode": mode})
    reply = make_reply("telegram", "Short.\n\n" + "word " * 1000 + "\n\nThe end.")
    egress.publish(reply)
    wait_for(
        lambda: any("The end." in call.text for call in egress.fake.sent("telegram")),
        timeout=60,
        what=f"the reply's last paragraph ({mode})",
    )
    texts = [call.text.strip() for call in egress.fake.sent("telegram")]
    assert texts[0] == "Short."
    if mode == "newline":
        assert texts[-1] == "The end."
    else:
        assert texts[-1].startswith("word ")
        assert texts[-1].endswith("The end.")
