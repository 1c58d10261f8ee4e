"""Fixtures: a real AWS API on loopback (moto server mode, a subprocess), a topology provisioned into it
by the same code `clawbus up` uses, and the pipeline's stages as real processes.

Each test gets its own resource prefix, so tests never see each other's queues and need no reset.

As under `clawbus up`, the loopback AWS API accepts only one key pair, made for this test process
(`LOCAL_AWS`): stage processes get it in their environment (`Bus.env`), and the test process's own
clients find it in `Bus.aws`, else in `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` (`pytest_configure`).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import settings as hypothesis_settings

from clawbus.bus.settings import AwsSettings
from clawbus.bus.topology import Topology, build_topology
from clawbus.cli.stage_forker import Forker
from clawbus.local.auth import LoopbackCredentials
from clawbus.local.provision import Provisioner, ProvisionReport
from clawbus.local.supervisor import Supervisor
from tests.helpers import WORKER_FORKER, WorkerForker, free_port, stage, stage_supervisor, wait_for

# Property tests check behaviour, not speed (speed is `clawbus bench`'s): no per-example deadline, which on a
# loaded 2-core machine failed a pure date computation for taking 311 ms once.
hypothesis_settings.register_profile("clawbus", deadline=None)
hypothesis_settings.load_profile("clawbus")

pytest_plugins = ["tests.workspace_stores"]  # `store`: a workspace store on each backend

REGION = "us-east-1"
LOCAL_AWS = LoopbackCredentials.generate()  # this test process's loopback key pair, as `up` makes one
SECRET = LOCAL_AWS.secret_access_key.get_secret_value()
ADMIN = {"Authorization": f"Bearer {SECRET}"}  # moto's /moto-api/* and the AgentCore endpoint's faults
INVOKE_TOKEN = secrets.token_urlsafe(16)  # the agent's bearer token in pipelines started here
CREDENTIALS_ENV = {
    "CLAWBUS_AWS__ACCESS_KEY_ID": LOCAL_AWS.access_key_id,
    "CLAWBUS_AWS__SECRET_ACCESS_KEY": SECRET,
}


def pytest_addoption(parser: pytest.Parser) -> None:
    """The chaos suite's options (tests/chaos): how many times to run a seeded scenario, and a seed to
    replay one from its report line."""
    group = parser.getgroup("chaos", "chaos scenarios (tests/chaos)")
    group.addoption(
        "--chaos-repeat",
        type=int,
        default=1,
        metavar="N",
        help="run each seeded chaos scenario N times, each with a fresh random seed (printed in its line)",
    )
    group.addoption(
        "--chaos-seed",
        type=int,
        default=None,
        metavar="SEED",
        help="replay seeded chaos scenarios with SEED (from a failed run's report line), not a fresh one",
    )


def pytest_configure(config: pytest.Config) -> None:
    """The test process's own clients of loopback endpoints (moto, fakes) sign with `LOCAL_AWS`: botocore
    finds it in the standard variables when the settings carry no pair (`bus.aws`)."""
    del config
    os.environ["AWS_ACCESS_KEY_ID"] = LOCAL_AWS.access_key_id
    os.environ["AWS_SECRET_ACCESS_KEY"] = SECRET


@pytest.fixture(scope="session")
def stage_forker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """From here on this test process forks the `clawbus <stage>` stages it starts from warm imports, as
    `clawbus up` does (`tests.helpers.WorkerForker`), and is a child subreaper to adopt them, as `up` is.
    Started with the loopback AWS API, which every test that starts stages uses; it imports meanwhile."""
    forker = Forker(tmp_path_factory.mktemp("forker") / "forker.log", {"PYTHONUNBUFFERED": "1"})
    WORKER_FORKER.append(WorkerForker(forker))
    yield
    WORKER_FORKER.clear()
    forker.stop()


@pytest.fixture(scope="session")
def aws_endpoint(tmp_path_factory: pytest.TempPathFactory, stage_forker: None) -> Iterator[str]:
    """The loopback AWS API's URL (moto server mode in its own process, for the whole session), which
    accepts only `LOCAL_AWS`."""
    del stage_forker  # started first: its imports run while moto starts
    port = free_port()
    log = tmp_path_factory.mktemp("local-aws") / "local-aws.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "clawbus.cli", "local-aws", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **CREDENTIALS_ENV},
        )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/moto-api/", headers=ADMIN, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, timeout=30, what="moto server")
    yield url
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=10)


@dataclass
class Bus:
    """A provisioned topology on the loopback API, with the env a stage process needs to use it."""

    endpoint: str
    prefix: str
    topology: Topology
    report: ProvisionReport
    env: dict[str, str] = field(default_factory=dict)

    @property
    def aws(self) -> AwsSettings:
        """AWS settings pointing at the loopback API, with its key pair."""
        return AwsSettings(
            endpoint_url=self.endpoint,
            region=REGION,
            access_key_id=LOCAL_AWS.access_key_id,
            secret_access_key=LOCAL_AWS.secret_access_key,
        )

    def client(self, service: str):  # type: ignore[no-untyped-def]
        """A boto3 client on the loopback API (test setup and assertions); one per service and endpoint
        for the whole run, as every bus signs with the same key pair."""
        return _client(self.endpoint, service)

    def aio(self, service: str):  # type: ignore[no-untyped-def]
        """An aiobotocore client on the loopback API, as an async context (stores under test)."""
        from aiobotocore.session import get_session

        return get_session().create_client(
            service,
            region_name=REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id=LOCAL_AWS.access_key_id,
            aws_secret_access_key=SECRET,
        )

    def queue_url(self, name: str) -> str:
        """A queue's URL by its full name."""
        return self.report.queue_urls[name]


