"""WebChat is the owner's: real `clawbus ingress` processes on the loopback AWS API, met as a stranger,
as a page on another site, and as the owner holding the run's token.

Five ingresses share one bus: `a` and `b` hold different tokens (as before and after a rotation), `off`
has WebChat disabled, `locked` has no token at all, and `quiet` has WebChat's DM policy `disabled`.
Replies are stored the way egress stores them (`WebchatHistory.append`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from clawbus.bus.topology import inbound_queue_name, webchat_table_name
from clawbus.storage.webchat import WebchatHistory, WebchatPart
from tests.conftest import Bus, make_bus
from tests.helpers import drain_queue, eventually, free_port, stage, stage_supervisor

TOKEN_A = "token-a-0123456789abcdefghijklmnopqrstuv"
TOKEN_B = "token-b-0123456789abcdefghijklmnopqrstuv"
ALLOWED = "chat.example.test"
NAMES = ("a", "b", "off", "locked", "quiet")


@dataclass
class Ingresses:
    bus: Bus
    urls: dict[str, str]
    log_dir: Any

    def client(self, name: str, token: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.urls[name], headers=headers, timeout=30, **kwargs)

    def inbound(self, expect: int = 0, timeout: float = 3) -> list[dict[str, Any]]:
        url = self.bus.queue_url(inbound_queue_name(self.bus.prefix))
        return drain_queue(self.bus.client("sqs"), url, expect, timeout, mid_turn_copies=False)

    async def deliver(self, conversation: str, text: str, in_reply_to: str) -> None:
        """Store a reply part as the WebChat egress worker does."""
        async with self.bus.aio("dynamodb") as dynamodb:
            history = WebchatHistory.on_dynamodb(dynamodb, webchat_table_name(self.bus.prefix))
            seq = f"{time.time_ns():020d}#r-{in_reply_to}#0000"
            part = WebchatPart(conversation, seq, f"r-{in_reply_to}", (in_reply_to,), text)
            await history.append(part, int(time.time()) + 3600)


@pytest.fixture(scope="module")
def ingresses(aws_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ingresses]:
    bus = make_bus(aws_endpoint)
    ports = {name: free_port() for name in NAMES}
    own: dict[str, dict[str, str]] = {
        "a": {
            "CLAWBUS_WEBCHAT__TOKEN": TOKEN_A,
            "CLAWBUS_INGRESS__WEBCHAT_POLLS_PER_CLIENT": "2",
            "CLAWBUS_INGRESS__WEBCHAT_POLLS_MAX": "3",
            "CLAWBUS_INGRESS__ALLOWED_HOSTS": f'["{ALLOWED}"]',
        },
        "b": {"CLAWBUS_WEBCHAT__TOKEN": TOKEN_B},
        "off": {"CLAWBUS_WEBCHAT__TOKEN": TOKEN_A, "CLAWBUS_WEBCHAT__ENABLED": "false"},
        "locked": {},
        "quiet": {"CLAWBUS_WEBCHAT__TOKEN": TOKEN_A, "CLAWBUS_WEBCHAT__DM_POLICY": "disabled"},
    }
    log_dir = tmp_path_factory.mktemp("webchat-access") / "logs"
    supervisor = stage_supervisor(log_dir, {**bus.env, "CLAWBUS_SESSION__DM_SCOPE": "per-channel-peer"})
    supervisor.start_all(
        [
            stage(name, "ingress.started", "ingress", env={**own[name], "CLAWBUS_INGRESS__PORT": str(port)})
            for name, port in ports.items()
        ]
    )
    yield Ingresses(bus, {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}, log_dir)
    codes = supervisor.stop_all()
    assert all(code == 0 for _, code in codes), f"{codes}; logs in {log_dir}"


def _post(conversation: str, text: str = "hi") -> dict[str, str]:
    return {"conversation": conversation, "text": text}


async def test_without_the_token_webchat_and_the_dashboard_are_401_saying_how_to_get_in(
    ingresses: Ingresses,
) -> None:
    for token, cookie in ((None, None), ("not-the-token", None), (None, "not-the-token"), (TOKEN_B, None)):
        cookies = {"clawbus_webchat": cookie} if cookie else None
        async with ingresses.client("a", token, cookies=cookies) as stranger:
            answers = [
                await stranger.post("/webchat/api/messages", json=_post("mine")),
                await stranger.post("/webchat/api/uploads", content=b"%PDF-1.4 a file"),  # issue 20
                await stranger.get("/webchat/api/conversations/mine/messages", params={"wait": 1}),
                await stranger.get("/dashboard"),
                await stranger.get("/dashboard/api/series"),
                await stranger.post("/webchat/api/session"),
            ]
            for answer in answers:
                assert answer.status_code == 401, (answer.request.url, token, cookie)
                assert "the URL 'clawbus up' printed" in answer.json()["error"]
            # What platforms and health checks reach stays as it was.
            assert (await stranger.get("/healthz")).status_code == 200
            assert (await stranger.post("/webhooks/telegram", content=b"{}")).status_code == 404
    assert ingresses.inbound() == []  # nothing a stranger sent reached the agent


async def test_the_owner_gets_in_with_the_token_as_bearer_or_as_the_pages_cookie(
    ingresses: Ingresses,
) -> None:
    async with ingresses.client("a", TOKEN_A) as owner:
        sent = await owner.post("/webchat/api/messages", json=_post("owned", "remember the milk"))
        assert sent.status_code == 202, sent.text
        signed_in = await owner.post("/webchat/api/session")
        assert signed_in.status_code == 204
        set_cookie = signed_in.headers["set-cookie"].lower()
        assert "httponly" in set_cookie
        assert "samesite=strict" in set_cookie
        assert (await owner.get("/dashboard/api/series")).status_code == 200
    [event] = ingresses.inbound(expect=1)
    assert (event["event_id"], event["access"]) == (sent.json()["event_id"], "owner")
    await ingresses.deliver("owned", "noted", event["event_id"])
    async with ingresses.client("a", cookies=dict(signed_in.cookies)) as page:
        read = await page.get("/webchat/api/conversations/owned/messages")
        assert read.status_code == 200, read.text
        assert [m["text"] for m in read.json()["messages"]] == ["noted"]
        assert (await page.get("/dashboard")).status_code == 200
    log = (ingresses.log_dir / "a.log").read_text()
    assert TOKEN_A not in log  # the token is never logged


async def test_a_conversation_is_readable_and_writable_only_with_the_token_that_created_it(
    ingresses: Ingresses,
) -> None:
    async with ingresses.client("a", TOKEN_A) as old, ingresses.client("b", TOKEN_B) as new:
        assert (await old.post("/webchat/api/messages", json=_post("before-rotation"))).status_code == 202
        [event] = ingresses.inbound(expect=1)
        await ingresses.deliver("before-rotation", "a private reply", event["event_id"])

        read = await new.get("/webchat/api/conversations/before-rotation/messages")
        assert read.status_code == 403
        assert "start a new conversation" in read.json()["error"]
        assert "a private reply" not in read.text
        written = await new.post("/webchat/api/messages", json=_post("before-rotation", "it's me, honest"))
        assert written.status_code == 403
        assert ingresses.inbound() == []  # the other token's message never reached the agent

        # The new token starts its own conversation; the old one cannot read that either.
        assert (await new.post("/webchat/api/messages", json=_post("after-rotation"))).status_code == 202
        assert (await old.get("/webchat/api/conversations/after-rotation/messages")).status_code == 403
        mine = await old.get("/webchat/api/conversations/before-rotation/messages")
        assert [m["text"] for m in mine.json()["messages"]] == ["a private reply"]
    ingresses.inbound(expect=1)


async def test_a_host_header_that_is_not_loopback_or_allowed_is_a_400(ingresses: Ingresses) -> None:
    port = ingresses.urls["a"].rsplit(":", 1)[1]
    async with ingresses.client("a", TOKEN_A) as owner:
        for host in ("attacker.example", f"attacker.example:{port}", f"127.0.0.1.nip.io:{port}"):
            for method, path in (
                ("GET", "/"),
                ("POST", "/webchat/api/session"),
                ("GET", "/webchat/api/conversations/rebound/messages"),
                ("GET", "/dashboard/api/series"),
            ):
                answer = await owner.request(method, path, headers={"host": host})
                assert answer.status_code == 400, (host, path)
            assert (await owner.get("/healthz", headers={"host": host})).status_code == 200
            webhook = await owner.post("/webhooks/telegram", content=b"{}", headers={"host": host})
            assert webhook.status_code == 404  # webhooks keep answering whatever name a tunnel uses
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", ALLOWED):
            answer = await owner.get("/webchat/api/conversations/rebound/messages", headers={"host": host})
            assert answer.status_code == 200, host


async def test_long_polls_are_bounded_per_client_and_in_total(ingresses: Ingresses) -> None:
    # Ingress `a` holds at most 2 polls per client (a token's conversation) and 3 in all.
    url = "/webchat/api/conversations/{}/messages"
    async with ingresses.client("a", TOKEN_A) as holder, ingresses.client("a", TOKEN_A) as prober:

        async def one_too_many(conversation: str, count: int) -> list[asyncio.Task[httpx.Response]]:
            """Open `count` long polls (20 s each) at once: exactly one is answered at once, with 429; the
            open ones."""
            polls = [
                asyncio.create_task(holder.get(url.format(conversation), params={"wait": 20}))
                for _ in range(count)
            ]
            done, pending = await asyncio.wait(polls, timeout=15, return_when=asyncio.FIRST_COMPLETED)
            [answered] = done
            refused = answered.result()
            assert refused.status_code == 429, refused.text
            assert refused.headers["retry-after"] == "1"
            assert "long polls" in refused.json()["error"]
            assert len(pending) == count - 1
            return list(pending)

        held = await one_too_many("tab", 3)  # a third on one conversation: refused at once, not held
        at_once = await prober.get(url.format("tab"), params={"wait": 0})
        assert at_once.status_code == 200  # a read that does not wait needs no slot
        held += await one_too_many("other", 2)  # another conversation's second: over the total
        assert not any(task.done() for task in held)
        for task in held:
            task.cancel()
        await asyncio.gather(*held, return_exceptions=True)
        await holder.aclose()  # the held polls' connections close, and their slots come back

        async def served() -> bool:
            answer = await prober.get(url.format("tab"), params={"wait": 0.2})
            return answer.status_code == 200

        await eventually(served, what="a poll served once the others went away")


async def test_disabled_webchat_is_a_404_on_every_route(ingresses: Ingresses) -> None:
    async with ingresses.client("off", TOKEN_A) as owner:
        for method, path in (
            ("GET", "/"),
            ("POST", "/webchat/api/session"),
            ("POST", "/webchat/api/messages"),
            ("GET", "/webchat/api/conversations/c1/messages"),
        ):
            answer = await owner.request(method, path, json=_post("c1"))
            assert answer.status_code == 404, path
            assert "CLAWBUS_WEBCHAT__ENABLED" in answer.json()["error"]


async def test_an_ingress_without_a_token_serves_no_webchat_and_says_how_to_set_one(
    ingresses: Ingresses,
) -> None:
    async with ingresses.client("locked", "any-token-at-all") as anyone:
        answer = await anyone.post("/webchat/api/messages", json=_post("c1"))
        assert answer.status_code == 401
        assert "CLAWBUS_WEBCHAT__TOKEN_FILE" in answer.json()["error"]
        assert (await anyone.get("/dashboard/api/series")).status_code == 401
    log = (ingresses.log_dir / "locked.log").read_text()
    assert '"event": "ingress.webchat.locked"' in log
    assert "CLAWBUS_WEBCHAT__TOKEN" in log


async def test_the_owners_messages_are_refused_when_webchats_dm_policy_is_disabled(
    ingresses: Ingresses,
) -> None:
    async with ingresses.client("quiet", TOKEN_A) as owner:
        answer = await owner.post("/webchat/api/messages", json=_post("c1"))
        assert answer.status_code == 403
        assert "CLAWBUS_WEBCHAT__DM_POLICY=disabled" in answer.json()["error"]
    assert ingresses.inbound() == []
