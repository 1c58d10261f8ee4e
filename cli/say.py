"""`clawbus say "text"`: send a message on the local WebChat channel and print the agent's reply.

It goes the whole way round — ingress, the inbound queue, the dispatcher, the agent, the outbound topic,
the WebChat egress queue and worker — and waits for the reply to *this* message (matched by event id).
It sends the run's WebChat token as a bearer: `CLAWBUS_WEBCHAT__TOKEN` when set, else the token file
(`CLAWBUS_WEBCHAT__TOKEN_FILE`, default `<data-dir>/webchat-token`, which `clawbus up` makes).
`--file PATH` (repeatable) sends files with the message, as the page's upload button does: each is
uploaded first (`POST /webchat/api/uploads`) and named in the message. A missing file, or one over the
largest media cap (`CLAWBUS_MEDIA__*_MAX_BYTES`), is refused before anything is sent.
"""

from __future__ import annotations

import argparse
import getpass
import json
import re
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from clawbus.bus.errors import ConfigError
from clawbus.bus.settings import Settings
from clawbus.cli.console import Console
from clawbus.ingress.http.token_file import client_id, read_token, token_path
from clawbus.schemas.inbound import human_size

if TYPE_CHECKING:
    import httpx


def default_conversation(token: str) -> str:
    """A stable conversation id for this user's CLI messages under this token (a rotated token starts a
    new one: the old conversation stays bound to the old token)."""
    user = re.sub(r"[^A-Za-z0-9_-]", "-", getpass.getuser())[:40] or "user"
    return f"cli-{user}-{client_id(token)[:8]}"


def webchat_token(settings: Settings, data_dir: Path | None) -> tuple[str | None, Path]:
    """The run's WebChat token from the environment or the token file (None when there is no file yet,
    so an unreachable ingress is still reported as such), and the file it was looked for in.

    Raises:
        ConfigError: the token file is unsafe or holds no token; the message says what to do.
    """
    path = token_path(data_dir) if data_dir else settings.webchat.token_file
    path = path or token_path(settings.local.data_dir)
    if settings.webchat.token is not None:
        return settings.webchat.token.get_secret_value(), path
    try:
        return read_token(path), path
    except FileNotFoundError:
        return None, path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`say`'s flags."""
    parser.add_argument("text", nargs="?", default="", help="the message to send (may be empty with --file)")
    parser.add_argument(
        "--file",
        dest="files",
        action="append",
        type=Path,
        default=[],
        metavar="PATH",
        help="a file to send with the message (repeatable)",
    )
    parser.add_argument(
        "--url", help="ingress base URL (default http://127.0.0.1:8787, as 'clawbus up' runs it)"
    )
    parser.add_argument(
        "--conversation", default=None, help="WebChat conversation id (default cli-<user>-<token hash>)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="the data dir 'clawbus up' uses, for its WebChat token (default ~/.clawbus)",
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds to wait for the reply (default 30)"
    )
    parser.add_argument("--json", action="store_true", help="print the reply as JSON")


def checked_files(paths: list[Path], limit: int) -> list[tuple[str, bytes]]:
    """Each file's name and bytes, in order.

    Raises:
        ConfigError: a path is not a readable file, or is over `limit` bytes; the message names it.
    """
    files = []
    for path in paths:
        if not path.is_file():
            raise ConfigError(f"no such file: {path}")
        size = path.stat().st_size
        if size > limit:
            raise ConfigError(
                f"{path} is {human_size(size)}, over the {human_size(limit)} limit for files "
                "(the largest CLAWBUS_MEDIA__*_MAX_BYTES)"
            )
        try:
            files.append((path.name, path.read_bytes()))
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    return files


def run_say(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    """Send, wait, print; 0 when answered, 1 when no reply in time, 2 when ingress refused or is down
    (or a file cannot be sent)."""
    base = (args.url or f"http://{settings.ingress.host}:{settings.ingress.port}").rstrip("/")
    try:
        token, token_file = webchat_token(settings, args.data_dir)
        files = checked_files(args.files, settings.media.largest)
    except ConfigError as exc:
        console.error(str(exc))
        return 2
    if not args.text and not files:
        console.error("nothing to send: give a message, or --file PATH")
        return 2
    conversation = args.conversation or default_conversation(token or "")
    import httpx  # here, not at the top: every stage process imports this module through cli.main

    started = time.monotonic()
    timeout = httpx.Timeout(args.timeout + 5, connect=3.0)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=base, timeout=timeout, headers=headers) as client:
        message: dict[str, object] = {
            "conversation": conversation,
            "text": args.text,
            "client_message_id": uuid.uuid4().hex,
        }
        try:
            attachments = []
            for name, data in files:
                uploaded = client.post("/webchat/api/uploads", content=data)
                if uploaded.status_code != 201:
                    return _refused(console, name, uploaded, token_file if token is None else None)
                attachments.append({"upload": uploaded.json()["upload"], "name": name})
            if attachments:
                message["attachments"] = attachments
            sent = client.post("/webchat/api/messages", json=message)
        except httpx.HTTPError as exc:
            console.error(f"cannot reach ingress at {base} ({type(exc).__name__}) — is 'clawbus up' running?")
            return 2
        if sent.status_code != 202:
            return _refused(console, "the message", sent, token_file if token is None else None)
        event_id = sent.json()["event_id"]
        cursor = ""
        deadline = started + args.timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                page = client.get(
                    f"/webchat/api/conversations/{conversation}/messages",
                    params={"after": cursor, "wait": f"{min(left, 20):.1f}"},
                )
            except httpx.HTTPError:
                time.sleep(0.5)
                continue
            if page.status_code in (401, 403):
                console.error(
                    f"ingress refused to show the replies: HTTP {page.status_code} {_problem(page)}"
                )
                return 2
            if page.status_code != 200:
                time.sleep(0.5)
                continue
            data = page.json()
            cursor = data["cursor"]
            answers = [m for m in data["messages"] if event_id in m.get("in_reply_to", [])]
            if answers:
                return _print_reply(args, console, event_id, answers, started)
    console.error(
        f"no reply within {args.timeout:.0f}s (event {event_id} was accepted) — "
        "check the 'clawbus up' window and its logs"
    )
    return 1


def _print_reply(
    args: argparse.Namespace, console: Console, event_id: str, answers: list[dict[str, str]], started: float
) -> int:
    text = "".join(m["text"] for m in answers)
    if args.json:
        payload = {
            "event_id": event_id,
            "reply_id": answers[0]["reply_id"],
            "text": text,
            "latency_ms": round((time.monotonic() - started) * 1000, 1),
        }
        console.print(json.dumps(payload))
    else:
        console.print(text)
    return 0


def _refused(console: Console, what: str, response: httpx.Response, missing_token: Path | None) -> int:
    """Say that ingress refused `what` (and where the token was looked for, when there was none); 2."""
    console.error(f"ingress refused {what}: HTTP {response.status_code} {_problem(response)}")
    if response.status_code == 401 and missing_token is not None:
        console.error(
            f"no WebChat token at {missing_token}: pass the --data-dir 'clawbus up' uses "
            "(or set CLAWBUS_WEBCHAT__TOKEN)"
        )
    return 2


def _problem(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", ""))
    except ValueError:
        return response.text[:200]
