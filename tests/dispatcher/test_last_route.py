"""The last route (where heartbeats and cron announcements go) moves only on a DM from a trusted sender,
and lives on the session entries: a stranger in a group, an open DM or WebChat never receives the
owner's next reminder."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import Response

from clawbus.agent.sessions import Activity, Begin, finish, turn_input
from clawbus.bus.settings import SessionSettings
from clawbus.dispatcher.core import (
    Route,
    as_delivery_context,
    build_request,
    moves_last_route,
    route_sessions,
    stored_route,
    turn_moves_last_route,
)
from clawbus.schemas import (
    Access,
    AgentResponse,
    EventKind,
    InboundEvent,
    OutboundReply,
    Peer,
    PeerKind,
    ReplyTarget,
    parse_outbound,
)
from clawbus.storage import DeliveryContext, SessionEntry, trusted_route, with_last_route
from clawbus.storage.reset import rules_from
from tests.dispatcher.conftest import received

MAIN = "agent:main:main"
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
_ids = itertools.count(1)


def message(
    channel: str = "telegram",
    chat: str = "42",
    *,
    access: Access | None = Access.ALLOWED,
    peer: PeerKind = PeerKind.DIRECT,
    session_key: str = MAIN,
    thread: str | None = None,
    account: str = "default",
) -> InboundEvent:
    return InboundEvent(
        event_id=f"{channel}:{next(_ids)}",
        channel=channel,
        account_id=account,
        session_key=session_key,
        peer=Peer(kind=peer, id=chat),
        text="hello",
        reply_to=ReplyTarget(chat_id=chat, thread_id=thread, reply_to_message_id="m1"),
        access=access,
        received_at=NOW,
    )


def scheduled(kind: EventKind = EventKind.HEARTBEAT, session_key: str = MAIN) -> InboundEvent:
    return InboundEvent(
        event_id=f"{kind.value}:{next(_ids)}", kind=kind, channel="heartbeat", session_key=session_key
    )


def route(channel: str = "telegram", chat: str = "42", thread: str | None = None) -> Route:
    return Route(channel, "default", ReplyTarget(chat_id=chat, thread_id=thread))


# -- the pure rule ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("access", [Access.OWNER, Access.ALLOWED])
def test_a_dm_from_the_owner_or_an_allowed_sender_moves_the_route_to_its_chat(access: Access) -> None:
    assert moves_last_route(message(access=access, thread="7")) == route(thread="7")  # no reply-to id


@pytest.mark.parametrize(
    "event",
    [
        message(access=Access.OPEN),  # a stranger under an open DM policy
        message(access=None),  # an envelope from an older producer: trusted least
        message(chat="-100", peer=PeerKind.GROUP, access=Access.GROUP),
        message(chat="C1", peer=PeerKind.CHANNEL, access=Access.GROUP),
        message(chat="-100", peer=PeerKind.GROUP, access=Access.ALLOWED),  # even a stamp that says so
        message("webchat", "conv", access=Access.OWNER),  # WebChat never becomes the route
        scheduled(),
    ],
    ids=["open-dm", "no-access", "group", "channel", "group-stamped-allowed", "webchat-owner", "heartbeat"],
)
def test_nothing_else_moves_it(event: InboundEvent) -> None:
    assert moves_last_route(event) is None


def test_a_turn_leaves_the_route_of_its_latest_trusted_dm() -> None:
    events = [message(chat="1"), message(chat="2"), message(chat="3", access=Access.OPEN)]
    assert turn_moves_last_route(events) == route(chat="2")
    assert turn_moves_last_route([message(access=Access.OPEN)]) is None


def test_the_route_is_kept_on_the_own_and_the_main_session_and_read_in_that_order() -> None:
    per_peer = message(session_key="agent:main:telegram:direct:42")
    assert route_sessions(per_peer) == ("agent:main:telegram:direct:42", MAIN)
    assert route_sessions(message()) == (MAIN,)
    own = with_last_route(as_delivery_context(route(chat="own")), "s")(None)
    main = with_last_route(as_delivery_context(route(chat="main")), "s")(None)
    assert stored_route([own, main]) == route(chat="own")
    assert stored_route([None, main]) == route(chat="main")
    assert stored_route([None, None]) is None


def test_the_route_of_another_agents_session_is_kept_on_that_agents_main_session() -> None:
    # the key names the agent (issue 23); an envelope that left agent_id at its default still routes there
    work = message(session_key="agent:work:slack:direct:u1")
    assert route_sessions(work) == ("agent:work:slack:direct:u1", "agent:work:main")


def test_a_route_the_dispatcher_did_not_mark_trusted_is_never_announced_to() -> None:
    # What an older clawbus wrote for any message, or what an OpenClaw sessions.json import brings along.
    old = SessionEntry(
        session_id="s",
        updated_at=1,
        last_channel="slack",
        last_to="C0GROUP",
        delivery_context=DeliveryContext(channel="slack", to="C0GROUP"),
    )
    assert trusted_route(old) is None
    assert stored_route([old]) is None


def test_moving_the_route_writes_only_when_it_changed_and_keeps_everything_else() -> None:
    entry = SessionEntry(session_id="live", updated_at=5, total_tokens=99)
    move = with_last_route(as_delivery_context(route()), "unused")
    moved = move(entry)
    assert (moved.session_id, moved.total_tokens, moved.last_channel, moved.last_to) == (
        "live",
        99,
        "telegram",
        "42",
    )
    assert move(moved) is moved  # nothing to write
    placeholder = move(None)
    assert not placeholder.started
    assert stored_route([placeholder]) == route()


def test_the_agent_keeps_the_route_it_found_and_never_writes_one() -> None:
    rules = rules_from(SessionSettings())
    request = build_request([message("whatsapp", "4915", access=Access.OPEN)])
    placeholder = with_last_route(as_delivery_context(route()), "placeholder")(None)
    begin = Begin(request, turn_input(request, "hello", rules.triggers), rules, NOW, "UTC")
    started = begin(placeholder)
    assert begin.reason(placeholder) == "new"
    assert started.session_id != "placeholder"
    assert started.started
    finished = finish(request, started.session_id, Activity(1, 1, 1, compacted=False), NOW)(started)
    assert stored_route([finished]) == route()  # an open WhatsApp DM did not take it over
    again = build_request([message(access=Access.OPEN)])
    reset = Begin(again, turn_input(again, "/new", rules.triggers), rules, NOW, "UTC")
    assert reset.reason(finished) == "trigger"
    assert stored_route([reset(finished)]) == route()  # carried over a reset


# -- the dispatcher, against the loopback API ------------------------------------------------------------


async def answer(request: Request) -> Response:
    body = json.loads(await request.body())
    return Response(
        AgentResponse(parts=(f"answer {body['reply_id']}",)).to_wire(), media_type="application/json"
    )


async def run(h: Any, event: InboundEvent) -> OutboundReply | None:
    """Run one turn; the message reply it published, if any."""
    before = len(h.topic.published)
    await h.handler([received(event)])
    replies = [parse_outbound(body) for _, body, attrs in h.topic.published[before:]]
    messages = [r for r in replies if r.kind.value == "message"]
    assert len(messages) <= 1
    return messages[0] if messages else None


def where(reply: OutboundReply | None) -> tuple[str, str] | None:
    return (reply.channel, reply.target.chat_id) if reply is not None else None


async def test_heartbeats_follow_the_owners_dm_not_strangers_groups_or_webchat(harness_factory: Any) -> None:
    async with harness_factory(answer, {"typing_after_ms": 60_000}) as h:
        assert await run(h, scheduled()) is None  # no trusted DM yet: nowhere to announce
        assert where(await run(h, message("telegram", "42"))) == ("telegram", "42")
        assert where(await run(h, scheduled())) == ("telegram", "42")

        # Each is answered in its own chat, and none takes the owner's route over.
        group = message(
            "telegram",
            "-100",
            peer=PeerKind.GROUP,
            access=Access.GROUP,
            session_key="agent:main:telegram:group:-100",
        )
        assert where(await run(h, group)) == ("telegram", "-100")
        assert where(await run(h, message("whatsapp", "4915", access=Access.OPEN))) == ("whatsapp", "4915")
        assert where(await run(h, message("webchat", "conv", access=Access.OWNER))) == ("webchat", "conv")
        assert where(await run(h, message("slack", "D0", access=None))) == ("slack", "D0")
        assert where(await run(h, scheduled())) == ("telegram", "42")
        cron = scheduled(EventKind.CRON, session_key="agent:main:cron:job1")  # isolated: reads main
        assert where(await run(h, cron)) == ("telegram", "42")

        entry = await h.sessions.get("main", MAIN)
        assert (entry.last_channel, entry.last_to, entry.last_route_trusted) == ("telegram", "42", True)


async def test_an_allowed_dm_in_its_own_session_moves_the_main_sessions_route_too(
    harness_factory: Any,
) -> None:
    # dmScope per-channel-peer: the DM has a session of its own; heartbeats still run on the main one.
    async with harness_factory(answer, {"typing_after_ms": 60_000}) as h:
        own = "agent:main:slack:direct:u0owner"
        assert where(await run(h, message("slack", "D0OWNER", session_key=own))) == ("slack", "D0OWNER")
        assert where(await run(h, scheduled())) == ("slack", "D0OWNER")
        stranger = "agent:main:slack:direct:u0other"
        await run(h, message("slack", "D0OTHER", access=Access.OPEN, session_key=stranger))
        assert where(await run(h, scheduled())) == ("slack", "D0OWNER")
        assert trusted_route(await h.sessions.get("main", stranger)) is None
        own_entry = await h.sessions.get("main", own)
        assert trusted_route(own_entry) == DeliveryContext(
            channel="slack", to="D0OWNER", account_id="default"
        )
