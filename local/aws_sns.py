"""The loopback AWS API's SNS: moto 5.2.5's backend made safe for concurrent requests (see
`serialise_sns`). Patched into moto before it serves."""

from __future__ import annotations

import inspect
import threading

from clawbus.local.aws_fifo import under


def serialise_sns() -> None:
    """Run every SNS operation of moto one at a time.

    moto keeps a region's topics and subscriptions in plain dicts that its operations walk and change
    from the request threads without a lock: concurrent `Subscribe` calls failed with "OrderedDict
    mutated during iteration" (a 500), a `Publish` walking the subscriptions while one was added could
    fail the same way, and two `Subscribe` calls of one queue could both miss the other and deliver
    every message twice. SNS operations are few and short beside SQS's (a publish hands its message to
    each subscribed queue and returns), so one reentrant lock around all of them costs little.
    """
    from moto.sns import models

    lock = threading.RLock()
    for name, method in vars(models.SNSBackend).items():
        if not name.startswith("_") and inspect.isfunction(method):
            setattr(models.SNSBackend, name, under(lock, method))
