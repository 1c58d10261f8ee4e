"""`clawbus dashboard` in headless Chromium: its charts show a queue filling and draining."""

from __future__ import annotations

import re

import pytest

from clawbus.bus.topology import inbound_queue_name
from tests.conftest import Bus
from tests.helpers import chromium_page

pytestmark = pytest.mark.browser

FILL = 6


def _values(attribute: str | None) -> list[int]:
    return [int(v) for v in (attribute or "").split(",") if v]


async def test_the_inbound_chart_shows_the_queue_filling_then_draining(bus: Bus, dashboard_url: str) -> None:
    from playwright.async_api import expect

    sqs = bus.client("sqs")
    url = bus.queue_url(inbound_queue_name(bus.prefix))
    async with chromium_page() as page:
        await page.goto(dashboard_url)
        await expect(page.locator("#status")).to_contain_text("live", timeout=15_000)
        visible = page.locator('#chart-inbound polyline[data-series="visible"]')

        for i in range(FILL):
            sqs.send_message(
                QueueUrl=url, MessageBody="{}", MessageGroupId=f"g{i}", MessageDeduplicationId=f"m{i}"
            )
        await expect(visible).to_have_attribute("data-values", re.compile(rf"(^|,){FILL}$"), timeout=15_000)

        drained = 0
        while drained < FILL:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            for message in got:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            drained += len(got)
        await expect(visible).to_have_attribute(
            "data-values", re.compile(rf",{FILL}(,\d+)*,0$"), timeout=15_000
        )

        values = _values(await visible.get_attribute("data-values"))
        assert max(values) == FILL
        assert values[-1] == 0
        assert values.index(FILL) < len(values) - 1  # the peak came before the drain, on one line
        points = (await visible.get_attribute("points")) or ""
        assert len(points.split()) == len(values)  # drawn, one point per sample
        await expect(page.locator("#chart-inbound .legend")).to_contain_text("visible: 0")
        await expect(page.locator("#chart-dlq polyline")).to_have_count(6)
