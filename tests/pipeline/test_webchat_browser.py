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
            # The URL `clawbus up` prints: the token in the fragment, traded for a cookie, then dropped.
            await page.goto(f"{pipeline.ingress_url}/#token={pipeline.webchat_token}")
            await expect(page.locator("#status")).to_contain_text("connected", timeout=15_000)
            assert page.url == pipeline.ingress_url + "/"
            [cookie] = await page.context.cookies()
            assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"]) == (
                "clawbus_webchat",
                True,
                "Strict",
            )
            assert await page.evaluate("document.cookie") == ""  # no script on the page can read it
            for text in ("hello from the browser", "and a second line"):
                await page.fill("#text", text)
                await page.click("#send")
            agent = page.locator(".msg.agent")
            await expect(agent).to_have_count(2, timeout=30_000)
            await expect(agent.nth(0)).to_have_text("(offline echo model) You said: hello from the browser")
            await expect(agent.nth(1)).to_have_text("(offline echo model) You said: and a second line")
            await expect(page.locator(".msg.user")).to_have_count(2)

            await page.reload()  # later visits need no token in the URL: the cookie signs them in
            await expect(page.locator("#status")).to_contain_text("connected", timeout=15_000)
        finally:
            await browser.close()


async def test_webchat_opened_without_the_token_is_locked_and_says_how_to_get_in(pipeline: Pipeline) -> None:
    from playwright.async_api import async_playwright, expect

    chromium = os.environ.get("CLAWBUS_CHROMIUM", "/usr/bin/chromium")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await browser.new_page()
            await page.goto(f"{pipeline.ingress_url}/#token=guessed-{pipeline.webchat_token[:8]}")
            await expect(page.locator("#status")).to_have_text("locked", timeout=15_000)
            await expect(page.locator(".msg.note")).to_contain_text("clawbus up")
            await page.goto(pipeline.ingress_url + "/")
            await expect(page.locator("#status")).to_have_text("locked", timeout=15_000)
            await page.fill("#text", "let me in")
            await page.click("#send")
            await expect(page.locator(".msg.note").last).to_contain_text("the URL 'clawbus up' printed")
            assert await page.context.cookies() == []
        finally:
            await browser.close()
