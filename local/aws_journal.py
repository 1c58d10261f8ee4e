"""The loopback AWS API's write-ahead journal: every state change since the last snapshot, on disk.

A snapshot (`local.aws_state`) is taken every `snapshot_interval_s`; a kill -9 of the API (or of the
laptop's session) between two snapshots used to lose every message sent, every ledger record written
and every schedule created since the last one, and bring back messages already deleted. Now each
request that changes state is appended to a journal segment before its answer leaves the process (a
`write` that returned is in the kernel's page cache and survives the process being killed; not a power
cut), and a restart restores the snapshot, then replays the segments written after it, in order.

Order: state-changing requests run one at a time under the journal's lock, so the journal's order is
the order moto applied them (two conditional writes racing for one key replay with the same winner).
Segments: a snapshot is taken with the request gate shut (`local.request_gate`); the journal starts a
new segment at that moment, the snapshot's header records that segment's number (`journal_from`), and
older segments are deleted once the snapshot is on disk. A crash at any point leaves a snapshot and
the segments from its `journal_from` on: nothing is applied twice or skipped.

What is not journaled: reads. An SQS `ReceiveMessage` that hands messages out is journaled by its
effect, not replayed as a request (which messages a replayed receive would take depends on the clock):
which messages it handed out, with their receipt handles and in-flight deadlines
(`local.aws_fifo.Received`). A restart puts them back in flight as they were, so a consumer that lives
through the restart still holds its messages and its delete still matches, and SQS does not hand a
message to a second consumer before its visibility timeout, as real SQS never does. (Before, every
message received since the snapshot was visible again at once: a consumer still sending it raced a
second one, and a platform that cannot tell what it already has showed the answer twice.) A replayed
entry that is refused is counted (`local_aws.journal.replayed`), never fatal.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from pydantic import BaseModel

from clawbus.local.aws_fifo import Received, recording_receives, replaying, restore_received

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_READ_PREFIXES = ("Get", "List", "Describe", "BatchGet", "Query", "Scan", "Receive")
_FORM = "application/x-www-form-urlencoded"


class JournalEntry(BaseModel):
    """One state-changing request, as moto received it, or (`received`) what a receive handed out."""

    method: str = ""
    path: str = ""
    query: str = ""
    headers: dict[str, str] = {}
    body: str = ""  # latin-1: every byte kept as one character
    received: Received | None = None


def action_of(headers: Mapping[str, str], body: bytes) -> str | None:
    """The API action a request names: `X-Amz-Target`'s suffix (JSON protocols) or the `Action` form
    field (query protocols: SNS, and SQS's older protocol); None for REST APIs (S3, Scheduler)."""
    target = headers.get("X-Amz-Target") or headers.get("x-amz-target")
    if target:
        return target.rsplit(".", 1)[-1]
    content_type = headers.get("Content-Type") or headers.get("content-type") or ""
    if content_type.startswith(_FORM):
        actions = parse_qs(body.decode("latin-1")).get("Action")
        return actions[0] if actions else None
    return None


def changes_state(method: str, path: str, headers: Mapping[str, str], body: bytes) -> bool:
    """Whether a request may change the API's state (must be journaled). Pure.

    Errs on the side of journaling: a read replayed is harmless, a change missed is lost.
    """
    if method in ("GET", "HEAD", "OPTIONS") or path.startswith("/moto-api/"):
        return False
    action = action_of(headers, body)
    return action is None or not action.startswith(_READ_PREFIXES)


class Journal:
    """Append-only segments `<state file>.journal.<n>` beside the state file."""

    def __init__(self, state_file: Path) -> None:
        self._state_file = state_file
        self._lock = threading.Lock()
        existing = self.segments_from(0)
        self._segment = (self._number(existing[-1]) + 1) if existing else 0
        self._out: io.BufferedWriter | None = None

    def _path(self, number: int) -> Path:
        return self._state_file.with_name(f"{self._state_file.name}.journal.{number}")

    @staticmethod
    def _number(path: Path) -> int:
        return int(path.name.rsplit(".", 1)[-1])

    def segments_from(self, number: int) -> list[Path]:
        """The segments numbered `number` or later, oldest first."""
        found = self._state_file.parent.glob(f"{self._state_file.name}.journal.*")
        numbered = [p for p in found if p.name.rsplit(".", 1)[-1].isdigit()]
        return sorted((p for p in numbered if self._number(p) >= number), key=self._number)

    @property
    def segment(self) -> int:
        """The segment being written."""
        return self._segment

    def rotate(self) -> int:
        """Start a new segment (call with the request gate shut, as a snapshot is taken); its number."""
        with self._lock:
            if self._out is not None:
                self._out.close()
                self._out = None
            self._segment += 1
            return self._segment

    def drop_before(self, number: int) -> None:
        """Delete the segments a snapshot on disk now holds."""
        for path in self._state_file.parent.glob(f"{self._state_file.name}.journal.*"):
            suffix = path.name.rsplit(".", 1)[-1]
            if suffix.isdigit() and int(suffix) < number:
                path.unlink(missing_ok=True)

    def move_aside(self, why: str) -> list[Path]:
        """Rename every segment `<segment>.<why>-<UTC time>` (its snapshot is set aside: without it
        they cannot be applied); the new paths."""
        from clawbus.local.aws_state import move_aside

        with self._lock:
            if self._out is not None:
                self._out.close()
                self._out = None
            return [move_aside(path, why) for path in self.segments_from(0)]

    def _append(self, entry: JournalEntry) -> None:
        if self._out is None:
            self._out = self._path(self._segment).open("ab")
            self._path(self._segment).chmod(0o600)
        self._out.write(entry.model_dump_json().encode() + b"\n")
        self._out.flush()  # in the kernel now: a kill -9 of this process cannot lose it

    def wrap(self, app: WsgiApp) -> WsgiApp:
        """`app` with every state-changing request run alone and journaled before its answer leaves."""

        def journaled(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            headers = _headers(environ)
            method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
            if action_of(headers, body) == "ReceiveMessage":
                with recording_receives() as handed_out:
                    answer = list(app(environ, start_response))
                if handed_out:
                    with self._lock:  # before the answer leaves: a delete of these finds them on replay
                        for received in handed_out:
                            self._append(JournalEntry(received=received))
                return answer
            if not changes_state(method, path, headers, body):
                return app(environ, start_response)
            status: list[str] = []

            def recording_start(code: str, *args: Any) -> Any:
                status.append(code)
                return start_response(code, *args)

            with self._lock:
                answer = list(app(environ, recording_start))  # moto builds it in the call
                if status and not status[0].startswith("4"):  # a refusal changed nothing
                    entry = JournalEntry(
                        method=method,
                        path=path,
                        query=environ.get("QUERY_STRING", ""),
                        headers=headers,
                        body=body.decode("latin-1"),
                    )
                    self._append(entry)
            return answer

        return journaled

    def replay(self, app: WsgiApp, number: int) -> tuple[int, int]:
        """Apply the segments from `number` on to `app` (before serving); (replayed, refused)."""
        with replaying():
            return self._replay(app, number)

    def _replay(self, app: WsgiApp, number: int) -> tuple[int, int]:
        replayed = refused = 0
        for path in self.segments_from(number):
            for line in _complete_lines(path):
                entry = JournalEntry.model_validate_json(line)
                replayed += 1
                if entry.received is not None:
                    refused += restore_received(entry.received) < len(entry.received.messages)
                else:
                    refused += _apply(app, entry)[:1] in ("4", "5")
        return replayed, refused


def _apply(app: WsgiApp, entry: JournalEntry) -> str:
    """Run one journaled request through `app` again; its status line."""
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(
        path=entry.path,
        method=entry.method,
        query_string=entry.query,
        headers=list(entry.headers.items()),
        data=entry.body.encode("latin-1"),
    ).get_environ()
    status: list[str] = []
    for _ in app(environ, lambda code, *_: status.append(code)):
        pass
    return status[0] if status else ""


def _complete_lines(path: Path) -> Iterator[bytes]:
    """The segment's entries; a last line the crash cut short was never answered, so it is skipped."""
    data = path.read_bytes()
    for line in data.split(b"\n"):
        if line.strip():
            try:
                json.loads(line)
            except ValueError:
                continue
            yield line


def _headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """The request's headers as moto reads them (CGI names back to HTTP names)."""
    found = {
        key[5:].replace("_", "-").title(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        found["Content-Type"] = str(environ["CONTENT_TYPE"])  # the length follows from the body on replay
    return found
