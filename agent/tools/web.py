"""`web_fetch`: fetch a URL's text, capped in size and time, never from a private address.

The host is resolved first and every address it resolves to must be public: loopback, private,
link-local (cloud metadata at 169.254.169.254), multicast and reserved ranges are refused, on every
redirect hop too. `allow_hosts` exempts exact `host:port` pairs (tests fetch from a loopback server).
The body is read up to `max_bytes` and the whole fetch is under `timeout_s`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Mapping
from urllib.parse import urljoin, urlsplit

import httpx

from clawbus.bus.errors import PermanentError

from ..models.base import Json, ToolSpec
from .base import Tool

MAX_REDIRECTS = 5
_TAGS = re.compile(r"<(script|style)[^>]*>.*?</\1>|<[^>]+>", re.S | re.I)
_SPACE = re.compile(r"[ \t]+")
_BLANKS = re.compile(r"\n\s*\n+")


def _hostport(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PermanentError(f"only http(s) URLs can be fetched, not {url[:100]!r}")
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


async def check_public(url: str, allow_hosts: frozenset[str]) -> None:
    """Refuse `url` unless every address of its host is public (or `host:port` is allowed)."""
    host, port = _hostport(url)
    if f"{host}:{port}" in allow_hosts:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise PermanentError(f"cannot resolve {host}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            raise PermanentError(f"{host} resolves to a non-public address; refusing to fetch it")


def html_to_text(html: str) -> str:
    """Visible text of an HTML page, roughly: tags, scripts and styles removed, blank runs collapsed."""
    text = _TAGS.sub(" ", html)
    text = text.replace("&nbsp;", " ").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    return _BLANKS.sub("\n\n", _SPACE.sub(" ", text)).strip()


async def fetch_text(
    client: httpx.AsyncClient, url: str, *, max_bytes: int, allow_hosts: frozenset[str]
) -> str:
    """The page's text (HTML reduced to text), following at most 5 redirects, each hop checked."""
    for _hop in range(MAX_REDIRECTS + 1):
        await check_public(url, allow_hosts)
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


def web_fetch_tool(
    client: httpx.AsyncClient, *, max_bytes: int, timeout_s: float, allow_hosts: frozenset[str]
) -> Tool:
    """The `web_fetch` tool on `client`."""

    async def run(args: Mapping[str, Json]) -> str:
        url = args.get("url")
        if not isinstance(url, str):
            raise PermanentError("argument 'url' must be a string")
        return await fetch_text(client, url, max_bytes=max_bytes, allow_hosts=allow_hosts)

    spec = ToolSpec(
        "web_fetch",
        "Fetch a public web page (http/https) and return its text.",
        {"type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"]},
    )
    return Tool(spec, run, timeout_s=timeout_s)