@functools.cache
def _client(endpoint: str, service: str):  # type: ignore[no-untyped-def]
    from clawbus.bus.aws import boto3_client

    return boto3_client(AwsSettings(endpoint_url=endpoint, region=REGION), service)


@functools.cache
def _provisioner(endpoint: str) -> Provisioner:
    """One provisioner per endpoint for the whole run: its five boto3 clients load their service models
    once (about a CPU-second each time a fresh one was made per test), not per topology."""
    return Provisioner(AwsSettings(endpoint_url=endpoint, region=REGION))


def make_bus(aws_endpoint: str) -> Bus:
    """Provision a fresh topology with a unique prefix."""
    prefix = f"t{secrets.token_hex(4)}"
    topology = build_topology(prefix)
    report = _provisioner(aws_endpoint).apply(topology)
    env = {
        "CLAWBUS_AWS__ENDPOINT_URL": aws_endpoint,
        **CREDENTIALS_ENV,
        "CLAWBUS_AWS__REGION": REGION,
        "CLAWBUS_BUS__PREFIX": prefix,
        "CLAWBUS_DISPATCHER__WAIT_TIME_S": "1",
        "CLAWBUS_EGRESS__WAIT_TIME_S": "1",
        "CLAWBUS_LOG_LEVEL": "INFO",
    }
    return Bus(aws_endpoint, prefix, topology, report, env)


@pytest.fixture
def bus(aws_endpoint: str) -> Bus:
    """A fresh topology of this test's own."""
    return make_bus(aws_endpoint)


@dataclass
class Pipeline:
    """Every stage as its own process against `bus`; `ingress_url` is where WebChat lives."""

    bus: Bus
    supervisor: Supervisor
    ingress_url: str
    agent_url: str
    agentcore_url: str
    log_dir: Path
    webchat_token: str = ""

    def webchat(self, **kwargs: Any) -> httpx.AsyncClient:
        """A client of ingress holding the run's WebChat token (as `clawbus say` sends it)."""
        headers = {"Authorization": f"Bearer {self.webchat_token}"}
        return httpx.AsyncClient(base_url=self.ingress_url, headers=headers, **kwargs)

    def stop(self) -> list[tuple[str, int | None]]:
        """SIGTERM every stage; their exit codes (in the supervisor's reverse start order).

        In two waves rather than `up`'s one by one (the loopback AWS API is not among them): first every
        stage that only talks to the bus (ingress, egress workers, the dispatcher, any a test added), at
        once, then the agent and its AgentCore endpoint, which no turn can reach any more. Each waits on
        its own long poll or drain, so the waves take the longest stage's time, not the sum."""
        agent_side = [s for s in self.supervisor.stages if s.name in ("agentcore", "agent")]
        bus_side = [s for s in self.supervisor.stages if s not in agent_side]
        for wave in (bus_side, agent_side):
            running = [s.process for s in wave if s.process is not None and s.process.poll() is None]
            for member in wave:
                member.stopping = True
            for process in running:
                process.send_signal(signal.SIGTERM)
            for process in running:
                with contextlib.suppress(subprocess.TimeoutExpired):  # stop_all kills it after its grace
                    process.wait(timeout=15)
        return self.supervisor.stop_all()


