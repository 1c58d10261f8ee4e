"""Bad input at the edges: hypothesis-generated bodies and headers against every webhook route, WebChat
and the agent's `/invocations`, all real processes. Never a 5xx, never a crash (`/healthz` and `/ping`
answer after), and nothing enqueued from a request that is not signed right."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clawbus.bus.topology import inbound_queue_name
from clawbus.ingress.webhooks import routes
from tests.chaos.traffic import CHANNEL_ENV, SHORT, WA_VERIFY, signed
from tests.conftest import Bus, make_bus
from tests.helpers import free_port, stage, stage_supervisor

ROUTES = routes()

pytestmark = pytest.mark.chaos

EXAMPLES = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

SIGNATURE_HEADERS = [
    "x-telegram-bot-api-secret-token",
    "x-slack-signature",
    "x-slack-request-timestamp",
    "x-slack-retry-num",
    "x-signature-ed25519",
    "x-signature-timestamp",
    "x-hub-signature-256",
]


WEBCHAT_TOKEN = "fuzz-webchat-token-0123456789abcdef"  # past the 401, so the bodies reach the parser


@dataclass
class Edges:
    """Ingress (every channel) and the agent, with no dispatcher: the inbound queue keeps what lands."""

    bus: Bus
    ingress: str
    agent: str

    def inbound_depth(self) -> int:
        sqs = self.bus.client("sqs")
        got = sqs.get_queue_attributes(
            QueueUrl=self.bus.queue_url(inbound_queue_name(self.bus.prefix)),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(got["ApproximateNumberOfMessages"]) + int(got["ApproximateNumberOfMessagesNotVisible"])

    def alive(self) -> None:
        assert httpx.get(f"{self.ingress}/healthz", timeout=5).status_code == 200
        assert httpx.get(f"{self.agent}/ping", timeout=5).status_code == 200


@pytest.fixture(scope="module")
def edges(aws_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edges]:
    bus = make_bus(aws_endpoint)
    ingress_port, agent_port = free_port(), free_port()
    env = {
        **bus.env,
        **CHANNEL_ENV,
        "CLAWBUS_INGRESS__PORT": str(ingress_port),
        "CLAWBUS_AGENT__PORT": str(agent_port),
        "CLAWBUS_WEBCHAT__TOKEN": WEBCHAT_TOKEN,
    }
    log_dir: Path = tmp_path_factory.mktemp("edges") / "logs"
    supervisor = stage_supervisor(log_dir, env)
    supervisor.start_all(
        [stage("ingress", "ingress.started", "ingress"), stage("agent", "agent.started", "agent")]
    )
    yield Edges(bus, f"http://127.0.0.1:{ingress_port}", f"http://127.0.0.1:{agent_port}")
    codes = supervisor.stop_all()
    assert all(code == 0 for _, code in codes), f"{codes}; logs in {log_dir}"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)


def any_body(shaped: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[bytes]:
    """Random JSON, random bytes, or an object of roughly the expected shape with wrong values."""
    encoded = (json_values | shaped).map(lambda v: json.dumps(v).encode())
    return encoded | st.binary(max_size=200)


huge = st.sampled_from(["x" * 200_000, "9" * 5_000, "\u202e" * 10_000, "\x00" * 1000])


def _mutate(payload: Any, path: list[int], value: Any) -> Any:
    """Replace one field somewhere in `payload` (chosen by `path`) with `value`: wrong types, huge ones."""
    if not path or not isinstance(payload, (dict, list)) or not payload:
        return value
    keys = list(payload) if isinstance(payload, dict) else list(range(len(payload)))
    key = keys[path[0] % len(keys)]
    copy = dict(payload) if isinstance(payload, dict) else list(payload)
    copy[key] = _mutate(copy[key], path[1:], value)  # type: ignore[index]
    return copy


@st.composite
def bodies(draw: st.DrawFn, channel: str) -> bytes:
    """Random JSON, broken UTF-8, or a real payload of `channel` with one field made wrong."""
    kind = draw(st.sampled_from(["json", "bytes", "mutated", "real", "deep"]))
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    if kind == "deep":  # nesting deeper than any parser's recursion limit, well under the size limit
        depth = draw(st.sampled_from([1_000, 50_000, 200_000]))
        opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
        return opener * depth + closer * depth
    if kind == "bytes":
        return draw(st.binary(max_size=300)) + b"\xff\xfe\xc3"
    real = json.loads(signed(f"{SHORT[channel]}1", draw(st.integers(0, 10**5)), "hi").body)
    if kind == "real":
        return json.dumps(real).encode()
    value = draw(json_values | huge)
    return json.dumps(
        _mutate(real, draw(st.lists(st.integers(0, 20), min_size=1, max_size=6)), value)
    ).encode()


header_values = st.text(max_size=80) | st.sampled_from(
    ["", "sha256=", "v0=", "0" * 128, "-1", "99999999999999"]
)


@st.composite
def unsigned_headers(draw: st.DrawFn) -> dict[str, str]:
    """Headers with no, or made-up, signatures (never a valid one)."""
    names = draw(st.lists(st.sampled_from(SIGNATURE_HEADERS), max_size=4, unique=True))
    headers = {name: draw(header_values) for name in names}
    headers["content-type"] = draw(
        st.sampled_from(["application/json", "text/plain", "", "application/x-www-form-urlencoded"])
    )
    return {k: v for k, v in headers.items() if _sendable(v)}


def _sendable(value: str) -> bool:
    """Whether an HTTP client can put this header value on the wire at all (latin-1, no edge spaces)."""
    return value.isascii() and value.isprintable() and value == value.strip()


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    return httpx.post(url, content=body, headers=headers, timeout=30).status_code


@pytest.mark.parametrize("channel", list(ROUTES))
def test_unsigned_or_badly_signed_webhooks_are_refused_with_a_4xx_and_never_enqueued(
    edges: Edges, channel: str
) -> None:
    before = edges.inbound_depth()

    @EXAMPLES
    @given(body=bodies(channel), headers=unsigned_headers())
    def check(body: bytes, headers: dict[str, str]) -> None:
        status = _post(f"{edges.ingress}{ROUTES[channel]}", body, headers)
        assert 400 <= status < 500, status

    check()
    edges.alive()
    assert edges.inbound_depth() == before


@pytest.mark.parametrize("channel", list(ROUTES))
def test_signed_garbage_is_never_a_5xx(edges: Edges, channel: str) -> None:
    @EXAMPLES
    @given(body=bodies(channel), retry=st.none() | st.integers(1, 3))
    def check(body: bytes, retry: int | None) -> None:
        real = signed(f"{SHORT[channel]}1", 0, "hi", retry_num=retry)
        headers = _resign(channel, body, real.headers)
        status = _post(f"{edges.ingress}{ROUTES[channel]}", body, headers)
        assert status < 500, status

    check()
    edges.alive()


def _resign(channel: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
    from clawbus.channels.discord.inbound import signed_headers as discord_headers
    from clawbus.channels.slack.inbound import signed_headers as slack_headers
    from clawbus.channels.whatsapp.inbound import signed_headers as whatsapp_headers
    from tests.chaos.traffic import DISCORD_KEY, SLACK_SECRET, WA_SECRET

    now = int(time.time())
    if channel == "slack":
        if not _is_utf8(body):  # Slack signs text; slack_sdk cannot even compute it for other bytes
            return {**headers, "x-slack-request-timestamp": str(now)}
        return slack_headers(SLACK_SECRET, body, now, int(headers.get("x-slack-retry-num", "0")) or None)
    if channel == "discord":
        return discord_headers(DISCORD_KEY, body, now)
    if channel == "whatsapp":
        return whatsapp_headers(WA_SECRET, body)
    return headers


def test_whatsapp_verification_gets_with_any_query_are_never_a_5xx(edges: Edges) -> None:
    before = edges.inbound_depth()

    @EXAMPLES
    @given(
        params=st.dictionaries(
            st.sampled_from(["hub.mode", "hub.verify_token", "hub.challenge", "x"]),
            st.text(max_size=40) | st.just(WA_VERIFY) | st.just("subscribe"),
        )
    )
    def check(params: dict[str, str]) -> None:
        response = httpx.get(f"{edges.ingress}/webhooks/whatsapp", params=params, timeout=30)
        assert response.status_code < 500, response.status_code

    check()
    edges.alive()
    assert edges.inbound_depth() == before


def test_webchat_posts_of_any_shape_are_never_a_5xx(edges: Edges) -> None:
    @EXAMPLES
    @given(
        body=any_body(
            st.fixed_dictionaries(
                {
                    "conversation": st.text(max_size=70) | json_values,
                    "text": st.text(max_size=100) | json_values | huge,
                },
                optional={"client_message_id": st.text(max_size=80) | json_values},
            )
        ),
        content_type=st.sampled_from(["application/json", "text/plain", "application/json; charset=latin-1"]),
    )
    def check(body: bytes, content_type: str) -> None:
        headers = {"content-type": content_type, "authorization": f"Bearer {WEBCHAT_TOKEN}"}
        status = _post(f"{edges.ingress}/webchat/api/messages", body, headers)
        assert status < 500, status

    check()
    edges.alive()


def test_agent_invocations_of_any_shape_are_never_a_5xx(edges: Edges) -> None:
    @EXAMPLES
    @given(
        body=any_body(
            st.fixed_dictionaries(
                {
                    "schema_version": st.just(1) | json_values,
                    "reply_id": st.text(max_size=40) | json_values,
                    "session_key": st.text(max_size=40) | json_values,
                    "events": st.lists(json_values, max_size=3) | json_values,
                }
            )
        ),
        headers=st.dictionaries(
            st.sampled_from(
                ["content-type", "accept", "x-amzn-bedrock-agentcore-runtime-session-id", "traceparent"]
            ),
            st.text(max_size=60).filter(_sendable),
        ),
    )
    def check(body: bytes, headers: dict[str, str]) -> None:
        status = _post(f"{edges.agent}/invocations", body, headers)
        assert status < 500, status

    check()
    edges.alive()


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
