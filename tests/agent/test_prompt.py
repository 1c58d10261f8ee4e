"""The system prompt from workspace files, as OpenClaw builds it; HEARTBEAT_OK suppression."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clawbus.agent.heartbeat import is_effectively_empty, strip_heartbeat_token
from clawbus.agent.prompt import (
    PromptCaps,
    PromptContext,
    SessionKind,
    build_system_prompt,
    files_for,
    session_kind,
    truncate,
)

TODAY = date(2026, 1, 31)
FILES = {
    "AGENTS.md": "agents rules",
    "SOUL.md": "soul text",
    "TOOLS.md": "tools notes",
    "IDENTITY.md": "identity text",
    "USER.md": None,
    "HEARTBEAT.md": "- [ ] check inbox",
    "MEMORY.md": "long-term memory",
    "memory/2026-01-31.md": "today notes",
    "memory/2026-01-30.md": "yesterday notes",
}


def ctx(kind: SessionKind = SessionKind.MAIN, heartbeat: bool = False) -> PromptContext:
    return PromptContext(kind=kind, heartbeat=heartbeat, today=TODAY, tools=("read", "write"))


def test_main_session_gets_bootstrap_files_in_openclaw_order_and_daily_memory() -> None:
    prompt = build_system_prompt(ctx(), FILES, PromptCaps())
    order = ["agents rules", "soul text", "tools notes", "identity text", "long-term memory"]
    positions = [prompt.index(text) for text in order]
    assert positions == sorted(positions)
    assert "today notes" in prompt
    assert "yesterday notes" in prompt
    assert "## USER.md\n\n[MISSING]" in prompt
    assert "Tools available: read, write." in prompt


def test_heartbeat_md_only_on_heartbeats() -> None:
    assert "check inbox" not in build_system_prompt(ctx(), FILES, PromptCaps())
    assert "check inbox" in build_system_prompt(ctx(heartbeat=True), FILES, PromptCaps())


def test_group_sessions_never_see_memory() -> None:
    prompt = build_system_prompt(ctx(SessionKind.GROUP), FILES, PromptCaps())
    assert "agents rules" in prompt
    assert "long-term memory" not in prompt
    assert "today notes" not in prompt


def test_cron_sessions_get_only_the_core_files() -> None:
    assert files_for(ctx(SessionKind.CRON, heartbeat=True)) == [
        "AGENTS.md",
        "TOOLS.md",
        "SOUL.md",
        "IDENTITY.md",
        "USER.md",
    ]


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("agent:main:main", SessionKind.MAIN),
        ("agent:main:telegram:direct:42", SessionKind.MAIN),
        ("agent:main:slack:group:C1:thread:9", SessionKind.GROUP),
        ("agent:main:discord:channel:123", SessionKind.GROUP),
        ("agent:main:cron:daily-digest", SessionKind.CRON),
    ],
)
def test_session_kind_from_key(key: str, kind: SessionKind) -> None:
    assert session_kind(key) is kind


def test_per_file_and_total_caps_truncate_with_a_marker() -> None:
    files = dict(FILES, **{"AGENTS.md": "A" * 5000, "SOUL.md": "S" * 5000})
    prompt = build_system_prompt(ctx(), files, PromptCaps(max_chars=1000, total_max_chars=1500))
    assert "A" * 700 in prompt
    assert "A" * 1001 not in prompt
    assert "characters truncated" in prompt
    assert "S" * 501 not in prompt  # only 500 of the total budget was left for SOUL.md
    assert "## MEMORY.md\n\n[omitted" in prompt


@given(st.text(max_size=3000), st.integers(min_value=10, max_value=2000))
def test_truncate_keeps_head_and_tail(text: str, cap: int) -> None:
    out = truncate(text, cap)
    if len(text) <= cap:
        assert out == text
    else:
        assert out.startswith(text[: int(cap * 0.7)])
        assert out.endswith(text[-int(cap * 0.2) :] if int(cap * 0.2) else "")


@pytest.mark.parametrize(
    "reply",
    ["HEARTBEAT_OK", " **HEARTBEAT_OK** ", "HEARTBEAT_OK.", "<b>HEARTBEAT_OK</b>", "HEARTBEAT_OK all quiet"],
)
def test_heartbeat_acks_are_suppressed(reply: str) -> None:
    assert strip_heartbeat_token(reply, heartbeat=True) is None


def test_long_heartbeat_alerts_are_delivered_without_the_token() -> None:
    alert = "Your flight is delayed. " * 20
    assert strip_heartbeat_token(f"HEARTBEAT_OK {alert}", heartbeat=True) == alert.strip()


def test_a_token_in_the_middle_is_not_an_ack() -> None:
    text = "I replied HEARTBEAT_OK to the poll earlier, and then"
    assert strip_heartbeat_token(text, heartbeat=True) == text


def test_normal_turns_drop_a_bare_token_but_keep_short_text() -> None:
    assert strip_heartbeat_token("HEARTBEAT_OK", heartbeat=False) is None
    assert strip_heartbeat_token("Done. HEARTBEAT_OK", heartbeat=False) == "Done."
    assert strip_heartbeat_token("hello", heartbeat=False) == "hello"


def test_an_empty_checklist_means_no_heartbeat_run() -> None:
    assert is_effectively_empty("# Heartbeat\n\n- [ ]\n-\n## Later\n")
    assert not is_effectively_empty("# Heartbeat\n- [ ] check the inbox\n")


def test_comments_fences_and_ticked_stubs_leave_heartbeat_md_empty_as_upstream() -> None:
    # OpenClaw's isHeartbeatContentEffectivelyEmpty: HTML comments (also spanning lines), fence markers,
    # `- [x]` stubs count as nothing to do; text after a closing comment, or inside one's line, counts.
    assert is_effectively_empty("<!-- Keep this file empty to skip heartbeat API calls. -->\n")
    assert is_effectively_empty("# Tasks\n<!--\n- check the mail\n-->\n```markdown\n- [x]\n* [ ]\n```\n")
    assert is_effectively_empty("  <!-- a --> <!-- b -->\n\t# Heading\n")
    assert not is_effectively_empty("<!-- note --> check the mail\n")
    assert not is_effectively_empty("<!--\nhidden\n-->\n- water the plants\n")
    assert not is_effectively_empty("#hashtag-not-heading\n")
    assert not is_effectively_empty("- [xx]\n")
