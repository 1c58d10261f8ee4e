"""The `browser` tool in headless Chromium against local pages, as a model drives it through a turn.

Both backends run for real: `local` launches Chromium through Playwright; `agentcore` talks to a
loopback stub of AgentCore's StartBrowserSession/StopBrowserSession that hands out the CDP endpoint of
a Chromium started with `--remote-debugging-port`, which Playwright reaches with `connect_over_cdp`
and SigV4 headers (Chromium ignores them; `test_websocket_signature` checks them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn
from botocore.credentials import ReadOnlyCredentials
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from clawbus.agent import create_app
from clawbus.agent.models import ScriptedModel, ToolCall, ToolResult, assistant
from clawbus.agent.runtime import open_runtime
from clawbus.agent.tools.browser import Browser
from clawbus.agent.tools.browser_agentcore import sign_websocket
from clawbus.agent.tools.browser_playwright import CHROMIUM_ARGS, PagePool, local_chromium
from clawbus.agent.tools.browser_proxy import BadRequest, GuardProxy, parse_head
from clawbus.bus.errors import ConfigError, DeadlineExceeded, PermanentError
from clawbus.bus.settings import Settings
from tests.agent.conftest import SESSION_ID, invocation
from tests.helpers import eventually, free_port, wait_for

CHROMIUM = os.environ.get("CLAWBUS_CHROMIUM", "/usr/bin/chromium")

FORM = """<!doctype html><html><head><title>Greeter</title></head><body>
<h1>Greeter</h1>
<label>Your name <input id="name"></label>
<button id="greet" onclick="document.getElementById('out').textContent = 'Hello, ' +
  document.getElementById('name').value + '!'">Greet</button>
<p id="out">Nobody greeted yet</p>
<img src="{secret}/pixel.png" alt="">
</body></html>"""


@dataclass
class Site:
    """A page on loopback, and a second server it must never reach (not in allow_hosts)."""

    url: str
    hostport: str
    secret_hits: list[str] = field(default_factory=list)
    secret_url: str = ""

    @property
    def port(self) -> int:
        return int(self.hostport.rsplit(":", 1)[1])


REDIRECTS = """<!doctype html><html><head><title>Redirects</title></head><body>
<h1>Redirects</h1>
<img src="/jump?to={secret}/img.png" alt="">
<p id="out">pending</p>
<script>
new WebSocket("{secret}/ws".replace("http:", "ws:"));
fetch("/jump?to={secret}/xhr").then(r => r.text(), e => "fetch failed")
  .then(t => document.getElementById("out").textContent = "fetched: " + t);
