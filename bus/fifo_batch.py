"""The FIFO batch rule, as a pure function: which records of a batch leave the queue and which go back.

Modelled on Powertools' `SqsFifoPartialProcessor` (with `skip_group_on_error`): each record ends
handled (delete it), dead-lettered (it was moved to the DLQ with its reason: delete it) or given back
(leave it on the queue, invisible for a while). Once a record of a message group is given back, every
later record of that group in the batch is given back too (`GiveBack(0)`), whether or not it ran, so
SQS redelivers the group's messages in their order; other groups go on. A record with no outcome (it
never ran: a crash, a cancel) is given back as well: it must not be deleted unseen.

The long-running `FifoConsumer` and the Lambda adapter both act on the `BatchPlan`: the worker deletes,
dead-letters and changes visibility itself, the Lambda reports `item_failures` as `batchItemFailures`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from clawbus.bus.errors import ClawbusError
from clawbus.bus.redrive import DeadLetter, GiveBack
from clawbus.bus.sqs_record import SqsRecord


@dataclass(frozen=True)
class Handled:
    """The record's work is done: delete it."""


Outcome = Handled | DeadLetter | GiveBack


@dataclass(frozen=True)
class BatchPlan:
    """What to do with each record of a batch, in batch order; each record is in exactly one list."""

    delete: tuple[SqsRecord, ...]
    dead_letter: tuple[tuple[SqsRecord, ClawbusError], ...]
    give_back: tuple[tuple[SqsRecord, int], ...]

    @property
    def item_failures(self) -> list[str]:
        """The message ids a Lambda reports as `batchItemFailures` (the given-back ones)."""
        return [record.message_id for record, _delay in self.give_back]


def plan_batch(records: Sequence[SqsRecord], outcomes: Mapping[str, Outcome]) -> BatchPlan:
    """The plan for `records` (in received order) given each one's outcome by message id."""
    delete: list[SqsRecord] = []
    dead: list[tuple[SqsRecord, ClawbusError]] = []
    back: list[tuple[SqsRecord, int]] = []
    failed_groups: set[str] = set()
    for record in records:
        outcome = outcomes.get(record.message_id)
        if record.group_id in failed_groups or outcome is None:  # after a give-back, or never ran
            back.append((record, 0))
            failed_groups.add(record.group_id)
        elif isinstance(outcome, GiveBack):
            back.append((record, outcome.delay_s))
            failed_groups.add(record.group_id)
        elif isinstance(outcome, DeadLetter):
            dead.append((record, outcome.error))
        else:
            delete.append(record)
    return BatchPlan(delete=tuple(delete), dead_letter=tuple(dead), give_back=tuple(back))


def group_runs(batch: list[SqsRecord]) -> list[list[SqsRecord]]:
    """A received batch as each group's run, in order (a batch holds at most one run per group)."""
    runs: dict[str, list[SqsRecord]] = {}
    for message in batch:
        runs.setdefault(message.group_id, []).append(message)
    return list(runs.values())
