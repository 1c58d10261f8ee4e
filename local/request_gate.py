"""Holding the loopback AWS API's requests off while its state is saved.

moto changes its objects from many request threads at once. A snapshot taken while a request is half
way through (an SNS publish that reached two of five queues, a receive that moved a message to in
flight) would save a state no client ever saw. The gate counts the requests being handled; a snapshot
closes it, waits until none is, saves, and opens it again: requests that arrive meanwhile wait a
moment, none fails.

An SQS long poll would hold the gate for up to 20 s while it changes nothing, so a request waiting
for messages steps out of the gate for as long as it waits (`park_long_polls`) and back in before it
looks at the queue again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class RequestGate:
    """Lets requests through in parallel, and lets one pauser wait until none is mid-way."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active = 0
        self._paused = False

    def _enter(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: not self._paused)
            self._active += 1

    def _leave(self) -> None:
        with self._cond:
            self._active -= 1
            self._cond.notify_all()

    @contextmanager
    def request(self) -> Iterator[None]:
        """Around one request: waits while a pause holds the gate shut."""
        self._enter()
        try:
            yield
        finally:
            self._leave()

    @contextmanager
    def parked(self) -> Iterator[None]:
        """Inside a request that only waits (a long poll): it does not hold a pause up meanwhile."""
        self._leave()
        try:
            yield
        finally:
            self._enter()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Shut the gate and wait until no request is mid-way; open it again on exit."""
        with self._cond:
            self._cond.wait_for(lambda: not self._paused)
            self._paused = True
            self._cond.wait_for(lambda: self._active == 0)
        try:
            yield
        finally:
            with self._cond:
                self._paused = False
                self._cond.notify_all()

    def wrap(self, app: WsgiApp) -> WsgiApp:
        """`app` with every request passing through this gate (moto builds its response in the call)."""

        def gated(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            with self.request():
                return app(environ, start_response)

        return gated


def park_long_polls(gate: RequestGate) -> None:
    """Make moto's SQS long poll wait outside `gate` (moto 5.2.5: `Queue.wait_for_messages`)."""
    from moto.sqs.models import Queue

    waits = Queue.wait_for_messages

    def wait_for_messages(self: Queue, timeout: int) -> None:
        with gate.parked():
            waits(self, timeout)

    Queue.wait_for_messages = wait_for_messages  # type: ignore[method-assign]  # the seam moto offers
