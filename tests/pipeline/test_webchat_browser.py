"""The WebChat page, driven in headless Chromium (Debian's package) through Playwright."""

from __future__ import annotations

import os

import pytest

from clawbus.agent.tools.browser_playwright import CHROMIUM_ARGS as BROWSER_ARGS

from ..conftest import Pipeline

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = list(BROWSER_ARGS)  # the agent's browser tool launches Chromium the same way


async def test_a_message_typed_in_webchat_is_answered_on_the_page(pipeline: Pipeline) -> None:
    from playwright.async_api import async_playwright, expect

    chromium = os.environ.get("CLAWBUS_CHROMIUM", "/usr/bin/chromium")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await browser.new_page()
            await page.goto(pipeline.ingress_url + "/")
            await expect(page.locator("#status")).to_contain_text("connected", timeout=15_000)
            for text in ("hello from the browser", "and a second line"):
                await page.fill("#text", text)
                await page.click("#send")
            agent = page.locator(".msg.agent")
            await expect(agent).to_have_count(2, timeout=30_000)
            await expect(agent.nth(0)).to_have_text("(offline echo model) You said: hello from the browser")
            await expect(agent.nth(1)).to_have_text("(offline echo model) You said: and a second line")
            await expect(page.locator(".msg.user")).to_have_count(2)
        finally:
            await browser.close()
