"""The embedded default's AWS API: moto's server mode on loopback.

A real HTTP endpoint that boto3 and aiobotocore talk to exactly as they talk to AWS (only the endpoint
URL differs). Its state is in memory: it starts empty every time. `/moto-api/reset` clears it (tests).
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from .logging import log_event

logger = logging.getLogger(__name__)


def serve_local_aws(host: str, port: int) -> None:
    """Serve moto on `host:port` until SIGTERM/SIGINT; logs `local_aws.started` once bound."""
    from moto.moto_server.werkzeug_app import (  # heavy import: only in this process
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log_event(logger, "local_aws.started", url=f"http://{host}:{port}")
    server.serve_forever()
    log_event(logger, "local_aws.stopped")
