"""Slack Socket Mode (`CLAWBUS_SLACK__MODE=socket`): events over a WebSocket instead of an HTTP endpoint.

slack_sdk's aiohttp `SocketModeClient` asks `apps.connections.open` (with the app-level token
`xapp-…`, `CLAWBUS_SLACK__APP_TOKEN`) for a WebSocket URL, connects, and reconnects by itself: on a
`disconnect` message (Slack refreshes connections every few hours), on a closed socket, and when its
pings go unanswered. The relay only adds backoff around opening the first connection.

Every `events_api` envelope carries the same `event_callback` body the Events API posts, so it goes
through the same normaliser (`inbound.py`) and intake. The envelope is acknowledged
(`{"envelope_id": …}`) only after its turn is enqueued (or deliberately dropped): an envelope Slack
does not see acknowledged is delivered again (with `retry_attempt`), and the dedup record
(`in:slack:<team>:<channel>:<ts>`) drops a second copy. Slash commands and interactivity envelopes are
acknowledged without a turn. The webhook path checks the v0 signature; here the WebSocket, opened with
the app-level token over TLS, stands in for it: only Slack can send on it.
"""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from clawbus.bus.errors import ConfigError, RetryableError, Unauthorized, Unavailable
from clawbus.bus.logging import log_event
from clawbus.bus.settings import SlackSettings
from clawbus.channels.contracts import Handoff, until_stopped
from clawbus.channels.normalised import Ignored, Parsed
from clawbus.channels.slack import inbound as slack
from clawbus.channels.slack.outbound import DEFAULT_API_BASE

logger = logging.getLogger(__name__)
_AUTH_ERRORS = {"invalid_auth", "not_authed", "token_revoked", "account_inactive", "not_allowed_token_type"}


class SlackSocketMode:
    """The Slack transport: one Socket Mode connection, its envelopes handed to intake and acked."""

    channel = "slack"
    name = "socket_mode"

    def __init__(self, settings: SlackSettings, delivery: Handoff) -> None:
        if settings.app_token is None:
            raise ConfigError(
                "Slack Socket Mode needs the app-level token: set CLAWBUS_SLACK__APP_TOKEN (xapp-…, "
                "scope connections:write) or use CLAWBUS_SLACK__MODE=events"
            )
        self._settings = settings
        self._delivery = delivery

    async def session(self, stop: asyncio.Event) -> None:
        """Hold the Socket Mode connection until `stop`; raises when the first connection cannot open."""
        assert self._settings.app_token is not None
        web = AsyncWebClient(base_url=self._settings.api_base or DEFAULT_API_BASE)
        client = SocketModeClient(self._settings.app_token.get_secret_value(), web_client=web)
        client.socket_mode_request_listeners.append(self._on_request)
        try:
            await until_stopped(self._connect(client), stop)
            log_event(logger, "relay.connection.opened", channel=self.channel, transport=self.name)
            await stop.wait()
        finally:
            await client.close()  # type: ignore[no-untyped-call]  # slack_sdk leaves it unannotated

    async def _connect(self, client: SocketModeClient) -> None:
        try:
            # connect() alone retries a failing socket forever; asking for the URL first surfaces a
            # refused token or an unreachable API here, where the relay backs off and logs it.
            client.wss_uri = await client.issue_new_wss_url()
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if error in _AUTH_ERRORS:
                raise Unauthorized(
                    f"Slack refused the app-level token ({error}); check CLAWBUS_SLACK__APP_TOKEN"
                ) from exc
            raise Unavailable(f"Slack apps.connections.open failed: {error or exc}") from exc
        except OSError as exc:  # aiohttp's connection errors are OSErrors
            raise Unavailable(f"Slack API unreachable: {exc}") from exc
        await client.connect()  # type: ignore[no-untyped-call]  # slack_sdk leaves it unannotated

    async def _on_request(self, client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        if request.type == "events_api":
            body = request.payload
            try:
                await self._delivery.hand_over(lambda ctx: slack.normalise(body, ctx=ctx))
            except RetryableError as exc:
                log_event(
                    logger,
                    "relay.envelope.unacked",
                    logging.WARNING,
                    channel=self.channel,
                    reason=str(exc),
                    retry_attempt=request.retry_attempt,
                )
                return  # Slack delivers it again
        else:
            await self._delivery.hand_over(lambda _ctx: Parsed(ignored=(Ignored(f"socket_{request.type}"),)))
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
