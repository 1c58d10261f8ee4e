"""The agent on the session model: re-run turns append once, resets start new transcripts, the index
records activity and the last route."""

from __future__ import annotations

from datetime import timedelta

from clawbus.agent.models import ScriptedModel, assistant
from clawbus.storage import SessionRef, export_jsonl
from tests.agent.conftest import NOW


async def _lines(agent) -> list[str]:  # type: ignore[no-untyped-def]
    entry = await agent.runtime.sessions.get("main", "agent:main:main")
    return await export_jsonl(agent.runtime.transcripts, SessionRef("main", entry.session_id))


async def test_a_rerun_of_the_same_turn_answers_its_stored_reply_and_appends_nothing(make_agent) -> None:  # type: ignore[no-untyped-def]
    model = ScriptedModel([assistant("first answer"), assistant("a second answer")])
    agent = make_agent(model)
    first = await agent.turn("hello", turn="crashed-before-ledger")
    lines = await _lines(agent)
    again = await agent.turn("hello", turn="crashed-before-ledger")
    assert again.parts == first.parts == ("first answer",)
    assert len(model.calls) == 1  # the model was not asked again
    assert await _lines(agent) == lines


async def test_new_starts_a_new_session_keeps_the_old_one_and_greets_when_alone(make_agent) -> None:  # type: ignore[no-untyped-def]
    model = ScriptedModel([assistant("one"), assistant("Hi again!"), assistant("three")])
    agent = make_agent(model)
    await agent.turn("remember the number 7")
    old = await agent.runtime.sessions.get("main", "agent:main:main")
    assert (await agent.turn("/new")).parts == ("Hi again!",)
    assert "new session was started" in model.calls[1].messages[-1].text
    assert len(model.calls[1].messages) == 1  # the old conversation is not in the new session
    new = await agent.runtime.sessions.get("main", "agent:main:main")
    assert new.session_id != old.session_id
    archived = await export_jsonl(agent.runtime.transcripts, SessionRef("main", old.session_id))
    assert "remember the number 7" in "".join(archived)
    await agent.turn("/reset what is 2+2")
    assert model.calls[2].messages[-1].text == "what is 2+2"


async def test_a_stale_session_resets_on_the_next_message_but_not_on_a_heartbeat(make_agent) -> None:  # type: ignore[no-untyped-def]
    model = ScriptedModel([assistant("morning"), assistant("next day")])
    agent = make_agent(model)
    await agent.turn("good morning")
    first = await agent.runtime.sessions.get("main", "agent:main:main")
    agent.runtime.clock = lambda: NOW + timedelta(days=1)  # past the next 04:00
    await agent.turn("hello again")
    second = await agent.runtime.sessions.get("main", "agent:main:main")
    assert second.session_id != first.session_id
    assert len(model.calls[1].messages) == 1


async def test_the_index_records_activity_tokens_and_last_route(make_agent) -> None:  # type: ignore[no-untyped-def]
    agent = make_agent(ScriptedModel([assistant("ok")]))
    await agent.turn("hi")
    entry = await agent.runtime.sessions.get("main", "agent:main:main")
    stamp = int(NOW.timestamp() * 1000)
    assert (entry.session_started_at, entry.last_interaction_at, entry.updated_at) == (stamp, stamp, stamp)
    assert entry.context_tokens > 0
    assert entry.chat_type == "direct"
    assert entry.channel == "webchat"


async def test_a_threads_session_keeps_its_parent_conversation(make_agent) -> None:  # type: ignore[no-untyped-def]
    from clawbus.schemas import AgentRequest, InboundEvent

    agent = make_agent(ScriptedModel([assistant("ok")]))
    key, parent = "agent:main:slack:channel:c1:thread:171.2", "agent:main:slack:channel:c1"
    event = InboundEvent(
        event_id="slack:T:c1:171.3", channel="slack", session_key=key, parent_session_key=parent, text="hi"
    )
    request = AgentRequest(session_key=key, reply_id="rp-thread", events=(event,))
    response = await agent.client.post("/invocations", content=request.to_wire().encode())
    assert response.status_code == 200
    entry = await agent.runtime.sessions.get("main", key)
    assert '"parentSessionKey":"agent:main:slack:channel:c1"' in entry.to_json()
