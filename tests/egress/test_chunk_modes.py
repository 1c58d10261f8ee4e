"""OpenClaw's chunk modes and its length splitter's manners, as its docs and src/auto-reply/chunk.ts say.

`length`: fill up to the limit, never cutting inside parentheses or an inline code span when a better
break exists. `newline`: split at blank lines (paragraph boundaries) first, packing whole paragraphs, and
only then by length; a blank line inside a code fence is not a boundary.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from clawbus.channels.telegram.outbound import PROFILE as TELEGRAM
from clawbus.egress.core import ChunkMode, messages, split_markdown, split_reply
from clawbus.egress.core.markdown_spans import unbreakable

_FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})", re.M)


def texts(chunks: list) -> list[str]:  # type: ignore[type-arg]
    return [chunk.text for chunk in chunks]


def test_a_length_cut_does_not_split_a_parenthesised_aside_when_a_space_before_it_will_do() -> None:
    text = "word word word word word (see the note about this) and then more words"
    assert texts(split_markdown(text, 40)) == [
        "word word word word word ",
        "(see the note about this) and then more ",
        "words",
    ]


def test_a_length_cut_does_not_split_an_inline_code_span() -> None:
    text = "First run `pip install clawbus now` then try it"
    assert texts(split_markdown(text, 34)) == ["First run ", "`pip install clawbus now` then ", "try it"]


def test_nested_parentheses_across_lines_are_one_group() -> None:
    text = "Intro line here\n(one (two)\nthree four) tail"
    assert texts(split_markdown(text, 32)) == ["Intro line here\n", "(one (two)\nthree four) tail"]


def test_with_no_other_break_the_cut_lands_inside_the_parentheses_after_all() -> None:
    text = "(" + "abc " * 20 + ")"
    chunks = split_markdown(text, 40)
    assert "".join(c.body for c in chunks) == text
    assert chunks[0].text == "(" + "abc " * 9


def test_an_unclosed_parenthesis_or_backtick_protects_nothing() -> None:
    # A `:(` or a stray backtick is text: it must not push every cut back before it.
    text = "so sad :( but the rest of this sentence goes on and on"
    assert texts(split_markdown(text, 40))[0] == "so sad :( but the rest of this sentence "
    text = "a stray ` tick and the rest of this sentence goes on"
    assert texts(split_markdown(text, 40))[0] == "a stray ` tick and the rest of this "


def test_parentheses_and_backticks_inside_a_code_fence_protect_nothing() -> None:
    # Code is cut at its line breaks (and the fence closed and reopened); an open `(` in code does not
    # reach the prose after the fence.
    text = "```\nprint((`\n```\nplain words (a b) tail"
    start = text.index("(a b)")
    assert unbreakable(text) == [(start, start + len("(a b)"))]


def test_newline_mode_packs_whole_paragraphs_and_cuts_only_a_long_one_by_length() -> None:
    text = "One.\n\nTwo.\n\nThree is a paragraph longer than the limit allows.\n\nFour.\n\nFive."
    assert texts(split_reply(text, 40, ChunkMode.NEWLINE)) == [
        "One.\n\nTwo.\n\n",
        "Three is a paragraph longer than the ",
        "limit allows.\n\n",
        "Four.\n\nFive.",
    ]
    # `length` lets the long paragraph's tail share a message with the next paragraphs.
    assert texts(split_reply(text, 40, ChunkMode.LENGTH))[2] == "limit allows.\n\nFour.\n\nFive."


def test_newline_mode_treats_blank_lines_with_spaces_as_paragraph_breaks() -> None:
    text = "a" * 20 + "\n  \n\t\n" + "b" * 20
    assert texts(split_reply(text, 32, ChunkMode.NEWLINE)) == ["a" * 20 + "\n  \n\t\n", "b" * 20]


def test_newline_mode_keeps_a_fence_with_blank_lines_in_one_message_when_it_fits() -> None:
    code = "```python\ndef f():\n    pass\n\n\ndef g():\n    pass\n```"
    text = "Intro paragraph here.\n\n" + code + "\n\nDone."
    chunks = texts(split_reply(text, 64, ChunkMode.NEWLINE))
    assert chunks == ["Intro paragraph here.\n\n", code + "\n\nDone."]


def test_newline_mode_closes_and_reopens_a_fence_too_long_for_one_message() -> None:
    code = "```python\n" + "\n\n".join(f"x = {n}" for n in range(30)) + "\n```"
    for chunk in texts(split_reply("Look:\n\n" + code, 64, ChunkMode.NEWLINE)):
        assert len(chunk) <= 64
        assert len(_FENCE_LINE.findall(chunk)) % 2 == 0, chunk


paragraphish = st.lists(
    st.sampled_from([*"ab (`)", "word ", "\n", "\n\n", "\n \n", "```\n", "\n```\n", "`x y`", "(a b)"]),
    max_size=200,
).map("".join)


@given(text=paragraphish, limit=st.integers(min_value=32, max_value=200))
@settings(max_examples=300, deadline=None)
def test_newline_mode_loses_nothing_and_fits_the_limit(text: str, limit: int) -> None:
    chunks = split_reply(text, limit, ChunkMode.NEWLINE)
    assert "".join(chunk.body for chunk in chunks) == text
    assert all(len(chunk.text) <= limit for chunk in chunks)


def test_the_platform_pipeline_takes_the_channel_mode() -> None:
    text = "Short one.\n\n" + "long words " * 30 + "\n\nEnd."
    by_length = messages(text, TELEGRAM, limit=200)
    by_paragraph = messages(text, TELEGRAM, limit=200, mode=ChunkMode.NEWLINE)
    assert by_paragraph[-1] == "End."
    assert by_length[-1] != "End."