def start_pipeline(
    bus: Bus,
    log_dir: Path,
    extra_env: dict[str, str] | None = None,
    channels: tuple[str, ...] = ("webchat",),
    agent_env: dict[str, str] | None = None,
) -> Pipeline:
    """Start agent, AgentCore endpoint, dispatcher, an egress worker per channel and ingress as
    processes (`extra_env` also reaches every stage, e.g. the channels' credentials and API bases;
    `agent_env` only the agent, e.g. `CLAWBUS_AGENT__DEV_TOOL_SYNTAX`)."""
    agent_port, agentcore_port, ingress_port = free_port(), free_port(), free_port()
    agent_url = f"http://127.0.0.1:{agent_port}"
    agentcore_url = f"http://127.0.0.1:{agentcore_port}"
    env = {
        **bus.env,
        "CLAWBUS_WEBCHAT__TOKEN": secrets.token_urlsafe(24),
        "CLAWBUS_AGENT__PORT": str(agent_port),
        "CLAWBUS_AGENTCORE__PORT": str(agentcore_port),
        "CLAWBUS_AGENTCORE__ENDPOINT_URL": agentcore_url,
        "CLAWBUS_AGENTCORE__AGENT_URL": agent_url,
        "CLAWBUS_INGRESS__PORT": str(ingress_port),
        "CLAWBUS_AGENT__INVOKE_TOKEN": INVOKE_TOKEN,  # as `clawbus up` sets one
        **(extra_env or {}),
    }
    supervisor = stage_supervisor(log_dir, env)
    try:
        supervisor.start_all(
            [
                stage("agent", "agent.started", "agent", env=agent_env),
                stage("agentcore", "agentcore.started", "local-agentcore"),
                stage("dispatcher", "dispatcher.started", "dispatcher"),
                *(stage(f"egress-{channel}", "egress.started", "egress", channel) for channel in channels),
                # as `clawbus up`: the supervisor holds ingress's port across restarts
                stage("ingress", "ingress.started", "ingress", listen=("127.0.0.1", ingress_port)),
            ]
        )
    except Exception:
        supervisor.stop_all()
        raise
    return Pipeline(
        bus,
        supervisor,
        f"http://127.0.0.1:{ingress_port}",
        agent_url,
        agentcore_url,
        log_dir,
        env["CLAWBUS_WEBCHAT__TOKEN"],
    )


FOLLOWUP = {"CLAWBUS_SESSION__DM_SCOPE": "per-channel-peer", "CLAWBUS_DISPATCHER__QUEUE__MODE": "followup"}


def _run_pipeline(
    bus: Bus, log_dir: Path, env: dict[str, str] = FOLLOWUP, agent_env: dict[str, str] | None = None
) -> Iterator[Pipeline]:
    running = start_pipeline(bus, log_dir, env, agent_env=agent_env)
    yield running
    codes = running.stop()
    assert all(code == 0 for _, code in codes), f"stages did not exit cleanly: {codes}; logs in {log_dir}"


@pytest.fixture
def pipeline(bus: Bus, tmp_path: Path) -> Iterator[Pipeline]:
    """The whole pipeline running, one turn per message (`followup`), one session per WebChat conversation;
    stopped with SIGTERM after the test, which must exit every stage 0."""
    yield from _run_pipeline(bus, tmp_path / "logs")


@pytest.fixture(scope="module")
def shared_pipeline(aws_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """One pipeline for a module's tests that do not disturb each other (conversations of their own)."""
    yield from _run_pipeline(make_bus(aws_endpoint), tmp_path_factory.mktemp("pipeline") / "logs")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests need Chromium; outside CI they skip with a reason when it is absent."""
    del config
    chromium = os.environ.get("CLAWBUS_CHROMIUM", "/usr/bin/chromium")
    if Path(chromium).exists() or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(
        reason=f"Chromium not found at {chromium} (apt-get install chromium, or set CLAWBUS_CHROMIUM)"
    )
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)


@pytest.fixture
def openclaw_lock() -> Iterator[None]:
    """One OpenClaw gateway at a time on this machine (~1 GB and a core each while it starts): held for
    the test. Do not also wrap the run in `flock /tmp/openclaw.lock`: that would wait on itself."""
    # Read-only is enough for flock, so a lock file another user made (0644) still serves every user.
    fd = os.open("/tmp/openclaw.lock", os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
