"""Browser pages on Playwright (async API): the page wrapper, the per-session pool, local Chromium.

`PagePool` opens its browser on first use (so a runtime that never browses never starts Chromium or
an AWS session), gives each session a browser context of its own with one page in it (cookies, storage
and cache are not shared between sessions; at most `max_pages` contexts, the least recently used closed
first) and closes everything when its block ends. How the browser is reached is a `Connect`, which
answers how to open a fresh context: `local_chromium` launches Debian's Chromium headless;
`browser_agentcore.agentcore_browser` connects over CDP to an AgentCore Browser session.

Local Chromium reaches the network only through `browser_proxy.GuardProxy`, which resolves each host
once, refuses it unless every address is public (or `host:port` is in `allow_hosts`) and connects to
the vetted address: subresources, fetch/XHR, link clicks, form posts, WebSockets and every redirect hop
included, and Chromium never resolves a name itself. Each context also routes every request through
`check_public` (`context.route`), which aborts a non-public request before it leaves the page
(`net::ERR_BLOCKED_BY_CLIENT`); redirect hops are not routed by Playwright, the proxy catches those.
Service workers are blocked, so every request a page makes is one the route sees.

Playwright's errors are translated once, in `_mapped`: its timeouts become `DeadlineExceeded`, the
rest `PermanentError` with the first line of its message (not its call log).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from typing import Any

from clawbus.agent.tools.browser import Browser
from clawbus.agent.tools.browser_proxy import GuardProxy
from clawbus.agent.tools.web_guard import SYSTEM_RESOLVER, Resolver, check_public
from clawbus.bus.errors import ClawbusError, DeadlineExceeded, PermanentError

CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
MAX_SNAPSHOT_CHARS = 40_000
_REF = re.compile(r"e\d+")

# Opens a fresh browser context (one per session).
NewContext = Callable[[], Awaitable[Any]]
# Opens a browser on the Playwright instance, registers its cleanup on the stack, answers a NewContext.
Connect = Callable[[Any, AsyncExitStack], Awaitable[NewContext]]


@contextlib.contextmanager
def _mapped(action: str) -> Iterator[None]:
    from playwright.async_api import Error, TimeoutError  # Playwright's own names

    try:
        yield
    except TimeoutError as exc:
        raise DeadlineExceeded(f"browser {action}: {str(exc).splitlines()[0]}") from exc
    except Error as exc:
        raise PermanentError(f"browser {action}: {(str(exc).splitlines() or ['failed'])[0]}") from exc


class PlaywrightPage:
    """A `Browser` on one Playwright page, alone in its browser context."""

    def __init__(self, page: Any, context: Any) -> None:
        self._page = page
        self._context = context

    def _locator(self, target: str) -> Any:
        return self._page.locator(f"aria-ref={target}" if _REF.fullmatch(target) else target)

    async def navigate(self, url: str) -> str:
        """Go to `url` and wait for its load event; its title and final URL."""
        with _mapped("navigate"):
            await self._page.goto(url)
            return f"{await self._page.title()!r} at {self._page.url}"

    async def snapshot(self) -> str:
        """The accessibility tree in Playwright's "ai" mode (YAML-like, with `[ref=eN]`)."""
        with _mapped("snapshot"):
            tree = str(await self._page.aria_snapshot(mode="ai"))
        head = f"page: {await self._page.title()!r} at {self._page.url}\n"
        if len(tree) > MAX_SNAPSHOT_CHARS:
            tree = tree[:MAX_SNAPSHOT_CHARS] + f"\n[… snapshot cut at {MAX_SNAPSHOT_CHARS} characters]"
        return head + tree

    async def click(self, target: str) -> None:
        """Click the element (a ref from the latest snapshot, or a selector)."""
        with _mapped("click"):
            await self._locator(target).click()

    async def type(self, target: str, text: str, *, submit: bool = False) -> None:
        """Fill the field, then press Enter when `submit`."""
        with _mapped("type"):
            field = self._locator(target)
            await field.fill(text)
            if submit:
                await field.press("Enter")

    async def screenshot(self) -> bytes:
        """The viewport as PNG."""
        with _mapped("screenshot"):
            return bytes(await self._page.screenshot(type="png"))

    async def close(self) -> None:
        """Close the page's context (its cookies and storage go with it)."""
        with _mapped("close"):
            await self._context.close()


class PagePool:
    """Pages by session on one browser, each in its own context, opened on first use; use as `async with`."""

    def __init__(self, connect: Connect, *, timeout_s: float, max_pages: int = 4) -> None:
        self._connect = connect
        self._timeout_ms = timeout_s * 1000
        self._max_pages = max_pages
        self._stack = AsyncExitStack()
        self._new_context: NewContext | None = None
        self._pages: OrderedDict[str, PlaywrightPage] = OrderedDict()
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> PagePool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.shield(self._stack.aclose())

    async def page(self, session: str) -> Browser:
        """The session's page (opening the browser and the page as needed)."""
        async with self._lock:
            if session in self._pages:
                self._pages.move_to_end(session)
                return self._pages[session]
            if self._new_context is None:
                self._new_context = await self._open()
            while len(self._pages) >= self._max_pages:
                _old, oldest = self._pages.popitem(last=False)
                with contextlib.suppress(ClawbusError):  # a crashed page is gone anyway
                    await oldest.close()
            with _mapped("new page"):
                context = await self._new_context()
                try:
                    raw = await context.new_page()
                except BaseException:
                    with contextlib.suppress(Exception):
                        await context.close()
                    raise
            raw.set_default_timeout(self._timeout_ms)
            raw.set_default_navigation_timeout(self._timeout_ms)
            self._pages[session] = PlaywrightPage(raw, context)
            return self._pages[session]

    async def _open(self) -> NewContext:
        from playwright.async_api import async_playwright

        try:
            with _mapped("start"):
                playwright = await self._stack.enter_async_context(async_playwright())
                return await self._connect(playwright, self._stack)
        except ClawbusError:
            await self._stack.aclose()  # a later call starts over
            self._stack = AsyncExitStack()
            raise


def local_chromium(
    executable: str, allow_hosts: frozenset[str], resolver: Resolver = SYSTEM_RESOLVER
) -> Connect:
    """Launch Chromium headless at `executable`, its traffic through a `GuardProxy`, requests routed."""

    async def guard(route: Any) -> None:
        try:
            await check_public(route.request.url, allow_hosts, resolver)
        except PermanentError:
            await route.abort("blockedbyclient")
        else:
            await route.continue_()

    async def connect(playwright: Any, stack: AsyncExitStack) -> NewContext:
        proxy = await stack.enter_async_context(GuardProxy(allow_hosts, resolver))
        browser = await playwright.chromium.launch(
            executable_path=executable,
            args=list(CHROMIUM_ARGS),
            headless=True,
            # Everything through the proxy, loopback included (Chromium bypasses loopback by default).
            proxy={"server": proxy.url, "bypass": "<-loopback>"},
        )
        stack.push_async_callback(browser.close)

        async def new_context() -> Any:
            context = await browser.new_context(service_workers="block")
            await context.route("**/*", guard)
            return context

        return new_context

    return connect
