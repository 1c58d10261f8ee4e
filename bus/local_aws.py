"""The embedded default's AWS API: moto's server mode on loopback.

A real HTTP endpoint that boto3 and aiobotocore talk to exactly as they talk to AWS (only the endpoint
URL differs). Its state is in memory: it starts empty every time. `/moto-api/reset` clears it (tests).

One fix to moto 5.2.5 is applied here (`keep_fifo_group_order`): its FIFO receive broke a group's order
when in-flight messages of the group timed out (a consumer killed holding a batch) — it delivered a
later message of the group before an earlier one. SQS redelivers them in order; with the fix, so does
the loopback API.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from .logging import log_event

logger = logging.getLogger(__name__)


def keep_fifo_group_order() -> None:
    """Make moto treat a FIFO group as busy exactly while a message it handed out earlier is in flight.

    moto 5.2.5 decides once per ReceiveMessage (and again only when it happens to walk past a timed-out
    message) which groups are busy, and counts a message as busy until a receive walks past it visible.
    When several in-flight messages of a group timed out, or timed out at different moments during a
    long poll, it skipped the group's first message and delivered a later one first. Here the busy test
    is asked afresh for every message: busy means one of the messages pending when the receive began is
    still pending and invisible (messages this receive hands out do not block the rest of their run, so
    a batch still holds a group's run in order, as in SQS).
    """
    from moto.sqs.models import Queue

    class _BusyGroups:
        def __init__(self, queue: Queue) -> None:
            self._queue = queue
            self._held = list(queue.pending_messages)

        def __contains__(self, group: object) -> bool:
            pending = self._queue.pending_messages
            return any(m.group_id == group and not m.visible and m in pending for m in self._held)

        def __deepcopy__(self, _memo: object) -> _BusyGroups:
            return self  # moto copies the set it is given; this one must stay live

    Queue.pending_message_groups = property(_BusyGroups)  # type: ignore[method-assign,assignment]


def serve_local_aws(host: str, port: int) -> None:
    """Serve moto on `host:port` until SIGTERM/SIGINT; logs `local_aws.started` once bound."""
    from moto.moto_server.werkzeug_app import (  # heavy import: only in this process
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    keep_fifo_group_order()
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log_event(logger, "local_aws.started", url=f"http://{host}:{port}")
    server.serve_forever()
    log_event(logger, "local_aws.stopped")
