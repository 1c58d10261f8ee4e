"""web_fetch: public addresses only (every redirect hop), capped size, text out of HTML."""

from __future__ import annotations

import httpx
import pytest

from clawbus.agent.tools.web import check_public, fetch_text, html_to_text
from clawbus.bus.errors import PermanentError


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/",
        "http://localhost/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.8/",
        "http://192.168.1.1/",
        "http://[::1]/",
        "file:///etc/passwd",
    ],
)
async def test_private_and_non_http_addresses_are_refused(url: str) -> None:
    with pytest.raises(PermanentError, match=r"non-public|only http"):
        await check_public(url, frozenset())


async def test_an_allowed_loopback_host_port_may_be_fetched() -> None:
    await check_public("http://127.0.0.1:9999/page", frozenset({"127.0.0.1:9999"}))
    with pytest.raises(PermanentError):
        await check_public("http://127.0.0.1:9998/page", frozenset({"127.0.0.1:9999"}))


def _site(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/jump":
        return httpx.Response(302, headers={"location": "http://169.254.169.254/secrets"})
    if request.url.path == "/big":
        return httpx.Response(200, text="y" * 10_000, headers={"content-type": "text/plain"})
    html = "<html><style>p{}</style><body><h1>Title</h1><script>x()</script><p>Hello &amp; welcome</p></body>"
    return httpx.Response(200, text=html, headers={"content-type": "text/html"})


async def test_pages_come_back_as_text_capped_and_redirects_are_checked() -> None:
    allow = frozenset({"127.0.0.1:7000"})
    async with httpx.AsyncClient(transport=httpx.MockTransport(_site)) as client:
        page = await fetch_text(client, "http://127.0.0.1:7000/", max_bytes=5000, allow_hosts=allow)
        assert page == "Title \n\n Hello & welcome" or page.split() == ["Title", "Hello", "&", "welcome"]
        big = await fetch_text(client, "http://127.0.0.1:7000/big", max_bytes=2048, allow_hosts=allow)
        assert big.startswith("y" * 2048)
        assert big.endswith("[… cut at 2048 bytes]")
        with pytest.raises(PermanentError, match="non-public"):
            await fetch_text(client, "http://127.0.0.1:7000/jump", max_bytes=5000, allow_hosts=allow)


def test_html_to_text_drops_scripts_and_styles() -> None:
    assert html_to_text("<script>alert(1)</script><b>bold</b>") == "bold"
