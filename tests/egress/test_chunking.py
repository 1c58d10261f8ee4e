"""Splitting replies under a platform's limit: nothing lost, nothing too long, code fences balanced."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clawbus.channels.discord.outbound import PROFILE as DISCORD
from clawbus.channels.slack.outbound import PROFILE as SLACK
from clawbus.channels.telegram.outbound import PROFILE as TELEGRAM
from clawbus.channels.whatsapp.outbound import PROFILE as WHATSAPP
from clawbus.egress.core import messages, split_markdown

_FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})", re.M)

markdownish = st.lists(
    st.sampled_from([*"ab ~`*_\n#&<>[]()", "```", "```py\n", "\n```\n", "\n\n", "é", "😀", "word "]),
    max_size=300,
).map("".join)


@given(text=markdownish, limit=st.integers(min_value=32, max_value=300))
@settings(max_examples=400, deadline=None)
def test_chunks_join_back_to_the_input_and_never_exceed_the_limit(text: str, limit: int) -> None:
    chunks = split_markdown(text, limit)
    assert "".join(chunk.body for chunk in chunks) == text
    assert all(len(chunk.text) <= limit for chunk in chunks)
    assert all(chunk.body for chunk in chunks)


@given(
    code_lines=st.lists(st.text(alphabet="abc xyz=()", max_size=70), min_size=1, max_size=80),
    limit=st.integers(min_value=60, max_value=400),
)
@settings(max_examples=200, deadline=None)
def test_a_code_block_split_across_chunks_is_closed_and_reopened(code_lines: list[str], limit: int) -> None:
    text = "Here:\n\n```python\n" + "\n".join(code_lines) + "\n```\n\nDone."
    for chunk in split_markdown(text, limit):
        fences = _FENCE_LINE.findall(chunk.text)
        assert len(fences) % 2 == 0, chunk.text
        if chunk.reopen:
            assert chunk.reopen == "```python\n"


def test_a_split_prefers_paragraphs_then_lines_then_words() -> None:
    paragraphs = "first paragraph line\n\nsecond one and more"
    assert [c.text for c in split_markdown(paragraphs, 32)] == [
        "first paragraph line\n\n",
        "second one and more",
    ]
    lines = "a line that is long\nanother line here"
    assert [c.text for c in split_markdown(lines, 32)] == ["a line that is long\n", "another line here"]
    words = "word " * 10
    assert all(c.text.endswith(" ") for c in split_markdown(words.strip() + " x", 32)[:-1])


def test_a_word_longer_than_the_limit_is_cut_hard() -> None:
    chunks = split_markdown("x" * 100, 40)
    assert [len(c.text) for c in chunks] == [40, 40, 20]


def test_the_limit_has_a_floor() -> None:
    with pytest.raises(ValueError, match="below the minimum 32"):
        split_markdown("text", 10)


@pytest.mark.parametrize(
    ("profile", "limit"), [(TELEGRAM, 4096), (DISCORD, 2000), (SLACK, 4000), (WHATSAPP, 4096)]
)
def test_each_platform_gets_messages_under_its_own_limit(profile: object, limit: int) -> None:
    reply = "\n\n".join(f"Paragraph {n} has **bold** & <angle> text. " * 8 for n in range(60))
    sent = messages(reply, profile)  # type: ignore[arg-type]
    assert len(sent) > 1
    assert all(len(m) <= limit for m in sent)


@given(text=markdownish.filter(lambda t: t.strip()))
@settings(max_examples=200, deadline=None)
def test_rendered_messages_fit_even_when_escaping_grows_the_text(text: str) -> None:
    for profile in (TELEGRAM, SLACK):
        sent = messages(text * 3, profile, limit=200)
        assert all(len(m) <= 200 for m in sent)
        assert all(m.strip() for m in sent)


def test_telegram_counts_emoji_as_two_so_an_emoji_reply_still_fits() -> None:
    sent = messages("😀" * 3000, TELEGRAM)  # 3000 code points, 6000 UTF-16 units
    assert len(sent) >= 2
    assert all(len(m.encode("utf-16-le")) // 2 <= 4096 for m in sent)
    assert "".join(sent) == "😀" * 3000
