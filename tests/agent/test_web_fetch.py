"""web_fetch: public addresses only, vetted once and connected to (no DNS rebinding), every redirect hop.

Fetches go to real loopback servers through `PublicTransport`. Names resolve through a resolver the test
controls; "the internet" is httpcore's network backend with one public address (PUBLIC) standing for a
loopback server, so a test can show which server a connection reached.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import ssl
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpcore
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from clawbus.agent.models import ScriptedModel, ToolCall, assistant
from clawbus.agent.tools.web import fetch_text, html_to_text
from clawbus.agent.tools.web_guard import check_public, is_public
from clawbus.agent.tools.web_transport import PublicTransport
from clawbus.bus.errors import PermanentError
from clawbus.bus.settings import Settings
from tests.agent.test_browser import drive_turn, results, serving

PUBLIC = "93.184.215.14"  # a public address (example.com's); the test internet serves it from loopback


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/",
        "http://localhost/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.8/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",  # carrier-grade NAT
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://[fd00:ec2::254]/",  # the IPv6 metadata service
        "http://[ff02::1]/",
        "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
        "http://[::ffff:169.254.169.254]/",
        "http://[::127.0.0.1]/",  # IPv4-compatible
        "http://[::a9fe:a9fe]/",
        "http://[::ffff:0:127.0.0.1]/",  # IPv4-translated (SIIT)
        "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
        "http://[64:ff9b:1::a00:8]/",  # local-use NAT64
        "http://[2002:7f00:1::1]/",  # 6to4 of 127.0.0.1
        "http://[2002:a9fe:a9fe::1]/",  # 6to4 of 169.254.169.254
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo
        "file:///etc/passwd",
        "ftp://example.com/",
    ],
)
async def test_private_and_non_http_addresses_are_refused(url: str) -> None:
    with pytest.raises(PermanentError, match=r"non-public|only http"):
        await check_public(url, frozenset())


@pytest.mark.parametrize("address", ["8.8.8.8", "::ffff:8.8.8.8", "2606:4700::1111", PUBLIC])
def test_public_addresses_are_public(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1", "::8.8.8.8"])
def test_embedding_forms_are_refused_even_around_a_public_ipv4(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


async def test_an_allowed_loopback_host_port_may_be_fetched() -> None:
    await check_public("http://127.0.0.1:9999/page", frozenset({"127.0.0.1:9999"}))
    with pytest.raises(PermanentError):
        await check_public("http://127.0.0.1:9998/page", frozenset({"127.0.0.1:9999"}))


# --- real servers ------------------------------------------------------------------------------------


@dataclass
class Resolver:
    """Each name's successive answers (the last one repeats); other names do not resolve."""

    answers: dict[str, list[list[str]]] = field(default_factory=dict)

    async def resolve(self, host: str, port: int) -> Sequence[str]:
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        queue = self.answers[host]
        return queue.pop(0) if len(queue) > 1 else queue[0]


class Internet(httpcore.AsyncNetworkBackend):
    """TCP as the tests see it: PUBLIC is the public site (a loopback server); the rest is real."""

    def __init__(self, public_port: int) -> None:
        self._public_port = public_port
        self._real = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if host == PUBLIC:
            host, port = "127.0.0.1", self._public_port
        return await self._real.connect_tcp(host, port, timeout=timeout)


@dataclass
class Servers:
    """`site` is allowed (or public); `private` stands for the metadata service and records its hits."""

    site: str
    private: str
    private_hits: list[str]

    @property
    def site_hostport(self) -> str:
        return self.site.removeprefix("http://")

    @property
    def private_port(self) -> int:
        return int(self.private.rsplit(":", 1)[1])

    def client(self, resolver: Resolver | None = None, allow: Iterable[str] = ()) -> httpx.AsyncClient:
        transport = PublicTransport(
            frozenset(allow), resolver or Resolver(), network=Internet(int(self.site.rsplit(":", 1)[1]))
        )
        return httpx.AsyncClient(transport=transport, timeout=5)


