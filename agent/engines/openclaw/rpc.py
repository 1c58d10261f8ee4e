"""The gateway's WebSocket protocol, for the turns that must be steerable (`chat.send`).

OpenClaw injects a message into a session's running run (queue mode `steer`) only when that run was
started by `chat.send`; a run of the OpenAI-compatible endpoint (`client.py`) is not an injection
target, so a steer sent beside it waits as a run of its own (seen on 2026.9.6: the gateway logs
`lane wait exceeded` for it). So a text turn goes through `chat.send` here, and a steer is another
`chat.send` with `queueMode: "steer"` on the same session (gateway/protocol/rpc-session-control.md).

One connection per engine, opened on first use and again after it broke. The handshake answers the
gateway's `connect.challenge` as OpenClaw's own backend client does (`packages/gateway-client`): the
shared token, and an Ed25519 device identity made for this process (loopback pairing is approved by
the gateway itself) that signs the `v3|…` payload with the challenge's nonce. A `chat.send` is
acknowledged at once (`status: "started"`); the run's answer arrives as `chat` events for its run id,
ending in `final` (its assistant snapshot), `error` or `aborted`; a turn cancelled while it waits
(`/stop`, the turn's deadline) aborts its run (`chat.abort`). Errors are classified here: the
connection failing or breaking is `GatewayUnreachable`, a refusal the gateway marks retryable or a
failed run is `Unavailable`, anything else it refuses is `PermanentError`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp
from nacl.signing import SigningKey

from clawbus.agent.engines.openclaw.client import GatewayUnreachable
from clawbus.bus.errors import ClawbusError, PermanentError, Unavailable

PROTOCOL = 4
CLIENT = {"id": "gateway-client", "version": "clawbus", "platform": "linux", "mode": "backend"}
SCOPES = ("operator.admin", "operator.read", "operator.write")
_PERMANENT_KINDS = ("refusal", "context_length")
_STARTING_RETRIES = 120  # "gateway starting; retry shortly" answers waited out (about a minute)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def device_auth_payload(device_id: str, token: str, nonce: str, signed_at: int) -> str:
    """What a device signs to connect (OpenClaw's `buildDeviceAuthPayloadV3`). Pure."""
    fields = [device_id, CLIENT["id"], CLIENT["mode"], "operator", ",".join(SCOPES)]
    return "|".join(["v3", *fields, str(signed_at), token, nonce, CLIENT["platform"], ""])


def connect_params(key: SigningKey, token: str, nonce: str, signed_at: int) -> dict[str, Any]:
    """The `connect` request's params answering a challenge (`nonce`, `signed_at`) with `key`. Pure."""
    public = bytes(key.verify_key)
    device_id = hashlib.sha256(public).hexdigest()
    signature = key.sign(device_auth_payload(device_id, token, nonce, signed_at).encode()).signature
    device = {"id": device_id, "publicKey": _b64url(public), "signature": _b64url(signature)}
    return {
        "minProtocol": PROTOCOL,
        "maxProtocol": PROTOCOL,
        "client": CLIENT,
        "role": "operator",
        "scopes": list(SCOPES),
        "caps": [],
        "auth": {"token": token},
        "device": {**device, "signedAt": signed_at, "nonce": nonce},
    }


def refusal(error: dict[str, Any], what: str) -> ClawbusError:
    """The error a refused request (`res.error`) means."""
    detail = (
        f"OpenClaw gateway refused {what}: {error.get('code', '?')} {str(error.get('message', ''))[:200]}"
    )
    return Unavailable(detail) if error.get("retryable") else PermanentError(detail)


def message_text(message: object) -> str:
    """The text of a `chat` event's assistant snapshot (its text parts, joined)."""
    if not isinstance(message, dict):
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else []
    return "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict) and p.get("type") == "text")


def run_outcome(event: dict[str, Any]) -> str | ClawbusError | None:
    """A `chat` event's meaning for its run: the answer (`final`), an error (`error`, `aborted`), or
    None while it goes on. Pure."""
    state = event.get("state")
    if state == "final":
        return message_text(event.get("message"))
    if state == "error":
        what = f"OpenClaw's turn failed: {str(event.get('errorMessage', ''))[:300]}"
        return PermanentError(what) if event.get("errorKind") in _PERMANENT_KINDS else Unavailable(what)
    if state == "aborted":
        return Unavailable("OpenClaw's turn was aborted (the gateway stopped or restarted it)")
    return None


@dataclass
class _Connection:
    ws: aiohttp.ClientWebSocketResponse
    reader: asyncio.Task[None]


class GatewayRpc:
    """Requests and chat runs over one WebSocket connection to the gateway at `port`."""

    def __init__(self, port: int, token: str) -> None:
        self._url = f"ws://127.0.0.1:{port}/"
        self._token = token
        self._key = SigningKey.generate()
        self._session: aiohttp.ClientSession | None = None
        self._conn: _Connection | None = None
        self._opening = asyncio.Lock()
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._runs: dict[str, asyncio.Queue[dict[str, Any] | None]] = {}

    async def _open(self) -> _Connection:
        async with self._opening:
            if self._conn is not None and not self._conn.ws.closed:
                return self._conn
            for _ in range(_STARTING_RETRIES):  # a restarted gateway takes connections a little later
                ws, hello = await self._handshake()
                error = hello.get("error") or {}
                if hello.get("ok") or not error.get("retryable"):
                    break
                await ws.close()
                await asyncio.sleep(min(float(error.get("retryAfterMs") or 500), 5000) / 1000)
            if not hello.get("ok"):
                await ws.close()
                raise refusal(error, "the connection")
            self._conn = _Connection(ws, asyncio.create_task(self._read(ws)))
            return self._conn

    async def _handshake(self) -> tuple[aiohttp.ClientWebSocketResponse, dict[str, Any]]:
        """A new connection and the gateway's answer to its `connect`."""
        self._session = self._session or aiohttp.ClientSession()
        try:
            ws = await self._session.ws_connect(self._url, max_msg_size=64 * 1024 * 1024, heartbeat=30)
            challenge = await ws.receive_json(timeout=30)
            payload = challenge.get("payload") or {}
            params = connect_params(self._key, self._token, str(payload["nonce"]), int(payload["ts"]))
            await ws.send_json({"type": "req", "id": "connect", "method": "connect", "params": params})
            while (hello := await ws.receive_json(timeout=30)).get("type") != "res":
                pass  # events before the handshake's answer
        except (aiohttp.ClientError, OSError, TimeoutError, KeyError, TypeError, ValueError) as exc:
            raise GatewayUnreachable(
                f"OpenClaw gateway WebSocket unreachable ({type(exc).__name__})"
            ) from exc
        return ws, hello

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        try:
            async for frame in ws:
                if frame.type is not aiohttp.WSMsgType.TEXT:
                    continue
                with contextlib.suppress(ValueError, AttributeError):
                    self._route(json.loads(frame.data))
        finally:  # the connection is gone: whoever waits on it learns so
            for reply in self._replies.values():
                if not reply.done():
                    reply.set_exception(GatewayUnreachable("OpenClaw gateway WebSocket closed"))
            for run in self._runs.values():
                run.put_nowait(None)

    def _route(self, msg: dict[str, Any]) -> None:
        if msg.get("type") == "res":
            reply = self._replies.pop(str(msg.get("id")), None)
            if reply is not None and not reply.done():
                reply.set_result(msg)
        elif msg.get("type") == "event" and msg.get("event") == "chat":
            payload = msg.get("payload") or {}
            run = self._runs.get(str(payload.get("runId")))
            if run is not None:
                run.put_nowait(payload)

    async def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """`method`'s result payload; raises classified clawbus errors."""
        conn = await self._open()
        request_id = str(uuid.uuid4())
        reply = self._replies[request_id] = asyncio.get_running_loop().create_future()
        try:
            await conn.ws.send_json({"type": "req", "id": request_id, "method": method, "params": params})
            answered = await reply
        except (aiohttp.ClientError, ConnectionError) as exc:
            raise GatewayUnreachable(f"OpenClaw gateway WebSocket broke ({type(exc).__name__})") from exc
        finally:
            self._replies.pop(request_id, None)
        if not answered.get("ok"):
            raise refusal(answered.get("error") or {}, method)
        result = answered.get("payload")
        return result if isinstance(result, dict) else {}

    async def chat(self, params: dict[str, Any]) -> str:
        """Run one `chat.send` (`params` without its run id) to its end: the run's answer."""
        run_id = str(params["idempotencyKey"])
        events = self._runs[run_id] = asyncio.Queue()
        try:
            await self.call("chat.send", params)
            while (event := await events.get()) is not None:
                outcome = run_outcome(event)
                if isinstance(outcome, ClawbusError):
                    raise outcome
                if outcome is not None:
                    return outcome
            raise GatewayUnreachable("OpenClaw gateway WebSocket closed during the turn")
        except asyncio.CancelledError:  # stopped or out of time: the gateway's run stops too
            where: dict[str, Any] = {k: params[k] for k in ("sessionKey", "agentId") if k in params}
            with contextlib.suppress(ClawbusError, asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.call("chat.abort", {**where, "runId": run_id})), 5)
            raise
        finally:
            del self._runs[run_id]

    async def close(self) -> None:
        """Close the connection (the engine's end)."""
        if self._conn is not None:
            await self._conn.ws.close()
            self._conn.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._conn.reader
        if self._session is not None:
            await self._session.close()