</script>
</body></html>"""


async def _cookies(request: Request) -> Response:
    """`/set?v=x` sets a cookie; `/show` shows the cookies the browser sent."""
    if request.url.path == "/set":
        response = HTMLResponse("<title>set</title><p>set</p>")
        response.set_cookie("who", request.query_params["v"])
        return response
    sent = "; ".join(f"{k}={v}" for k, v in request.cookies.items()) or "no cookies"
    return HTMLResponse(f"<title>cookies</title><p>cookies: {sent}</p>")


async def _serve(app: Starlette) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started

    await eventually(started, what="loopback server")
    return server, task, f"http://127.0.0.1:{port}"


@contextlib.asynccontextmanager
async def serving(*apps: Starlette) -> AsyncIterator[list[str]]:
    running = [await _serve(app) for app in apps]
    try:
        yield [url for _s, _t, url in running]
    finally:
        for server, task, _url in running:
            server.should_exit = True
            await task


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    hits: list[str] = []

    async def secret(request: Request) -> Response:
        hits.append(request.url.path)
        return Response(b"", media_type="image/png")

    secret_app = Starlette(routes=[Route("/{path:path}", secret)])
    async with serving(secret_app) as (secret_url,):

        async def form(_request: Request) -> Response:
            return HTMLResponse(FORM.format(secret=secret_url))

        async def redirects(_request: Request) -> Response:
            return HTMLResponse(REDIRECTS.format(secret=secret_url))

        async def jump(request: Request) -> Response:
            return RedirectResponse(request.query_params["to"], status_code=302)

        routes = [
            Route("/", form),
            Route("/redirects", redirects),
            Route("/jump", jump),
            Route("/set", _cookies),
            Route("/show", _cookies),
        ]
        async with serving(Starlette(routes=routes)) as (url,):
            yield Site(url + "/", url.removeprefix("http://"), hits, secret_url)


def _call(n: int, **args: Any) -> Any:
    return assistant("", ToolCall(f"b{n}", "browser", args))


def greeting_script(url: str) -> ScriptedModel:
    """navigate → snapshot → type → click → snapshot → screenshot, then an answer."""
    return ScriptedModel(
        [
            _call(1, action="navigate", url=url),
            _call(2, action="snapshot"),
            _call(3, action="type", target="#name", text="Ada"),
            _call(4, action="click", target="#greet"),
            _call(5, action="snapshot"),
            _call(6, action="screenshot", name="greeted"),
            assistant("The page greets Ada."),
        ]
    )


def results(model: ScriptedModel) -> dict[str, ToolResult]:
    """Every tool result the model was sent, by call id."""
    found: dict[str, ToolResult] = {}
    for message in model.calls[-1].messages:
        for block in message.blocks:
            if isinstance(block, ToolResult):
                found[block.tool_use_id] = block
    return found


def settings_for(tmp_path: Path, site: Site, **browser: Any) -> Settings:
    return Settings.model_validate(
        {
            "session": {"transcripts": "local", "dir": str(tmp_path / "sessions")},
            "agent": {
                "workspace": {"backend": "local", "dir": str(tmp_path / "workspace")},
                "web": {"allow_hosts": [site.hostport]},
                "browser": {"chromium_path": CHROMIUM, "timeout_s": 10, **browser},
            },
        }
    )


async def drive_turn(settings: Settings, model: ScriptedModel, answer: str = "The page greets Ada.") -> None:
    async with open_runtime(settings) as runtime:
        runtime.model = model
        transport = httpx.ASGITransport(app=create_app(runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://agent") as client:
            response = await client.post(
                "/invocations",
                content=invocation("greet Ada on the page"),
                headers={"X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": SESSION_ID},
            )
    assert response.status_code == 200, response.text
    assert json.loads(response.content)["parts"] == [answer]


def assert_greeted(model: ScriptedModel, workspace: Path) -> None:
    seen = results(model)
    assert not any(r.is_error for r in seen.values()), [r.text for r in seen.values() if r.is_error]
    assert "'Greeter'" in seen["b1"].text
    assert "Nobody greeted yet" in seen["b2"].text
    assert 'button "Greet"' in seen["b2"].text
    assert "Hello, Ada!" in seen["b5"].text
    assert seen["b6"].text.endswith("screenshots/greeted.png")
    png = (workspace / "screenshots" / "greeted.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.browser
async def test_a_model_fills_a_form_in_local_chromium_and_sees_the_page_change(
    site: Site, tmp_path: Path
) -> None:
    model = greeting_script(site.url)
    await drive_turn(settings_for(tmp_path, site, backend="local"), model)
    assert_greeted(model, tmp_path / "workspace")
    assert site.secret_hits == [], "the page reached a loopback address that is not allowed"


@pytest.mark.browser
async def test_refused_and_failing_actions_reach_the_model_and_the_turn_goes_on(
    site: Site, tmp_path: Path
) -> None:
    model = ScriptedModel(
        [
            _call(1, action="navigate", url="http://169.254.169.254/latest/meta-data/"),
            _call(2, action="navigate", url="file:///etc/passwd"),
            _call(3, action="navigate", url=site.url),
            _call(4, action="click", target="#no-such-button"),
            _call(5, action="fly"),
            _call(6, action="screenshot", name="../escape"),
            assistant("Some things did not work."),
        ]
    )
    settings = settings_for(tmp_path, site, backend="local", timeout_s=1)
    await drive_turn(settings, model, "Some things did not work.")
    seen = results(model)
    assert "non-public" in seen["b1"].text
    assert seen["b1"].is_error
    assert "only http" in seen["b2"].text
    assert seen["b2"].is_error
    assert not seen["b3"].is_error
    assert seen["b4"].is_error
    assert seen["b4"].text.startswith("DeadlineExceeded: browser click")
    assert seen["b5"].is_error
    assert "unknown browser action 'fly'" in seen["b5"].text
    assert seen["b6"].is_error
    assert "screenshot 'name'" in seen["b6"].text
    assert not (tmp_path / "escape.png").exists()


@pytest.mark.browser
async def test_snapshot_refs_can_be_clicked_and_typed_into(site: Site) -> None:
    async with PagePool(local_chromium(CHROMIUM, frozenset({site.hostport})), timeout_s=10) as pool:
        page = await pool.page("s1")
        await page.navigate(site.url)
        tree = await page.snapshot()
        field_ref = re.search(r'textbox "Your name" \[ref=(e\d+)\]', tree)
        button_ref = re.search(r'button "Greet" \[ref=(e\d+)\]', tree)
        assert field_ref, tree
        assert button_ref, tree
        await page.type(field_ref.group(1), "Grace")
        await page.click(button_ref.group(1))
        assert "Hello, Grace!" in await page.snapshot()
        assert await pool.page("s1") is page
        assert await pool.page("s2") is not page


@pytest.mark.browser
async def test_actions_time_out_as_deadline_exceeded(site: Site) -> None:
    # The deadline is every action's, the page load's too: long enough for a loaded machine's first load
    # (0.3 s was not, and the navigation timed out instead of the click).
    async with PagePool(local_chromium(CHROMIUM, frozenset({site.hostport})), timeout_s=5) as pool:
        page = await pool.page("s1")
        await page.navigate(site.url)
        with pytest.raises(DeadlineExceeded, match="browser click"):
            await page.click("#absent")


@pytest.mark.browser
async def test_redirects_from_an_allowed_page_to_a_private_address_are_refused(site: Site) -> None:
    async with PagePool(local_chromium(CHROMIUM, frozenset({site.hostport})), timeout_s=10) as pool:
        page = await pool.page("s1")
        # A subresource and a fetch() that redirect to the private server, a WebSocket straight to it
        # (Playwright does not route WebSockets), then the page itself.
        await page.navigate(site.url + "redirects")
        await eventually(lambda: _settled(page), what="the page's fetch to finish")
        assert site.secret_hits == [], "an image, fetch or WebSocket reached an address that is not allowed"
        await page.navigate(site.url + "jump?" + urlencode({"to": site.secret_url + "/latest/meta-data/"}))
        assert site.secret_hits == [], "a redirected navigation reached an address that is not allowed"
        assert "non-public" in await page.snapshot()


async def _settled(page: Browser) -> bool:
    tree = await page.snapshot()
    return "pending" not in tree


@pytest.mark.browser
async def test_sessions_do_not_share_cookies(site: Site) -> None:
    connect = local_chromium(CHROMIUM, frozenset({site.hostport}))
    async with PagePool(connect, timeout_s=10, max_pages=2) as pool:
        first = await pool.page("s1")
        await first.navigate(site.url + "set?v=first")
        await first.navigate(site.url + "show")
        assert "cookies: who=first" in await first.snapshot()
        second = await pool.page("s2")
        await second.navigate(site.url + "show")
        assert "no cookies" in await second.snapshot()
        # A third session closes the least recently used one (s1) with its cookies.
        await (await pool.page("s3")).navigate(site.url + "show")
        reopened = await pool.page("s1")
        await reopened.navigate(site.url + "show")
        assert "no cookies" in await reopened.snapshot()


@pytest.mark.browser
async def test_names_are_resolved_by_the_guard_not_by_chromium(site: Site) -> None:
    resolver = NamedHosts({"site.test": ["127.0.0.1"], "internal.test": ["127.0.0.1"]})
    allowed = frozenset({f"site.test:{site.port}"})
    async with PagePool(local_chromium(CHROMIUM, allowed, resolver), timeout_s=10) as pool:
        page = await pool.page("s1")
        # Nothing on this machine resolves site.test: only the guard's resolver does.
        assert "'Greeter'" in await page.navigate(f"http://site.test:{site.port}/")
        secret_port = site.secret_url.rsplit(":", 1)[1]
        with pytest.raises(PermanentError, match="ERR_BLOCKED_BY_CLIENT"):
            await page.navigate(f"http://internal.test:{secret_port}/latest/meta-data/")
    assert site.secret_hits == []


@dataclass
class NamedHosts:
    """A resolver for test names."""

    names: dict[str, list[str]]

    async def resolve(self, host: str, port: int) -> list[str]:
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.names[host]


def test_the_guard_proxy_reads_connect_and_absolute_requests() -> None:
    tunnel = parse_head(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
    assert (tunnel.host, tunnel.port, tunnel.tunnel, tunnel.upstream_head) == ("example.com", 443, True, b"")
    plain = parse_head(
        b"GET http://example.com/a?b=1 HTTP/1.1\r\nHost: example.com\r\nProxy-Connection: keep-alive\r\n"
        b"Proxy-Authorization: Basic eA==\r\nAccept: */*\r\n\r\n"
    )
    assert (plain.host, plain.port, plain.tunnel) == ("example.com", 80, False)
    assert plain.upstream_head == (
        b"GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    )
    assert parse_head(b"CONNECT [::1]:8443 HTTP/1.1\r\n\r\n").host == "::1"
    for bad in (b"CONNECT example.com HTTP/1.1\r\n\r\n", b"nonsense\r\n\r\n"):
        with pytest.raises(BadRequest):
            parse_head(bad)
    with pytest.raises(PermanentError, match="only http"):
        parse_head(b"GET ftp://example.com/ HTTP/1.1\r\n\r\n")


async def test_the_guard_proxy_tunnels_to_allowed_hosts_and_refuses_the_rest(site: Site) -> None:
    secret = site.secret_url.removeprefix("http://")
    async with GuardProxy(frozenset({site.hostport})) as proxy:
        port = int(proxy.url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"CONNECT {site.hostport} HTTP/1.1\r\nHost: {site.hostport}\r\n\r\n".encode())
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
        writer.write(f"GET /show HTTP/1.1\r\nHost: {site.hostport}\r\nConnection: close\r\n\r\n".encode())
        assert b"cookies: no cookies" in await reader.read()
        writer.close()
        for request in (f"CONNECT {secret} HTTP/1.1", f"GET {site.secret_url}/latest/meta-data/ HTTP/1.1"):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"{request}\r\nHost: {secret}\r\n\r\n".encode())
            answer = await reader.read()
            writer.close()
            assert answer.startswith(b"HTTP/1.1 403 Forbidden"), answer
            assert b"non-public address" in answer
    assert site.secret_hits == []


async def test_local_backend_without_chromium_is_a_config_error(site: Site, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, site, backend="local", chromium_path=str(tmp_path / "nope"))
    with pytest.raises(ConfigError, match="CHROMIUM_PATH"):
        async with open_runtime(settings):
            pass


# --- AgentCore Browser: the session API stubbed on loopback, CDP to a real Chromium ---------------


@pytest.fixture
def cdp_chromium(tmp_path: Path) -> Iterator[str]:
    """A headless Chromium with a DevTools port; its browser-level CDP WebSocket URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            f"--remote-debugging-port={port}",
            "--remote-debugging-address=127.0.0.1",
            f"--user-data-dir={tmp_path / 'profile'}",
            *CHROMIUM_ARGS,
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )

    def ws_url() -> str | None:
        try:
            return str(
                httpx.get(f"http://127.0.0.1:{port}/json/version", timeout=1).json()["webSocketDebuggerUrl"]
            )
        except (httpx.HTTPError, ValueError, KeyError):
            return None

    try:
        yield wait_for(ws_url, timeout=30, what="Chromium's DevTools endpoint")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


