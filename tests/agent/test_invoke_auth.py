"""Only this run's dispatcher can make the agent run a turn.

The agent's `/invocations` requires the run's invoke token; the loopback AgentCore endpoint in front of
it requires a SigV4 signature by the run's key pair (as the loopback AWS API does) and forwards with the
token. Another local process, or a web page, gets a 401 or a 403 and no turn.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from aiobotocore.session import get_session
from botocore.exceptions import ClientError
from pydantic import SecretStr
from starlette.types import ASGIApp

from clawbus.agent import create_app
from clawbus.agent.models.offline import OfflineEcho
from clawbus.bus.settings import AgentCoreSettings
from clawbus.local.agentcore import create_app as agentcore_app
from clawbus.local.auth import LoopbackCredentials
from tests.agent.conftest import SESSION_ID, Agent, invocation
from tests.conftest import ADMIN, LOCAL_AWS, REGION, SECRET
from tests.helpers import eventually, free_port

TOKEN = SecretStr("the-run-s-invoke-token")
ARN = AgentCoreSettings().runtime_arn
ECHO = "(native · offline echo · turn 1) You said: "


@contextlib.asynccontextmanager
async def serving(app: ASGIApp) -> AsyncIterator[str]:
    """`app` on a loopback port for the block; its URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off"))
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: asyncio.sleep(0, server.started), what="server started")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def agent(make_agent: Any) -> Agent:
    made: Agent = make_agent(OfflineEcho())
    return made


@pytest.fixture
async def endpoint(agent: Agent) -> AsyncIterator[str]:
    """The loopback AgentCore endpoint in front of an agent that requires `TOKEN`."""
    async with serving(create_app(agent.runtime, invoke_token=TOKEN)) as agent_url:
        core = agentcore_app(
            agent_url, ARN, 30.0, credentials=LOCAL_AWS, invoke_token=TOKEN, hint="see the file"
        )
        async with serving(core) as url:
            yield url


async def invoke(url: str, key: str, secret: str, text: str) -> str:
    """InvokeAgentRuntime as the dispatcher calls it (botocore signs); the reply's text."""
    async with get_session().create_client(
        "bedrock-agentcore",
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
    ) as client:
        response = await client.invoke_agent_runtime(
            agentRuntimeArn=ARN,
            runtimeSessionId=SESSION_ID,
            payload=invocation(text),
            contentType="application/json",
        )
        async with response["response"] as stream:
            body: bytes = await stream.read()
    return body.decode()


async def test_invocations_without_the_token_get_401_and_with_it_a_reply(agent: Agent) -> None:
    app = create_app(agent.runtime, invoke_token=TOKEN)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://agent") as client:
        for headers in ({}, {"Authorization": "Bearer guessed"}, {"Authorization": TOKEN.get_secret_value()}):
            refused = await client.post("/invocations", content=invocation("run this"), headers=headers)
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"] == "Bearer"
            assert "CLAWBUS_AGENT__INVOKE_TOKEN" in refused.json()["error"]
        assert (await client.get("/ping")).status_code == 200  # health stays open
        allowed = await client.post(
            "/invocations",
            content=invocation("hi"),
            headers={"Authorization": f"Bearer {TOKEN.get_secret_value()}"},
        )
        assert allowed.status_code == 200
        assert ECHO + "hi" in allowed.text


async def test_an_agent_without_a_token_answers_anyone_as_behind_agentcore(agent: Agent) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(agent.runtime)), base_url="http://agent"
    ) as client:
        answer = await client.post("/invocations", content=invocation("hi"))
    assert answer.status_code == 200


async def test_a_signed_invocation_reaches_the_agent_with_its_token(endpoint: str) -> None:
    assert ECHO + "hello" in await invoke(endpoint, LOCAL_AWS.access_key_id, SECRET, "hello")


async def test_an_unsigned_invocation_gets_403(endpoint: str) -> None:
    async with httpx.AsyncClient(base_url=endpoint, timeout=10) as client:
        answer = await client.post(
            f"/runtimes/{ARN}/invocations",
            content=invocation("run this"),
            headers={"X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": SESSION_ID},
        )
    assert answer.status_code == 403
    assert answer.json()["__type"] == "MissingAuthenticationToken"
    assert "see the file" in answer.json()["message"]


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("another key pair", "InvalidClientTokenId"),
        ("the key id with a guessed secret", "SignatureDoesNotMatch"),
    ],
)
async def test_a_wrongly_signed_invocation_gets_403(endpoint: str, who: str, code: str) -> None:
    other = LoopbackCredentials.generate()
    key = other.access_key_id if who == "another key pair" else LOCAL_AWS.access_key_id
    with pytest.raises(ClientError) as refused:
        await invoke(endpoint, key, other.secret_access_key.get_secret_value(), "run this")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert refused.value.response["Error"]["Code"] == code


async def test_fault_injection_needs_the_secret(endpoint: str) -> None:
    rule = {"session_id": SESSION_ID, "error": "ThrottlingException", "times": -1}
    async with httpx.AsyncClient(base_url=endpoint, timeout=10) as client:
        assert (await client.post("/_clawbus/faults", json=rule)).status_code == 401
        assert (await client.delete("/_clawbus/faults")).status_code == 401
        assert (await client.get("/_clawbus/faults")).status_code == 401
        assert (await client.get("/_clawbus/faults", headers=ADMIN)).json() == []  # none was added
