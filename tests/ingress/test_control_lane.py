"""Which lane an admitted message takes (issue 21): a trusted sender's control command goes on the
session's control lane; anyone else's is an ordinary message; an ordinary message of a `steer` channel
also sends a copy there, in the same request."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import pytest

from clawbus.bus.queues import FifoMessage, Queue
from clawbus.bus.topology import inbound_queue_name
from clawbus.ingress.control_lane import Lanes, lanes_for
from clawbus.ingress.publisher import InboundPublisher
from clawbus.schemas import Access, AttachmentRef, InboundEvent
from clawbus.schemas.control import control_group_id
from clawbus.schemas.ids import message_group_id
from tests.conftest import Bus


def message(text: str, access: Access | None = Access.ALLOWED) -> InboundEvent:
    return InboundEvent(
        event_id="tg:1", channel="telegram", session_key="agent:main:main", text=text, access=access
    )


@pytest.mark.parametrize(
    ("text", "lanes"),
    [
        ("/stop", Lanes(fifo=False, control="stop")),
        ("/stop@clawbus_bot", Lanes(fifo=False, control="stop")),
        ("/STATUS", Lanes(fifo=False, control="status")),
        ("/queue collect debounce:2s", Lanes(fifo=False, control="queue")),
        ("/new", Lanes(fifo=True, control="reset")),
        ("/reset let us start over", Lanes(fifo=True, control="reset")),
        ("/stop the music", Lanes(fifo=True, control=None)),  # not a bare /stop: a message
        ("please /stop", Lanes(fifo=True, control=None)),
        ("hello", Lanes(fifo=True, control=None)),
    ],
)
def test_a_trusted_senders_commands_take_the_control_lane(text: str, lanes: Lanes) -> None:
    assert lanes_for(message(text), ("/new", "/reset")) == lanes


@pytest.mark.parametrize("access", [Access.OPEN, Access.GROUP, None])
def test_anyone_elses_stop_is_an_ordinary_message(access: Access | None) -> None:
    assert lanes_for(message("/stop", access), ("/new", "/reset")) == Lanes(fifo=True, control=None)


def test_the_configured_reset_triggers_are_the_ones_that_stop_a_turn() -> None:
    assert lanes_for(message("/fresh"), ("/fresh",)) == Lanes(fifo=True, control="reset")
    assert lanes_for(message("/new"), ("/fresh",)) == Lanes(fifo=True, control=None)


def test_the_control_lane_is_a_group_of_its_own_within_sqs_limits() -> None:
    key = "agent:main:" + "x" * 200
    assert control_group_id("agent:main:main") != message_group_id("agent:main:main")
    assert len(control_group_id(key)) <= 128


@pytest.mark.parametrize(
    ("mode", "access", "lanes"),
    [
        ("steer", Access.ALLOWED, Lanes(fifo=True, control="steer")),
        ("interrupt", Access.ALLOWED, Lanes(fifo=True, control="interrupt")),
        ("steer", Access.GROUP, Lanes(fifo=True, control="steer")),  # the agent compares trust
        ("followup", Access.ALLOWED, Lanes(fifo=True, control=None)),
        ("collect", Access.ALLOWED, Lanes(fifo=True, control=None)),
    ],
)
def test_an_ordinary_message_of_a_steer_channel_also_goes_to_the_running_turn(
    mode: str, access: Access, lanes: Lanes
) -> None:
    assert lanes_for(message("and also this", access), ("/new", "/reset"), mode) == lanes


def test_commands_and_files_are_never_steered() -> None:
    assert lanes_for(message("/stop"), ("/new", "/reset"), "steer") == Lanes(fifo=False, control="stop")
    assert lanes_for(message("/new"), ("/new", "/reset"), "steer") == Lanes(fifo=True, control="reset")
    with_file = message("see this").model_copy(
        update={"attachments": (AttachmentRef(kind="image", media_type="image/png", size=3, key="k"),)}
    )
    assert lanes_for(with_file, ("/new", "/reset"), "steer") == Lanes(fifo=True, control=None)


async def test_a_message_and_its_mid_turn_copy_share_one_request_on_the_real_queue(bus: Bus) -> None:
    name = inbound_queue_name(bus.prefix)
    async with bus.aio("sqs") as sqs:
        queue = CountingQueue(sqs, name, bus.queue_url(name))
        publisher = InboundPublisher(queue, mode_for=lambda _channel: "steer")
        await publisher.publish(message("and also this"))
    assert queue.requests == 1  # one SendMessageBatch, not two SendMessage
    received = bus.client("sqs").receive_message(
        QueueUrl=bus.queue_url(name), MaxNumberOfMessages=10, MessageSystemAttributeNames=["MessageGroupId"]
    )["Messages"]
    groups = {m["Attributes"]["MessageGroupId"]: json.loads(m["Body"]).get("control") for m in received}
    assert groups == {message_group_id("agent:main:main"): None, control_group_id("agent:main:main"): "steer"}


class CountingQueue(Queue):
    """The real queue, counting the send requests it makes."""

    requests = 0

    async def send(self, body: str, *, group_id: str, dedup_id: str, attributes: Mapping[str, str]) -> str:
        self.requests += 1
        return await super().send(body, group_id=group_id, dedup_id=dedup_id, attributes=attributes)

    async def send_many(self, messages: Sequence[FifoMessage]) -> list[str]:
        self.requests += 1
        return await super().send_many(messages)
