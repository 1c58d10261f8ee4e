"""The WebChat page, driven in headless Chromium (Debian's package) through Playwright."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Pipeline
from tests.helpers import chromium_page

pytestmark = pytest.mark.browser


async def test_a_message_typed_in_webchat_is_answered_on_the_page(pipeline: Pipeline) -> None:
    from playwright.async_api import expect

    async with chromium_page() as page:
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
        await expect(agent.nth(0)).to_have_text(
            "(native · offline echo · turn 1) You said: hello from the browser"
        )
        await expect(agent.nth(1)).to_have_text(
            "(native · offline echo · turn 2) You said: and a second line"
        )
        await expect(page.locator(".msg.user")).to_have_count(2)

        await page.reload()  # later visits need no token in the URL: the cookie signs them in
        await expect(page.locator("#status")).to_contain_text("connected", timeout=15_000)


async def test_webchat_opened_without_the_token_is_locked_and_says_how_to_get_in(pipeline: Pipeline) -> None:
    from playwright.async_api import expect

    async with chromium_page() as page:
        await page.goto(f"{pipeline.ingress_url}/#token=guessed-{pipeline.webchat_token[:8]}")
        await expect(page.locator("#status")).to_have_text("locked", timeout=15_000)
        await expect(page.locator(".msg.note")).to_contain_text("clawbus up")
        await page.goto(pipeline.ingress_url + "/")
        await expect(page.locator("#status")).to_have_text("locked", timeout=15_000)
        await page.fill("#text", "let me in")
        await page.click("#send")
        await expect(page.locator(".msg.note").last).to_contain_text("the URL 'clawbus up' printed")
        assert await page.context.cookies() == []


async def test_a_message_sent_while_ingress_restarts_is_resent_until_it_is_taken_and_answered_once(
    pipeline: Pipeline,
) -> None:
    """The page keeps resending (same client message id) for about 20 s, as long as a restart of
    ingress takes, instead of giving up after a second and a half."""
    from playwright.async_api import Route, expect

    refused: list[str] = []

    async def down_for_a_while(route: Route) -> None:
        if len(refused) < 4:  # four attempts (0.5 + 1 + 2 + 4 s of backoff) find nothing listening
            refused.append(route.request.post_data or "")
            await route.abort("connectionrefused")
        else:
            await route.continue_()

    async with chromium_page() as page:
        await page.goto(f"{pipeline.ingress_url}/#token={pipeline.webchat_token}")
        await expect(page.locator("#status")).to_contain_text("connected", timeout=15_000)
        await page.route("**/webchat/api/messages", down_for_a_while)
        await page.fill("#text", "are you back")
        await page.click("#send")
        agent = page.locator(".msg.agent")
        await expect(agent).to_have_count(1, timeout=45_000)
        await expect(agent.nth(0)).to_contain_text("You said: are you back")
        await expect(page.locator(".msg.note")).to_have_count(0)
        assert len(refused) == 4
        assert len(set(refused)) == 1  # one message, resent as it was


async def test_a_file_attached_in_the_page_reaches_the_agent_which_names_it(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    invoice = tmp_path / "invoice.pdf"
    invoice.write_bytes(
        (Path(__file__).resolve().parent.parent / "fixtures" / "media" / "invoice.pdf").read_bytes()
    )
    async with chromium_page() as page:
        await page.goto(f"{pipeline.ingress_url}/#token={pipeline.webchat_token}")
        await expect(page.locator("#status")).to_contain_text("connected", timeout=15_000)
        await page.set_input_files("#file", str(invoice))  # what the 📎 button's file picker fills
        await expect(page.locator("#files")).to_have_text("📎 invoice.pdf")
        await page.fill("#text", "my invoice")
        await page.click("#send")
        await expect(page.locator(".msg.user")).to_have_text("my invoice\n📎 invoice.pdf")
        await expect(page.locator("#files")).to_have_text("")
        agent = page.locator(".msg.agent")
        await expect(agent).to_have_count(1, timeout=30_000)
        await expect(agent.nth(0)).to_have_text(
            "(native · offline echo · turn 1) You said: my invoice "
            "You sent: application/pdf, 1 KB, 'invoice.pdf'"
        )

        await page.set_input_files("#file", str(invoice))  # a file alone, no text: a message too
        await page.click("#send")
        await expect(agent).to_have_count(2, timeout=30_000)
        await expect(agent.nth(1)).to_have_text(
            "(native · offline echo · turn 2) You sent: application/pdf, 1 KB, 'invoice.pdf'"
        )
