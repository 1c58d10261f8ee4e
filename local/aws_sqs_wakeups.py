"""The loopback AWS API's SQS long polls: a waiting `ReceiveMessage` wakes when its queue changes.

moto 5.2.5's long poll waits until its queue holds a visible message (`Queue.wait_for_messages`:
`wait_for(lambda: self.messages)`). In a FIFO queue a visible message of a group that has one in flight
cannot be handed out, so while a session's turn ran and its next message waited, every long poll on the
queue returned from its wait at once, found nothing to take, and waited again: a busy loop for the whole
poll (20 s), each round copying the queue's visible messages and reading the clock per message. In
`clawbus bench`'s pipeline phase the loopback API spent a third of its CPU there, and on a laptop an idle
`clawbus up` burned a core while a long turn ran.

Here a receive that found nothing waits for a *change* of its queue after the pass it made (a send, a
delete, a visibility change, a purge: `changed`), or `POLL_S` at most, since a visibility timeout or a
delay runs out without any request.
"""

from __future__ import annotations

from typing import Any

POLL_S = 0.2  # an in-flight message's visibility, or a delay, can run out with no request to say so


def changes(queue: Any) -> int:
    """How many changes `queue` has seen (read under the queue lock, before a receive's pass)."""
    return int(getattr(queue, "_clawbus_changes", 0))


def changed(queue: Any) -> None:
    """A change that may let a waiting receive take a message: wake the queue's long polls."""
    with queue._messages_lock:
        queue._clawbus_changes = changes(queue) + 1
        queue._messages_lock.notify_all()


def wait_for_change(queue: Any, seen: int, timeout_s: float) -> None:
    """Wait until `queue` changed after `seen`, for `timeout_s` (at most `POLL_S`)."""
    with queue._messages_lock:
        queue._messages_lock.wait_for(lambda: changes(queue) != seen, timeout=min(timeout_s, POLL_S))
