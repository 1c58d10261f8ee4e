"""Amazon Bedrock AgentCore Browser as a `Connect` for `PagePool`: start a session, CDP over its stream.

1. `StartBrowserSession` on the runtime's aiobotocore `bedrock-agentcore` client (identifier
   `aws.browser.v1`, AgentCore's system browser, or a custom browser's id) answers a session id and
   the automation stream's WebSocket endpoint.
2. The WebSocket upgrade is authorised with SigV4 (service `bedrock-agentcore`, a GET of the https form
   of the URL), signed at connection time since the signature is short-lived; the IAM action is
   `bedrock-agentcore:ConnectBrowserAutomationStream`.
3. Playwright connects to it over CDP (`chromium.connect_over_cdp(url, headers=…)`) and opens a new
   browser context per runtime session.
4. On shutdown the CDP connection closes, then `StopBrowserSession` ends the session (it would time out
   by itself after `session_timeout_s`, billed until then).

The bedrock-agentcore SDK's `BrowserClient` does the same with synchronous boto3 clients of its own and
an endpoint it reads from the environment at import; this module keeps to the runtime's async client,
so the endpoint comes from settings and the AWS calls are where `infra/iam.py`'s scanner sees them.
The browser runs in AWS's network, not the runtime's, so requests are not routed through
`check_public` (only `navigate`'s URL is checked, by the tool): what a page can reach from there is
AWS's isolation. AWS documents the browser as an isolated, containerized environment separate from
the caller's, with ephemeral sessions; the system browser (`aws.browser.v1`) has public network
access only, so it is not in the runtime's VPC and the runtime's metadata service is not its own. A
custom browser in VPC network mode would be inside a VPC, where nothing here guards private
addresses. Each runtime session gets a browser context of its own in that browser session
(`new_context` over CDP), so sessions do not share cookies.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from clawbus.agent.tools.browser_playwright import Connect, NewContext
from clawbus.bus.aws import map_aws_errors
from clawbus.bus.errors import ClawbusError, Unauthorized
from clawbus.bus.logging import log_event

if TYPE_CHECKING:
    from types_aiobotocore_bedrock_agentcore import BedrockAgentCoreClient

logger = logging.getLogger(__name__)

SERVICE = "bedrock-agentcore"
Credentials = Callable[[], Awaitable[ReadOnlyCredentials | None]]


def sign_websocket(url: str, credentials: ReadOnlyCredentials, region: str) -> dict[str, str]:
    """SigV4 headers authorising a WebSocket upgrade to `url` (ws:// or wss://)."""
    parts = urlsplit(url)
    scheme = "https" if parts.scheme == "wss" else "http"
    request = AWSRequest(method="GET", url=urlunsplit((scheme, parts.netloc, parts.path, parts.query, "")))
    SigV4Auth(credentials, SERVICE, region).add_auth(request)
    wanted = ("X-Amz-Date", "Authorization", "X-Amz-Security-Token")
    return {name: str(request.headers[name]) for name in wanted if name in request.headers}


def _stream_url(response: Any, endpoint_url: str, identifier: str, session_id: str) -> str:
    """The automation stream from StartBrowserSession's answer, else AgentCore's documented path."""
    stream = response.get("streams", {}).get("automationStream", {}).get("streamEndpoint")
    if stream:
        return str(stream)
    host = urlsplit(endpoint_url).netloc
    return f"wss://{host}/browser-streams/{identifier}/sessions/{session_id}/automation"


def agentcore_browser(
    agentcore: BedrockAgentCoreClient,
    credentials: Credentials,
    *,
    identifier: str,
    region: str,
    session_timeout_s: int,
) -> Connect:
    """A `Connect` that starts an AgentCore Browser session and attaches Playwright to it."""

    async def stop(session_id: str) -> None:
        try:
            with map_aws_errors(f"StopBrowserSession {identifier}"):
                await agentcore.stop_browser_session(browserIdentifier=identifier, sessionId=session_id)
        except ClawbusError as exc:  # shutting down: report, and let the session time out by itself
            log_event(logger, "agent.browser.stop_failed", logging.WARNING, error=type(exc).__name__)

    async def connect(playwright: Any, stack: AsyncExitStack) -> NewContext:
        with map_aws_errors(f"StartBrowserSession {identifier}"):
            response = await agentcore.start_browser_session(
                browserIdentifier=identifier,
                name=f"clawbus-{secrets.token_hex(6)}",
                sessionTimeoutSeconds=session_timeout_s,
            )
        session_id = response["sessionId"]
        stack.push_async_callback(stop, session_id)
        log_event(logger, "agent.browser.session_started", browser=identifier)
        url = _stream_url(response, agentcore.meta.endpoint_url, identifier, session_id)
        frozen = await credentials()
        if frozen is None:
            raise Unauthorized("no AWS credentials to sign the AgentCore Browser stream with")
        browser = await playwright.chromium.connect_over_cdp(url, headers=sign_websocket(url, frozen, region))
        stack.push_async_callback(browser.close)

        async def new_context() -> Any:  # one per runtime session, inside the one AWS browser session
            return await browser.new_context()

        return new_context

    return connect
