"""The OpenClaw engine: one OpenClaw turn per clawbus turn, on a gateway started and warmed in the background.

`start()` (a background task of the app's lifespan, so `/ping` answers `HealthyBusy` meanwhile) starts
the gateway and sends a warm-up turn on a throwaway session key: the first turn after a start costs
6-20 s, and that is paid during the container's initialisation, not by a user. The warm-up turn must
have asked the trust plugin's callback (`trust/`), or the engine never becomes ready: a gateway that
did not load the plugin would give every turn every tool. `run(request)`:

1. heartbeat: HEARTBEAT.md from the workspace store; effectively empty → no turn, as the native engine
   does. Otherwise the poll prompt and the checklist's text are the message (this OpenClaw's prompt does
   not read HEARTBEAT.md itself);
2. `EngineState.prepare` (hydrate the state dir), the turn on the request's session key within
   `turn_timeout_s` (waiting for a starting or restarting gateway counts against it: never a hang),
   `EngineState.commit` after a success;
3. the answer as the native engine makes it (`turn.to_response`: `NO_REPLY` and heartbeat
   acknowledgements are not delivered), its `MEDIA:` lines staged as files (`reply_files.py`; workspace
   files only in a trusted turn, as the native engine's file-read trust).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from clawbus.agent.engines.openclaw.active_turns import ActiveTurns
from clawbus.agent.engines.openclaw.client import GatewayUnreachable, chat_turn
from clawbus.agent.engines.openclaw.gateway import Gateway
from clawbus.agent.engines.openclaw.reply_files import answer_refs, turn_mark
from clawbus.agent.engines.openclaw.rpc import GatewayRpc
from clawbus.agent.engines.openclaw.session_keys import gateway_session_key
from clawbus.agent.engines.openclaw.steered_turn import steered_chat
from clawbus.agent.engines.state import EngineState
from clawbus.agent.heartbeat import HEARTBEAT_PROMPT, SKIP_EMPTY, is_effectively_empty
from clawbus.agent.media import MediaReader, chat_content, refusal_parts
from clawbus.agent.prompt import HEARTBEAT_FILE
from clawbus.agent.reply_media import Attachment, ReplyMediaStager
from clawbus.agent.tools.policy import turn_trusted
from clawbus.agent.tools.scope import turn_scope
from clawbus.agent.turn import to_response, user_text
from clawbus.agent.turn_control import CURRENT_TURN
from clawbus.bus.errors import ConfigError, DeadlineExceeded
from clawbus.bus.logging import log_event, session_ref
from clawbus.schemas import AgentRequest, AgentResponse, EventKind
from clawbus.storage import WorkspaceStore

logger = logging.getLogger(__name__)

WARM_UP_SESSION = "agent:main:clawbus-warm-up"
WARM_UP_TEXT = "warm-up"
_DEATH_NOTICE_S = 2.0  # how long a broken connection waits to see whether the gateway died


def heartbeat_message(checklist: str | None) -> str | None:
    """The message of a heartbeat turn, or None when HEARTBEAT.md holds nothing to do."""
    if checklist is None:
        return HEARTBEAT_PROMPT
    if is_effectively_empty(checklist):
        return None
    return f"{HEARTBEAT_PROMPT}\n\nHEARTBEAT.md:\n\n{checklist.strip()}"


@dataclass
class EngineTimings:
    """What the last start cost, for logs and `clawbus bench`."""

    gateway_ms: float | None = None
    warm_up_ms: float | None = None


class OpenClawEngine:
    """Turns through one supervised gateway; `warming` while it starts, warms up or restarts."""

    def __init__(
        self,
        gateway: Gateway,
        token: str,
        store: WorkspaceStore,
        state: EngineState,
        http: httpx.AsyncClient,
        *,
        model: str,
        turn_timeout_s: float,
        turns: ActiveTurns | None = None,
        trust_queries: Callable[[], int] | None = None,
        media: MediaReader | None = None,
        reply_media: ReplyMediaStager | None = None,
        rpc: GatewayRpc | None = None,
    ) -> None:
        self._rpc = rpc  # text turns as `chat.send` runs, which take steered messages (issue 21)
        self._media = media  # the user's files, sent as content parts (issue 20)
        self._reply_media = reply_media  # the files its answers name (MEDIA: lines)
        self._gateway = gateway
        self._token = token
        self._store = store
        self._state = state
        self._http = http
        self.model = model
        self._turn_timeout_s = turn_timeout_s
        self._turns = turns or ActiveTurns()
        self._trust_queries = trust_queries
        self._warm = asyncio.Event()
        self.timings = EngineTimings()

    @property
    def steerable(self) -> bool:
        """Whether its turns take steered messages (text turns over the gateway's WebSocket)."""
        return self._rpc is not None

    @property
    def warming(self) -> bool:
        """Whether the gateway is not (yet, or no longer) ready for a turn."""
        return not (self._warm.is_set() and self._gateway.ready.is_set())

    async def start(self) -> None:
        """Start the gateway and send the warm-up turn (the app's lifespan runs this in the background)."""
        started = time.monotonic()
        await self._gateway.start()
        self.timings.gateway_ms = round((time.monotonic() - started) * 1000, 1)
        warm = time.monotonic()
        await chat_turn(self._http, self._gateway.spec.base_url, self._token, WARM_UP_SESSION, WARM_UP_TEXT)
        self.timings.warm_up_ms = round((time.monotonic() - warm) * 1000, 1)
        if self._trust_queries is not None and self._trust_queries() == 0:
            # fail closed: without the plugin every turn would get the owner's whole tool set
            raise ConfigError(
                "the OpenClaw gateway ran its warm-up turn without asking the clawbus-trust plugin's "
                f"callback: the plugin did not load (see {self._gateway.spec.log_path}); no turn runs, "
                "since untrusted turns would get every tool"
            )
        self._warm.set()
        log_event(
            logger,
            "agent.openclaw.warmed",
            start_ms=self.timings.gateway_ms,
            warm_up_ms=self.timings.warm_up_ms,
        )

    async def _message(self, request: AgentRequest) -> str | None:
        if not any(event.kind is EventKind.HEARTBEAT for event in request.events):
            return user_text(request)
        found = await self._store.read(HEARTBEAT_FILE)
        return heartbeat_message(None if found is None else found.text)

    async def _turn(
        self, session_key: str, message: str, content: str | list[dict[str, object]]
    ) -> tuple[str, tuple[str, ...]]:
        """One turn: its answer and the events steered into it. A broken connection to a gateway that
        died is waited out (the watcher restarts it) and the turn sent once more: a dead gateway
        finished nothing; a live one's error stands."""
        session_key = gateway_session_key(session_key)  # a cron job's key is reserved in OpenClaw's API
        try:
            return await self._send(session_key, message, content)
        except GatewayUnreachable:
            if not await self._gateway.exited(within_s=_DEATH_NOTICE_S):
                raise
            log_event(logger, "agent.openclaw.turn_resent", logging.WARNING, session=session_ref(session_key))
            await self._gateway.ready.wait()
            return await self._send(session_key, message, content)

    async def _send(
        self, session_key: str, message: str, content: str | list[dict[str, object]]
    ) -> tuple[str, tuple[str, ...]]:
        """A text turn as a `chat.send` run, which takes steered messages; one with the user's files
        over the OpenAI-compatible endpoint (its content parts), which takes none."""
        if self._rpc is not None and isinstance(content, str):
            return await steered_chat(self._rpc, session_key, message)
        signal = CURRENT_TURN.get()
        if signal is not None:
            signal.steerable = False  # what it took so far is not named: its FIFO copies answer it
        base = self._gateway.spec.base_url
        return await chat_turn(self._http, base, self._token, session_key, message, content), ()

    async def direct(self, session_key: str, text: str) -> str:
        """A turn straight to the warmed gateway, nothing of clawbus around it (`clawbus bench`)."""
        await self._warm.wait()
        return await chat_turn(self._http, self._gateway.spec.base_url, self._token, session_key, text)

    @property
    def gateway_pid(self) -> int | None:
        """The gateway's process id while it runs (its own process group)."""
        return self._gateway.pid

    async def run(self, request: AgentRequest) -> AgentResponse:
        """Run `request` as one OpenClaw turn; raises classified clawbus errors."""
        heartbeat = any(event.kind is EventKind.HEARTBEAT for event in request.events)
        message = await self._message(request)
        if message is None:
            log_event(
                logger, "agent.heartbeat.skipped", session=session_ref(request.session_key), reason=SKIP_EMPTY
            )
            return AgentResponse(parts=(), model=self.model)
        media = await self._media.blocks(request) if self._media is not None else ()
        state_dir = self._gateway.spec.state_dir
        trusted = turn_trusted(request.session_key, request.events)
        try:
            async with asyncio.timeout(self._turn_timeout_s):
                await self._warm.wait()
                await self._gateway.ready.wait()
                await self._state.prepare(request.session_key, state_dir)
                mark = await turn_mark(state_dir, request.session_key)
                # the turn's route and trust, for the tools that call back into clawbus (cron)
                scope = turn_scope(request, trusted=trusted)
                with self._turns.running(scope):
                    answer, steered = await self._turn(
                        request.session_key, message, chat_content(message, media)
                    )
        except TimeoutError as exc:
            raise DeadlineExceeded(
                f"the OpenClaw turn did not finish within {self._turn_timeout_s:.0f} s"
                + (" (the gateway was not ready)" if self.warming else "")
            ) from exc
        files = await answer_refs(mark, state_dir / "workspace")  # MEDIA: lines the gateway took out
        await self._state.commit(request.session_key, state_dir)
        response = to_response(answer, self.model, heartbeat=heartbeat)
        if steered:
            response = response.model_copy(update={"steered": steered})
        refused = refusal_parts(media)  # told to the user whatever the model says, as the native engine does
        if refused:
            response = response.model_copy(update={"parts": refused + response.parts})
        if self._reply_media is not None and (response.parts or files):
            sent = [Attachment(ref) for ref in files]
            response = await self._reply_media.attach(
                response, request.session_key, sent=sent, local_allowed=trusted
            )
        return response