@dataclass
class AgentCoreStub:
    """StartBrowserSession / StopBrowserSession, recording what they were sent."""

    stream: str
    calls: list[tuple[str, str, dict[str, Any], dict[str, str]]] = field(default_factory=list)

    async def start(self, request: Request) -> Response:
        body = json.loads(await request.body())
        self.calls.append(("start", request.path_params["id"], body, dict(request.headers)))
        return JSONResponse(
            {
                "browserIdentifier": request.path_params["id"],
                "sessionId": "S0123456789",
                "createdAt": "2026-01-31T09:30:00Z",
                "streams": {"automationStream": {"streamEndpoint": self.stream, "streamStatus": "ENABLED"}},
            }
        )

    async def stop(self, request: Request) -> Response:
        query = dict(request.query_params)
        self.calls.append(("stop", request.path_params["id"], query, dict(request.headers)))
        return JSONResponse(
            {
                "browserIdentifier": request.path_params["id"],
                "sessionId": query["sessionId"],
                "lastUpdatedAt": "2026-01-31T09:31:00Z",
            }
        )


@pytest.mark.browser
async def test_agentcore_backend_starts_a_session_drives_it_over_cdp_and_stops_it(
    site: Site, tmp_path: Path, cdp_chromium: str
) -> None:
    stub = AgentCoreStub(stream=cdp_chromium)
    app = Starlette(
        routes=[
            Route("/browsers/{id}/sessions/start", stub.start, methods=["PUT"]),
            Route("/browsers/{id}/sessions/stop", stub.stop, methods=["PUT"]),
        ]
    )
    async with serving(app) as (endpoint,):
        settings = settings_for(
            tmp_path, site, backend="agentcore", endpoint_url=endpoint, session_timeout_s=120
        )
        model = greeting_script(site.url)
        await drive_turn(settings, model)
    assert_greeted(model, tmp_path / "workspace")
    assert [c[0] for c in stub.calls] == ["start", "stop"]
    (_s, identifier, body, headers), (_t, stopped_id, query, _h) = stub.calls
    assert identifier == stopped_id == "aws.browser.v1"
    assert body["sessionTimeoutSeconds"] == 120
    assert body["name"].startswith("clawbus-")
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert query == {"sessionId": "S0123456789"}


def test_websocket_signature() -> None:
    url = "wss://bedrock-agentcore.us-east-1.amazonaws.com/browser-streams/aws.browser.v1/sessions/S1/automation"
    headers = sign_websocket(url, ReadOnlyCredentials("AKIDEXAMPLE", "secret", "token-1"), "us-east-1")
    assert re.fullmatch(r"\d{8}T\d{6}Z", headers["X-Amz-Date"])
    auth = headers["Authorization"]
    assert auth.startswith(f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{headers['X-Amz-Date'][:8]}/us-east-1/")
    assert "/bedrock-agentcore/aws4_request" in auth
    assert "SignedHeaders=host;x-amz-date" in auth
    assert headers["X-Amz-Security-Token"] == "token-1"
    assert "secret" not in json.dumps(headers)
