"""Which addresses the web tools may reach: public ones only, decided once per connection.

`is_public(address)` is the rule, a pure function. Python's `ipaddress.is_global` alone is not enough:
before 3.11.10/3.12.4 it calls NAT64 (`64:ff9b::/96`, `64:ff9b:1::/48`), 6to4 (`2002::/16`) and
IPv4-compatible/translated IPv6 (`::a.b.c.d`, `::ffff:0:a.b.c.d`) global, and each of those can carry
an embedded 127.0.0.1 or 169.254.169.254 that a gateway or the kernel turns back into IPv4. So those
forms are refused outright (with Teredo, `2001::/32`), an IPv4-mapped address (`::ffff:a.b.c.d`, which
the kernel connects to as plain IPv4) is judged by its IPv4, and whatever remains must be global and
not multicast.

`vetted_addresses(host, port)` resolves a host through a `Resolver` once and answers the addresses to
connect to, refusing the host when any of them is not public (a name that answers both a public and a
private address is refused: the connection might pick either). Callers connect to exactly these
addresses, never re-resolving the name (DNS rebinding: a second answer can differ from the first).
`allow_hosts` exempts exact `host:port` pairs as written in the URL (tests fetch from loopback servers).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from typing import Protocol
from urllib.parse import urlsplit

from clawbus.bus.errors import PermanentError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 forms that embed (or route to) an IPv4 address, or are not routable on the internet at all;
# refused whatever they embed. `::/96` (IPv4-compatible) also covers `::` and `::1`.
_REFUSED_V6 = tuple(
    ipaddress.IPv6Network(net)
    for net in (
        "::/96",  # IPv4-compatible (deprecated, RFC 4291)
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT, RFC 2765)
        "64:ff9b::/96",  # NAT64 well-known prefix (RFC 6052)
        "64:ff9b:1::/48",  # NAT64 local-use prefix (RFC 8215)
        "2002::/16",  # 6to4 (RFC 3056)
        "2001::/32",  # Teredo (RFC 4380)
        "3fff::/20",  # documentation (RFC 9637)
        "5f00::/16",  # SRv6 SIDs (RFC 9602)
    )
)


def is_public(address: IPAddress) -> bool:
    """Whether a connection to `address` stays on the public internet."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped)
        if any(address in net for net in _REFUSED_V6):
            return False
    return address.is_global and not address.is_multicast


class Resolver(Protocol):
    """Name resolution for the web tools (the system's by default; tests inject their own)."""

    async def resolve(self, host: str, port: int) -> Sequence[str]:
        """The addresses `host` resolves to for a TCP connection on `port`."""
        ...


class SystemResolver:
    """`getaddrinfo` on the event loop's executor."""

    async def resolve(self, host: str, port: int) -> Sequence[str]:
        """Every address getaddrinfo answers, in its order."""
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return [str(info[4][0]) for info in infos]


SYSTEM_RESOLVER = SystemResolver()


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        return None


async def vetted_addresses(
    host: str, port: int, *, allow_hosts: frozenset[str], resolver: Resolver = SYSTEM_RESOLVER
) -> list[str]:
    """The addresses to connect to for `host:port`, resolved once; refused unless every one is public."""
    bare = host.removeprefix("[").removesuffix("]")
    literal = _literal(bare)
    if literal is not None:
        answers: Sequence[str] = [str(literal)]
    else:
        try:
            answers = await resolver.resolve(bare, port)
        except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
            raise PermanentError(f"cannot resolve {bare}") from exc
        if not answers:
            raise PermanentError(f"cannot resolve {bare}")
    if f"{bare}:{port}" in allow_hosts:
        return list(answers)
    for answer in answers:
        address = ipaddress.ip_address(answer.split("%", 1)[0])  # drop an IPv6 zone (fe80::1%eth0)
        if not is_public(address):
            raise PermanentError(f"{bare} resolves to a non-public address ({address}); refusing it")
    return list(answers)


def hostport(url: str) -> tuple[str, int]:
    """The host and port an http(s) URL connects to; other schemes are refused."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise PermanentError(f"only http(s) URLs can be fetched, not {url[:100]!r}")
    try:
        port = parts.port
    except ValueError as exc:
        raise PermanentError(f"bad port in {url[:100]!r}") from exc
    return parts.hostname, port or (443 if scheme == "https" else 80)


async def check_public(url: str, allow_hosts: frozenset[str], resolver: Resolver = SYSTEM_RESOLVER) -> None:
    """Refuse `url` unless it is http(s) and every address of its host is public (or allowed).

    A check only: whoever then connects must connect to the addresses vetted here (`web_fetch`'s
    transport and the browser's proxy do), or the name may resolve differently the second time.
    """
    host, port = hostport(url)
    await vetted_addresses(host, port, allow_hosts=allow_hosts, resolver=resolver)
