"""`clawbus up`: the whole pipeline on the embedded default, one process per stage.

Starts the loopback AWS API (moto), provisions the topology into it (and the heartbeat schedules), then
the agent, the loopback AgentCore endpoint, the dispatcher, one egress worker per enabled channel,
ingress, the local schedule firer, and the relay when a channel is configured for long polling, Socket
Mode or the Discord gateway; prints what runs where, and stops everything cleanly on Ctrl-C or SIGTERM.

Only ingress may listen beyond loopback (`--host`, and then only with `--expose`); the AWS API, the
AgentCore endpoint and the agent always bind 127.0.0.1 and accept only this run's secrets: a new AWS key
pair (`<data dir>/local-aws-credentials`) and agent invoke token per start, given to every stage in its
environment. The data directory is 0700, and the stages run with umask 077, so what they write is private.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from types import FrameType

from clawbus.bus.aws import is_loopback_host
from clawbus.bus.errors import ClawbusError, ConfigError
from clawbus.bus.private_files import private_dir
from clawbus.bus.settings import AwsSettings, Settings
from clawbus.bus.topology import build_topology
from clawbus.cli.console import Console
from clawbus.cli.exposure import LOOPBACK, exposure
from clawbus.cli.stage_forker import Forker
from clawbus.cli.up_start import first_wave, relayed_of, second_wave, start_wave
from clawbus.cli.up_steps import (
    PortTaken,
    apply_heartbeats,
    check_port_free,
    missing_local_extra,
    seed_state_now,
    since_start,
    state_on_start,
)
from clawbus.ingress.http.token_file import ensure_token, token_path
from clawbus.local.auth import LoopbackCredentials
from clawbus.local.aws_journal import Journal
from clawbus.local.aws_state import move_aside
from clawbus.local.credentials import credentials_path, write_credentials
from clawbus.local.endpoints import LocalEndpoints, write_endpoints
from clawbus.local.provision import Provisioner
from clawbus.local.supervisor import StageFailed, Supervisor
from clawbus.local.watchdog import Watchdog

STATE_FILE = "aws-state.pickle"


def run_up(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    """Bring the pipeline up and keep it up until a stop signal; returns the exit code."""
    if missing := missing_local_extra():
        console.error(f"clawbus up: {missing}")
        return 2
    host = args.host
    if not is_loopback_host(host) and not args.expose:
        console.error(
            f"--host {host} would make ingress (WebChat, webhooks, dashboard) reachable from other "
            "machines; add --expose if that is what you want, or leave --host out to stay on 127.0.0.1"
        )
        return 2
    ports = {
        "ingress": (args.ingress_port or settings.ingress.port, "--ingress-port"),
        "agent": (args.agent_port or settings.agent.port, "--agent-port"),
        "agentcore": (args.agentcore_port or settings.agentcore.port, "--agentcore-port"),
        "aws": (args.aws_port or settings.local.aws_port, "--aws-port"),
    }
    if args.expose and not is_loopback_host(host):
        for line in exposure(host, ports["ingress"][0]):
            console.print(line)
    try:
        for what, (port, flag) in ports.items():
            check_port_free(host if what == "ingress" else LOOPBACK, port, what, flag)
    except PortTaken as exc:
        console.error(str(exc))
        return 2
    os.umask(0o077)  # what up and its stages create is the user's alone
    try:
        data_dir: Path = private_dir(args.data_dir or settings.local.data_dir)
    except ConfigError as exc:
        console.error(f"data directory: {exc} (--data-dir or CLAWBUS_LOCAL__DATA_DIR)")
        return 2
    engine = args.engine or settings.agent.engine
    engine_env = {"CLAWBUS_AGENT__ENGINE": engine}  # the flag wins over an inherited variable
    if engine == "openclaw":
        from clawbus.cli.openclaw_install import ensure_openclaw  # the agent's install layout: only here

        runtime = settings.agent.openclaw.runtime_dir or data_dir / "openclaw-runtime"
        try:
            ensure_openclaw(runtime, console)
        except ConfigError as exc:
            console.error(f"clawbus up --engine openclaw: {exc}")
            return 2
        engine_env["CLAWBUS_AGENT__OPENCLAW__RUNTIME_DIR"] = str(runtime)
    webchat_token_file = token_path(data_dir)
    try:
        webchat_token, token_made = ensure_token(webchat_token_file)
    except (ClawbusError, OSError) as exc:
        console.error(f"clawbus up: WebChat token: {exc}")
        return 2
    credentials = LoopbackCredentials.generate()
    write_credentials(credentials_path(data_dir), credentials)
    aws_url = f"http://{LOOPBACK}:{ports['aws'][0]}"
    agent_url = f"http://{LOOPBACK}:{ports['agent'][0]}"
    agentcore_url = f"http://{LOOPBACK}:{ports['agentcore'][0]}"
    ingress_url = f"http://{host}:{ports['ingress'][0]}"
    # what the ops commands read to find this run without flags (local/endpoints.py)
    write_endpoints(
        data_dir,
        LocalEndpoints(
            aws_url=aws_url,
            ingress_url=ingress_url,
            agentcore_url=agentcore_url,
            agent_url=agent_url,
            region=settings.aws.region,
            prefix=settings.bus.prefix,
            pid=os.getpid(),
        ),
    )
    env = {
        "CLAWBUS_AWS__ENDPOINT_URL": aws_url,
        "CLAWBUS_AWS__REGION": settings.aws.region,  # every stage in up's region
        "CLAWBUS_AWS__ACCESS_KEY_ID": credentials.access_key_id,
        "CLAWBUS_AWS__SECRET_ACCESS_KEY": credentials.secret_access_key.get_secret_value(),
        "CLAWBUS_AGENT__INVOKE_TOKEN": secrets.token_urlsafe(32),
        "CLAWBUS_AGENTCORE__ENDPOINT_URL": agentcore_url,
        "CLAWBUS_AGENTCORE__AGENT_URL": agent_url,
        "CLAWBUS_AGENTCORE__HOST": LOOPBACK,
        "CLAWBUS_AGENTCORE__PORT": str(ports["agentcore"][0]),
        "CLAWBUS_AGENT__HOST": LOOPBACK,
        "CLAWBUS_AGENT__PORT": str(ports["agent"][0]),
        "CLAWBUS_INGRESS__HOST": host,
        "CLAWBUS_INGRESS__PORT": str(ports["ingress"][0]),
        "CLAWBUS_LOCAL__DATA_DIR": str(data_dir),  # ingress's dashboard reads the dispatcher's log there
        "CLAWBUS_WEBCHAT__TOKEN_FILE": str(webchat_token_file),  # the path, never the token, in every env
        "PYTHONUNBUFFERED": "1",
        **engine_env,
    }
    # the forker imports what every stage imports while the AWS API starts (cli/stage_forker.py)
    forker = Forker(data_dir / "logs" / "forker.log", env)
    supervisor = Supervisor(data_dir / "logs", env, forker=forker)
    state_file = data_dir / STATE_FILE
    if args.fresh and state_file.exists():
        kept = move_aside(state_file, "before-fresh")
        console.print(f"--fresh: starting empty; the saved state is kept as {kept}")
    if args.fresh:
        Journal(state_file).move_aside("before-fresh")  # the changes since that state go with it
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    channels = settings.enabled_channels()
    aws = AwsSettings.model_validate(
        {
            **settings.aws.model_dump(),
            "endpoint_url": aws_url,
            "access_key_id": credentials.access_key_id,
            "secret_access_key": credentials.secret_access_key,
        }
    )
    topology = build_topology(settings.bus.prefix, settings.bus.bucket)
    provisioner = Provisioner(aws)
    try:
        console.print(f"• starting the loopback AWS API (moto) on {aws_url}")
        first = first_wave(ports["aws"][0], str(state_file), LOOPBACK)
        with ThreadPoolExecutor(1) as beside:
            # while moto starts: the service models load, and the platform SDKs with the relay's channels
            warming = beside.submit(provisioner.load_clients)
            relaying = beside.submit(relayed_of, settings)
            start_wave(supervisor, first, console.print)
            restored, warning = state_on_start(first[0])
            if warning:
                console.error(warning)
            local = settings.local.model_copy(update={"data_dir": data_dir})  # its seed file's dir
            seed = partial(seed_state_now, settings.model_copy(update={"aws": aws, "local": local}))
            # in SSM (the default) and Secrets Manager, nothing provisioned: seeded while provisioning runs
            seeding = None if settings.storage.config == "s3" else beside.submit(seed)
            with console.step("provisioning queues, topic, subscriptions, tables, bucket"):
                warming.result()
                if not provisioner.up_to_date(topology):  # a restored state holds it already
                    provisioner.apply(topology)
            with console.step("configuration document and channel secrets"):
                config_seeded, _ = seed() if seeding is None else seeding.result()  # in the bucket: now
            console.print(
                f"• starting the agent ({settings.agent.model}), the AgentCore endpoint on {agentcore_url}, "
                "dispatcher, egress, ingress and firer"
            )
            # the firer lists schedules every tick: the heartbeats need not exist before it starts
            beating = beside.submit(asyncio.run, apply_heartbeats(settings.model_copy(update={"aws": aws})))
            relayed = relaying.result()
            if not forker.await_ready():  # the second wave is spawned the usual way: slower, as well
                console.print(f"  (stage forker unavailable, see {data_dir / 'logs' / 'forker.log'})")
            start_wave(supervisor, second_wave(channels, relayed, (host, ports["ingress"][0])), console.print)
            heartbeats = beating.result()
        console.print(f"• every stage ready {since_start()}")
    except (StageFailed, OSError) as exc:
        console.error(f"clawbus up failed: {exc}")
        supervisor.stop_all()
        return 1
    except Exception as exc:  # provisioning errors from boto3: one line, then stop
        console.error(f"clawbus up failed while provisioning: {type(exc).__name__}: {exc}")
        supervisor.stop_all()
        return 1
    every = settings.local.snapshot_interval_s
    saving = f"saved every {every:g}s and at stop" if every > 0 else "saved at stop"
    webchat_url = f"{ingress_url}/#token={webchat_token}"
    made = "made now" if token_made else "kept from before"
    console.summary(
        [
            ("WebChat", webchat_url),
            ("WebChat token", f"{webchat_token_file} (0600, {made}; delete it and restart to rotate)"),
            ("ingress (webhooks)", f"{ingress_url}/webhooks/…"),
            ("AWS API (moto)", aws_url),
            ("AgentCore endpoint", agentcore_url),
            ("agent", f"{agent_url}  (/invocations, /ping)"),
            ("channels", ", ".join(channels) or "none"),
            ("relay", ", ".join(relayed) or "not needed (no polling, Socket Mode or gateway channel)"),
            ("heartbeats", ", ".join(heartbeats) or "off"),
            ("config", "seeded from its local file" if config_seeded else "as stored"),
            ("queues", f"{len(topology.queues)} ({settings.bus.prefix}-inbound.fifo, …)"),
            ("data", f"{state_file} ({restored}; {saving})"),
            ("logs", str(data_dir / "logs")),
            (
                "credentials",
                f"{credentials_path(data_dir)} (this run's AWS key pair; clawbus commands read it)",
            ),
        ],
        hint='Open the WebChat URL (it signs the browser in) or run: clawbus say "hello"   ·   '
        "Ctrl-C stops everything",
    )
    watchdog = Watchdog(supervisor, data_dir, console.print, console.error)
    code = 0 if watchdog.run(stop) else 1
    with console.step("stopping"):
        stopped = dict(supervisor.stop_all())
    if stopped.get("local-aws") != 0:
        console.error(
            f"the loopback AWS API did not stop cleanly ({stopped.get('local-aws')}); {state_file} holds "
            "its last periodic save"
        )
        return 1
    return code
