"""`browser`: drive a real browser — navigate, snapshot (accessible text), click, type, screenshot.

One tool with an `action`, as OpenClaw's browser tool has. Each runtime session gets a page of its
own (`TOOL_SESSION`), from a `Pages` pool: a local headless Chromium or an Amazon Bedrock AgentCore
Browser session (`browser_playwright.py`, `browser_agentcore.py`).

- `navigate` follows `web_fetch`'s rule (`check_public`): only http(s), only public addresses, unless
  `allow_hosts` names the exact `host:port`. That is the first check, for a clear error; with the
  local backend every request and redirect hop the page makes is vetted again where it connects
  (`browser_playwright.py`, `browser_proxy.py`).
- `snapshot` answers the page's accessibility tree as text, each element with a ref (`[ref=e5]`) that
  `click` and `type` accept, as well as CSS selectors.
- `screenshot` stores a PNG in the workspace as `screenshots/<name>.png` and answers its path (tool
  results are text).

Each action runs under the pool's timeout; its failures come back to the model as tool errors.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Protocol

from clawbus.agent.models.base import Json, ToolSpec
from clawbus.agent.tools.base import TOOL_SESSION, Tool
from clawbus.agent.tools.web_guard import check_public
from clawbus.bus.errors import PermanentError

ACTIONS = ("navigate", "snapshot", "click", "type", "screenshot")
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


class Browser(Protocol):
    """One page of a browser; targets are snapshot refs (`e5`) or CSS selectors."""

    async def navigate(self, url: str) -> str:
        """Go to `url`; the page's title and final URL."""
        ...

    async def snapshot(self) -> str:
        """The page's accessible text, with element refs."""
        ...

    async def click(self, target: str) -> None:
        """Click the element."""
        ...

    async def type(self, target: str, text: str, *, submit: bool = False) -> None:
        """Fill the field with `text` (then press Enter when `submit`)."""
        ...

    async def screenshot(self) -> bytes:
        """The visible page as PNG."""
        ...


class Pages(Protocol):
    """Where pages come from: one per session, opened on first use."""

    async def page(self, session: str) -> Browser:
        """The session's page."""
        ...


class BinaryStore(Protocol):
    """Where screenshots go (the workspace store's binary write)."""

    async def write_bytes(self, path: str, data: bytes, *, content_type: str) -> str:
        """Store `data` at `path`."""
        ...


def _arg(args: Mapping[str, Json], key: str) -> str:
    value = args.get(key)
    if not isinstance(value, str) or not value:
        raise PermanentError(f"the browser's {args.get('action')!r} action needs a string {key!r}")
    return value


def screenshot_path(name: object) -> str:
    """`screenshots/<name>.png` for a safe `name` (letters, digits, `_`, `-`), or a fresh random name."""
    if name is None:
        return f"screenshots/shot-{secrets.token_hex(4)}.png"
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise PermanentError("screenshot 'name' must be 1-64 letters, digits, '_' or '-'")
    return f"screenshots/{name}.png"


async def run_action(
    args: Mapping[str, Json], page: Browser, store: BinaryStore, allow_hosts: frozenset[str]
) -> str:
    """Do one browser action on `page`; the text the model sees."""
    action = args.get("action")
    if action == "navigate":
        url = _arg(args, "url")
        await check_public(url, allow_hosts)
        return await page.navigate(url)
    if action == "snapshot":
        return await page.snapshot()
    if action == "click":
        target = _arg(args, "target")
        await page.click(target)
        return f"clicked {target}"
    if action == "type":
        target, text = _arg(args, "target"), _arg(args, "text")
        await page.type(target, text, submit=args.get("submit") is True)
        return f"typed {len(text)} characters into {target}"
    if action == "screenshot":
        path = screenshot_path(args.get("name"))
        await store.write_bytes(path, await page.screenshot(), content_type="image/png")
        return f"saved a screenshot of the page to the workspace as {path}"
    raise PermanentError(f"unknown browser action {action!r}; use one of {', '.join(ACTIONS)}")


def browser_tool(pages: Pages, store: BinaryStore, *, timeout_s: float, allow_hosts: frozenset[str]) -> Tool:
    """The `browser` tool over `pages`; the tool's own deadline leaves room for the page's timeouts."""

    async def run(args: Mapping[str, Json]) -> str:
        return await run_action(args, await pages.page(TOOL_SESSION.get()), store, allow_hosts)

    text = {"type": "string"}
    spec = ToolSpec(
        "browser",
        "Use a web browser. Actions: navigate (url), snapshot (the page's accessible text, elements "
        "marked [ref=eN]), click (target: a ref like e5 or a CSS selector), type (target, text, "
        "optional submit to press Enter), screenshot (optional name; saved to the workspace as "
        "screenshots/<name>.png). Take a new snapshot after the page changes: refs are from the latest.",
        {
            "type": "object",
            "properties": {
                "action": {"type": "string", "enum": list(ACTIONS)},
                "url": text,
                "target": text,
                "text": text,
                "submit": {"type": "boolean"},
                "name": text,
            },
            "required": ["action"],
        },
    )
    # Startup (launching Chromium, starting an AgentCore session) shares the deadline: give it room.
    return Tool(spec, run, timeout_s=timeout_s * 2 + 5)
