"""On Lambda, ingress answers every route `clawbus ingress` answers: API Gateway HTTP API v2 events in."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from clawbus.bus.topology import inbound_queue_name
from clawbus.ingress.lambda_handler import LambdaApp
from tests.conftest import Bus
from tests.ingress.test_lambda_and_dedup import settings_for

HOST = "abc123.execute-api.us-east-1.amazonaws.com"
TOKEN = "lambda-webchat-token"


def http_event(
    method: str, path: str, *, body: str = "", headers: dict[str, str] | None = None, query: str = ""
) -> dict[str, Any]:
    """An API Gateway HTTP API payload-format-2.0 event for any route."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": HOST, "user-agent": "curl/8", **(headers or {})},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": HOST,
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "3.3.3.3",
                "userAgent": "curl/8",
            },
            "requestId": "req-1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "05/Jan/2026:12:00:00 +0000",
            "timeEpoch": 1767614400000,
        },
        "body": body,
        "isBase64Encoded": False,
    }


@pytest.fixture
def app(bus: Bus) -> Iterator[LambdaApp]:
    settings = settings_for(
        bus,
        webchat={"enabled": True, "token": TOKEN},
        ingress={"allowed_hosts": [HOST]},
    )
    lambda_app = LambdaApp(settings)
    yield lambda_app
    lambda_app.close()


def test_healthz_answers_on_lambda(app: LambdaApp) -> None:
    answer = app(http_event("GET", "/healthz"))
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["status"] == "ok"


def test_webchat_page_and_api_answer_on_lambda_and_a_message_is_enqueued(app: LambdaApp, bus: Bus) -> None:
    page = app(http_event("GET", "/"))
    assert page["statusCode"] == 200
    assert "<html" in page["body"].lower()

    bearer = {"authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
    sent = app(
        http_event(
            "POST",
            "/webchat/api/messages",
            body=json.dumps({"conversation": "c1", "text": "hi from lambda"}),
            headers=bearer,
        )
    )
    assert sent["statusCode"] == 202, sent["body"]
    history = app(http_event("GET", "/webchat/api/conversations/c1/messages", headers=bearer))
    assert history["statusCode"] == 200, history["body"]
    messages = (
        bus.client("sqs")
        .receive_message(QueueUrl=bus.queue_url(inbound_queue_name(bus.prefix)), MaxNumberOfMessages=10)
        .get("Messages", [])
    )
    bodies = [json.loads(m["Body"]) for m in messages]
    assert [b["text"] for b in bodies if not b.get("control")] == ["hi from lambda"]  # and its steer copy


def test_dashboard_answers_on_lambda_and_refusals_are_readable_json(app: LambdaApp) -> None:
    bearer = {"authorization": f"Bearer {TOKEN}"}
    assert app(http_event("GET", "/dashboard", headers=bearer))["statusCode"] == 200
    series = app(http_event("GET", "/dashboard/api/series", headers=bearer))
    assert series["statusCode"] == 200, series["body"]

    refused = app(http_event("POST", "/webchat/api/messages", body="{}"))
    assert refused["statusCode"] == 401
    assert "error" in json.loads(refused["body"])  # a readable reason, not a garbled body

    json_bearer = {**bearer, "content-type": "application/json"}
    invalid = app(http_event("POST", "/webchat/api/messages", body="{not json", headers=json_bearer))
    assert invalid["statusCode"] == 400
    assert "error" in json.loads(invalid["body"])
