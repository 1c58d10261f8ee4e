"""`MEDIA:` lines (OpenClaw's legacy convention): which lines ask for a file, what stays text, what a
reference may name. Cases from OpenClaw's docs/reference/rich-output-protocol.md."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clawbus.agent.media_lines import (
    Refused,
    RemoteFile,
    WorkspaceFile,
    classify,
    media_type_of,
    split_media_lines,
)


def test_a_standalone_line_attaches_and_leaves_the_text() -> None:
    found = split_media_lines("Here is the generated image.\n\nMEDIA:/workspace/image.png")
    assert found.refs == ("/workspace/image.png",)
    assert found.text == "Here is the generated image."


@pytest.mark.parametrize(
    "text",
    [
        "**MEDIA:/workspace/image.png**",
        "`MEDIA:/workspace/image.png`",
        "Here is your image: MEDIA:/workspace/image.png",
        "    MEDIA:/workspace/image.png",  # four spaces: an indented code block
        "\tMEDIA:/workspace/image.png",
        "```\nMEDIA:/workspace/image.png\n```",
        "~~~~text\nMEDIA:a.png\n~~~\nstill code\n~~~~",
        "MEDIA:",
        "MEDIA:two words.png",
        "media:lower.png",
    ],
)
def test_what_openclaw_keeps_as_text_stays_text(text: str) -> None:
    found = split_media_lines(text)
    assert found.refs == ()
    assert found.text == text


def test_up_to_three_spaces_lines_in_order_and_after_a_closed_fence() -> None:
    text = "```\ncode\n```\n   MEDIA:a.png\nmiddle\nMEDIA:./b.pdf\n"
    found = split_media_lines(text)
    assert found.refs == ("a.png", "./b.pdf")
    assert found.text == "```\ncode\n```\nmiddle"


def test_quotes_keep_punctuation_and_unquoted_trailing_punctuation_is_dropped() -> None:
    quoted = split_media_lines('MEDIA:"https://example.com/video.mp4?token=ends,"')
    assert quoted.refs == ("https://example.com/video.mp4?token=ends,",)
    assert split_media_lines("MEDIA:chart.png.").refs == ("chart.png",)
    assert split_media_lines('MEDIA:"my chart.png"').refs == ("my chart.png",)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("chart.png", WorkspaceFile("chart.png")),
        ("./out/chart.png", WorkspaceFile("out/chart.png")),
        ("/workspace/out/chart.png", WorkspaceFile("out/chart.png")),
        ("https://example.com/a.png", RemoteFile("https://example.com/a.png")),
        ("https://93.184.216.34/a.png", RemoteFile("https://93.184.216.34/a.png")),
    ],
)
def test_workspace_files_and_public_urls_are_accepted(ref: str, expected: object) -> None:
    assert classify(ref) == expected


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("/etc/passwd", "outside the workspace"),
        ("~/secrets.txt", "outside the workspace"),
        ("../other-agent/MEMORY.md", "outside the workspace"),
        ("/workspace/../etc/passwd", "outside the workspace"),
        ("http://example.com/a.png", "only public https: URLs"),
        ("file:///etc/passwd", "only public https: URLs"),
        ("https://127.0.0.1/a.png", "not public"),
        ("https://10.0.0.7/a.png", "not public"),
        ("https://localhost/a.png", "not public"),
        ("https://metadata.internal/a.png", "not public"),
    ],
)
def test_anything_else_is_refused_with_a_reason(ref: str, reason: str) -> None:
    found = classify(ref)
    assert isinstance(found, Refused)
    assert reason in found.reason


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("a.jpg", "image/jpeg"),
        ("a.PNG", "image/png"),
        ("voice.ogg", "audio/ogg"),
        ("clip.mp4", "video/mp4"),
        ("report.pdf", "application/pdf"),
        ("notes.md", "text/markdown"),
        ("sheet.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("run.sh", None),
        ("page.html", None),
        ("logo.svg", None),
        ("noext", None),
    ],
)
def test_only_media_and_documents_may_go_out(name: str, media_type: str | None) -> None:
    assert media_type_of(name) == media_type


@given(st.text())
def test_text_without_media_lines_is_returned_unchanged(text: str) -> None:
    found = split_media_lines(text)
    if not found.refs:
        assert found.text == text
    assert all(ref and not ref.isspace() for ref in found.refs)
