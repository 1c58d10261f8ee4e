"""The loopback AWS API's front door: only requests signed with this run's key pair reach moto.

moto's server mode answers anyone: any signature, or none, reads every secret, and its `/moto-api/*`
endpoints reset or dump the whole state. It also sends permissive CORS headers, so a web page open in
the user's browser could call it. `guard` wraps moto's WSGI app so that:

- an AWS request must carry a valid SigV4 signature by the loopback credentials (`local.auth`),
  else it gets a 403 in the caller's protocol saying which credentials to use;
- `/moto-api/*` needs `Authorization: Bearer <secret access key>`, else 401;
- no answer carries an `Access-Control-*` header, so browsers keep other origins out (a CORS
  preflight is unsigned, hence refused).

The body is read once here (to check its hash) and handed on to moto unchanged.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from moto.core.request import EnvironHeaders
from werkzeug.wsgi import get_input_stream

from clawbus.bus.logging import log_event
from clawbus.local.auth import (
    LoopbackCredentials,
    ReceivedRequest,
    SignatureRefused,
    bearer_matches,
    check_signature,
    refusal,
)
from clawbus.local.request_gate import WsgiApp

logger = logging.getLogger(__name__)

ADMIN_PREFIX = "/moto-api"
_STATUS = {401: "401 Unauthorized", 403: "403 Forbidden"}


def _received(environ: dict[str, Any], body: bytes) -> ReceivedRequest:
    """The request as sent: RAW_URI keeps the path percent-encoded, as it was signed, and moto's
    `EnvironHeaders` the names of S3 metadata headers with underscores (`x-amz-meta-my_key`), as signed."""
    raw = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/"))
    path, _, query = raw.partition("?")
    if "://" in path:  # an absolute-form request target
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    headers = {name.lower(): value for name, value in EnvironHeaders(environ).items()}
    return ReceivedRequest(
        method=str(environ.get("REQUEST_METHOD", "GET")),
        raw_path=path,
        query=query or str(environ.get("QUERY_STRING", "")),
        headers=headers,
        body=body,
    )


def _without_cors(start_response: Callable[..., Any]) -> Callable[..., Any]:
    """`start_response` dropping every `Access-Control-*` header moto (flask-cors) adds."""

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
        return start_response(status, kept, exc_info)

    return start


def guard(app: WsgiApp, credentials: LoopbackCredentials, hint: str) -> WsgiApp:
    """`app` behind the loopback credentials (module docstring); `hint` says where they are."""

    def refuse(
        start_response: Callable[..., Any], status: int, headers: dict[str, str], body: bytes
    ) -> Iterable[bytes]:
        listed = [*headers.items(), ("Content-Length", str(len(body)))]
        start_response(_STATUS[status], listed)
        return [body]

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            if not bearer_matches(environ.get("HTTP_AUTHORIZATION"), credentials.secret_access_key):
                log_event(logger, "local_aws.request.refused", logging.WARNING, code="AdminTokenMissing")
                message = f"{ADMIN_PREFIX}/* needs 'Authorization: Bearer <secret access key>'. {hint}"
                return refuse(start_response, 401, {"content-type": "text/plain"}, message.encode())
            return app(environ, _without_cors(start_response))
        body = get_input_stream(environ).read()
        received = _received(environ, body)
        try:
            check_signature(received, credentials, datetime.now(UTC))
        except SignatureRefused as exc:
            log_event(
                logger,
                "local_aws.request.refused",
                logging.WARNING,
                code=exc.code,
                method=received.method,
                service=exc.service,
            )
            headers, answer = refusal(exc, received.headers, hint)
            return refuse(start_response, 403, headers, answer)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return app(environ, _without_cors(start_response))

    return guarded
