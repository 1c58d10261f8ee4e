"""Compaction: over the model's budget, older turns become a summary entry; the transcript keeps both."""

from __future__ import annotations

import json

from clawbus.agent.compaction import plan_compaction
from clawbus.agent.models import ScriptedModel, ToolCall, ToolResult, assistant, user
from clawbus.agent.models.base import Message
from clawbus.storage import SessionRef, export_jsonl


async def test_compaction_triggers_at_the_budget_and_keeps_recent_turns(make_agent) -> None:  # type: ignore[no-untyped-def]
    long = "x" * 400  # ~100 tokens a message
    model = ScriptedModel(
        [
            assistant(f"answer one {long}"),
            assistant(f"answer two {long}"),
            assistant("SUMMARY: one, two"),
            assistant("answer three"),
        ]
    )
    agent = make_agent(model, budget=lambda _m: 700, keep_recent_tokens=150)
    await agent.turn(f"first {long}")
    await agent.turn(f"second {long}")
    assert len(model.calls) == 2  # under budget so far: no summary call
    await agent.turn(f"third {long}")
    summary_call, third = model.calls[2], model.calls[3]
    assert summary_call.tools == ()
    assert "first" in summary_call.messages[0].text
    assert "answer two" in summary_call.messages[0].text
    assert "SUMMARY: one, two" in third.system
    assert [m.text.split()[0] for m in third.messages] == ["third"]
    entry = await agent.runtime.sessions.get("main", "agent:main:main")
    assert entry is not None
    assert entry.compaction_count == 1
    session = SessionRef("main", entry.session_id)
    entries = [json.loads(line) for line in await export_jsonl(agent.runtime.transcripts, session)]
    kinds = [e["type"] for e in entries]
    assert kinds.count("compaction") == 1
    assert kinds.count("message") == 6  # the transcript keeps every message as well as the summary
    compaction = next(e for e in entries if e["type"] == "compaction")
    kept = next(e for e in entries if e["id"] == compaction["firstKeptEntryId"])
    assert kept["message"]["content"][0]["text"].startswith("third")
    tail = await agent.runtime.transcripts.read_tail(session)  # the prompt reads from the kept entry on
    assert tail.entries[0]["id"] == compaction["firstKeptEntryId"]


def test_the_cut_never_separates_a_tool_call_from_its_result() -> None:
    call = assistant("", ToolCall("t1", "read", {"path": "x"}))
    result = Message("user", (ToolResult("t1", "y" * 800),))
    messages = [
        ("a", user("old " * 100)),
        ("b", call),
        ("c", result),
        ("d", assistant("done")),
        ("e", user("new")),
    ]
    plan = plan_compaction(0, messages, budget=100, keep_recent_tokens=1000)
    assert plan is not None
    assert plan.first_kept == "e"  # the only turn start after the first: b..d stay together in `older`
    assert plan.older[-1].text == "done"
    assert plan_compaction(0, messages, budget=10_000, keep_recent_tokens=1000) is None
