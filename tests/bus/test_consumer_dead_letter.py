"""The consumer's own bookkeeping never takes a run down (loopback SQS)."""

from __future__ import annotations

from clawbus.bus.consumer import ConsumerConfig, FifoConsumer
from clawbus.bus.errors import ClawbusError, PermanentError, Unavailable
from clawbus.bus.queues import Queue
from clawbus.bus.sqs_record import SqsRecord
from tests.conftest import Bus


class ForgetfulQueue(Queue):
    """A queue whose single delete fails as SQS answers a receipt it no longer knows (after the loopback
    API restarted, or a receipt that outlived its visibility): `ReceiptHandleIsInvalid`, a 400."""

    async def delete(self, message: SqsRecord) -> None:
        raise PermanentError(f"DeleteMessage {self.name}: ReceiptHandleIsInvalid (400)")


async def test_a_dead_letter_whose_delete_fails_leaves_the_rest_of_its_group_to_be_handled(bus: Bus) -> None:
    """The letter is on the DLQ; the failed delete is logged (the message comes back, and is dead-lettered
    again), and the run goes on: the next message of the group is handled in the same pass. It used to
    escape the run's task (`Task exception was never retrieved`), leaving the group's later messages
    hidden until their visibility ran out."""
    async with bus.aio("sqs") as sqs:
        url = (
            await sqs.create_queue(
                QueueName=f"{bus.prefix}-c.fifo", Attributes={"FifoQueue": "true", "VisibilityTimeout": "30"}
            )
        )["QueueUrl"]
        dlq_url = (
            await sqs.create_queue(QueueName=f"{bus.prefix}-c-dlq.fifo", Attributes={"FifoQueue": "true"})
        )["QueueUrl"]
        for n, body in enumerate(("poison", "fine")):
            await sqs.send_message(
                QueueUrl=url, MessageBody=body, MessageGroupId="g", MessageDeduplicationId=f"{n}"
            )
        handled: list[str] = []

        async def handler(unit: list[SqsRecord]) -> None:
            if unit[0].body == "poison":
                raise PermanentError("this one can never work")
            handled.append(unit[0].body)

        consumer = FifoConsumer(
            ForgetfulQueue(sqs, "c.fifo", url),
            Queue(sqs, "c-dlq.fifo", dlq_url),
            handler,
            ConsumerConfig(stage="test", concurrency=10, wait_time_s=0),
        )
        await consumer.run_until_idle()
        letters = (await sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)).get("Messages", [])

    assert handled == ["fine"]
    assert [m["Body"] for m in letters] == ["poison"]


async def test_the_dead_letter_hook_runs_once_when_a_unit_is_given_up_before_its_letter_and_never_decides_it(
    bus: Bus,
) -> None:
    """`on_dead_letter` (the dispatcher's failure notice) is called on the receive that gives the unit up,
    not on the ones that give it back to be retried, and before the letter is on the DLQ; a hook that
    fails is logged and the letter goes all the same."""
    async with bus.aio("sqs") as sqs:
        url = (
            await sqs.create_queue(
                QueueName=f"{bus.prefix}-h.fifo", Attributes={"FifoQueue": "true", "VisibilityTimeout": "30"}
            )
        )["QueueUrl"]
        dlq_url = (
            await sqs.create_queue(QueueName=f"{bus.prefix}-h-dlq.fifo", Attributes={"FifoQueue": "true"})
        )["QueueUrl"]
        for n, body in enumerate(("flaky", "poison")):
            await sqs.send_message(
                QueueUrl=url, MessageBody=body, MessageGroupId=body, MessageDeduplicationId=f"{n}"
            )
        told: list[tuple[str, int, str, int]] = []

        async def handler(unit: list[SqsRecord]) -> None:
            if unit[0].body == "poison":
                raise PermanentError("this one can never work")
            raise Unavailable("try again later")  # given back: retried, never told

        async def hook(unit: list[SqsRecord], error: ClawbusError) -> None:
            lettered = (await sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"]))[
                "Attributes"
            ]
            told.append(
                (
                    unit[0].body,
                    unit[0].receive_count,
                    type(error).__name__,
                    int(lettered["ApproximateNumberOfMessages"]),
                )
            )
            raise RuntimeError("a bug in the hook")

        consumer = FifoConsumer(
            Queue(sqs, "h.fifo", url),
            Queue(sqs, "h-dlq.fifo", dlq_url),
            handler,
            ConsumerConfig(stage="test", concurrency=10, wait_time_s=0),
            on_dead_letter=hook,
        )
        await consumer.run_until_idle()
        letters = (await sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)).get("Messages", [])

    assert told == [("poison", 1, "PermanentError", 0)]
    assert [m["Body"] for m in letters] == ["poison"]
    assert (consumer.stats.given_back, consumer.stats.dead_lettered) == (1, 1)