@pytest.fixture
async def servers() -> AsyncIterator[Servers]:
    hits: list[str] = []

    async def secret(request: Request) -> Response:
        hits.append(request.url.path)
        return PlainTextResponse("role credentials")

    async with serving(Starlette(routes=[Route("/{path:path}", secret)])) as (private,):

        async def page(request: Request) -> Response:
            html = (
                "<html><style>p{}</style><body><h1>Title</h1><script>x()</script><p>Hello &amp; welcome</p>"
            )
            return HTMLResponse(html)

        async def jump(request: Request) -> Response:
            return RedirectResponse(request.query_params["to"], status_code=302)

        routes = [
            Route("/", page),
            Route("/big", lambda _r: PlainTextResponse("y" * 10_000)),
            Route("/loop", lambda _r: RedirectResponse("/loop", status_code=302)),
            Route("/jump", jump),
        ]
        async with serving(Starlette(routes=routes)) as (site,):
            yield Servers(site, private, hits)


def jump_path(to: str) -> str:
    """A path on the site that redirects to `to`."""
    return "/jump?" + urlencode({"to": to})


async def test_pages_come_back_as_text_capped(servers: Servers) -> None:
    async with servers.client(allow=[servers.site_hostport]) as client:
        page = await fetch_text(client, servers.site + "/", max_bytes=5000)
        assert page.split() == ["Title", "Hello", "&", "welcome"]
        big = await fetch_text(client, servers.site + "/big", max_bytes=2048)
    assert big.startswith("y" * 2048)
    assert big.endswith("[… cut at 2048 bytes]")


async def test_an_allowed_loopback_server_is_reachable_and_its_neighbour_is_not(servers: Servers) -> None:
    async with servers.client(allow=[servers.site_hostport]) as client:
        assert "Hello" in await fetch_text(client, servers.site + "/", max_bytes=5000)
        with pytest.raises(PermanentError, match="non-public"):
            await fetch_text(client, servers.private + "/latest/meta-data/", max_bytes=5000)
    assert servers.private_hits == []


async def test_a_rebinding_name_is_connected_to_at_the_address_that_was_vetted(servers: Servers) -> None:
    # The attacker's name answers a public address first and loopback (the "metadata" server) after.
    resolver = Resolver({"rebind.test": [[PUBLIC], ["127.0.0.1"]]})
    url = f"http://rebind.test:{servers.private_port}/"
    async with servers.client(resolver) as client:
        page = await fetch_text(client, url, max_bytes=5000)
    assert page.split() == ["Title", "Hello", "&", "welcome"], "the public site answered"
    assert servers.private_hits == []
    # Asked again (a new connection), the name now answers loopback: refused, never connected.
    async with servers.client(resolver) as client:
        with pytest.raises(PermanentError, match=r"rebind\.test resolves to a non-public address"):
            await fetch_text(client, url, max_bytes=5000)
    assert servers.private_hits == []


async def test_a_name_with_one_private_answer_among_public_ones_is_refused(servers: Servers) -> None:
    resolver = Resolver({"mixed.test": [[PUBLIC, "127.0.0.1"]]})
    async with servers.client(resolver) as client:
        with pytest.raises(PermanentError, match="non-public"):
            await fetch_text(client, f"http://mixed.test:{servers.private_port}/", max_bytes=5000)
    assert servers.private_hits == []


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ("{private}/latest/meta-data/", "non-public"),
        ("http://internal.test:{port}/latest/meta-data/", r"internal\.test resolves to a non-public"),
        ("file:///etc/passwd", "only http"),
    ],
)
async def test_every_redirect_hop_is_vetted(servers: Servers, target: str, error: str) -> None:
    to = target.format(private=servers.private, port=servers.private_port)
    resolver = Resolver({"internal.test": [["127.0.0.1"]]})
    async with servers.client(resolver, allow=[servers.site_hostport]) as client:
        with pytest.raises(PermanentError, match=error):
            await fetch_text(client, servers.site + jump_path(to), max_bytes=5000)
    assert servers.private_hits == []


