"""`web_fetch`: fetch a URL's text, capped in size and time, never from a private address.

The client it is given must send through `web_transport.PublicTransport` (the runtime's does): that
transport resolves each host once, refuses it unless every address is public (`web_guard.is_public`:
loopback, private, link-local such as the metadata service at 169.254.169.254, multicast, reserved,
and IPv6 forms embedding those) and connects to the vetted address itself, so a second DNS answer
cannot redirect the connection. Redirects are followed here, one hop at a time (at most
`MAX_REDIRECTS`), each hop a new request that the transport vets again; a hop to a non-http(s) URL is
refused. `allow_hosts` exempts exact `host:port` pairs (tests fetch from loopback servers). The body
is read up to `max_bytes` and the whole fetch is under `timeout_s`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urljoin

import httpx

from clawbus.agent.models.base import Json, ToolSpec
from clawbus.agent.tools.base import Tool
from clawbus.agent.tools.web_guard import check_public, hostport
from clawbus.bus.errors import PermanentError

__all__ = ["MAX_REDIRECTS", "check_public", "fetch_text", "html_to_text", "web_fetch_tool"]

MAX_REDIRECTS = 5
_TAGS = re.compile(r"<(script|style)[^>]*>.*?</\1>|<[^>]+>", re.S | re.I)
_SPACE = re.compile(r"[ \t]+")
_BLANKS = re.compile(r"\n\s*\n+")


def html_to_text(html: str) -> str:
    """Visible text of an HTML page, roughly: tags, scripts and styles removed, blank runs collapsed."""
    text = _TAGS.sub(" ", html)
    text = text.replace("&nbsp;", " ").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    return _BLANKS.sub("\n\n", _SPACE.sub(" ", text)).strip()


async def fetch_text(client: httpx.AsyncClient, url: str, *, max_bytes: int) -> str:
    """The page's text (HTML reduced to text), following at most 5 redirects, each hop vetted."""
    for _hop in range(MAX_REDIRECTS + 1):
        hostport(url)  # http(s) only; the address is vetted when the transport connects
        async with client.stream("GET", url, follow_redirects=False) as response:
            if response.is_redirect and "location" in response.headers:
                url = urljoin(url, response.headers["location"])
                continue
            if response.status_code >= 400:
                raise PermanentError(f"GET {url[:200]} answered HTTP {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body.extend(chunk)
                if len(body) > max_bytes:
                    break
            text = bytes(body[:max_bytes]).decode(response.encoding or "utf-8", errors="replace")
            if "html" in response.headers.get("content-type", ""):
                text = html_to_text(text)
            return text + (f"\n[… cut at {max_bytes} bytes]" if len(body) > max_bytes else "")
    raise PermanentError(f"more than {MAX_REDIRECTS} redirects")


def web_fetch_tool(client: httpx.AsyncClient, *, max_bytes: int, timeout_s: float) -> Tool:
    """The `web_fetch` tool on `client`, which must send through a `PublicTransport`."""

    async def run(args: Mapping[str, Json]) -> str:
        url = args.get("url")
        if not isinstance(url, str):
            raise PermanentError("argument 'url' must be a string")
        return await fetch_text(client, url, max_bytes=max_bytes)

    spec = ToolSpec(
        "web_fetch",
        "Fetch a public web page (http/https) and return its text.",
        {"type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"]},
    )
    return Tool(spec, run, timeout_s=timeout_s)
