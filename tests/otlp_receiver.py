"""A loopback OTLP/HTTP receiver for the tracing tests, as an ADOT collector or X-Ray's OTLP endpoint
receives spans: every POST is kept (path, headers, body) and answered 200; `spans()` decodes them."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


@dataclass(frozen=True)
class Received:
    """One request as it arrived (header names lower-cased)."""

    path: str
    headers: dict[str, str]
    body: bytes


class OtlpReceiver:
    """What a running receiver got; `url` is its base (`http://127.0.0.1:<port>`)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._requests: list[Received] = []
        self._lock = threading.Lock()

    def keep(self, received: Received) -> None:
        with self._lock:
            self._requests.append(received)

    @property
    def requests(self) -> list[Received]:
        with self._lock:
            return list(self._requests)

    def spans(self) -> list[tuple[str, str, str]]:
        """Every span posted to `/v1/traces`, as (service.name, trace id hex, span name)."""
        found = []
        for received in self.requests:
            if received.path != "/v1/traces":
                continue
            for resource_spans in ExportTraceServiceRequest.FromString(received.body).resource_spans:
                attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
                service = attributes.get("service.name", "")
                for scope in resource_spans.scope_spans:
                    found.extend((service, span.trace_id.hex(), span.name) for span in scope.spans)
        return found

    def services_of(self, trace_id: str) -> set[str]:
        return {service for service, trace, _ in self.spans() if trace == trace_id}


@contextlib.contextmanager
def otlp_receiver() -> Iterator[OtlpReceiver]:
    """A receiver on a free loopback port for the life of the block."""
    holder: list[OtlpReceiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            holder[0].keep(Received(self.path, headers, body))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder.append(OtlpReceiver(f"http://127.0.0.1:{server.server_address[1]}"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