async def test_redirects_are_followed_a_bounded_number_of_times(servers: Servers) -> None:
    async with servers.client(allow=[servers.site_hostport]) as client:
        assert "Hello" in await fetch_text(client, servers.site + jump_path("/"), max_bytes=5000)
        with pytest.raises(PermanentError, match="more than 5 redirects"):
            await fetch_text(client, servers.site + "/loop", max_bytes=5000)


async def test_the_runtime_fetches_allowed_hosts_only(
    servers: Servers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAWBUS_AGENT__WEB__ALLOW_HOSTS", json.dumps([servers.site_hostport]))
    settings = Settings.model_validate(
        {
            "session": {"transcripts": "local", "dir": str(tmp_path / "sessions")},
            "agent": {"workspace": {"backend": "local", "dir": str(tmp_path / "workspace")}},
        }
    )
    assert settings.agent.web.allow_hosts == [servers.site_hostport]
    model = ScriptedModel(
        [
            assistant("", ToolCall("w1", "web_fetch", {"url": servers.site + "/"})),
            assistant("", ToolCall("w2", "web_fetch", {"url": servers.site + jump_path(servers.private)})),
            assistant("", ToolCall("w3", "web_fetch", {"url": servers.private + "/"})),
            assistant("Fetched."),
        ]
    )
    await drive_turn(settings, model, "Fetched.")
    seen = results(model)
    assert not seen["w1"].is_error
    assert "Hello & welcome" in seen["w1"].text
    assert seen["w2"].is_error
    assert "non-public" in seen["w2"].text
    assert seen["w3"].is_error
    assert "non-public" in seen["w3"].text
    assert servers.private_hits == []


# --- HTTPS: the connection is pinned, the certificate and SNI are still the URL's host name ------------


@dataclass
class TLSSite:
    """An HTTPS server for `secure.test` (certificate from a test CA) and the SNI names it was sent."""

    port: int
    client_context: ssl.SSLContext
    sni: list[str | None]


def _certificate(
    ca_key: ec.EllipticCurvePrivateKey,
    subject: str,
    issuer: str,
    key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


@pytest.fixture
async def tls_site(tmp_path: Path) -> AsyncIterator[TLSSite]:
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate(ca_key, "clawbus test CA", "clawbus test CA", ca_key, ca=True)
    leaf = _certificate(ca_key, "secure.test", "clawbus test CA", leaf_key, ca=False)
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "leaf.key").write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(tmp_path / "leaf.pem", tmp_path / "leaf.key")
    sni: list[str | None] = []
    server_context.sni_callback = lambda _sock, name, _ctx: sni.append(name)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 6\r\n\r\nsecret")
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass  # a client that gave up on the certificate
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_context)
    client_context = ssl.create_default_context(cadata=ca.public_bytes(serialization.Encoding.PEM).decode())
    async with server:
        yield TLSSite(server.sockets[0].getsockname()[1], client_context, sni)


async def test_https_is_pinned_yet_verified_for_the_url_host_name(tls_site: TLSSite) -> None:
    resolver = Resolver({"secure.test": [[PUBLIC]], "impostor.test": [[PUBLIC]]})
    transport = PublicTransport(
        frozenset(), resolver, network=Internet(tls_site.port), ssl_context=tls_site.client_context
    )
    async with httpx.AsyncClient(transport=transport, timeout=5) as client:
        assert await fetch_text(client, f"https://secure.test:{tls_site.port}/", max_bytes=100) == "secret"
        assert tls_site.sni == ["secure.test"]
        # Same vetted address, another name: the certificate is checked against that name, and fails.
        with pytest.raises(httpx.ConnectError, match=r"certificate verify failed"):
            await fetch_text(client, f"https://impostor.test:{tls_site.port}/", max_bytes=100)


def test_html_to_text_drops_scripts_and_styles() -> None:
    assert html_to_text("<script>alert(1)</script><b>bold</b>") == "bold"
